"""Service-line record rules (``SV``): balancing, numbering, pointers, dates."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from sendpro.model.encounter import Encounter
from sendpro.model.fields import Level
from sendpro.report.issue import Issue
from sendpro.validate.rule import FrameRule, RecordRule, Scope
from sendpro.validate.rules._frame import failing_rows
from sendpro.validate.rules._line_exprs import claim_value, is_line, partly_given
from sendpro.validate.rules.claim import money

#: Unit types each claim type accepts on its lines.
UNIT_TYPES = {"P": frozenset({"UN", "MJ"}), "I": frozenset({"UN", "DA"})}


class LineBalance(RecordRule):
    """A line's charge minus paid is not the sum of its adjustments.

    The 837 coordination-of-benefits balancing rule: what was billed and not
    paid must be explained by CAS adjustments (error by default; a run may lower it).

    Bad: ``line_charge`` 100, ``line_paid`` 80, adjustments summing to 15.
    Good: ``line_charge`` 100, ``line_paid`` 80, ``CO`` ``45`` ``20.00``.
    """

    code = "SV010"
    name = "line.balance"
    scope = Scope.LINE
    template = "line charge {charge} - paid {paid} = {diff}, but the line adjustments sum to {adj}"

    def concerns(self) -> pl.Expr | None:
        """Lines with charge, paid and every adjustment's amount whose charge - paid is not the adjustments' sum."""
        charge, paid = pl.col("line_charge"), pl.col("line_paid")
        known = charge.is_not_null() & paid.is_not_null()
        for n in (1, 2, 3):
            # An adjustment is there when any of its three is; one without an amount skips the line.
            absent = pl.col(f"line_adj_group_{n}").is_null() & pl.col(f"line_adj_reason_{n}").is_null()
            known = known & (pl.col(f"line_adj_amount_{n}").is_not_null() | absent)
        adjusted = pl.sum_horizontal(*(pl.col(f"line_adj_amount_{n}").fill_null(0) for n in (1, 2, 3)))
        return (is_line() & known & (charge - paid != adjusted)).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check charge - paid = sum of adjustment amounts on every line."""
        for ln in encounter.lines:
            if ln.charge is None or ln.paid is None or any(a.amount is None for a in ln.adjustments):
                continue
            adj = sum(a.amount for a in ln.adjustments if a.amount is not None)
            if ln.charge - ln.paid != adj:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="line_adj_amount_1",
                    charge=money(ln.charge),
                    paid=money(ln.paid),
                    diff=money(ln.charge - ln.paid),
                    adj=money(adj),
                )


class DuplicateLineNumber(RecordRule):
    """Two lines of one claim have the same line number.

    Often the sign of one claim id used for two claims in the extract.

    Bad: two rows of claim C1 with ``line_number`` = ``1``.
    Good: line numbers 1, 2, 3 ... unique within the claim.
    """

    code = "SV011"
    name = "line.duplicate_number"
    scope = Scope.LINE
    template = "line_number {n} is used twice in the claim (first at line {first_row})"

    def concerns(self) -> pl.Expr | None:
        """Lines whose line number another line of the claim has too."""
        number = pl.col("line_number")
        lines_with_it = is_line().sum().over("_claim_seq", "line_number")
        return (is_line() & number.is_not_null() & (lines_with_it > 1)).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Find repeated line numbers."""
        seen: dict[int, int] = {}
        for ln in encounter.lines:
            if ln.line_number is None:
                continue
            if ln.line_number in seen:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="line_number",
                    n=ln.line_number,
                    first_row=seen[ln.line_number],
                )
            else:
                seen[ln.line_number] = ln.row_no


class DiagnosisPointer(FrameRule):
    """A line's diagnosis pointer points at a diagnosis the claim does not have.

    Checked on the input text, so an invalid diagnosis (reported by its own
    rule) does not also count as a missing one.

    Bad: ``dx_pointer_1`` = ``3`` on a claim with only ``dx_1`` and ``dx_2``.
    Good: ``dx_pointer_1`` = ``2``.
    """

    code = "SV012"
    name = "line.dx_pointer"
    scope = Scope.LINE
    template = "dx_pointer_{k} points at dx_{n}, which is empty"

    def check_frame(self, frame: pl.DataFrame) -> Iterator[Issue]:
        """Check every pointer against the claim's diagnosis columns."""
        for k in range(1, 5):
            ptr = f"dx_pointer_{k}"
            if ptr not in frame.columns:
                continue
            missing: pl.Expr = pl.lit(False)
            for n in range(1, 13):
                slot = pl.col(f"dx_{n}").is_null() if f"dx_{n}" in frame.columns else pl.lit(True)
                missing = missing | ((pl.col(ptr) == str(n)) & slot)
            mask = (missing & ~pl.col("_nolines") & ~pl.col("_broken")).fill_null(False)
            for row in failing_rows(frame, mask, Level.LINE, ptr):
                yield self.issue(
                    record_no=row.record_no,
                    field=ptr,
                    claim_id=row.claim_id,
                    line_no=row.line_no,
                    member_id=row.member_id,
                    value=row.value,
                    k=k,
                    n=row.value,
                )


