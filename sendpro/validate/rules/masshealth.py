"""MassHealth business edits (SNIP type 7): rules #4, #6, #7, #10, #11, #14-#17 of masshealth-rules.md.

The other edits live with the rules they extend: #1 claim frequency (CL010), #2
contract type (CL011), #3 ICD-10 only (CL002, CS001), #5 NPI check digits
(PV010, RX010), #8 the statement period (CL001; the 837I writer always sends
RD8), #9 original claim named and known (CL012, CL052, CL053, RX014), #12
pharmacy reversal dates (RX015), #13 duplicates (CL050).

Codes are ``MH`` and the edit number times ten, so ``MH140`` is edit #14
(MassHealth's edit 1010). Rules that need a reference file declare it in
``needs``; without the file the run skips them and the report lists them.
Most are polars expressions over each batch, joined with the reference frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

import polars as pl

from sendpro.model.encounter import Encounter
from sendpro.model.fields import FieldDef, Level
from sendpro.references import ENTITY_CATEGORIES, Members, OrderedServices, Providers
from sendpro.report.issue import Category, Issue, Severity
from sendpro.validate.rule import FrameRule, RecordRule, Scope
from sendpro.validate.rules._frame import column_label
from sendpro.validate.rules._line_exprs import claim_value, is_line
from sendpro.validate.rules.codesets import CLAIM_DATE, LINE_DATE, is_real_date
from sendpro.validate.rules.fields import FieldRule

_TF = "MassHealth Provider Updates, July 2025 (TF-2025-07)"
_DQ = "MassHealth SENDPro data quality (DQ_SENDPRO)"
#: Provider types MassHealth authorizes to order, refer or prescribe (edit #16).
ORP_TYPES = frozenset({"01", "02", "05", "06", "08", "10", "17", "39", "51", "57", "78", "90", "92"})


class _MassHealthField(FieldRule):
    category = Category.BUSINESS
    field_names: ClassVar[tuple[str, ...]]

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the catalogue fields checked (those the file's catalogue has)."""
        return tuple(fd for fd in self.catalog.fields if fd.name in self.field_names)


