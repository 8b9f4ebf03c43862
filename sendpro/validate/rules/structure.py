"""Flat-file structure rules (``FF``): rows and records that do not fit the layout.

Only the claim a bad row belongs to is rejected; problems that make the whole
file unusable are in :mod:`sendpro.flatfile.problems` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import polars as pl

from sendpro.flatfile.layout import Format, Role
from sendpro.flatfile.reader import KIND_CLAIM, KIND_LINE, KIND_OTHER, InputInfo
from sendpro.model.fields import Level
from sendpro.report.issue import Category, Issue, Severity
from sendpro.validate.rule import FrameRule, Rule, Scope
from sendpro.validate.rules._frame import column_label, failing_rows


class _StructureRule(FrameRule):
    category = Category.STRUCTURE
    record_level: ClassVar[Level] = Level.LINE

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression, or None when the rule does not apply."""
        raise NotImplementedError

    def params(self, frame: pl.DataFrame) -> dict[str, Any]:
        """Return template parameters shared by every failing row of ``frame``."""
        return {}

    def check_frame(self, frame: pl.DataFrame) -> Iterator[Issue]:
        """Yield one issue per failing row."""
        mask = self.mask(frame)
        if mask is None or frame.height == 0:
            return
        mask = mask.fill_null(False)
        extra = self.params(frame)
        for row in failing_rows(frame, mask, self.record_level, self.value_column()):
            yield self.issue(
                record_no=row.record_no,
                claim_id=row.claim_id,
                line_no=row.line_no,
                member_id=row.member_id,
                value=None,
                n=row.value,
                **extra,
            )

    def value_column(self) -> str | None:
        """Return a column whose value feeds the ``{n}`` template parameter."""
        return None


class FieldCount(_StructureRule):
    """A delimited row has more or fewer fields than the header row.

    A truncated row (the extract was cut off) or a value holding the delimiter
    shifts every later column, so the whole claim is kept out.

    Bad: ``P|C100|1`` under a header of 134 columns.
    Good: every row has as many ``|``-separated fields as the header.
    """

    code = "FF010"
    models = frozenset({"medical", "pharmacy"})
    guard = True
    name = "structure.field_count"
    template = "the row has {n} fields but the header has {expected}: it is truncated or holds an extra delimiter"

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression."""
        assert self.context is not None
        if self.context.layout.format is not Format.DELIMITED:
            return None
        expected = int(self.context.extra["expected_fields"])
        return pl.col("_nf") != expected

    def params(self, frame: pl.DataFrame) -> dict[str, Any]:
        """Return the shared template parameters."""
        assert self.context is not None
        return {"expected": self.context.extra["expected_fields"]}

    def value_column(self) -> str | None:
        """Return the column feeding ``{n}``."""
        return "_nf"


class UnknownRecordType(_StructureRule):
    """A fixed-width record has a record type the layout does not declare.

    Bad: a ``XX`` record between a claim's ``LN`` records.
    Good: only the layout's record types (for example ``HD``, ``CL``, ``LN``, ``TR``).
    """

    code = "FF012"
    models = frozenset({"medical", "pharmacy"})
    guard = True
    name = "structure.unknown_record"
    template = "the record type is not one of the layout's record types ({types})"

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression."""
        assert self.context is not None
        if self.context.layout.format is not Format.FIXED_WIDTH:
            return None
        return pl.col("_kind") == KIND_OTHER

    def params(self, frame: pl.DataFrame) -> dict[str, Any]:
        """Return the shared template parameters."""
        assert self.context is not None
        return {"types": ", ".join(r.type for r in self.context.layout.records)}


