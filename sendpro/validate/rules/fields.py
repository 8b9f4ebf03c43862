"""Per-field rules driven by the field catalogue: required, format, real dates, amounts, not used.

Each check exists once per group of fields (member ``MB``, provider ``PV``, claim
``CL``, service line ``SV``) so a code tells an analyst at a glance which part of
the encounter is wrong. All of them are polars expressions over the whole batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

import polars as pl

from sendpro.model.catalog import MEDICAL, Catalog
from sendpro.model.fields import FieldDef, Kind, Usage
from sendpro.model.typing import valid_expr
from sendpro.report.issue import Issue, Severity
from sendpro.validate.rule import FrameRule, RuleContext
from sendpro.validate.rules._frame import applies_mask, column_label, describe_problem, failing_rows


class FieldRule(FrameRule):
    """Shared machinery: evaluate one mask per field, then pull the failing rows."""

    group: ClassVar[str]
    #: The masks of the file being checked; built once per file, not per batch (a few
    #: hundred expressions cost more to build than to evaluate on a small batch).
    _masks: dict[str, pl.Expr] | None = None

    def start(self, context: RuleContext) -> None:
        """Begin a file: its layout decides the fields, so the masks are built again."""
        super().start(context)
        self._masks = None

    @property
    def catalog(self) -> Catalog:
        """Return the field catalogue of the file being checked."""
        return self.context.layout.catalog if self.context is not None else MEDICAL

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the catalogue fields this rule checks."""
        raise NotImplementedError

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return the expression that is True on failing rows (None: skip the field)."""
        raise NotImplementedError

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Return the template parameters for one failing value."""
        raise NotImplementedError

    def masks(self) -> dict[str, pl.Expr]:
        """Return, per checked field, the expression true on its failing rows."""
        if self._masks is None:
            out: dict[str, pl.Expr] = {}
            for fd in self.fields():
                m = self.mask(fd)
                if m is not None:
                    out[fd.name] = (m & applies_mask(fd)).fill_null(False)
            self._masks = out
        return self._masks

    def check_frame(self, frame: pl.DataFrame) -> Iterator[Issue]:
        """Yield one issue per failing (row, field)."""
        masks = self.masks()
        if not masks or frame.height == 0:
            return
        counts = frame.select([m.sum().alias(n) for n, m in masks.items()]).row(0)
        for (name, mask), count in zip(masks.items(), counts, strict=True):
            if count:
                yield from self.field_issues(frame, name, mask)

    def field_issues(self, frame: pl.DataFrame, name: str, mask: pl.Expr) -> Iterator[Issue]:
        """Yield the issues of one field whose mask holds on some rows of ``frame``."""
        assert self.context is not None
        fd = self.catalog.by_name[name]
        label = column_label(self.context.layout, name)
        types = frame.filter(mask)["claim_type"].to_list() if "claim_type" in frame.columns else []
        for i, row in enumerate(failing_rows(frame, mask, fd.level, name)):
            claim_type = types[i] if i < len(types) else None
            params = self.render(fd, row.value, claim_type)
            yield self.issue(
                record_no=row.record_no,
                field=name,
                claim_id=row.claim_id,
                line_no=row.line_no,
                value=row.value,
                member_id=row.member_id,
                column=label,
                **params,
            )


def _group_fields(
    catalog: Catalog, group: str, kinds: tuple[Kind, ...] | None = None, exclude: tuple[Kind, ...] = ()
) -> tuple[FieldDef, ...]:
    return tuple(
        fd
        for fd in catalog.fields
        if fd.group == group and (kinds is None or fd.kind in kinds) and fd.kind not in exclude
    )


class RequiredFieldRule(FieldRule):
    """Base: a field the claim type requires (usage R) is empty."""

    guard = True
    template = "{column} is required for {type_name} claims but is empty"

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the fields checked."""
        return _group_fields(self.catalog, self.group)

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return the failing-row expression for ``fd``."""
        types = [ct for ct in self.catalog.claim_types if fd.usage_for(ct) is Usage.REQUIRED]
        if not types or fd.name == "claim_type":
            return None
        return pl.col("claim_type").is_in(types) & pl.col(fd.name).is_null()

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Return the template parameters."""
        return {"type_name": self.catalog.type_name(claim_type)}


class NotUsedFieldRule(FieldRule):
    """Base: a field is filled for a claim type that does not use it."""

    severity = Severity.WARNING
    template = "{column} is not used for {type_name} claims; the value is ignored"

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the fields checked."""
        return _group_fields(self.catalog, self.group)

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return the failing-row expression for ``fd``."""
        types = [ct for ct in self.catalog.claim_types if fd.usage_for(ct) is Usage.NOT_USED]
        if not types:
            return None
        return pl.col("claim_type").is_in(types) & pl.col(fd.name).is_not_null()

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Return the template parameters."""
        return {"type_name": self.catalog.type_name(claim_type)}


