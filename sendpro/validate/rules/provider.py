"""Provider record rules (``PV``)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import polars as pl

from sendpro.model.encounter import Encounter
from sendpro.report.issue import Issue, Severity
from sendpro.validate.rule import RecordRule
from sendpro.validate.rules._exprs import FIRST, LINE, any_given, any_missing, npi_invalid


@lru_cache(maxsize=65536)
def npi_check_digit_ok(npi: str) -> bool:
    """Return True when a 10-digit NPI's check digit is right.

    The NPI check digit is the Luhn check digit of the 9 leading digits prefixed
    with the card issuer prefix 80840 (ISO 7812), i.e. Luhn over the 9 digits
    plus a constant 24. NPIs repeat a lot in an extract, hence the cache.

    >>> npi_check_digit_ok("1234567893")
    True
    >>> npi_check_digit_ok("1234567890")
    False
    """
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the contribution of the prefix 80840
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


class NpiCheckDigit(RecordRule):
    """An NPI's check digit is wrong (a typo or a made-up number).

    Every NPI on the claim is checked: billing, rendering, referring, attending,
    facility and line rendering (MassHealth edit #5).

    Bad: ``billing_npi`` = ``1234567890``.
    Good: ``billing_npi`` = ``1234567893``.
    """

    code = "PV010"
    name = "provider.npi_check_digit"
    source = "NPI standard (45 CFR 162.406); MassHealth SENDPro data quality (edit #5)"
    template = "{column} has an invalid check digit: it is not a valid NPI"

    def concerns(self) -> pl.Expr | None:
        """Claims with an invalid claim-level NPI (first row) or line rendering NPI (a line)."""
        # A claim-level NPI given makes its provider present (Encounter.providers()).
        roles = ("billing", "rendering", "referring", "attending", "facility")
        claim_level = pl.any_horizontal(*(npi_invalid(f"{role}_npi") for role in roles))
        return (FIRST & claim_level) | (LINE & npi_invalid("line_rendering_npi"))

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check every NPI on the encounter."""
        for p in encounter.providers():
            if p.npi is not None and not npi_check_digit_ok(p.npi):
                name = f"{p.role}_npi"
                yield self.claim_issue(encounter, field=name, value=p.npi, column=name)
        for ln in encounter.lines:
            if ln.rendering_npi is not None and not npi_check_digit_ok(ln.rendering_npi):
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="line_rendering_npi",
                    value=ln.rendering_npi,
                    column="line_rendering_npi",
                )


class ProviderIncomplete(RecordRule):
    """A rendering, referring or attending provider is given without its NPI or last name.

    The 837 names a provider with both (NM1 last name and NM109 NPI); half a
    provider cannot be sent.

    Bad: ``referring_npi`` filled, ``referring_last_name`` empty.
    Good: both filled, or both empty.
    """

    code = "PV020"
    guard = True
    name = "provider.incomplete"
    template = "the {role} provider needs both {role}_npi and {role}_last_name ({missing} is empty)"

    def concerns(self) -> pl.Expr | None:
        """Claims naming a rendering, referring or attending provider without its NPI or last name."""
        roles = ("rendering", "referring", "attending")
        half = [
            any_given((f"{r}_npi", f"{r}_last_name", f"{r}_first_name")) & any_missing((f"{r}_npi", f"{r}_last_name"))
            for r in roles
        ]
        return FIRST & pl.any_horizontal(*half)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check that each named provider has an NPI and a last name."""
        for p in (encounter.rendering, encounter.referring, encounter.attending):
            if p is None:
                continue
            missing = "npi" if p.npi is None else "last_name" if p.last_name is None else None
            if missing is not None:
                yield self.claim_issue(
                    encounter,
                    field=f"{p.role}_{missing}",
                    role=p.role,
                    missing=f"{p.role}_{missing}",
                )


class FacilityIncomplete(RecordRule):
    """The service facility is only partly given, so it is not sent.

    Loop 2310C needs the facility's name and full address (street, city, state, ZIP).

    Bad: ``facility_name`` without ``facility_address``.
    Good: every facility column filled, or none.
    """

    code = "PV021"
    name = "provider.facility_incomplete"
    severity = Severity.WARNING
    template = "the service facility is not sent: {missing} empty"

    def concerns(self) -> pl.Expr | None:
        """Claims with some facility column given (the facility is present) and a sent one empty."""
        sent = ("facility_name", "facility_address", "facility_city", "facility_state", "facility_zip")
        return FIRST & any_given(("facility_npi", *sent)) & any_missing(sent)

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Warn when facility columns are partly filled."""
        f = encounter.facility
        if f is None:
            return
        a = f.address
        parts = {
            "facility_name": f.last_name,
            "facility_address": a.line if a else None,
            "facility_city": a.city if a else None,
            "facility_state": a.state if a else None,
            "facility_zip": a.zip if a else None,
        }
        missing = [k for k, v in parts.items() if v is None]
        if missing:
            yield self.claim_issue(
                encounter,
                field=missing[0],
                missing=", ".join(missing) + (" is" if len(missing) == 1 else " are"),
            )


PROVIDER_RULES: tuple[type[RecordRule], ...] = (
    NpiCheckDigit,
    ProviderIncomplete,
    FacilityIncomplete,
)
