"""Pharmacy rules (``RX0nn``): fields of ``mce-rx-v1`` and the logic of a prescription encounter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from sendpro.config import DEFAULT_NCPDP_LAYOUT
from sendpro.model.fields import FieldDef, Kind, Usage
from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.model.rx_fields import RX
from sendpro.ncpdp.codec import FieldValueError, encode_value, source_value
from sendpro.ncpdp.layout import FieldFormat, NcpdpField, NcpdpLayout, RecordRole, load_ncpdp_layout
from sendpro.report.issue import Issue
from sendpro.validate.rule import RecordRule, RuleContext
from sendpro.validate.rules._frame import column_label
from sendpro.validate.rules.claim import money, original_problem
from sendpro.validate.rules.fields import AmountFieldRule, DateFieldRule, FormatFieldRule, RequiredFieldRule
from sendpro.validate.rules.provider import npi_check_digit_ok

_PHARMACY = frozenset({"pharmacy"})


class PharmacyRequired(RequiredFieldRule):
    """A pharmacy field the encounter requires is empty.

    Bad: an empty ``ndc``.
    Good: ``ndc`` = ``00002143380``.
    """

    code = "RX001"
    name = "pharmacy.required"
    group = "RX"
    models = _PHARMACY


class PharmacyFormat(FormatFieldRule):
    """A pharmacy field does not match its format (NDC, NPI, codes, numbers).

    Bad: ``ndc`` = ``0002-1433-80``; ``daw_code`` = ``A``; ``quantity_dispensed`` = ``0``.
    Good: ``ndc`` = ``00002143380``; ``daw_code`` = ``0``; ``quantity_dispensed`` = ``30``.
    """

    code = "RX002"
    name = "pharmacy.format"
    group = "RX"
    models = _PHARMACY


class PharmacyDate(DateFieldRule):
    """A pharmacy date is not a real calendar date in CCYYMMDD form.

    Bad: ``date_of_service`` = ``20260231``.
    Good: ``date_of_service`` = ``20260228``.
    """

    code = "RX003"
    name = "pharmacy.date"
    group = "RX"
    models = _PHARMACY


class PharmacyAmount(AmountFieldRule):
    """A pharmacy amount is not a plain amount with at most 2 decimals.

    Bad: ``ingredient_cost_paid`` = ``$12.50``.
    Good: ``ingredient_cost_paid`` = ``12.50``.
    """

    code = "RX004"
    name = "pharmacy.amount"
    group = "RX"
    models = _PHARMACY


class _Pharmacy(RecordRule):
    models: ClassVar[frozenset[str]] = _PHARMACY
    claim_types = frozenset({"RX"})


class PharmacyNpi(_Pharmacy):
    """The pharmacy's or the prescriber's NPI has a wrong check digit.

    Bad: ``pharmacy_npi`` = ``1234567890``.
    Good: ``pharmacy_npi`` = ``1234567893``.
    """

    code = "RX010"
    name = "pharmacy.npi_check_digit"
    source = "NPI standard (45 CFR 162.406); MassHealth SENDPro data quality (edit #5)"
    template = "{field} has an invalid check digit: it is not a valid NPI"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Check both NPIs."""
        for name in ("pharmacy_npi", "prescriber_npi"):
            npi = getattr(encounter, name)
            if npi is not None and not npi_check_digit_ok(npi):
                yield self.claim_issue(encounter, field=name, value=npi)


class ServiceAfterAdjudication(_Pharmacy):
    """The prescription was filled after the claim was adjudicated.

    Bad: ``date_of_service`` = ``20260310`` with ``adjudication_date`` = ``20260305``.
    Good: ``date_of_service`` on or before ``adjudication_date``.
    """

    code = "RX011"
    name = "pharmacy.service_after_adjudication"
    template = "date_of_service is after adjudication_date"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Compare the fill date with the adjudication date."""
        dos, adj = encounter.date_of_service, encounter.adjudication_date
        if dos is not None and adj is not None and dos > adj:
            yield self.claim_issue(encounter, field="date_of_service")


class DaysSupply(_Pharmacy):
    """The days supply is not between 1 and 365.

    Bad: ``days_supply`` = ``0`` or ``400``.
    Good: ``days_supply`` = ``30``.
    """

    code = "RX012"
    name = "pharmacy.days_supply"
    template = "days_supply {n} is not between 1 and 365"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Check the days supply range."""
        if encounter.days_supply is not None and not 1 <= int(encounter.days_supply) <= 365:
            yield self.claim_issue(encounter, field="days_supply", n=int(encounter.days_supply))


