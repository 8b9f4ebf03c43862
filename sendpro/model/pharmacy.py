"""The pharmacy encounter model and its builder (``mce-rx-v1``: one row per prescription claim)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from sendpro.model.encounter import Address, Cents, Member
from sendpro.model.rx_fields import RX, RX_FIELDS

#: Optional paid components a layout may add to the total-paid formula.
EXTRA_PAID_COMPONENTS = (
    "incentive_amount_paid",
    "professional_service_fee_paid",
    "flat_sales_tax_paid",
    "percentage_sales_tax_paid",
)


@dataclass(frozen=True, slots=True)
class PharmacyEncounter:
    """One paid, denied or reversed prescription claim.

    ``rows`` lists the input records of the claim id; more than one means the
    claim id is repeated in the file.
    """

    file: str
    row_no: int
    rows: tuple[int, ...]
    claim_id: str | None
    frequency: str | None
    original_claim_id: str | None
    status: str | None
    adjudication_date: dt.date | None
    member: Member
    pharmacy_npi: str | None
    prescriber_npi: str | None
    rx_number: str | None
    fill_number: str | None
    date_of_service: dt.date | None
    date_written: dt.date | None
    ndc: str | None
    quantity_dispensed: Decimal | None
    quantity_unit: str | None
    days_supply: str | None
    daw_code: str | None
    compound_code: str | None
    ingredient_cost_paid: Cents | None
    dispensing_fee_paid: Cents | None
    patient_pay_amount: Cents | None
    other_payer_amount_paid: Cents | None
    usual_customary_charge: Cents | None
    gross_amount_due: Cents | None
    total_amount_paid: Cents | None
    extra_paid: Mapping[str, Cents | None] = field(default_factory=dict)
    #: Gross amount due and total paid of the further rows that repeat this claim id
    #: (RX020 rejects such a claim). Each pharmacy row is a claim of its own, so the
    #: control totals count them; they are never written and are not content.
    repeated_charge: Cents = 0
    repeated_paid: Cents = 0

    claim_type = RX

    def values(self) -> dict[str, object]:
        """Return the encounter as model-field values (amounts as Decimal dollars) for NCPDP writers."""
        out: dict[str, object] = {
            "mce_claim_id": self.claim_id,
            "claim_frequency": self.frequency,
            "original_claim_id": self.original_claim_id,
            "claim_status": self.status,
            "adjudication_date": self.adjudication_date,
            "member_id": self.member.member_id,
            "member_last_name": self.member.last_name,
            "member_first_name": self.member.first_name,
            "member_dob": self.member.dob,
            "member_gender": self.member.gender,
            "pharmacy_npi": self.pharmacy_npi,
            "prescriber_npi": self.prescriber_npi,
            "rx_number": self.rx_number,
            "fill_number": self.fill_number,
            "date_of_service": self.date_of_service,
            "date_written": self.date_written,
            "ndc": self.ndc,
            "quantity_dispensed": self.quantity_dispensed,
            "quantity_unit": self.quantity_unit,
            "days_supply": self.days_supply,
            "daw_code": self.daw_code,
            "compound_code": self.compound_code,
        }
        for name in (
            "ingredient_cost_paid",
            "dispensing_fee_paid",
            "patient_pay_amount",
            "other_payer_amount_paid",
            "usual_customary_charge",
            "gross_amount_due",
            "total_amount_paid",
        ):
            cents = getattr(self, name)
            out[name] = None if cents is None else Decimal(cents).scaleb(-2)
        for name, cents in self.extra_paid.items():
            out[name] = None if cents is None else Decimal(cents).scaleb(-2)
        return out


_NAMES = ("_claim_seq", "_claim_row", "_row", *(fd.name for fd in RX_FIELDS))


def iter_rx_encounters(file: str, typed: pl.DataFrame) -> Iterator[tuple[int, PharmacyEncounter]]:
    """Yield ``(claim_seq, encounter)`` for every claim of a typed pharmacy batch frame."""
    rows = typed.select(_NAMES).rows()
    ix = {n: i for i, n in enumerate(_NAMES)}
    i = 0
    while i < len(rows):
        r = rows[i]
        seq = r[ix["_claim_seq"]]
        record_rows = [r[ix["_row"]]]
        charge = paid = 0
        i += 1
        while i < len(rows) and rows[i][ix["_claim_seq"]] == seq:
            record_rows.append(rows[i][ix["_row"]])
            charge += rows[i][ix["gross_amount_due"]] or 0
            paid += rows[i][ix["total_amount_paid"]] or 0
            i += 1
        encounter = _build(file, r, ix, tuple(record_rows))
        if charge or paid:
            encounter = dataclasses.replace(encounter, repeated_charge=charge, repeated_paid=paid)
        yield seq, encounter


def _build(file: str, r: tuple[Any, ...], ix: dict[str, int], rows: tuple[int, ...]) -> PharmacyEncounter:
    qty = r[ix["quantity_dispensed"]]
    return PharmacyEncounter(
        file=file,
        row_no=r[ix["_claim_row"]],
        rows=rows,
        claim_id=r[ix["mce_claim_id"]],
        frequency=r[ix["claim_frequency"]],
        original_claim_id=r[ix["original_claim_id"]],
        status=r[ix["claim_status"]],
        adjudication_date=r[ix["adjudication_date"]],
        member=Member(
            member_id=r[ix["member_id"]],
            last_name=r[ix["member_last_name"]],
            first_name=r[ix["member_first_name"]],
            dob=r[ix["member_dob"]],
            gender=r[ix["member_gender"]],
            address=Address(None, None, None, None),
        ),
        pharmacy_npi=r[ix["pharmacy_npi"]],
        prescriber_npi=r[ix["prescriber_npi"]],
        rx_number=r[ix["rx_number"]],
        fill_number=r[ix["fill_number"]],
        date_of_service=r[ix["date_of_service"]],
        date_written=r[ix["date_written"]],
        ndc=r[ix["ndc"]],
        quantity_dispensed=Decimal(qty) if qty is not None else None,
        quantity_unit=r[ix["quantity_unit"]],
        days_supply=r[ix["days_supply"]],
        daw_code=r[ix["daw_code"]],
        compound_code=r[ix["compound_code"]],
        ingredient_cost_paid=r[ix["ingredient_cost_paid"]],
        dispensing_fee_paid=r[ix["dispensing_fee_paid"]],
        patient_pay_amount=r[ix["patient_pay_amount"]],
        other_payer_amount_paid=r[ix["other_payer_amount_paid"]],
        usual_customary_charge=r[ix["usual_customary_charge"]],
        gross_amount_due=r[ix["gross_amount_due"]],
        total_amount_paid=r[ix["total_amount_paid"]],
        extra_paid={name: r[ix[name]] for name in EXTRA_PAID_COMPONENTS},
    )
