"""Situational (SNIP type 4) and balancing (SNIP type 3) rules that cross fields of a whole claim.

The layout spec's R/S conditions that the required-field rules cannot express
(``S: inpatient``, ``S: outpatient``, dates that must lie in an order), and the
claim balancing of the 837 COB loops: CLM02 - AMT*D = claim-level CAS + line-level CAS.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from sendpro.model.encounter import Encounter
from sendpro.report.issue import Issue, Severity
from sendpro.validate.rule import RecordRule
from sendpro.validate.rules._exprs import FIRST, LINE, any_given, head, is_in, line_min, line_sum
from sendpro.validate.rules.claim import money
from sendpro.validate.rules.institutional import INPATIENT_BILL_TYPES, is_inpatient

#: Patient status (CL103) ``30``: still a patient, so no discharge yet.
STILL_A_PATIENT = "30"


def _inpatient(claim_type: pl.Expr, type_of_bill: pl.Expr) -> pl.Expr:
    """Return ``is_inpatient`` of a claim's type and type of bill (never null)."""
    return (claim_type == "I").fill_null(False) & is_in(type_of_bill.str.slice(0, 2), INPATIENT_BILL_TYPES)


class OutpatientLineDate(RecordRule):
    """A line of an outpatient institutional claim has no service date.

    837I: the service date (2400 DTP*472) is required on outpatient claims; the
    layout marks ``line_from_date`` situational for institutional claims.

    Bad: ``type_of_bill`` = ``131``, a line with empty ``line_from_date``.
    Good: every outpatient line with its service date.
    """

    code = "CL047"
    name = "claim.outpatient_line_date"
    claim_types = frozenset({"I"})
    template = "line {line} of an outpatient claim (type of bill {tob}) has no service date"
    source = "ASC X12 837I (005010X223A2/X299A1) 2400 DTP*472; input-layout.md (S)"

    def concerns(self) -> pl.Expr | None:
        """Lines without a service date of institutional claims with a type of bill that is not inpatient."""
        tob = head("type_of_bill")
        institutional = (head("claim_type") == "I").fill_null(False)
        outpatient = institutional & tob.is_not_null() & ~is_in(tob.str.slice(0, 2), INPATIENT_BILL_TYPES)
        return outpatient & LINE & pl.col("line_from_date").is_null()

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Require a service date on outpatient lines."""
        tob = encounter.header.type_of_bill
        if encounter.claim_type != "I" or tob is None or tob[:2] in INPATIENT_BILL_TYPES:
            return
        for ln in encounter.lines:
            if ln.from_date is None:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="line_from_date",
                    line=ln.line_number,
                    tob=tob,
                )


class DischargeHour(RecordRule):
    """A final inpatient claim of a discharged patient has no discharge hour.

    837I: DTP*096 (discharge hour) is required on final inpatient claims; a patient
    status other than 30 (still a patient) says the member was discharged.

    Bad: ``type_of_bill`` = ``111``, ``patient_status`` = ``01``, ``discharge_hour`` empty.
    Good: ``discharge_hour`` = ``1430``.
    """

    code = "CL048"
    name = "claim.discharge_hour"
    severity = Severity.WARNING
    claim_types = frozenset({"I"})
    template = "a final inpatient claim with patient status {status} (discharged) has no discharge_hour"
    source = "ASC X12 837I 2300 DTP*096; input-layout.md (S)"

    def concerns(self) -> pl.Expr | None:
        """Final inpatient claims with a discharged patient status and no discharge hour."""
        status = pl.col("patient_status")
        return (
            FIRST
            & _inpatient(pl.col("claim_type"), pl.col("type_of_bill"))
            & is_in("claim_frequency", ("1", "4", "7"))
            & status.is_not_null()
            & (status != STILL_A_PATIENT)
            & pl.col("discharge_hour").is_null()
        )

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Warn on final inpatient claims without a discharge hour."""
        h = encounter.header
        final = h.frequency in ("1", "4", "7")
        status = h.patient_status
        if is_inpatient(encounter) and final and status not in (None, STILL_A_PATIENT) and h.discharge_hour is None:
            yield self.claim_issue(encounter, field="discharge_hour", status=status)


