"""Claim-level record rules (``CL``): codes, linkage and balancing of a whole encounter."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from sendpro.model.encounter import Cents, Encounter
from sendpro.report.issue import Issue, Severity
from sendpro.validate.rule import RecordRule
from sendpro.validate.rules._exprs import (
    FIRST,
    LINE,
    any_given,
    any_missing,
    by_claim_type,
    head,
    is_in,
    line_count,
    line_nulls,
    line_sum,
)


def money(cents: Cents) -> str:
    """Format cents as ``1234.50`` for messages."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


#: Claim frequency codes each claim type accepts (MassHealth edit #1).
FREQUENCIES = {"P": frozenset("178"), "D": frozenset("178"), "I": frozenset("1234578")}

#: CN101 contract type codes MassHealth accepts (MassHealth edit #2).
CONTRACT_TYPES = frozenset({"01", "02", "03", "04", "05", "06", "09"})

#: Most service lines one 837 claim may carry, per claim type.
MAX_LINES = {"P": 50, "D": 50, "I": 999}


class FrequencyForType(RecordRule):
    """The claim frequency is not one the claim type allows.

    Professional and dental claims take 1 (original), 7 (replacement) or 8
    (void); institutional claims also 2-5 (MassHealth edit #1).

    Bad: a professional claim with ``claim_frequency`` = ``3``.
    Good: ``claim_frequency`` = ``1``, ``7`` or ``8``.
    """

    code = "CL010"
    guard = True
    name = "claim.frequency"
    source = "MassHealth SENDPro data quality (edit #1)"
    template = "claim_frequency {frequency} is not allowed for {type_name} claims (allowed: {allowed})"

    def concerns(self) -> pl.Expr | None:
        """Claims whose frequency is given and not one their (known) claim type allows."""
        freq = pl.col("claim_frequency")
        wrong = by_claim_type({ct: ~is_in(freq, allowed) for ct, allowed in FREQUENCIES.items()})
        return FIRST & freq.is_not_null() & wrong

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check CLM05-3 against the claim type."""
        h = encounter.header
        if h.claim_type not in FREQUENCIES or h.frequency is None:
            return
        allowed = FREQUENCIES[h.claim_type]
        if h.frequency not in allowed:
            names = {"P": "professional", "D": "dental", "I": "institutional"}
            yield self.claim_issue(
                encounter,
                field="claim_frequency",
                frequency=h.frequency,
                type_name=names[h.claim_type],
                allowed=", ".join(sorted(allowed)),
            )


class ContractType(RecordRule):
    """The contract type (CN101) is not one MassHealth accepts.

    Bad: ``contract_type`` = ``07``.
    Good: ``contract_type`` = ``01``-``06`` or ``09`` (MassHealth edit #2).
    """

    code = "CL011"
    guard = True
    name = "claim.contract_type"
    source = "MassHealth SENDPro data quality (edit #2)"
    template = "contract_type {ct} is not one of 01-06, 09"

    def concerns(self) -> pl.Expr | None:
        """Claims with a contract type outside the accepted set."""
        return FIRST & pl.col("contract_type").is_not_null() & ~is_in("contract_type", CONTRACT_TYPES)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check CN101 against the accepted set."""
        ct = encounter.header.contract_type
        if ct is not None and ct not in CONTRACT_TYPES:
            yield self.claim_issue(encounter, field="contract_type", value=ct, ct=ct)


class OriginalForAdjustment(RecordRule):
    """A replacement (7) or void (8) does not name the claim it replaces.

    MassHealth links adjustments to originals through REF*F8 (edit #9).

    Bad: ``claim_frequency`` = ``7`` with an empty ``original_claim_id``.
    Good: ``claim_frequency`` = ``7`` and ``original_claim_id`` = the original MCE claim id.
    """

    code = "CL012"
    name = "claim.original_missing"
    source = "MassHealth SENDPro (edit #9)"
    template = "a {what} (claim_frequency {frequency}) {problem}"

    def concerns(self) -> pl.Expr | None:
        """Replacements and voids without an original claim id, or naming their own id."""
        original = pl.col("original_claim_id")
        return (
            FIRST
            & is_in("claim_frequency", ("7", "8"))
            & (original.is_null() | original.eq_missing(pl.col("mce_claim_id")))
        )

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check that frequency 7/8 carries an original claim id other than its own."""
        h = encounter.header
        problem = original_problem(h.frequency, h.original_claim_id, h.claim_id)
        if problem is not None:
            what = "replacement" if h.frequency == "7" else "void"
            yield self.claim_issue(
                encounter, field="original_claim_id", what=what, frequency=h.frequency, problem=problem
            )


def original_problem(frequency: str | None, original: str | None, claim_id: str | None) -> str | None:
    """Say what is wrong with a replacement's or void's original claim id (None: nothing)."""
    if frequency not in ("7", "8"):
        return None
    if original is None:
        return "must name the original claim in original_claim_id"
    if original == claim_id:
        return "names itself in original_claim_id; name the claim it replaces"
    return None


class OriginalOnOriginal(RecordRule):
    """An original claim (frequency 1) names an original claim id; it is ignored.

    Bad: ``claim_frequency`` = ``1`` with ``original_claim_id`` filled.
    Good: ``original_claim_id`` only with frequency 7 or 8.
    """

    code = "CL013"
    name = "claim.original_unexpected"
    severity = Severity.WARNING
    template = "original_claim_id is only used with claim_frequency 7 or 8; it is ignored"

    def concerns(self) -> pl.Expr | None:
        """Claims of a frequency other than 7 or 8 that name an original claim id."""
        return (
            FIRST
            & pl.col("claim_frequency").is_not_null()
            & ~is_in("claim_frequency", ("7", "8"))
            & pl.col("original_claim_id").is_not_null()
        )

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Warn about an original claim id on a non-adjustment."""
        h = encounter.header
        # An adjustment naming itself is CL012's error, not this warning.
        if h.frequency not in (None, "7", "8") and h.original_claim_id is not None:
            yield self.claim_issue(encounter, field="original_claim_id")


class TotalChargeBalance(RecordRule):
    """The claim's total charge is not the sum of its line charges.

    Bad: ``total_charge`` = ``300`` with lines of ``200`` and ``50``.
    Good: ``total_charge`` = ``250`` (CLM02 = sum of SV102).
    """

    code = "CL015"
    name = "claim.total_charge_balance"
    template = "total_charge {total} is not the sum of the line charges {lines} (difference {diff})"

    def concerns(self) -> pl.Expr | None:
        """Claims with a total charge, lines that all have a charge, and a sum that differs."""
        return _unbalanced("total_charge", "line_charge")

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare CLM02 with the sum of the line charges."""
        total = encounter.header.total_charge
        charges = [ln.charge for ln in encounter.lines]
        if total is None or not charges or any(c is None for c in charges):
            return
        s = sum(c for c in charges if c is not None)
        if s != total:
            yield self.claim_issue(
                encounter,
                field="total_charge",
                total=money(total),
                lines=money(s),
                diff=money(total - s),
            )


class TotalPaidBalance(RecordRule):
    """The claim's total paid is not the sum of its line paid amounts.

    Bad: ``total_paid`` = ``180`` with lines paid ``100`` and ``75``.
    Good: ``total_paid`` = ``175`` (AMT*D = sum of SVD02).
    """

    code = "CL016"
    name = "claim.total_paid_balance"
    template = "total_paid {total} is not the sum of the line paid amounts {lines} (difference {diff})"

    def concerns(self) -> pl.Expr | None:
        """Claims with a total paid, lines that all have a paid amount, and a sum that differs."""
        return _unbalanced("total_paid", "line_paid")

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare AMT*D with the sum of the line paid amounts."""
        total = encounter.header.total_paid
        paid = [ln.paid for ln in encounter.lines]
        if total is None or not paid or any(p is None for p in paid):
            return
        s = sum(p for p in paid if p is not None)
        if s != total:
            yield self.claim_issue(
                encounter,
                field="total_paid",
                total=money(total),
                lines=money(s),
                diff=money(total - s),
            )


def _unbalanced(total: str, line: str) -> pl.Expr:
    """Return True on the first row of claims whose ``total`` is given but not the sum of the lines' ``line``.

    Only claims with at least one line, every line having ``line``, are compared.
    """
    return (
        FIRST
        & pl.col(total).is_not_null()
        & (line_count() > 0)
        & (line_nulls(line) == 0)
        & (line_sum(line) != pl.col(total))
    )


class DeniedClaim(RecordRule):
    """A denied claim pays something, or a line of it carries no adjustment.

    A denied claim (``claim_status`` = ``D``) reports paid 0 and at least one
    adjustment per line saying why.

    Bad: ``claim_status`` = ``D`` with ``total_paid`` = ``40``.
    Good: ``claim_status`` = ``D``, ``total_paid`` = ``0``, every line with a CO/PR adjustment.
    """

    code = "CL017"
    name = "claim.denied"
    template = "{problem}"

    def concerns(self) -> pl.Expr | None:
        """Denied claims that pay something (first row) or have a line without any adjustment."""
        denied = (head("claim_status") == "D").fill_null(False)
        pays = FIRST & (pl.col("total_paid").fill_null(0) != 0)
        bare_line = LINE & ~any_given(_LINE_ADJUSTMENT_COLUMNS)
        return denied & (pays | bare_line)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check paid amounts and adjustments of denied claims."""
        h = encounter.header
        if h.status != "D":
            return
        if h.total_paid not in (None, 0):
            yield self.claim_issue(
                encounter,
                field="total_paid",
                problem=f"a denied claim must have total_paid 0, not {money(h.total_paid or 0)}",
            )
        for ln in encounter.lines:
            if not ln.adjustments:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="line_adj_group_1",
                    problem="a line of a denied claim needs at least one adjustment (why it was denied)",
                )


#: Every column of a line's adjustments: a line has an adjustment when one of them is given.
_LINE_ADJUSTMENT_COLUMNS = tuple(f"line_adj_{part}_{n}" for n in (1, 2, 3) for part in ("group", "reason", "amount"))


class TooManyLines(RecordRule):
    """The claim has more service lines than one 837 claim may carry.

    Professional and dental claims carry at most 50 lines (2400 loop repeat);
    split larger claims in the MCE system.

    Bad: a professional claim with 51 lines.
    Good: at most 50 lines.
    """

    code = "CL018"
    guard = True
    name = "claim.too_many_lines"
    template = "the claim has {n} service lines; an 837{kind} claim carries at most {max}"

    def concerns(self) -> pl.Expr | None:
        """Claims with more lines than their (known) claim type's maximum."""
        return FIRST & by_claim_type({ct: line_count() > most for ct, most in MAX_LINES.items()})

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Count the lines against the claim type's maximum."""
        ct = encounter.claim_type
        if ct in MAX_LINES and len(encounter.lines) > MAX_LINES[ct]:
            yield self.claim_issue(encounter, n=len(encounter.lines), kind=ct, max=MAX_LINES[ct])


class IncompleteClaimAdjustment(RecordRule):
    """A claim-level adjustment lacks its group, reason or amount.

    Bad: ``claim_adj_group_1`` = ``CO`` with no reason or amount.
    Good: ``CO`` / ``45`` / ``25.00`` together, or none of them.
    """

    code = "CL021"
    name = "claim.adjustment_incomplete"
    template = "claim adjustment {n} needs a group, a reason and an amount (missing: {missing})"

    def concerns(self) -> pl.Expr | None:
        """Claims with a claim adjustment partly given (some of group, reason, amount empty)."""
        triples = [[f"claim_adj_{part}_{n}" for part in ("group", "reason", "amount")] for n in (1, 2)]
        return FIRST & pl.any_horizontal(*(any_given(t) & any_missing(t) for t in triples))

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check that each claim adjustment triple is complete."""
        for n, adj in enumerate(encounter.header.adjustments, start=1):
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
                yield self.claim_issue(encounter, field=f"claim_adj_{missing[0]}_{n}", n=n, missing=", ".join(missing))


CLAIM_RULES: tuple[type[RecordRule], ...] = (
    FrequencyForType,
    ContractType,
    OriginalForAdjustment,
    OriginalOnOriginal,
    TotalChargeBalance,
    TotalPaidBalance,
    DeniedClaim,
    TooManyLines,
    IncompleteClaimAdjustment,
)


class ClaimTypeWithoutOutput(RecordRule):
    """The claim type has no output in this run, so the claim cannot be converted.

    Each claim type goes to its own 837 (professional X298A1, institutional
    X299A1, dental X300A1); a claim whose type has no writer in this version of
    sendpro is kept out rather than dropped.

    Bad: a claim of a type this sendpro cannot write.
    Good: claim types P, I and D in a medical/dental extract.
    """

    code = "CL019"
    guard = True
    name = "claim.type_without_output"
    template = "claim type {ct} has no 837 output in this version of sendpro"

    def concerns(self) -> pl.Expr | None:
        """Claims of a type outside the run's writable types (none when the run does not say)."""
        assert self.context is not None
        writable = self.context.extra.get("writable_types")
        if writable is None:
            return pl.lit(False)
        return FIRST & pl.col("claim_type").is_not_null() & ~is_in("claim_type", writable)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Reject claims whose type this run cannot write."""
        assert self.context is not None
        writable = self.context.extra.get("writable_types")
        ct = encounter.claim_type
        if writable is not None and ct is not None and ct not in writable:
            yield self.claim_issue(encounter, field="claim_type", ct=ct)


class MemberAddressIncomplete(RecordRule):
    """The member's address is only partly given, so it is not sent.

    The subscriber N3/N4 segments need street, city, state and ZIP together.

    Bad: ``member_address`` filled, ``member_city`` empty.
    Good: all four filled, or none.
    """

    code = "MB020"
    name = "member.address_incomplete"
    severity = Severity.WARNING
    template = "the member address is not sent: {missing} empty"

    def concerns(self) -> pl.Expr | None:
        """Claims whose member address is partly filled."""
        parts = ("member_address", "member_city", "member_state", "member_zip")
        return FIRST & any_given(parts) & any_missing(parts)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Warn when the member address is partly filled."""
        a = encounter.member.address
        parts = {
            "member_address": a.line,
            "member_city": a.city,
            "member_state": a.state,
            "member_zip": a.zip,
        }
        given = [k for k, v in parts.items() if v is not None]
        missing = [k for k, v in parts.items() if v is None]
        if given and missing:
            yield self.claim_issue(
                encounter,
                field=missing[0],
                missing=", ".join(missing) + (" is" if len(missing) == 1 else " are"),
            )


CLAIM_RULES = (*CLAIM_RULES, ClaimTypeWithoutOutput, MemberAddressIncomplete)