class TotalPaidFormula(_Pharmacy):
    """The total amount paid is not ingredient cost + dispensing fee - patient pay.

    A layout may declare further paid components (``paid_components``), which are
    added too.

    Bad: ingredient 10.00, fee 2.00, patient pay 1.00, ``total_amount_paid`` = ``12.00``.
    Good: ``total_amount_paid`` = ``11.00``.
    """

    code = "RX013"
    name = "pharmacy.total_paid"
    template = "total_amount_paid {total} is not {formula} = {expected} (difference {diff})"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Recompute the total amount paid from its components."""
        assert self.context is not None
        e = encounter
        if e.total_amount_paid is None or e.ingredient_cost_paid is None or e.dispensing_fee_paid is None:
            return
        extra = self.context.layout.paid_components
        # An absent declared component counts as zero.
        expected = e.ingredient_cost_paid + e.dispensing_fee_paid - (e.patient_pay_amount or 0)
        expected += sum(e.extra_paid.get(name) or 0 for name in extra)
        if e.total_amount_paid != expected:
            formula = " + ".join(["ingredient_cost_paid", "dispensing_fee_paid", *extra]) + " - patient_pay_amount"
            yield self.claim_issue(
                e,
                field="total_amount_paid",
                total=money(e.total_amount_paid),
                formula=formula,
                expected=money(expected),
                diff=money(e.total_amount_paid - expected),
            )


class PharmacyOriginal(_Pharmacy):
    """A replacement (7) or reversal (8) does not name the claim it replaces.

    Bad: ``claim_frequency`` = ``8`` with an empty ``original_claim_id``.
    Good: ``original_claim_id`` = the MCE claim id of the reversed claim.
    """

    code = "RX014"
    name = "pharmacy.original_missing"
    source = "MassHealth SENDPro (edit #9)"
    template = "a {what} (claim_frequency {frequency}) {problem}"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Require the original claim id, other than the claim's own, on replacements and reversals."""
        problem = original_problem(encounter.frequency, encounter.original_claim_id, encounter.claim_id)
        if problem is not None:
            what = "replacement" if encounter.frequency == "7" else "reversal"
            yield self.claim_issue(
                encounter, field="original_claim_id", what=what, frequency=encounter.frequency, problem=problem
            )


class ReversalAfterOriginal(_Pharmacy):
    """A reversal or resubmission is not adjudicated after the claim it cross-references.

    When both claims are in the input, the later version must carry a later
    adjudication date (MassHealth edit #12).

    Bad: original adjudicated 20260310, reversal adjudicated 20260305.
    Good: the reversal adjudicated after 20260310.
    """

    code = "RX015"
    name = "pharmacy.reversal_date"
    source = "MassHealth SENDPro data quality (edit #12)"
    template = "adjudication_date is not after the original claim's ({original} at line {row})"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Compare with the original's adjudication date, looked up in the file's claim index."""
        assert self.context is not None
        lookup = self.context.extra.get("claim_facts")
        e = encounter
        if lookup is None or e.frequency not in ("7", "8") or not e.original_claim_id or e.adjudication_date is None:
            return
        if e.original_claim_id == e.claim_id:
            return  # RX014 says it names itself
        facts = lookup(e.original_claim_id)
        if facts is None or facts[0] is None:
            return
        original_date, original_row = facts
        if e.adjudication_date.strftime("%Y%m%d") <= original_date:
            yield self.claim_issue(e, field="adjudication_date", original=original_date, row=original_row)


class WrittenAfterFilled(_Pharmacy):
    """The prescription was written after it was filled.

    Bad: ``date_written`` = ``20260310`` with ``date_of_service`` = ``20260301``.
    Good: ``date_written`` on or before ``date_of_service``.
    """

    code = "RX016"
    name = "pharmacy.written_after_filled"
    template = "date_written is after date_of_service"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Compare the written and fill dates."""
        if encounter.date_written and encounter.date_of_service and encounter.date_written > encounter.date_of_service:
            yield self.claim_issue(encounter, field="date_written")


