"""JSON Lines: one issue per line (``errors.jsonl``)."""

from __future__ import annotations

import json

from sendpro.report.formatters.base import Formatter
from sendpro.report.issue import Issue


class JsonlFormatter(Formatter):
    """One JSON object per issue; member ids masked unless values are included."""

    def handle(self, issue: Issue) -> None:
        """Write the issue as one JSON line."""
        self.out.write(json.dumps(issue.to_dict(self.include_values), ensure_ascii=False) + "\n")
