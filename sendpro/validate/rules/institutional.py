"""Institutional record rules: type of bill, statement period, inpatient requirements."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from sendpro.model.encounter import Encounter
from sendpro.report.issue import Issue
from sendpro.validate.rule import RecordRule
from sendpro.validate.rules._line_exprs import claim_value, is_first, is_line

#: First two digits of the types of bill that are inpatient stays (hospital inpatient, Part A and B).
INPATIENT_BILL_TYPES = frozenset({"11", "12"})


def is_inpatient(encounter: Encounter) -> bool:
    """Return True for an institutional claim whose type of bill is 11x or 12x."""
    tob = encounter.header.type_of_bill
    return encounter.claim_type == "I" and tob is not None and tob[:2] in INPATIENT_BILL_TYPES


def inpatient_row() -> pl.Expr:
    """Return :func:`is_inpatient` as an expression on a row's own values (read it on the ``_first`` row)."""
    tob = pl.col("type_of_bill")
    return ((pl.col("claim_type") == "I") & tob.str.slice(0, 2).is_in(sorted(INPATIENT_BILL_TYPES))).fill_null(False)


def inpatient_claim_lacks(condition: pl.Expr) -> pl.Expr:
    """Return True on the first row of inpatient claims where ``condition`` (on claim-level values) holds."""
    return (is_first() & inpatient_row() & condition).fill_null(False)


class _Institutional(RecordRule):
    claim_types = frozenset({"I"})


class BillTypeFrequency(_Institutional):
    """The third digit of the type of bill is not the claim frequency.

    CLM05 carries the first two digits of the type of bill and the frequency;
    the third digit of the type of bill must say the same frequency.

    Bad: ``type_of_bill`` = ``131`` with ``claim_frequency`` = ``7``.
    Good: ``type_of_bill`` = ``137`` with ``claim_frequency`` = ``7``.
    """

    code = "CL040"
    name = "claim.bill_type_frequency"
    template = "the third digit of type_of_bill ({digit}) differs from claim_frequency {frequency}"

    def concerns(self) -> pl.Expr | None:
        """Institutional claims whose type of bill's third digit is not the claim frequency."""
        digit = pl.col("type_of_bill").str.slice(2, 1)
        return (is_first() & (pl.col("claim_type") == "I") & (digit != pl.col("claim_frequency"))).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare the type of bill's frequency digit with the claim frequency."""
        h = encounter.header
        if encounter.claim_type != "I" or h.type_of_bill is None or h.frequency is None:
            return
        if h.type_of_bill[2] != h.frequency:
            yield self.claim_issue(encounter, field="type_of_bill", digit=h.type_of_bill[2], frequency=h.frequency)


class InpatientAdmission(_Institutional):
    """An inpatient claim (type of bill 11x or 12x) has no admission date.

    Inpatient stays report when the member was admitted (DTP*435).

    Bad: ``type_of_bill`` = ``111`` with an empty ``admission_date``.
    Good: ``admission_date`` = ``20260102`` (and optionally ``admission_hour``).
    """

    code = "CL041"
    name = "claim.inpatient_admission"
    template = "inpatient claims (type of bill {tob}x) need {missing}"

    def concerns(self) -> pl.Expr | None:
        """Inpatient claims without an admission date."""
        return inpatient_claim_lacks(pl.col("admission_date").is_null())

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Require the admission date on inpatient claims."""
        if is_inpatient(encounter) and encounter.header.admission_date is None:
            tob = (encounter.header.type_of_bill or "")[:2]
            yield self.claim_issue(encounter, field="admission_date", tob=tob, missing="an admission_date")


class StatementPeriod(_Institutional):
    """The statement period ends before it starts, or a line falls outside it.

    Bad: ``statement_from`` = ``20260110``, ``statement_to`` = ``20260105``.
    Good: ``statement_from`` on or before ``statement_to``, every line date inside the period.
    """

    code = "CL042"
    name = "claim.statement_period"
    template = "{problem}"

    def concerns(self) -> pl.Expr | None:
        """Claims (of any type) whose statement period is reversed or has a line dated outside it."""
        reversed_period = is_first() & (pl.col("statement_to") < pl.col("statement_from"))
        start, end = claim_value("statement_from"), claim_value("statement_to")
        known = start.is_not_null() & end.is_not_null()
        outside = is_line() & known & ~pl.col("line_from_date").is_between(start, end)
        # Without both ends of the period, or a line date, nothing is checked: fill_null(False).
        return reversed_period.fill_null(False) | outside.fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check the statement period's order and that line dates lie inside it."""
        h = encounter.header
        if h.statement_from is None or h.statement_to is None:
            return
        if h.statement_to < h.statement_from:
            yield self.claim_issue(encounter, field="statement_to", problem="statement_to is before statement_from")
            return
        for ln in encounter.lines:
            if ln.from_date is not None and not h.statement_from <= ln.from_date <= h.statement_to:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="line_from_date",
                    problem="line_from_date is outside the statement period",
                )