class DuplicateClaimId(_Pharmacy):
    """The same MCE claim id is on more than one row.

    Each row of ``mce-rx-v1`` is one claim; a repeated id is a duplicate
    encounter (MassHealth edit #13), so every row of it is kept out.

    Bad: two rows with ``mce_claim_id`` = ``RX100``.
    Good: one row per claim id; replacements and reversals get their own ids.
    """

    code = "RX020"
    name = "pharmacy.duplicate_claim_id"
    template = "mce_claim_id appears on {n} rows (lines {rows}); each row must be its own claim"

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Flag claim ids found on several rows."""
        if len(encounter.rows) > 1:
            yield self.claim_issue(
                encounter, field="mce_claim_id", n=len(encounter.rows), rows=", ".join(str(r) for r in encounter.rows)
            )


class NcpdpFieldFit(RecordRule):
    """A value cannot be written into its field of the NCPDP output layout.

    The NCPDP layout (``--ncpdp-profile``) fixes each field's width: a paid
    amount of ``$123,456,789.00`` has more digits than Ingredient Cost Paid
    (506-F6) holds, and an official layout may require a field the input left
    empty. Such a claim is rejected here, named by field, instead of stopping
    the run when the writer reaches it.

    Bad: ``ingredient_cost_paid`` = ``123456789.00`` (506-F6 holds 10 positions with 2 decimals).
    Good: ``ingredient_cost_paid`` = ``12.50``.
    """

    code = "RX021"
    guard = True
    yields = True  # an empty or malformed value is RX001's or RX002's to report
    name = "pharmacy.ncpdp_field_fit"
    models = _PHARMACY
    claim_types = frozenset({"RX"})
    template = "{column} {problem} NCPDP field {label} of layout {layout}"

    _layout: NcpdpLayout | None = None

    def start(self, context: RuleContext) -> None:
        """Take the run's NCPDP layout (the default profile's when the run names none)."""
        super().start(context)
        chosen = context.extra.get("ncpdp_layout")
        self._layout = chosen if isinstance(chosen, NcpdpLayout) else load_ncpdp_layout(chosen or DEFAULT_NCPDP_LAYOUT)
        detail = self._layout.record(RecordRole.DETAIL)
        # Template fields (``value``) hold envelope values, not the claim's: only model-fed ones are checked.
        fields: list[tuple[NcpdpField, int | None]] = [
            (f, f.length) for f in detail.fields if f.field is not None and f.value is None
        ]
        fields += [
            (f, None) for s in self._layout.segments for f in s.fields if f.field is not None and f.value is None
        ]
        # Encoding every field of every claim would do the writer's work twice: skip the
        # fields whose input format already guarantees they fit (dates, short codes and texts).
        by_name = context.layout.catalog.by_name
        self._fields = [(f, width) for f, width in fields if _may_not_fit(f, width, by_name.get(str(f.field)))]

    def check(self, encounter: PharmacyEncounter) -> Iterator[Issue]:
        """Encode every model-fed field the way the writer will; report those that do not fit."""
        assert self._layout is not None
        values = encounter.values()
        seen: set[str] = set()
        for f, width in self._fields:
            value = source_value(f, values, {})
            try:
                encode_value(f, value, width)
            except FieldValueError:
                name = str(f.field)
                if name in seen:  # the same model field in the record and a segment: one issue
                    continue
                seen.add(name)
                assert self.context is not None
                yield self.claim_issue(
                    encounter,
                    field=name,
                    column=column_label(self.context.layout, name),
                    problem=_fit_problem(f, value, width),
                    label=f.label,
                    layout=self._layout.name,
                )


def _may_not_fit(f: NcpdpField, width: int | None, fd: FieldDef | None) -> bool:
    """Return False only when every value the input rules let through fits ``f`` (so it need not be checked)."""
    if fd is None:
        return True  # nothing is known of the input
    if f.required and fd.usage_for(RX) is not Usage.REQUIRED:
        return True  # the input may leave it empty (when it must not, RX001 reports the empty value)
    if f.format is FieldFormat.DATE:
        return fd.kind is not Kind.DATE  # a typed date is always eight digits
    if fd.kind is Kind.CODE and fd.codes is not None:
        return not all(_fits(f, source_value(f, {str(f.field): code}, {}), width) for code in fd.codes)
    limit = width or f.max_length
    if f.format is FieldFormat.TEXT and not f.map and fd.kind in (Kind.TEXT, Kind.PATTERN):
        return limit is not None and (fd.max_len is None or fd.max_len > limit)
    return True  # amounts and quantities: any size may come


def _fits(f: NcpdpField, value: object, width: int | None) -> bool:
    try:
        encode_value(f, value, width)
    except FieldValueError:
        return False
    return True


def _fit_problem(f: NcpdpField, value: object, width: int | None) -> str:
    """Say why a value does not fit, without quoting it (it may be PHI)."""
    if value is None or value == "":
        return "is empty, but the layout requires"
    size = width or f.max_length
    if f.format is FieldFormat.TEXT:
        return f"is longer than the {size} characters of"
    if f.format is FieldFormat.DATE:
        return "is not a CCYYMMDD date for"
    if f.format is FieldFormat.NUMERIC and str(value).startswith("-"):
        return "is negative, which cannot be written in"
    decimals = f" with {f.decimals} implied decimals" if f.decimals else ""
    return f"has more digits or decimals than the {size} positions{decimals} of"


PHARMACY_FRAME_RULES = (PharmacyRequired, PharmacyFormat, PharmacyDate, PharmacyAmount)
PHARMACY_RULES: tuple[type[RecordRule], ...] = (
    PharmacyNpi,
    ServiceAfterAdjudication,
    DaysSupply,
    TotalPaidFormula,
    PharmacyOriginal,
    ReversalAfterOriginal,
    WrittenAfterFilled,
    DuplicateClaimId,
    NcpdpFieldFit,
)