class OrphanLine(_StructureRule):
    """A fixed-width line record comes before any claim record.

    Bad: the file starts ``HD``, ``LN``, ``CL``.
    Good: every ``LN`` record follows the ``CL`` record of its claim.
    """

    code = "FF013"
    models = frozenset({"medical", "pharmacy"})
    guard = True
    name = "structure.orphan_line"
    template = "a line record with no claim record before it"

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression."""
        assert self.context is not None
        if self.context.layout.format is not Format.FIXED_WIDTH:
            return None
        return (pl.col("_kind") == KIND_LINE) & (pl.col("_claim_row") == pl.col("_row"))


class SplitClaim(_StructureRule):
    """A claim's rows are not contiguous in the file; they were grouped into one claim.

    The claim is still converted once (never twice): sendpro parks the early rows
    until the last ones are read. Sort the extract by claim to silence this.

    Bad: rows of claim C1, then C2, then C1 again.
    Good: all rows of C1, then all rows of C2.
    """

    code = "FF014"
    name = "structure.split_claim"
    severity = Severity.WARNING
    scope = Scope.CLAIM
    record_level = Level.CLAIM
    template = "the claim's rows are in {n} separate places in the file; they were grouped into one claim"

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression."""
        return pl.col("_first") & (pl.col("_runs") > 1)

    def value_column(self) -> str | None:
        """Return the column feeding ``{n}``."""
        return "_runs"


class RecordLength(_StructureRule):
    """A fixed-width record is shorter or longer than the layout declares.

    Bad: a ``CL`` record of 498 characters where the layout says 500.
    Good: every record exactly as long as its declared length.
    """

    code = "FF016"
    models = frozenset({"medical", "pharmacy"})
    guard = True
    name = "structure.record_length"
    template = "the record is {n} characters long; the layout declares {expected}"

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression."""
        assert self.context is not None
        lay = self.context.layout
        if lay.format is not Format.FIXED_WIDTH:
            return None
        expr: pl.Expr | None = None
        for rec in lay.records:
            if rec.length is None or rec.role not in (Role.CLAIM, Role.LINE):
                continue
            kind = KIND_CLAIM if rec.role is Role.CLAIM else KIND_LINE
            # A claim record's raw text is prefixed to its first line; check the line record itself.
            bad = (pl.col("_kind") == kind) & (pl.col("_raw").str.split("\n").list.last().str.len_chars() != rec.length)
            expr = bad if expr is None else expr | bad
        return expr

    def params(self, frame: pl.DataFrame) -> dict[str, Any]:
        """Return the shared template parameters."""
        assert self.context is not None
        lengths = {r.length for r in self.context.layout.records if r.length}
        return {"expected": " or ".join(str(n) for n in sorted(lengths))}

    def value_column(self) -> str | None:
        """Return the column feeding ``{n}``."""
        return "_len"


class ClaimWithoutLines(_StructureRule):
    """A claim record has no service line records.

    Bad: a ``CL`` record directly followed by the next ``CL``.
    Good: every ``CL`` record followed by its ``LN`` records.
    """

    code = "CL030"
    guard = True
    name = "claim.no_lines"
    category = Category.DATA
    record_level = Level.CLAIM
    template = "the claim has no service lines"

    def mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """Return the failing-row expression."""
        return pl.col("_first") & pl.col("_nolines")


class ClaimRowsDisagree(FrameRule):
    """A claim-level column differs between rows of the same claim.

    Claim-level columns repeat on every line row and must be identical; when they
    are not, sendpro cannot tell which value is right.

    Bad: ``member_dob`` = ``19800101`` on line 1 and ``19800102`` on line 2.
    Good: the same ``member_dob`` on every row of the claim.
    """

    code = "CL014"
    name = "claim.rows_disagree"
    template = (
        "{column} differs from the claim's first row (line {first_row}); "
        "claim-level columns must be identical on every row"
    )

    def check_frame(self, frame: pl.DataFrame) -> Iterator[Issue]:
        """Compare every claim-level column with the claim's first row."""
        assert self.context is not None
        by_name = self.context.layout.catalog.by_name
        cols = [c for c in frame.columns if c in by_name and by_name[c].level is Level.CLAIM]
        if not cols or frame.height == 0:
            return
        diffs = frame.select(
            [(pl.col(c).ne_missing(pl.col(c).first().over("_claim_seq")) & ~pl.col("_broken")).alias(c) for c in cols]
        )
        counts = diffs.sum().row(0)
        for name, count in zip(cols, counts, strict=True):
            if not count:
                continue
            mask = diffs[name]
            bad = frame.filter(mask).select(
                "_row",
                "_claim_row",
                "mce_claim_id",
                "member_id",
                pl.col("line_number").cast(pl.Int64, strict=False)
                if "line_number" in frame.columns
                else pl.lit(None, pl.Int64).alias("line_number"),
                # Aliased: the column may be one of those above (member_id differing between rows).
                pl.col(name).alias("_value"),
            )
            label = column_label(self.context.layout, name)
            for row, first_row, claim_id, member_id, line_no, value in bad.iter_rows():
                yield self.issue(
                    record_no=row,
                    field=name,
                    claim_id=claim_id,
                    line_no=line_no,
                    value=value,
                    member_id=member_id,
                    column=label,
                    first_row=first_row,
                )