class BornAfterService(RecordRule):
    """The member's date of birth is after a date of service.

    Bad: ``member_dob`` = ``20260301`` with a line dated ``20260210``.
    Good: a date of birth on or before every service date.
    """

    code = "CL049"
    name = "claim.born_after_service"
    template = "member_dob is after the date of service {dos}"
    source = "SNIP type 4 (inter-segment situational); input-layout.md"

    def concerns(self) -> pl.Expr | None:
        """Claims whose date of birth is after the earliest line service date or statement start."""
        earliest = pl.min_horizontal(line_min("line_from_date"), pl.col("statement_from"))
        # No date of birth or no date at all: nothing to compare.
        return FIRST & (pl.col("member_dob") > earliest).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare the date of birth with the earliest service date."""
        dob = encounter.member.dob
        dates = [d for ln in encounter.lines for d in (ln.from_date,) if d is not None]
        if encounter.header.statement_from is not None:
            dates.append(encounter.header.statement_from)
        if dob is not None and dates and dob > min(dates):
            yield self.claim_issue(encounter, field="member_dob", dos=min(dates).strftime("%Y%m%d"))


class ClaimAdjustmentBalance(RecordRule):
    """Claim-level adjustments put the claim out of balance: charge - paid must equal all adjustments.

    The 837 balances a claim as CLM02 - AMT*D = claim-level CAS + every line's
    CAS. With balanced lines (SV010) and totals that are the sums of the lines
    (CL015, CL016), a claim-level adjustment counts the same money twice, unless
    its amounts net to zero.

    Bad: lines carry their CO-45 adjustments and the claim repeats ``claim_adj_amount_1`` = ``75``.
    Good: adjustments on the lines only (or claim-level ones that the lines do not repeat).
    """

    code = "CL060"
    name = "claim.adjustment_balance"
    template = (
        "charge - paid is {gap}, but claim-level adjustments {claim} plus line adjustments {lines} make {total}; "
        "an amount is counted twice or missing"
    )
    source = "ASC X12 837 COB balancing (2320/2430 CAS); input-layout.md balancing"

    def concerns(self) -> pl.Expr | None:
        """Claims with totals and a claim adjustment whose adjustments do not make charge - paid."""
        claim_adj = [f"claim_adj_{part}_{n}" for n in (1, 2) for part in ("group", "reason", "amount")]
        claim = pl.sum_horizontal(pl.col("claim_adj_amount_1").fill_null(0), pl.col("claim_adj_amount_2").fill_null(0))
        lines = line_sum(pl.sum_horizontal(*(pl.col(f"line_adj_amount_{n}").fill_null(0) for n in (1, 2, 3))))
        charge, paid = pl.col("total_charge"), pl.col("total_paid")
        return (
            FIRST & charge.is_not_null() & paid.is_not_null() & any_given(claim_adj) & (claim + lines != charge - paid)
        )

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare the claim's charge - paid with every adjustment."""
        h = encounter.header
        if h.total_charge is None or h.total_paid is None or not h.adjustments:
            return
        claim = sum(a.amount or 0 for a in h.adjustments)
        lines = sum(a.amount or 0 for ln in encounter.lines for a in ln.adjustments)
        gap = h.total_charge - h.total_paid
        if claim + lines != gap:
            yield self.claim_issue(
                encounter,
                field="claim_adj_amount_1",
                gap=money(gap),
                claim=money(claim),
                lines=money(lines),
                total=money(claim + lines),
            )


SITUATIONAL_RULES: tuple[type[RecordRule], ...] = (
    OutpatientLineDate,
    DischargeHour,
    BornAfterService,
    ClaimAdjustmentBalance,
)
