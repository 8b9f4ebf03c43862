"""Issues: what a rule, the reader or the pyx12 bridge found, and where.

This is the bottom layer of sendpro: it imports nothing else from the package.
An :class:`Issue` never carries a polars frame or a whole input row; it names the
place (file, record, claim, line, field) and keeps at most the one offending raw
value, which formatters drop unless the run asked for values (PHI).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad an issue is. ``error`` keeps a claim out of the submission file."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Return a sortable rank: errors rank highest."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Category(StrEnum):
    """Where an issue comes from (pandera-style error categories)."""

    STRUCTURE = "structure"
    DATA = "data"
    CODE = "code"  # code sets (SNIP type 5)
    BUSINESS = "business"  # MassHealth business edits (SNIP type 7)
    X12 = "x12"
    NCPDP = "ncpdp"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Location:
    """Where an issue is: every attribute is optional, fill what is known.

    ``record_no`` is the 1-based physical line number in the input file (a
    header row is line 1), so an analyst can jump straight to it.
    """

    file: str | None = None
    record_no: int | None = None
    field: str | None = None
    claim_id: str | None = None
    line_no: int | None = None
    x12_path: str | None = None
    ncpdp_field: str | None = None
    #: For a rejected claim: its rejects file (a name) and the physical line there of
    #: the record the issue is about, so the fix is made in the file that is re-run.
    rejects_file: str | None = None
    rejects_row: int | None = None


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding, rendered once from its rule's message template.

    ``value`` (the raw offending value) and ``member_id`` are protected health
    information: formatters write them only when the run includes values, and
    mask the member id otherwise.
    """

    code: str
    severity: Severity
    message: str
    location: Location
    rule_name: str
    category: Category = Category.DATA
    detail: Mapping[str, str] = field(default_factory=dict)
    value: str | None = None
    member_id: str | None = None

    def key(self) -> tuple[str, int, str]:
        """Return ``(code, record_no, field)``: a stable sort and comparison key."""
        return (self.code, self.location.record_no or 0, self.location.field or "")

    def to_dict(self, include_values: bool = False) -> dict[str, Any]:
        """Return a flat, JSON-ready dict; PHI is masked unless ``include_values``."""
        loc = self.location
        record: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "category": self.category.value,
            "rule": self.rule_name,
            "message": self.message,
            "file": loc.file,
            "row": loc.record_no,
            "claim_id": loc.claim_id,
            "line_number": loc.line_no,
            "field": loc.field,
            "x12_path": loc.x12_path,
            "ncpdp_field": loc.ncpdp_field,
            "rejects_file": loc.rejects_file,
            "rejects_row": loc.rejects_row,
            "member_id": (self.member_id if include_values else mask_member_id(self.member_id)),
        }
        if include_values:
            record["value"] = self.value
        if self.detail:
            record["detail"] = dict(self.detail)
        return record


def mask_member_id(member_id: str | None) -> str | None:
    """Mask a member identifier, keeping only its last four characters.

    Short identifiers are masked entirely: four visible characters of a
    five-character id would identify the member.

    >>> mask_member_id("QF4820731")
    '*****0731'
    >>> mask_member_id("AB12")
    '****'
    """
    if member_id is None or member_id == "":
        return member_id
    if len(member_id) <= 6:
        return "*" * len(member_id)
    return "*" * (len(member_id) - 4) + member_id[-4:]