class FormatFieldRule(FieldRule):
    """Base: a value does not match its field's format."""

    guard = True
    template = "{column} {problem}; expected {expect}"

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the fields checked."""
        return _group_fields(self.catalog, self.group, exclude=(Kind.DATE, Kind.AMOUNT))

    def mask(self, fd: FieldDef) -> pl.Expr | None:
        """Return the failing-row expression for ``fd``."""
        if fd.name == "claim_type":
            # Every other field's emptiness is the required rule's question, which depends on
            # the claim type; an empty claim type has no guide to be written in at all.
            return pl.col(fd.name).is_null() | ~valid_expr(fd)
        return ~valid_expr(fd)

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Return the template parameters."""
        problem = describe_problem(fd, row_value) if row_value else "is empty"
        return {"problem": problem, "expect": fd.expect}


class DateFieldRule(FormatFieldRule):
    """Base: a date is not a real date in the layout's date format (CCYYMMDD in mce-v1)."""

    template = "{column} {problem}; expected a real date {form}"

    def render(self, fd: FieldDef, row_value: str | None, claim_type: str | None) -> dict[str, Any]:
        """Name the form the layout declares, and tell a malformed date from an impossible one."""
        form = self.context.layout.date_format_of(fd.name) if self.context is not None else "CCYYMMDD"
        value = row_value or ""
        if form == "CCYYMMDD":
            return {"problem": describe_problem(fd, value), "form": form}
        # An unreadable date reaches the rule as written, in the layout's form.
        shape = re.escape(form).replace("CCYY", "[0-9]{4}").replace("MM", "[0-9]{2}").replace("DD", "[0-9]{2}")
        problem = "is not a real calendar date" if re.fullmatch(shape, value) else f"is not in {form} form"
        return {"problem": problem, "form": form}

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the fields checked."""
        return _group_fields(self.catalog, self.group, kinds=(Kind.DATE,))


class AmountFieldRule(FormatFieldRule):
    """Base: an amount is not a plain amount with at most 2 decimals."""

    template = "{column} {problem}; expected an amount such as 150, 150.00 or -5.25"

    def fields(self) -> tuple[FieldDef, ...]:
        """Return the fields checked."""
        return _group_fields(self.catalog, self.group, kinds=(Kind.AMOUNT,))


# -- member -------------------------------------------------------------------------------
class MemberRequired(RequiredFieldRule):
    """A member field the claim type requires is empty.

    Bad: a professional claim with an empty ``member_dob``.
    Good: ``member_dob`` = ``19800101``.
    """

    code = "MB001"
    name = "member.required"
    group = "MB"


class MemberFormat(FormatFieldRule):
    """A member field does not match its format (length, code list, picture).

    Bad: ``member_gender`` = ``X``; ``member_zip`` = ``0211``.
    Good: ``member_gender`` = ``F``; ``member_zip`` = ``02111``.
    """

    code = "MB002"
    name = "member.format"
    group = "MB"


class MemberDate(DateFieldRule):
    """A member date is not a real calendar date in CCYYMMDD form.

    Bad: ``member_dob`` = ``19800230`` or ``1980-01-01``.
    Good: ``member_dob`` = ``19800101``.
    """

    code = "MB003"
    name = "member.date"
    group = "MB"


# -- provider -------------------------------------------------------------------------------
class ProviderRequired(RequiredFieldRule):
    """A provider field the claim type requires is empty.

    Bad: an empty ``billing_npi``.
    Good: ``billing_npi`` = a 10-digit NPI with a valid check digit.
    """

    code = "PV001"
    name = "provider.required"
    group = "PV"


class ProviderFormat(FormatFieldRule):
    """A provider field does not match its format.

    Bad: ``billing_tax_id`` = ``12-3456789``; ``billing_npi`` = ``123456789``.
    Good: ``billing_tax_id`` = ``123456789``; ``billing_npi`` = ``1234567893``.
    """

    code = "PV002"
    name = "provider.format"
    group = "PV"


class ProviderNotUsed(NotUsedFieldRule):
    """A provider field is filled for a claim type that does not use it (it is ignored).

    Bad: ``attending_npi`` on a professional claim.
    Good: the attending provider only on institutional claims.
    """

    code = "PV005"
    name = "provider.not_used"
    group = "PV"


# -- claim ---------------------------------------------------------------------------------
class ClaimRequired(RequiredFieldRule):
    """A claim-level field the claim type requires is empty.

    Bad: a professional claim with an empty ``place_of_service``.
    Good: ``place_of_service`` = ``11``.
    """

    code = "CL001"
    name = "claim.required"
    group = "CL"


class ClaimFormat(FormatFieldRule):
    """A claim-level field does not match its format (length, code list, picture).

    Bad: ``claim_type`` = ``X``; ``dx_1`` = ``J06.9``; ``contract_type`` = ``1``.
    Good: ``claim_type`` = ``P``; ``dx_1`` = ``J069``; ``contract_type`` = ``01``.
    """

    code = "CL002"
    name = "claim.format"
    group = "CL"


class ClaimDate(DateFieldRule):
    """A claim-level date is not a real calendar date in CCYYMMDD form.

    Bad: ``adjudication_date`` = ``20240231``.
    Good: ``adjudication_date`` = ``20240229``.
    """

    code = "CL003"
    name = "claim.date"
    group = "CL"


class ClaimAmount(AmountFieldRule):
    """A claim-level amount is not a plain amount with at most 2 decimals.

    Bad: ``total_charge`` = ``$1,250.00`` or ``12.505``.
    Good: ``total_charge`` = ``1250.00``.
    """

    code = "CL004"
    name = "claim.amount"
    group = "CL"


class ClaimNotUsed(NotUsedFieldRule):
    """A claim-level field is filled for a claim type that does not use it (it is ignored).

    Bad: ``type_of_bill`` on a professional claim.
    Good: ``type_of_bill`` only on institutional claims.
    """

    code = "CL005"
    name = "claim.not_used"
    group = "CL"


# -- service line ------------------------------------------------------------------------------
class LineRequired(RequiredFieldRule):
    """A line field the claim type requires is empty.

    Bad: a professional line with an empty ``procedure_code``.
    Good: ``procedure_code`` = ``99213``.
    """

    code = "SV001"
    name = "line.required"
    group = "SV"


class LineFormat(FormatFieldRule):
    """A line field does not match its format.

    Bad: ``units`` = ``0``; ``modifier_1`` = ``2``; ``unit_type`` = ``XX``.
    Good: ``units`` = ``1``; ``modifier_1`` = ``25``; ``unit_type`` = ``UN``.
    """

    code = "SV002"
    name = "line.format"
    group = "SV"


class LineDate(DateFieldRule):
    """A line date is not a real calendar date in CCYYMMDD form.

    Bad: ``line_from_date`` = ``2024013``.
    Good: ``line_from_date`` = ``20240130``.
    """

    code = "SV003"
    name = "line.date"
    group = "SV"


class LineAmount(AmountFieldRule):
    """A line amount is not a plain amount with at most 2 decimals.

    Bad: ``line_charge`` = ``100.005``.
    Good: ``line_charge`` = ``100.01``.
    """

    code = "SV004"
    name = "line.amount"
    group = "SV"


class LineNotUsed(NotUsedFieldRule):
    """A line field is filled for a claim type that does not use it (it is ignored).

    Bad: ``revenue_code`` on a professional line.
    Good: ``revenue_code`` only on institutional lines.
    """

    code = "SV005"
    name = "line.not_used"
    group = "SV"


FIELD_RULES: tuple[type[FrameRule], ...] = (
    MemberRequired,
    MemberFormat,
    MemberDate,
    ProviderRequired,
    ProviderFormat,
    ProviderNotUsed,
    ClaimRequired,
    ClaimFormat,
    ClaimDate,
    ClaimAmount,
    ClaimNotUsed,
    LineRequired,
    LineFormat,
    LineDate,
    LineAmount,
    LineNotUsed,
)