class IncompleteLineAdjustment(RecordRule):
    """A line adjustment lacks its group, reason or amount.

    Bad: ``line_adj_reason_1`` = ``45`` with no group.
    Good: ``CO`` / ``45`` / ``20.00`` together.
    """

    code = "SV013"
    name = "line.adjustment_incomplete"
    scope = Scope.LINE
    template = "line adjustment {n} needs a group, a reason and an amount (missing: {missing})"

    def concerns(self) -> pl.Expr | None:
        """Lines with an adjustment given only in part (group, reason or amount missing)."""
        partial = [
            partly_given(f"line_adj_group_{n}", f"line_adj_reason_{n}", f"line_adj_amount_{n}") for n in (1, 2, 3)
        ]
        return (is_line() & pl.any_horizontal(*partial)).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check each line adjustment triple."""
        for ln in encounter.lines:
            for n, adj in enumerate(ln.adjustments, start=1):
                missing = [
                    name
                    for name, v in (
                        ("group", adj.group),
                        ("reason", adj.reason),
                        ("amount", adj.amount),
                    )
                    if v is None
                ]
                if missing:
                    yield self.claim_issue(
                        encounter,
                        record_no=ln.row_no,
                        line_no=ln.line_number,
                        field=f"line_adj_{missing[0]}_{n}",
                        n=n,
                        missing=", ".join(missing),
                    )


class LineDateOrder(RecordRule):
    """A line's service end date is before its start date.

    Bad: ``line_from_date`` = ``20240110``, ``line_to_date`` = ``20240105``.
    Good: ``line_to_date`` on or after ``line_from_date``.
    """

    code = "SV014"
    name = "line.date_order"
    scope = Scope.LINE
    template = "line_to_date is before line_from_date"

    def concerns(self) -> pl.Expr | None:
        """Lines whose to date is before their from date."""
        return (is_line() & (pl.col("line_to_date") < pl.col("line_from_date"))).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare the line's from and to dates."""
        for ln in encounter.lines:
            if ln.from_date and ln.to_date and ln.to_date < ln.from_date:
                yield self.claim_issue(encounter, record_no=ln.row_no, line_no=ln.line_number, field="line_to_date")


class UnitTypeForClaimType(RecordRule):
    """The line's unit type is not one the claim type uses.

    Professional lines count units (UN) or minutes (MJ); institutional lines
    units (UN) or days (DA).

    Bad: a professional line with ``unit_type`` = ``DA``.
    Good: ``unit_type`` = ``UN``.
    """

    code = "SV015"
    guard = True
    name = "line.unit_type"
    scope = Scope.LINE
    template = "unit_type {unit} is not used on {type_name} lines (use {allowed})"

    def concerns(self) -> pl.Expr | None:
        """Lines of professional or institutional claims whose unit type that claim type does not use."""
        claim_type, unit = claim_value("claim_type"), pl.col("unit_type")
        wrong = pl.any_horizontal(
            *((claim_type == code) & ~unit.is_in(sorted(allowed)) for code, allowed in UNIT_TYPES.items())
        )
        # A claim of another (or no) type is never checked: fill_null(False).
        return (is_line() & unit.is_not_null() & wrong).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check SV103 / SV204 against the claim type."""
        allowed = UNIT_TYPES.get(encounter.claim_type or "")
        if not allowed:
            return
        type_name = "professional" if encounter.claim_type == "P" else "institutional"
        for ln in encounter.lines:
            if ln.unit_type is not None and ln.unit_type not in allowed:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="unit_type",
                    unit=ln.unit_type,
                    type_name=type_name,
                    allowed=" or ".join(sorted(allowed)),
                )


LINE_RULES: tuple[type[RecordRule], ...] = (
    LineBalance,
    DuplicateLineNumber,
    IncompleteLineAdjustment,
    LineDateOrder,
    UnitTypeForClaimType,
)
LINE_FRAME_RULES: tuple[type[FrameRule], ...] = (DiagnosisPointer,)
