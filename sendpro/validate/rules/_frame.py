"""Helpers shared by the frame rules: pulling failing rows out of a batch in bulk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import polars as pl

from sendpro.flatfile.layout import Format, Layout
from sendpro.model.fields import FieldDef, Kind, Level
from sendpro.model.typing import EARLIEST_YEAR, decimal_re

_SEPARATORS = set("*~:^|")


class FailingRow(NamedTuple):
    """Where a failing value is, and the value (for messages that never show it)."""

    record_no: int
    claim_id: str | None
    line_no: int | None
    member_id: str | None
    value: str | None


def applies_mask(fd: FieldDef) -> pl.Expr:
    """Rows on which a field is checked: first rows for claim-level, line rows for line-level.

    Claim-level values repeat on every row; checking them once per claim avoids a
    flood of identical issues (rows that disagree are the consistency rule's job).
    """
    # Rows whose structure is broken (a truncated row, an unknown record) get one
    # structure issue, not a cascade of field issues built on shifted values.
    if fd.level is Level.CLAIM:
        return pl.col("_first") & ~pl.col("_broken")
    return ~pl.col("_nolines") & ~pl.col("_broken")


def failing_rows(frame: pl.DataFrame, mask: pl.Expr, fd_level: Level, value_col: str | None) -> Iterator[FailingRow]:
    """Yield the rows of ``frame`` where ``mask`` holds."""
    record = "_claim_row" if fd_level is Level.CLAIM else "_row"
    cols = [
        pl.col(record).alias("_rec"),
        pl.col("mce_claim_id") if "mce_claim_id" in frame.columns else pl.lit(None, pl.String).alias("mce_claim_id"),
        (
            pl.col("line_number").cast(pl.Int64, strict=False)
            if fd_level is Level.LINE and "line_number" in frame.columns
            else pl.lit(None, pl.Int64)
        ).alias("_line"),
        pl.col("member_id") if "member_id" in frame.columns else pl.lit(None, pl.String).alias("member_id"),
        (pl.col(value_col).cast(pl.String) if value_col else pl.lit(None, pl.String)).alias("_value"),
    ]
    for rec, claim_id, line, member, value in frame.filter(mask).select(cols).iter_rows():
        yield FailingRow(int(rec), claim_id, line, member, value)


def column_label(layout: Layout, field: str) -> str:
    """Return how the analyst's file names a field (column name, or positions for fixed-width)."""
    if layout.format is Format.DELIMITED:
        return layout.column_for(field)
    for rec in layout.records:
        for spec in rec.fields:
            if spec.field == field and spec.model:
                return f"{field} ({rec.type} positions {spec.start}-{spec.end})"
    return field


def describe_problem(fd: FieldDef, value: str) -> str:
    """Say what is wrong with ``value`` for ``fd`` without repeating the value (PHI)."""
    n = len(value)
    if fd.max_len is not None and n > fd.max_len and fd.kind in (Kind.TEXT, Kind.PATTERN):
        return f"has {n} characters; at most {fd.max_len} fit"
    if fd.kind is Kind.TEXT:
        return f"has {n} character(s); at least {fd.min_len} are needed"
    if fd.kind is Kind.CODE:
        if fd.codes and value.upper() in fd.codes:
            return "must be upper-case"
        return "is not one of the allowed codes"
    if fd.kind is Kind.PATTERN:
        assert fd.pattern is not None
        if _SEPARATORS & set(value):
            return "contains an X12 separator (* ~ : ^ |), which an identifier cannot hold"
        if value != value.upper() and re.search(fd.pattern, value.upper()):
            return "must be upper-case"
        if "." in value and re.search(fd.pattern, value.replace(".", "")):
            return "must not contain a dot (write J069, not J06.9)"
        if any(ord(c) > 126 or ord(c) < 32 for c in value):
            return "holds a character outside printable ASCII"
        return "does not match the expected format"
    if fd.kind is Kind.INTEGER:
        return f"is not a whole number above zero of at most {fd.max_len} digits"
    if fd.kind is Kind.DECIMAL:
        if re.search(decimal_re(9), value):
            return f"has more than {fd.max_decimals} decimals" if "." in value else "must be above zero"
        return "is not a plain number above zero"
    if fd.kind is Kind.HOUR:
        return "is not a valid time"
    if fd.kind is Kind.DATE:
        if not re.fullmatch(r"[0-9]{8}", value):
            return "is not in CCYYMMDD form"
        if value[:4] < EARLIEST_YEAR:
            return f"is before {EARLIEST_YEAR}, not a plausible date"
        return "is not a real calendar date"
    if fd.kind is Kind.AMOUNT:
        if any(c in value for c in "$,"):
            return "has a currency sign or thousands separator"
        if re.fullmatch(r"-?[0-9]+\.[0-9]{3,}", value):
            return "has more than 2 decimals"
        if re.fullmatch(r"-?[0-9]{12,}(\.[0-9]*)?", value):
            return "is too large"
        return "is not a plain amount"
    return "is not valid"  # pragma: no cover
