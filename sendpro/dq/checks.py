"""Each measure's check as polars expressions: per row, how many values it scores and how many are valid.

A measure reads a frame of accepted claims, one row per claim (``level = "claim"``)
or per service line (``"line"``), and gives two integer columns per row: the
denominator (values scored: 1 per row, or per field holding a value when
``scope = "present"``) and the numerator (those valid). Summing them over a
claim group and record type gives the measure's rate.

Checks needing a list (a code set, the member reference file) are built only
when the run has it; :func:`not_computable` says why otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from sendpro.codesets.catalog import SPEC_BY_NAME, CodeSets
from sendpro.dq.measures import Measure
from sendpro.references import Members
from sendpro.validate.rules.provider import npi_check_digit_ok

#: Facility types (type of bill, first two digits) MassHealth's DQ queries group as
#: inpatient, outpatient and long-term care (SENDPRO_INFORMATICA_CLAIMS_DQ_7_QA.sql,
#: Claim_Type); also the whole 6x (long-term care) and 7x (outpatient) families.
INPATIENT_TYPES = ("11", "12")
OUTPATIENT_TYPES = ("13", "14", "22", "23", "32", "33", "34", "43", "81", "82", "83", "85", "87", "89")
LONG_TERM_CARE_TYPES = ("18", "21", "28", "86")

#: Patient status "still a patient": no discharge date is due (T-MSIS measure 2.001.31).
STILL_A_PATIENT = "30"

#: The column :mod:`sendpro.dq.accumulator` puts on claim rows: the claim has a service line.
HAS_LINES = "_dq_has_lines"


def _facility_groups() -> dict[str, str]:
    groups = {t: "inpatient" for t in INPATIENT_TYPES}
    groups.update({t: "outpatient" for t in OUTPATIENT_TYPES})
    groups.update({t: "long_term_care" for t in LONG_TERM_CARE_TYPES})
    groups.update({f"6{d}": "long_term_care" for d in "0123456789"})
    groups.update({f"7{d}": "outpatient" for d in "0123456789"})
    return groups


#: Every facility type MassHealth groups, with its claim group.
FACILITY_GROUPS: dict[str, str] = _facility_groups()


def facility_type(type_of_bill: pl.Expr) -> pl.Expr:
    """Return the facility type of a type of bill: its first two digits."""
    return type_of_bill.str.slice(0, 2)


def npi_column(name: str) -> str:
    """Return the column :func:`npi_flags` puts beside NPI field ``name``."""
    return f"_dq_npi_ok_{name}"


def npi_flags(typed: pl.DataFrame, names: Iterable[str]) -> list[pl.Expr]:
    """Return, per NPI field, a column: its value has a right check digit.

    An extract names few providers: checking each distinct NPI of the batch once
    (``npi_check_digit_ok``) and looking the rows up costs far less than the
    digit-by-digit expression over every row.
    """
    names = list(names)
    if not names:
        return []
    # One query for every field's distinct values.
    distinct = typed.select(pl.col(n).drop_nulls().unique().implode() for n in names).row(0)
    out: list[pl.Expr] = []
    for name, values in zip(names, distinct, strict=True):
        good = [v for v in values if npi_check_digit_ok(v)]
        out.append(pl.col(name).is_in(pl.Series(good, dtype=pl.String).implode()).alias(npi_column(name)))
    return out


@dataclass(frozen=True, slots=True)
class Lists:
    """The lists a run's checks may consult: its code sets and the member reference file."""

    codesets: CodeSets
    members: Members | None = None


def not_computable(measure: Measure, lists: Lists) -> str | None:
    """Return why the run cannot compute ``measure`` (None: it can)."""
    if measure.check == "code_set":
        missing = [name for name in measure.codesets if lists.codesets.get(name) is None]
        if missing:
            titles = " and ".join(SPEC_BY_NAME[n].title if n in SPEC_BY_NAME else n for n in missing)
            keys = ", ".join(missing)
            lists_ = "lists" if len(missing) > 1 else "list"
            return f"needs the {titles} {lists_} (set [codesets] {keys} in sendpro.toml)"
    if measure.check == "reference" and measure.reference == "members" and lists.members is None:
        return "needs the member reference file (--members or [references] members)"
    return None


def _valid(measure: Measure, name: str, lists: Lists) -> pl.Expr:
    """Return, for a check scoring each field on its own, whether field ``name`` is valid."""
    col = pl.col(name)
    if measure.check == "npi":
        return col.is_not_null() & pl.col(npi_column(name))
    if measure.check == "not_negative":
        return col.is_not_null() & (col >= 0)
    if measure.check == "code_set":
        found = pl.lit(False)
        for set_name in measure.codesets:
            codes = lists.codesets.get(set_name)
            assert codes is not None  # not_computable() said the run has it
            for release in codes.releases:
                found = found | col.is_in(release.series())
        return col.is_not_null() & found
    if measure.check == "reference":
        assert lists.members is not None  # not_computable() said the run has it
        known = lists.members.spans["member_id"].drop_nulls().unique().implode()
        return col.is_not_null() & col.is_in(known)
    raise AssertionError(f"check {measure.check} does not score fields one by one")  # pragma: no cover


def _joint(measure: Measure) -> pl.Expr:
    """Return, for a check scoring a row as a whole, whether the row is valid."""
    cols = [pl.col(n) for n in measure.fields]
    if measure.check in ("present", "dates"):
        # Dates are typed: a value that is no real date is already null.
        return pl.all_horizontal(c.is_not_null() for c in cols)
    if measure.check == "in":
        return cols[0].is_in(list(measure.values)).fill_null(False)
    if measure.check == "facility_type":
        return facility_type(cols[0]).is_in(list(FACILITY_GROUPS))
    if measure.check == "discharge":
        status, discharged, admitted = cols
        on_time = discharged.is_not_null() & (admitted.is_null() | (discharged >= admitted))
        return status.is_not_null() & ((status == STILL_A_PATIENT) | on_time)
    if measure.check == "has_lines":
        return pl.col(HAS_LINES)
    raise AssertionError(f"unknown check {measure.check}")  # pragma: no cover


#: Checks scoring each of their fields on its own (the others score the row as a whole).
EACH_FIELD = frozenset({"npi", "not_negative", "code_set", "reference"})


def score(measure: Measure, lists: Lists) -> tuple[pl.Expr, pl.Expr | int]:
    """Return the measure's numerator per row (an Int64 expression) and its denominator.

    The denominator is an expression per row (``scope = "present"``: the fields
    holding a value), or a whole number of values every row scores (``"all"``).
    The caller has made sure the run can compute it (:func:`not_computable`).
    """
    present = measure.scope == "present"
    if measure.check not in EACH_FIELD:
        valid = _joint(measure).fill_null(False).cast(pl.Int64)
        if present:
            given = pl.all_horizontal(pl.col(n).is_not_null() for n in measure.fields).cast(pl.Int64)
            return valid * given, given
        return valid, 1
    nums = [_valid(measure, name, lists).fill_null(False).cast(pl.Int64) for name in measure.fields]
    if present:
        return pl.sum_horizontal(nums), pl.sum_horizontal(
            pl.col(n).is_not_null().cast(pl.Int64) for n in measure.fields
        )
    return pl.sum_horizontal(nums), len(measure.fields)