class UnknownColumn(Rule):
    """The header row holds a column the layout does not know; it is ignored.

    Bad: a column ``memberid`` (a typo of ``member_id``).
    Good: only the layout's column names, or extra columns you mean to drop.
    """

    code = "FF011"
    models = frozenset({"medical", "pharmacy"})
    name = "structure.unknown_column"
    severity = Severity.WARNING
    category = Category.STRUCTURE
    scope = Scope.FILE
    template = "column {column!r} is not in layout {layout} and is ignored{hint}"

    def check_input(self, info: InputInfo) -> Iterator[Issue]:
        """Yield one warning per unknown column of the header row."""
        for name, hint in info.unknown_columns:
            more = f" (did you mean {hint!r}?)" if hint else ""
            yield self.issue(record_no=1, column=name, layout=info.layout.name, hint=more)


class BlankLine(Rule):
    """A blank line sits between data rows; it is skipped.

    Bad: an empty line between two claims.
    Good: no blank lines (a blank line at the very end is fine).
    """

    code = "FF015"
    models = frozenset({"medical", "pharmacy"})
    name = "structure.blank_line"
    severity = Severity.WARNING
    category = Category.STRUCTURE
    scope = Scope.FILE
    template = "blank line skipped"

    def check_lines(self, line_nos: Iterable[int]) -> Iterator[Issue]:
        """Yield one warning per blank line inside the data."""
        for n in line_nos:
            yield self.issue(record_no=n)


class TextCleaned(Rule):
    """Free text held X12 separators or non-ASCII letters; sendpro replaced them.

    Accented letters are transliterated (``Muñoz`` -> ``Munoz``); separators
    (``* ~ : ^``) and control characters become spaces, so the 837 can never break.

    Bad: ``member_last_name`` = ``O'NEIL*SMITH``.
    Good: ``member_last_name`` = ``O'NEIL SMITH``.
    """

    code = "FF020"
    models = frozenset({"medical", "pharmacy"})
    name = "text.cleaned"
    severity = Severity.WARNING
    category = Category.STRUCTURE
    template = "{column} {what}; the cleaned text is sent"

    def check_notes(self, frame: pl.DataFrame, notes: Sequence[tuple[int, str, frozenset[str]]]) -> Iterator[Issue]:
        """Yield one warning per cleaned value (``notes`` come from the typing stage)."""
        assert self.context is not None
        if not notes:
            return
        cols = frame.select(
            "_row",
            "_claim_row",
            "_first",
            "mce_claim_id",
            "member_id",
            pl.col("line_number").cast(pl.Int64, strict=False)
            if "line_number" in frame.columns
            else pl.lit(None, pl.Int64).alias("line_number"),
        )
        for index, name, done in notes:
            row, claim_row, first, claim_id, member_id, line_no = cols.row(index)
            fd = self.context.layout.catalog.by_name[name]
            if fd.level is Level.CLAIM and not first:
                continue  # reported once per claim, on its first row
            parts = []
            if "transliterated" in done:
                parts.append("held non-ASCII letters (transliterated)")
            if "separator" in done:
                parts.append("held X12 separators or control characters (replaced by spaces)")
            yield self.issue(
                record_no=claim_row if fd.level is Level.CLAIM else row,
                field=name,
                claim_id=claim_id,
                line_no=None if fd.level is Level.CLAIM else line_no,
                member_id=member_id,
                column=column_label(self.context.layout, name),
                what=" and ".join(parts),
            )


STRUCTURE_FRAME_RULES: tuple[type[FrameRule], ...] = (
    FieldCount,
    UnknownRecordType,
    OrphanLine,
    SplitClaim,
    RecordLength,
    ClaimWithoutLines,
    ClaimRowsDisagree,
)
