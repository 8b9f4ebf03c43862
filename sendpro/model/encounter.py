"""The typed encounter model every writer consumes.

Values that were absent or invalid in the input are ``None``: an invalid value
always comes with an error issue, so a claim holding one never reaches a writer.
Amounts are integer cents (exact to the cent); quantities are :class:`Decimal`.
Provenance: :attr:`ClaimHeader.row_no` is the input record of the claim-level
values and :attr:`ServiceLine.row_no` the record of each line's values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

#: Money in integer cents.
Cents = int


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address (N3/N4)."""

    line: str | None
    city: str | None
    state: str | None
    zip: str | None

    @property
    def present(self) -> bool:
        """Return True when street, city, state and ZIP are all there (N3 and N4 can be sent)."""
        return bool(self.line and self.city and self.state and self.zip)


@dataclass(frozen=True, slots=True)
class Member:
    """The MassHealth member (the subscriber of the 837)."""

    member_id: str | None
    last_name: str | None
    first_name: str | None
    dob: dt.date | None
    gender: str | None
    address: Address


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider in one role: billing, rendering, referring, attending or facility."""

    role: str
    npi: str | None
    last_name: str | None
    first_name: str | None = None
    is_organization: bool = False
    tax_id: str | None = None
    taxonomy: str | None = None
    address: Address | None = None
    pidsl: str | None = None


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS adjustment: group code, reason code (CARC) and amount."""

    group: str | None
    reason: str | None
    amount: Cents | None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """An ICD-10-CM diagnosis and its present-on-admission indicator (837I)."""

    code: str
    poa: str | None = None


@dataclass(frozen=True, slots=True)
class Procedure:
    """An ICD-10-PCS procedure and its date (837I); ``slot`` is n of ``icd_pcs_n``."""

    code: str | None
    date: dt.date | None
    slot: int = 1


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One service line of an encounter."""

    row_no: int
    line_number: int | None
    procedure_code: str | None
    modifiers: tuple[str, ...]
    revenue_code: str | None
    units: Decimal | None
    unit_type: str | None
    from_date: dt.date | None
    to_date: dt.date | None
    charge: Cents | None
    paid: Cents | None
    allowed: Cents | None
    adjustments: tuple[Adjustment, ...]
    dx_pointers: tuple[int, ...]
    place_of_service: str | None
    rendering_npi: str | None
    ndc_code: str | None
    ndc_quantity: Decimal | None
    ndc_unit: str | None
    tooth_number: str | None
    tooth_surfaces: str | None
    oral_cavity_area: str | None


@dataclass(frozen=True, slots=True)
class ClaimHeader:
    """Claim-level values of an encounter."""

    row_no: int
    claim_type: str | None
    claim_id: str | None
    frequency: str | None
    original_claim_id: str | None
    status: str | None
    contract_type: str | None
    adjudication_date: dt.date | None
    place_of_service: str | None
    type_of_bill: str | None
    statement_from: dt.date | None
    statement_to: dt.date | None
    admission_date: dt.date | None
    admission_hour: str | None
    admission_type: str | None
    admission_source: str | None
    patient_status: str | None
    discharge_hour: str | None
    drg_code: str | None
    diagnoses: tuple[Diagnosis, ...]
    diagnosis_slots: tuple[str | None, ...]
    poa_slots: tuple[str | None, ...]
    admitting_dx: str | None
    procedures: tuple[Procedure, ...]
    total_charge: Cents | None
    total_paid: Cents | None
    total_allowed: Cents | None
    patient_responsibility: Cents | None
    tpl_paid: Cents | None
    adjustments: tuple[Adjustment, ...]


@dataclass(frozen=True, slots=True)
class Encounter:
    """A whole encounter: header, member, providers and service lines.

    ``rows`` lists every input record the encounter was built from, in file
    order; ``file`` names the input file.
    """

    file: str
    header: ClaimHeader
    member: Member
    billing: Provider
    rendering: Provider | None
    referring: Provider | None
    attending: Provider | None
    facility: Provider | None
    lines: tuple[ServiceLine, ...]
    rows: tuple[int, ...]

    @property
    def claim_id(self) -> str | None:
        """Return the MCE claim id (CLM01)."""
        return self.header.claim_id

    @property
    def claim_type(self) -> str | None:
        """Return the claim type: P, I or D."""
        return self.header.claim_type

    @property
    def frequency(self) -> str | None:
        """Return the claim frequency code (1 original, 7 replacement, 8 void)."""
        return self.header.frequency

    @property
    def original_claim_id(self) -> str | None:
        """Return the MCE claim id a replacement or void adjusts."""
        return self.header.original_claim_id

    def providers(self) -> tuple[Provider, ...]:
        """Return every claim-level provider that is present."""
        return tuple(
            p for p in (self.billing, self.rendering, self.referring, self.attending, self.facility) if p is not None
        )