class NegativeAmount(_MassHealthField):
    """A line charge or paid amount is negative (MassHealth edit #6).

    Adjustments are sent as replacements or voids, never as negative lines. A
    pharmacy reversal (frequency 8) may carry the negated amounts of the claim it
    reverses, as warehouse extracts often do.

    Bad: ``line_paid`` = ``-25.00``.
    Good: ``line_paid`` = ``0`` or more; a recoupment sent as a replacement (frequency 7).
    """

    code = "MH060"
    name = "masshealth.negative_amount"
    template = "{column} is negative; MassHealth accepts charges and paid amounts of 0 or more (edit #6)"
    source = _DQ + " (edit #6)"
    models = frozenset({"medical", "pharmacy"})
    field_names = (
        "line_charge",
        "line_paid",
        "ingredient_cost_paid",
        "dispensing_fee_paid",
        "total_amount_paid",
        # A pharmacy claim's charges, and what the patient and other payers paid.
        "usual_customary_charge",
        "gross_amount_due",
        "patient_pay_amount",
        "other_payer_amount_paid",
    )

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return rows whose amount parses below zero (pharmacy reversals may carry the original's negation)."""
        negative = pl.col(fd.name).cast(pl.Float64, strict=False) < 0
        if self.catalog.name == "pharmacy":
            return negative & (pl.col("claim_frequency").fill_null("") != "8")
        return negative

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Return no extra parameters."""
        return {}


class ServiceDate(_MassHealthField):
    """A date of service is a placeholder (1900-01-01), in the future, or after the adjudication date (edit #7).

    Bad: ``line_from_date`` = ``19000101``; a date after ``adjudication_date``; a date after today.
    Good: the real service date, on or before the adjudication date.
    """

    code = "MH070"
    name = "masshealth.service_date"
    template = "{column} {problem} (MassHealth edit #7)"
    source = _DQ + " (edit #7)"
    models = frozenset({"medical", "pharmacy"})
    field_names = ("line_from_date", "line_to_date", "date_of_service")

    def today(self) -> str | None:
        """Return the run's date as CCYYMMDD (from the injected clock), if known."""
        assert self.context is not None
        value = self.context.extra.get("today")
        return value if isinstance(value, str) else None

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return rows with a placeholder, future or after-adjudication date."""
        value = pl.col(fd.name)
        real = is_real_date(value)
        bad = value == "19000101"
        today = self.today()
        if today is not None:
            bad = bad | (value > today)
        if fd.name != "date_of_service":  # pharmacy: RX011 checks fills after adjudication
            bad = bad | (is_real_date(pl.col("adjudication_date")) & (value > pl.col("adjudication_date")))
        return value.is_not_null() & real & bad

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Say which of the three it is."""
        value = row_value or ""
        today = self.today()
        if value == "19000101":
            return {"problem": "is the placeholder date 1900-01-01, not a real date of service"}
        if today is not None and value > today:
            return {"problem": "is in the future"}
        return {"problem": "is after the claim's adjudication_date"}


class MemberIdFormat(_MassHealthField):
    """The member id is not a 12-digit MassHealth member ID (edit #10).

    Every encounter carries the member's own MassHealth ID. A warning: an MCE may
    hold its own member numbers in the extract by mistake; with a member reference
    file, MH101 and MH102 check the id itself.

    Bad: ``member_id`` = ``A12345``.
    Good: ``member_id`` = ``100000000001``.
    """

    code = "MH100"
    name = "masshealth.member_id_format"
    severity = Severity.WARNING
    template = "{column} is not a 12-digit MassHealth member ID (edit #10)"
    source = _DQ + "; MCE contract data requirements (edit #10)"
    models = frozenset({"medical", "pharmacy"})
    field_names = ("member_id",)

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return rows whose member id is not 12 digits."""
        return pl.col(fd.name).is_not_null() & ~pl.col(fd.name).str.contains(r"^[0-9]{12}$")

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Return no extra parameters."""
        return {}


# -- rules joined with reference files -----------------------------------------------------------
class _ReferenceRule(FrameRule):
    """Base: a frame rule that joins each batch with a reference file."""

    category = Category.BUSINESS
    scope = Scope.CLAIM
    scope_level: ClassVar[Level] = Level.CLAIM

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return the failing rows with ``_rec``, ``_field``, ``_problem`` (and the locating columns)."""
        raise NotImplementedError

    def rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return the rows checked, with the columns every issue needs."""
        first = pl.col("_first") if self.scope_level is Level.CLAIM else ~pl.col("_nolines")
        return frame.filter(first & ~pl.col("_broken")).with_columns(
            pl.col("_claim_row" if self.scope_level is Level.CLAIM else "_row").alias("_rec"),
            (
                pl.lit(None, pl.Int64)
                if self.scope_level is Level.CLAIM or "line_number" not in frame.columns
                else pl.col("line_number").cast(pl.Int64, strict=False)
            ).alias("_line"),
        )

    def check_frame(self, frame: pl.DataFrame) -> Iterator[Issue]:
        """Yield one issue per failing row."""
        assert self.context is not None
        if frame.height == 0:
            return
        found = self.failing(frame)
        for row in found.select("_rec", "mce_claim_id", "_line", "member_id", "_field", "_problem").iter_rows():
            rec, claim_id, line, member, field_name, problem = row
            yield self.issue(
                record_no=int(rec),
                field=field_name,
                claim_id=claim_id,
                line_no=line,
                member_id=member,
                column=column_label(self.context.layout, field_name),
                problem=problem,
            )

    def providers(self) -> Providers:
        """Return the provider reference file (the run only keeps this rule when there is one)."""
        assert self.context is not None
        found = self.context.extra["providers"]
        assert isinstance(found, Providers)
        return found


class BillingIndividual(_ReferenceRule):
    """The billing provider is an individual in the provider reference file (edit #4).

    MassHealth takes the billing provider as an organization (NM102 = 2); an
    individual's NPI as billing NPI is a mapping error. Needs the provider file.

    Bad: ``billing_npi`` of a provider whose ``entity_type`` is 1.
    Good: the group's or facility's organization NPI (entity type 2).
    """

    code = "MH040"
    name = "masshealth.billing_individual"
    template = "{column} {problem} (edit #4)"
    source = _DQ + " (edit #4)"
    needs = frozenset({"providers"})

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Join billing NPIs with the provider file; keep individuals."""
        people = self.providers().providers.select(pl.col("npi").alias("billing_npi"), "entity_type")
        return (
            self.rows(frame)
            .join(people, on="billing_npi", how="inner")
            .filter(pl.col("entity_type") == "1")
            .with_columns(
                pl.lit("billing_npi").alias("_field"),
                pl.lit("is an individual (entity type 1) in the provider file; bill as an organization").alias(
                    "_problem"
                ),
            )
        )


class RenderingInGroup(_ReferenceRule):
    """Edit 1010: the rendering provider is not enrolled in the billing group on the date of service.

    When the billing provider is a group practice, the rendering provider must
    be linked to that group on the date of service; when it bills as an entity
    (community health or mental health center, substance use disorder treatment,
    urgent care, hospital) the rendering provider should be blank. Needs the
    provider file.

    Bad: ``rendering_npi`` of a clinician without an affiliation to ``billing_npi`` on the date of service.
    Good: a rendering provider affiliated with the billing group on that date.
    """

    code = "MH140"
    name = "masshealth.rendering_group"
    severity = Severity.WARNING
    template = "{column} {problem} (MassHealth edit 1010)"
    source = _TF + ", edit 1010"
    needs = frozenset({"providers"})
    claim_types = frozenset({"P", "D"})

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Check each claim's rendering NPI against the billing provider's category and affiliations."""
        refs = self.providers()
        billing = refs.providers.select(pl.col("npi").alias("billing_npi"), pl.col("category").alias("_category"))
        rows = (
            self.rows(frame)
            .filter(pl.col("rendering_npi").is_not_null() & pl.col("claim_type").is_in(["P", "D"]))
            .with_columns(CLAIM_DATE.alias("_dos"))
            .join(billing, on="billing_npi", how="inner")
        )
        entity = rows.filter(pl.col("_category").is_in(sorted(ENTITY_CATEGORIES))).with_columns(
            pl.lit("rendering_npi").alias("_field"),
            pl.format("should be blank: the billing provider bills as a {}", pl.col("_category")).alias("_problem"),
        )
        groups = rows.filter(pl.col("_category") == "group_practice")
        links = refs.affiliations.rename({"npi": "rendering_npi", "group_npi": "billing_npi"})
        linked = (
            groups.join(links, on=["rendering_npi", "billing_npi"], how="inner")
            .filter(
                (pl.col("affiliation_from").is_null() | (pl.col("affiliation_from") <= pl.col("_dos")))
                & (pl.col("affiliation_to").is_null() | (pl.col("affiliation_to") >= pl.col("_dos")))
            )
            .select("_rec")
            .unique()
        )
        unlinked = groups.join(linked, on="_rec", how="anti").with_columns(
            pl.lit("rendering_npi").alias("_field"),
            pl.lit("is not linked to the billing group practice on the date of service").alias("_problem"),
        )
        return pl.concat([entity, unlinked], how="diagonal_relaxed")


class ReferringRequired(_ReferenceRule):
    """Edit 1200: a service that must be ordered or referred names no referring provider.

    For dates of service on or after 2025-08-01, services such as DME and
    supplies, labs and diagnostic tests, therapy, home health or eyeglasses carry
    the NPI of the ordering/referring provider (categories mapped to procedure
    codes in ``schemas/references/ordered-services.toml``). MassHealth applies
    the edit to fee-for-service claims, not to MCE-paid ones, so for encounters
    this is a warning that helps an MCE enforce the rule with its providers.

    Bad: ``procedure_code`` = ``E0601`` (DME) on a line dated 2025-09-01, ``referring_npi`` empty.
    Good: the ordering clinician in ``referring_npi``.
    """

    code = "MH150"
    name = "masshealth.referring_required"
    severity = Severity.WARNING
    template = "{column} {problem} (MassHealth edit 1200)"
    source = _TF + ", edit 1200"
    claim_types = frozenset({"P", "I"})
    scope = Scope.LINE
    scope_level = Level.LINE

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Flag lines of ordered services without a referring provider on the claim."""
        assert self.context is not None
        services = self.context.extra.get("ordered_services")
        rows = self.rows(frame)
        if not isinstance(services, OrderedServices):
            return rows.clear().with_columns(pl.lit("").alias("_field"), pl.lit("").alias("_problem"))
        category = services.category(pl.col("procedure_code"))
        dos = LINE_DATE
        return (
            rows.filter(
                pl.col("claim_type").is_in(["P", "I"])
                & pl.col("referring_npi").is_null()
                & is_real_date(dos)
                & (dos >= services.effective_from)
            )
            .with_columns(category.alias("_category"))
            .filter(pl.col("_category").is_not_null())
            .with_columns(
                pl.lit("referring_npi").alias("_field"),
                pl.format(
                    "is empty, but line {} is a service that needs an ordering or referring provider ({})",
                    pl.col("_line"),
                    pl.col("_category"),
                ).alias("_problem"),
            )
        )


class ReferringAuthorized(_ReferenceRule):
    """Edit #16: the referring, ordering or prescribing provider is not an enrolled ORP type.

    Authorized types: physician (01), optometrist (02), psychologist (05), podiatrist
    (06), certified nurse midwife (08), dentist (10), nurse practitioner (17),
    physician assistant (39), CRNA (51), clinical nurse specialist (57),
    psychiatric CNS (78), pharmacist authorized to prescribe (90), LICSW (92).
    Needs the provider file.

    Bad: ``referring_npi`` of a provider type 20, or of a provider not in the file.
    Good: an enrolled physician or nurse practitioner.
    """

    code = "MH160"
    name = "masshealth.referring_authorized"
    severity = Severity.WARNING
    template = "{column} {problem} (MassHealth edit 1200, #16)"
    source = _TF + ", ordering/referring/prescribing providers"
    needs = frozenset({"providers"})
    models = frozenset({"medical", "pharmacy"})

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Join the referring (or prescriber) NPI with the provider file."""
        column = "prescriber_npi" if self.catalog_name() == "pharmacy" else "referring_npi"
        refs = self.providers().providers.select(
            pl.col("npi").alias(column), "provider_type", "enrolled_from", "enrolled_to"
        )
        dos = pl.col("date_of_service") if column == "prescriber_npi" else CLAIM_DATE
        rows = self.rows(frame).filter(pl.col(column).is_not_null()).with_columns(dos.alias("_dos"))
        joined = rows.join(refs, on=column, how="left")
        enrolled = (pl.col("enrolled_from").is_null() | (pl.col("enrolled_from") <= pl.col("_dos"))) & (
            pl.col("enrolled_to").is_null() | (pl.col("enrolled_to") >= pl.col("_dos"))
        )
        problem = (
            pl.when(pl.col("provider_type").is_null() & pl.col("enrolled_from").is_null())
            .then(pl.lit("is not in the provider file (not an enrolled ordering/referring provider)"))
            .when(~pl.col("provider_type").fill_null("").is_in(sorted(ORP_TYPES)))
            .then(
                pl.format(
                    "is provider type {}, not one MassHealth authorizes to order or refer",
                    pl.col("provider_type").fill_null("unknown"),
                )
            )
            .when(~enrolled)
            .then(pl.lit("is not enrolled with MassHealth on the date of service"))
            .otherwise(None)
        )
        return joined.with_columns(problem.alias("_problem"), pl.lit(column).alias("_field")).filter(
            pl.col("_problem").is_not_null()
        )

    def catalog_name(self) -> str:
        """Return ``medical`` or ``pharmacy``."""
        assert self.context is not None
        return self.context.layout.catalog.name


class UrgentCare(_ReferenceRule):
    """Edit #17: an urgent care claim lacks place of service 20 (professional) or admission type 2 (institutional).

    Needs the provider file (``category`` = ``urgent_care`` for the billing NPI).

    Bad: an urgent care center's professional claim with ``place_of_service`` = ``11``.
    Good: ``place_of_service`` = ``20``; an institutional claim with ``admission_type`` = ``2``.
    """

    code = "MH170"
    name = "masshealth.urgent_care"
    severity = Severity.WARNING
    template = "{column} {problem} (MassHealth edit #17)"
    source = _TF + ", urgent care"
    needs = frozenset({"providers"})
    claim_types = frozenset({"P", "I"})

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Check urgent care billers' place of service or admission type."""
        urgent = (
            self.providers()
            .providers.filter(pl.col("category") == "urgent_care")
            .select(pl.col("npi").alias("billing_npi"))
        )
        rows = self.rows(frame).join(urgent, on="billing_npi", how="inner")
        professional = rows.filter(
            (pl.col("claim_type") == "P") & (pl.col("place_of_service").fill_null("") != "20")
        ).with_columns(
            pl.lit("place_of_service").alias("_field"),
            pl.lit("is not 20 on an urgent care facility's professional claim").alias("_problem"),
        )
        institutional = rows.filter(
            (pl.col("claim_type") == "I") & (pl.col("admission_type").fill_null("") != "2")
        ).with_columns(
            pl.lit("admission_type").alias("_field"),
            pl.lit("is not 2 (urgent) on an urgent care facility's institutional claim").alias("_problem"),
        )
        return pl.concat([professional, institutional], how="diagonal_relaxed")


class MemberKnown(_ReferenceRule):
    """The member id is not in the member reference file (edit #10).

    Bad: a ``member_id`` MassHealth never issued to the MCE's members.
    Good: the member's own MassHealth ID, as in the member file.
    """

    code = "MH101"
    name = "masshealth.member_unknown"
    template = "{column} {problem} (edit #10)"
    source = _DQ + "; MCE contract data requirements (edit #10)"
    needs = frozenset({"members"})
    models = frozenset({"medical", "pharmacy"})

    def members(self) -> Members:
        """Return the member reference file."""
        assert self.context is not None
        found = self.context.extra["members"]
        assert isinstance(found, Members)
        return found

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Keep claims whose member id is not in the file."""
        ids = self.members().spans.select("member_id").unique()
        return (
            self.rows(frame)
            .filter(pl.col("member_id").is_not_null())
            .join(ids, on="member_id", how="anti")
            .with_columns(
                pl.lit("member_id").alias("_field"),
                pl.lit("is not in the member reference file").alias("_problem"),
            )
        )


class MemberEligible(MemberKnown):
    """The member was not eligible on the date of service (edit #10).

    Bad: a date of service outside every eligibility span of the member.
    Good: a date of service inside one of the member's spans.
    """

    code = "MH102"
    name = "masshealth.member_not_eligible"

    def failing(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Keep claims of known members whose date of service no span covers."""
        spans = self.members().spans
        dos = (
            pl.col("date_of_service") if self.context and self.context.layout.catalog.name == "pharmacy" else CLAIM_DATE
        )
        rows = self.rows(frame).filter(pl.col("member_id").is_not_null()).with_columns(dos.alias("_dos"))
        known = rows.join(spans.select("member_id").unique(), on="member_id", how="semi")
        covered = (
            known.join(spans, on="member_id", how="inner")
            .filter(
                (pl.col("eligible_from").is_null() | (pl.col("eligible_from") <= pl.col("_dos")))
                & (pl.col("eligible_to").is_null() | (pl.col("eligible_to") >= pl.col("_dos")))
            )
            .select("_rec")
            .unique()
        )
        return known.join(covered, on="_rec", how="anti").with_columns(
            pl.lit("member_id").alias("_field"),
            pl.lit("was not eligible on the date of service in the member reference file").alias("_problem"),
        )


# -- rules on the whole claim ----------------------------------------------------------------------
class NewbornUnderOtherId(RecordRule):
    """Newborn services are reported under an older member's ID, e.g. the mother's (edit #10).

    A principal diagnosis of a liveborn infant (ICD-10-CM ``Z38``) or a nursery
    revenue code (``017x``) belongs on the newborn's own MassHealth ID: a member
    born more than a year before the service is someone else.

    Bad: ``dx_1`` = ``Z3800`` for a member born in 1990.
    Good: the newborn's own ``member_id`` and date of birth.
    """

    code = "MH103"
    name = "masshealth.newborn_under_other_id"
    category = Category.BUSINESS
    template = "{problem} (edit #10: every encounter carries the member's own MassHealth ID)"
    source = _DQ + " (edit #10)"

    def concerns(self) -> pl.Expr | None:
        """Claims of members over a year old at the first service with a Z38 principal dx or a 017x line."""
        lines_first = pl.col("line_from_date").filter(is_line()).min().over("_claim_seq")
        first_service = lines_first.fill_null(claim_value("statement_from"))
        older = (first_service - claim_value("member_dob")) > pl.duration(days=365)
        # The principal diagnosis is the first diagnosis given, whichever slot holds it.
        principal = claim_value(pl.coalesce(*(pl.col(f"dx_{n}") for n in range(1, 13))))
        nursery = is_line() & pl.col("revenue_code").str.starts_with("017")
        newborn = principal.str.starts_with("Z38").fill_null(False) | nursery.fill_null(False)
        # Without a date of birth or a service date nothing is checked: fill_null(False).
        return (older & newborn).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Compare the member's age on the first service date with newborn-only codes."""
        dob = encounter.member.dob
        dates = [ln.from_date for ln in encounter.lines if ln.from_date is not None]
        first = min(dates) if dates else encounter.header.statement_from
        if dob is None or first is None or first - dob <= dt.timedelta(days=365):
            return
        principal = encounter.header.diagnoses[0].code if encounter.header.diagnoses else ""
        if principal.startswith("Z38"):
            yield self.claim_issue(
                encounter, field="dx_1", problem="a liveborn infant diagnosis (Z38) for a member older than one year"
            )
            return
        for ln in encounter.lines:
            if (ln.revenue_code or "").startswith("017"):
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="revenue_code",
                    problem="a nursery revenue code (017x) for a member older than one year",
                )
                return


class LinesIncomplete(RecordRule):
    """A claim's line numbers have a gap: a line is missing (edit #11).

    MassHealth wants every line of a paid claim, zero-paid lines included
    (bundled services, copay over the fee schedule). Line numbers run 1, 2, 3...

    Bad: lines 1, 2 and 4.
    Good: lines 1, 2, 3 and 4, line 3 with ``line_paid`` = ``0``.
    """

    code = "MH110"
    name = "masshealth.lines_incomplete"
    category = Category.BUSINESS
    template = "line(s) {missing} are missing (lines run 1 to {last}); send every line, zero-paid included (edit #11)"
    source = _DQ + "; MCE contract data requirements (edit #11)"

    def concerns(self) -> pl.Expr | None:
        """Claims whose distinct line numbers are fewer than the highest one (numbers are 1 or more)."""
        numbers = pl.col("line_number").filter(is_line() & pl.col("line_number").is_not_null())
        # A claim without line numbers is never reported: fill_null(False).
        return (numbers.n_unique().over("_claim_seq") < numbers.max().over("_claim_seq")).fill_null(False)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Report line numbers missing between 1 and the highest."""
        numbers = {ln.line_number for ln in encounter.lines if ln.line_number is not None}
        if not numbers:
            return
        last = max(numbers)
        missing = [n for n in range(1, last + 1) if n not in numbers]
        if missing:
            shown = ", ".join(str(n) for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
            yield self.claim_issue(encounter, field="line_number", missing=shown, last=last)


MASSHEALTH_RULES: tuple[type[FrameRule] | type[RecordRule], ...] = (
    BillingIndividual,
    NegativeAmount,
    ServiceDate,
    MemberIdFormat,
    MemberKnown,
    MemberEligible,
    NewbornUnderOtherId,
    LinesIncomplete,
    RenderingInGroup,
    ReferringRequired,
    ReferringAuthorized,
    UrgentCare,
)
