"""Code set rules (SNIP type 5): a code must exist, and be in effect on the date of service.

Each rule checks one code set against the lists the run has (``context.extra["codesets"]``,
a :class:`~sendpro.codesets.catalog.CodeSets`): configured lists first, bundled
ones (place of service, states) otherwise. Without a list the rule keeps to a
format check, stricter than the field catalogue's where the code set has a known
shape (HCPCS/CPT, CARC), and the run report says the set was checked by format
only. Membership is a polars ``is_in`` over each batch, against the release in
effect on the claim's date of service.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import polars as pl

from sendpro.codesets.catalog import CodeSet, CodeSets
from sendpro.model.fields import FieldDef, Level
from sendpro.report.issue import Category
from sendpro.validate.rules.fields import FieldRule

#: Where the date of service of a claim-level code comes from: institutional
#: claims by the discharge (statement through) date, as ICD releases are chosen;
#: the others by the service date of the claim's first line (claim-level values
#: are checked on the claim's first row; a window over the claim would cost a
#: sort per batch for what is, in extracts, almost always the earliest date).
CLAIM_DATE = pl.coalesce(
    pl.when(pl.col("claim_type") == "I").then(pl.col("statement_to")),
    pl.col("line_from_date"),
    pl.col("statement_from"),
)
#: A line-level code's date: the line's own service date.
LINE_DATE = pl.coalesce(pl.col("line_from_date"), pl.col("statement_from"), CLAIM_DATE)


def is_real_date(expr: pl.Expr) -> pl.Expr:
    """Return an expression: the text is a real CCYYMMDD date (bad ones are the date rules' business)."""
    return expr.str.contains(r"^[0-9]{8}$") & expr.str.to_date("%Y%m%d", strict=False).is_not_null()


def _real_date(expr: pl.Expr) -> pl.Expr:
    """Keep only real CCYYMMDD dates, as text (others become null: not judged)."""
    return pl.when(is_real_date(expr)).then(expr).otherwise(None)


class CodeSetRule(FieldRule):
    """Base: the values of some fields must be codes of one code set (see the module docstring)."""

    category = Category.CODE
    codeset: ClassVar[str]
    field_names: ClassVar[tuple[str, ...]]
    #: A format stricter than the catalogue's (None: the catalogue's format rule is enough).
    shape: ClassVar[str | None] = None
    shape_text: ClassVar[str] = ""
    template = "{column} {problem}"
    source = "X12 external code lists (SNIP type 5)"

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the catalogue fields this code set governs that the file's catalogue has."""
        return tuple(fd for fd in self.catalog.fields if fd.name in self.field_names)

    def codes(self) -> CodeSet | None:
        """Return the code set the run checks membership against (None: format only)."""
        assert self.context is not None
        sets = self.context.extra.get("codesets")
        return sets.get(self.codeset) if isinstance(sets, CodeSets) else None

    def value(self, fd: FieldDef) -> pl.Expr:
        """Return the field's value in the code set's canonical form."""
        return pl.col(fd.name)

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return the rows whose value is malformed or not a code in effect on the date of service."""
        value = self.value(fd)
        found = self.codes()
        # Values failing the catalogue's own format are the format rule's business.
        failing = pl.lit(False)
        if self.shape is not None:
            failing = ~value.str.contains(self.shape)
        if found is not None:
            on = _real_date(LINE_DATE if fd.level is Level.LINE else CLAIM_DATE)
            failing = failing | found.invalid(value, on)
        return self.governed(fd) & failing

    def governed(self, fd: FieldDef) -> pl.Expr:
        """Return the rows this code set judges: a value of the right claim type that passes the field's format.

        A value failing the catalogue's format (``J06.9`` for a diagnosis) is the
        format rule's (CL002, SV002): reporting it again here would say one thing twice.
        """
        applies = pl.col(fd.name).is_not_null()
        if fd.pattern is not None:
            applies = applies & pl.col(fd.name).str.contains(fd.pattern)
        if "claim_type" in self.catalog.by_name:
            applies = applies & pl.col("claim_type").is_in(sorted(self.claim_types))
        return applies

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Say whether the value is malformed, unknown, or not in effect on the date of service."""
        value = row_value or ""
        if self.shape is not None and not re.search(self.shape, value):
            return {"problem": f"is not {self.shape_text}"}
        found = self.codes()
        assert found is not None
        title = found.spec.title
        if found.known(value):
            return {"problem": f"is not a code of the {title} release in effect on the date of service"}
        return {"problem": f"is not in the {title} list ({self._releases(found)})"}

    @staticmethod
    def _releases(found: CodeSet) -> str:
        return ", ".join(r.version or r.source for r in found.releases)


class Icd10CmCode(CodeSetRule):
    """A diagnosis is not an ICD-10-CM code in effect on the date of service.

    MassHealth accepts ICD-10 only (edit #3). Needs an ICD-10-CM list in
    ``[codesets] icd10cm`` (CMS's ``icd10cm_codes_YYYY.txt`` reads as is; one
    release per fiscal year, effective October 1); without one the format rule
    (CL002) is the check.

    Bad: ``dx_1`` = ``J0699`` (no such code), or a code deleted before the date of service.
    Good: ``dx_1`` = ``J069``.
    """

    code = "CS001"
    name = "codeset.icd10cm"
    codeset = "icd10cm"
    field_names = (*(f"dx_{n}" for n in range(1, 13)), "admitting_dx")
    source = "CMS ICD-10-CM; MassHealth SENDPro (edit #3: ICD-10 only)"


class Icd10PcsCode(CodeSetRule):
    """An ICD-10-PCS procedure is not a code in effect on the date of service.

    Needs a list in ``[codesets] icd10pcs``; without one the format rule (CL002) is the check.

    Bad: ``icd_pcs_1`` = ``0DTJ4ZZ`` when the list does not hold it.
    Good: a seven-character code of the release in effect.
    """

    code = "CS002"
    name = "codeset.icd10pcs"
    codeset = "icd10pcs"
    field_names = tuple(f"icd_pcs_{n}" for n in range(1, 7))
    claim_types = frozenset({"I"})
    source = "CMS ICD-10-PCS"


class HcpcsCode(CodeSetRule):
    """A procedure code is not a HCPCS Level II or CPT code (format, and the lists when configured).

    HCPCS Level II is a letter A-V and four digits; CPT is four digits and a digit,
    ``F`` (category II), ``T`` (category III) or ``U`` (PLA). With ``[codesets]
    hcpcs`` (CMS, public) and/or ``cpt`` (AMA, licensed), a code of that kind must
    also be in the list in effect on the date of service.

    Bad: ``procedure_code`` = ``9921A`` or ``W1234``.
    Good: ``99213``, ``0001U``, ``E0601``.
    """

    code = "CS003"
    name = "codeset.hcpcs"
    codeset = "hcpcs"
    field_names = ("procedure_code",)
    claim_types = frozenset({"P", "I"})
    shape = r"^([A-V][0-9]{4}|[0-9]{4}[0-9FTU])$"
    shape_text = "a HCPCS Level II (letter A-V and 4 digits) or CPT (4 digits and a digit, F, T or U) code"
    source = "CMS HCPCS Level II; AMA CPT"

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Check the HCPCS list for letter codes and the CPT list for numeric ones."""
        assert self.context is not None
        value = pl.col(fd.name)
        sets = self.context.extra.get("codesets")
        failing = ~value.str.contains(self.shape or "")
        on = _real_date(LINE_DATE)
        if isinstance(sets, CodeSets):
            hcpcs, cpt = sets.get("hcpcs"), sets.get("cpt")
            letter = value.str.contains(r"^[A-V]")
            if hcpcs is not None:
                failing = failing | (letter & hcpcs.invalid(value, on))
            if cpt is not None:
                failing = failing | (~letter & cpt.invalid(value, on))
        return self.governed(fd) & failing

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Say which list the code is missing from."""
        value = row_value or ""
        if not re.search(self.shape or "", value):
            return {"problem": f"is not {self.shape_text}"}
        assert self.context is not None
        sets = self.context.extra["codesets"]
        found = sets.get("hcpcs" if value[:1].isalpha() else "cpt")
        if found.known(value):
            return {"problem": f"is not a code of the {found.spec.title} release in effect on the date of service"}
        return {"problem": f"is not in the {found.spec.title} list ({self._releases(found)})"}


class CdtCode(CodeSetRule):
    """A dental procedure code is not in the CDT list in effect on the date of service.

    Needs ``[codesets] cdt`` (licensed by the ADA); without it the format rule (SV020) is the check.

    Bad: ``procedure_code`` = ``D9999`` when the list does not hold it.
    Good: a CDT code of the release in effect.
    """

    code = "CS004"
    name = "codeset.cdt"
    codeset = "cdt"
    field_names = ("procedure_code",)
    claim_types = frozenset({"D"})
    source = "ADA Current Dental Terminology"


class NdcCode(CodeSetRule):
    """A National Drug Code is not in the configured NDC list.

    Needs ``[codesets] ndc`` (11-digit or hyphenated 10-digit NDCs both read);
    without it the format rules (SV002, RX002) are the check.

    Bad: ``ndc_code`` = ``00000000000``.
    Good: an NDC of the FDA directory, as 11 digits (5-4-2).
    """

    code = "CS005"
    name = "codeset.ndc"
    codeset = "ndc"
    field_names = ("ndc_code", "ndc")
    claim_types = frozenset({"P", "I"})
    models = frozenset({"medical", "pharmacy"})
    source = "FDA National Drug Code Directory"

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Pharmacy encounters take their date of service from the fill date."""
        found = self.codes()
        if found is None:
            return None
        if self.catalog.name == "pharmacy":
            on = _real_date(pl.col("date_of_service"))
            return self.governed(fd) & found.invalid(pl.col(fd.name), on)
        return super().mask(fd)


class RevenueCode(CodeSetRule):
    """A revenue code is not in the configured revenue code list.

    Needs ``[codesets] revenue`` (NUBC codes, licensed by the AHA); without it the
    format rule (SV002: four digits) is the check.

    Bad: ``revenue_code`` = ``0999`` when the list does not hold it.
    Good: ``0450``.
    """

    code = "CS006"
    name = "codeset.revenue"
    codeset = "revenue"
    field_names = ("revenue_code",)
    claim_types = frozenset({"I"})
    source = "NUBC UB-04 revenue codes"


class PlaceOfServiceCode(CodeSetRule):
    """A place of service is not a CMS place of service code in effect on the date of service.

    sendpro bundles CMS's list with the dates codes came into use (``[codesets]
    pos`` replaces it).

    Bad: ``place_of_service`` = ``98``; ``10`` (telehealth in the home) before 2022.
    Good: ``11`` (office).
    """

    code = "CS007"
    name = "codeset.place_of_service"
    codeset = "pos"
    field_names = ("place_of_service", "line_place_of_service")
    claim_types = frozenset({"P", "D"})
    source = "CMS Place of Service Code Set"


class AdjustmentReasonCode(CodeSetRule):
    """A claim adjustment reason code (CARC) is malformed, or not in the configured CARC list.

    CARCs are one to three digits, or a letter and one or two digits (``A1``,
    ``B7``, ``P1``). With ``[codesets] carc`` the code must also be in the list in
    effect on the date of service (X12 retires codes with a stop date).

    Bad: ``line_adj_reason_1`` = ``45X`` or ``1234``.
    Good: ``45``, ``A1``, ``P12``.
    """

    code = "CS008"
    name = "codeset.carc"
    codeset = "carc"
    field_names = (
        "claim_adj_reason_1",
        "claim_adj_reason_2",
        *(f"line_adj_reason_{n}" for n in range(1, 4)),
    )
    shape = r"^([0-9]{1,3}|[A-Z][0-9]{1,2})$"
    shape_text = "a claim adjustment reason code (1-3 digits, or a letter and 1-2 digits)"
    source = "X12 Claim Adjustment Reason Codes"


class StateCode(CodeSetRule):
    """A state is not a US state, territory or armed forces code.

    sendpro bundles the USPS list (``[codesets] state`` replaces it).

    Bad: ``billing_state`` = ``XX``; ``member_state`` = ``ZZ``.
    Good: ``MA``.
    """

    code = "CS009"
    name = "codeset.state"
    codeset = "state"
    field_names = ("member_state", "billing_state", "facility_state")
    source = "USPS state abbreviations"


class TaxonomyCode(CodeSetRule):
    """A provider taxonomy code is not in the configured NUCC taxonomy list.

    Needs ``[codesets] taxonomy``; without it the format rule (PV002: ten
    characters ending in X) is the check.

    Bad: ``billing_taxonomy`` = ``207Q00001X`` when the list does not hold it.
    Good: ``207Q00000X`` (family medicine).
    """

    code = "CS010"
    name = "codeset.taxonomy"
    codeset = "taxonomy"
    field_names = ("billing_taxonomy",)
    source = "NUCC Health Care Provider Taxonomy"


CODESET_RULES: tuple[type[CodeSetRule], ...] = (
    Icd10CmCode,
    Icd10PcsCode,
    HcpcsCode,
    CdtCode,
    NdcCode,
    RevenueCode,
    PlaceOfServiceCode,
    AdjustmentReasonCode,
    StateCode,
    TaxonomyCode,
)
