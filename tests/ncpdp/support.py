"""Shared helpers for the NCPDP tests: synthetic pharmacy encounters and writing them through a layout."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.ncpdp.layout import NcpdpLayout
from sendpro.ncpdp.writer import NcpdpSettings, NcpdpSummary, NcpdpWriter
from sendpro.sample import write_sample
from tests.helpers import BASE_RX, FIXED_NOW, run_engine, rx_text

SETTINGS = NcpdpSettings("SENDER", "RECEIVER", "T", "123456", "PCN1", "SOFT")
BATCH_NUMBER = 42

# Hand-written synthetic claims: an original, a void with negative amounts, a replacement with the
# optional fields blank and odd values, and an all-zero claim.
ORIGINAL = dict(BASE_RX)
VOID = {
    **BASE_RX,
    "mce_claim_id": "RX101",
    "claim_frequency": "8",
    "original_claim_id": "RX099",
    "member_gender": "M",
    "ingredient_cost_paid": "-12.50",
    "dispensing_fee_paid": "-1.75",
    "patient_pay_amount": "-1.00",
    "usual_customary_charge": "-20.00",
    "gross_amount_due": "-14.25",
    "total_amount_paid": "-13.25",
}
REPLACEMENT = {
    **BASE_RX,
    "mce_claim_id": "RX102",
    "claim_frequency": "7",
    "original_claim_id": "RX050",
    "claim_status": "D",
    "member_first_name": "",
    "member_gender": "U",
    "date_written": "",
    "quantity_unit": "",
    "quantity_dispensed": "2.5",
    "rx_number": "12",
    "fill_number": "12",
    "days_supply": "7",
    "daw_code": "1",
    "compound_code": "2",
    "patient_pay_amount": "",
    "usual_customary_charge": "",
    "gross_amount_due": "",
    "other_payer_amount_paid": "3.07",
    "ingredient_cost_paid": "1017.75",
    "dispensing_fee_paid": "0.05",
    "total_amount_paid": "1017.80",
}
ZERO = {
    **BASE_RX,
    "mce_claim_id": "RX103",
    "ingredient_cost_paid": "0.00",
    "dispensing_fee_paid": "0.00",
    "patient_pay_amount": "0.00",
    "gross_amount_due": "0.00",
    "total_amount_paid": "0.00",
}
HAND_ROWS = (ORIGINAL, VOID, REPLACEMENT, ZERO)


def encounters_from_rows(directory: Path, rows: Iterable[dict[str, str]]) -> list[PharmacyEncounter]:
    """Run mce-rx-v1 rows through the validation engine and return the encounters of clean claims."""
    path = directory / "rx-rows.txt"
    path.write_text(rx_text(rows), encoding="utf-8")
    return _clean(path)


def sample_encounters(directory: Path, count: int, seed: int) -> list[PharmacyEncounter]:
    """Return the encounters of ``count`` synthetic sample claims."""
    path = directory / f"rx-sample-{seed}.txt"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_sample(handle, count, types=("RX",), seed=seed)
    return _clean(path)


def _clean(path: Path) -> list[PharmacyEncounter]:
    claims, file_issues = run_engine(path, "mce-rx-v1")
    assert file_issues == []
    out = []
    for claim in claims:
        assert claim.issues == [], claim.issues
        assert isinstance(claim.encounter, PharmacyEncounter)
        out.append(claim.encounter)
    return out


def write_ncpdp(
    path: Path,
    layout: NcpdpLayout,
    encounters: Sequence[PharmacyEncounter],
    batch_number: int = BATCH_NUMBER,
    xref: io.StringIO | None = None,
) -> NcpdpSummary:
    """Write ``encounters`` to ``path`` through ``layout`` with the test settings and fixed clock."""
    with path.open("w", encoding="ascii", newline="") as handle:
        writer = NcpdpWriter(handle, layout, SETTINGS, batch_number, lambda: FIXED_NOW, xref=xref)
        for enc in encounters:
            writer.write(enc)
        return writer.close()


def put(text: str, start: int, new: str) -> str:
    """Return ``text`` with ``new`` written over it from the 1-based position ``start``."""
    return text[: start - 1] + new + text[start - 1 + len(new) :]
