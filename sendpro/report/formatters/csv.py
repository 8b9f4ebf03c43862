"""CSV: one issue per row (``errors.csv``), for spreadsheets."""

from __future__ import annotations

import csv
import json

from sendpro.report.formatters.base import Formatter
from sendpro.report.issue import Issue

COLUMNS = (
    "code",
    "severity",
    "message",
    "file",
    "row",
    "claim_id",
    "line_number",
    "field",
    "x12_path",
    "ncpdp_field",
    "rejects_file",
    "rejects_row",
    "member_id",
    "rule",
    "category",
    "detail",
)


class CsvFormatter(Formatter):
    """One CSV row per issue, with a header row; ``value`` is added only with values included."""

    def start(self) -> None:
        """Write the header row."""
        self._columns = COLUMNS + (("value",) if self.include_values else ())
        self._writer = csv.writer(self.out, lineterminator="\n")
        self._writer.writerow(self._columns)

    def handle(self, issue: Issue) -> None:
        """Write the issue as one row."""
        record = issue.to_dict(self.include_values)
        if "detail" in record:
            record["detail"] = json.dumps(record["detail"], sort_keys=True)
        self._writer.writerow(["" if record.get(c) is None else record.get(c) for c in self._columns])
