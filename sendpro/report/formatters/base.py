"""Issue formatters: streaming sinks with a start / handle / finish / stop lifecycle."""

from __future__ import annotations

from typing import TextIO

from sendpro.report.issue import Issue
from sendpro.report.report import RunReport


class Formatter:
    """Writes issues to the stream it was given, as they arrive (nothing is collected)."""

    def __init__(self, out: TextIO, include_values: bool = False) -> None:
        self.out = out
        self.include_values = include_values

    def start(self) -> None:
        """Write anything that precedes the first issue (a CSV header)."""

    def handle(self, issue: Issue) -> None:
        """Write one issue."""
        raise NotImplementedError

    def stop(self, report: RunReport | None = None) -> None:
        """Write anything that follows the last issue."""