class InpatientAttending(_Institutional):
    """An inpatient claim names no attending provider.

    Bad: ``type_of_bill`` = ``111`` with empty ``attending_npi`` and ``attending_last_name``.
    Good: the attending physician's NPI and name (loop 2310A).
    """

    code = "CL043"
    name = "claim.inpatient_attending"
    template = "inpatient claims need the attending provider (attending_npi and attending_last_name)"

    def concerns(self) -> pl.Expr | None:
        """Inpatient claims with none of the attending provider's NPI and names."""
        names = ("attending_npi", "attending_last_name", "attending_first_name")
        return inpatient_claim_lacks(pl.all_horizontal(*(pl.col(n).is_null() for n in names)))

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Require an attending provider on inpatient claims."""
        if is_inpatient(encounter) and encounter.attending is None:
            yield self.claim_issue(encounter, field="attending_npi")


class InpatientPresentOnAdmission(_Institutional):
    """A diagnosis of an inpatient claim has no present-on-admission indicator.

    Bad: ``dx_2`` = ``E119`` with an empty ``poa_2`` on a 111 claim.
    Good: ``poa_2`` = ``Y`` (or N, U, W, 1).
    """

    code = "CL044"
    name = "claim.inpatient_poa"
    template = "dx_{n} needs a present-on-admission indicator (poa_{n}) on inpatient claims"

    def concerns(self) -> pl.Expr | None:
        """Inpatient claims with a diagnosis lacking its present-on-admission indicator."""
        unflagged = (pl.col(f"dx_{n}").is_not_null() & pl.col(f"poa_{n}").is_null() for n in range(1, 13))
        return inpatient_claim_lacks(pl.any_horizontal(*unflagged))

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Require a POA indicator for every diagnosis of an inpatient claim."""
        if not is_inpatient(encounter):
            return
        h = encounter.header
        for n, (code, poa) in enumerate(zip(h.diagnosis_slots, h.poa_slots, strict=True), start=1):
            if code is not None and poa is None:
                yield self.claim_issue(encounter, field=f"poa_{n}", n=n)


class InpatientAdmittingDiagnosis(_Institutional):
    """An inpatient claim has no admitting diagnosis.

    Bad: ``type_of_bill`` = ``111`` with an empty ``admitting_dx``.
    Good: ``admitting_dx`` = ``R079`` (HI*ABJ).
    """

    code = "CL045"
    name = "claim.inpatient_admitting_dx"
    template = "inpatient claims need an admitting diagnosis (admitting_dx)"

    def concerns(self) -> pl.Expr | None:
        """Inpatient claims without an admitting diagnosis."""
        return inpatient_claim_lacks(pl.col("admitting_dx").is_null())

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Require the admitting diagnosis on inpatient claims."""
        if is_inpatient(encounter) and encounter.header.admitting_dx is None:
            yield self.claim_issue(encounter, field="admitting_dx")


class ProcedureDate(_Institutional):
    """An ICD-10-PCS procedure has no date, or a date has no procedure.

    Bad: ``icd_pcs_1`` = ``0DTJ4ZZ`` with an empty ``icd_pcs_date_1``.
    Good: ``icd_pcs_1`` and ``icd_pcs_date_1`` together.
    """

    code = "CL046"
    name = "claim.procedure_date"
    template = "icd_pcs_{n} and icd_pcs_date_{n} go together ({missing} is empty)"

    def concerns(self) -> pl.Expr | None:
        """Institutional claims with a procedure code without its date, or a date without its code."""
        unpaired = (pl.col(f"icd_pcs_{n}").is_null() != pl.col(f"icd_pcs_date_{n}").is_null() for n in range(1, 7))
        return (is_first() & (pl.col("claim_type") == "I") & pl.any_horizontal(*unpaired)).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Pair every procedure code with its date."""
        if encounter.claim_type != "I":
            return
        for p in encounter.header.procedures:
            n = p.slot
            if p.date is None:
                yield self.claim_issue(encounter, field=f"icd_pcs_date_{n}", n=n, missing=f"icd_pcs_date_{n}")
            elif p.code is None:
                yield self.claim_issue(encounter, field=f"icd_pcs_{n}", n=n, missing=f"icd_pcs_{n}")


INSTITUTIONAL_RULES: tuple[type[RecordRule], ...] = (
    BillTypeFrequency,
    InpatientAdmission,
    StatementPeriod,
    InpatientAttending,
    InpatientPresentOnAdmission,
    InpatientAdmittingDiagnosis,
    ProcedureDate,
)
