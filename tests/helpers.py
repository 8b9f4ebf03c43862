"""Shared test helpers: a valid synthetic professional claim and ways to write and run it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sendpro.codesets.catalog import CodeSets
from sendpro.config import RunConfig
from sendpro.flatfile.fixedwidth import write_fixed_width
from sendpro.flatfile.layout import Layout, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.references import OrderedServices
from sendpro.report.issue import Issue
from sendpro.resources import schemas_dir
from sendpro.sample import COLUMNS, RX_COLUMNS
from sendpro.validate.engine import ClaimResult, ValidationEngine
from sendpro.validate.registry import RuleRegistry
from sendpro.x12.envelope import SequentialControlNumbers

FIXED_NOW = dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))

# A valid, balanced two-line professional claim. Every identifier is synthetic.
BASE_CLAIM: dict[str, str] = {
    "claim_type": "P",
    "mce_claim_id": "C100",
    "claim_frequency": "1",
    "claim_status": "P",
    "contract_type": "01",
    "adjudication_date": "20260301",
    "member_id": "100000000001",
    "member_last_name": "ALDER",
    "member_first_name": "ADA",
    "member_dob": "19800101",
    "member_gender": "F",
    "member_address": "12 ELM AVE",
    "member_city": "BOSTON",
    "member_state": "MA",
    "member_zip": "02118",
    "billing_npi": "1234567893",
    "billing_org_name": "HARBORVIEW CLINIC",
    "billing_tax_id": "123456789",
    "billing_taxonomy": "207Q00000X",
    "billing_address": "1 MAIN ST",
    "billing_city": "BOSTON",
    "billing_state": "MA",
    "billing_zip": "021181234",
    "rendering_npi": "1245319599",
    "rendering_last_name": "HOLLIS",
    "rendering_first_name": "HUGO",
    "place_of_service": "11",
    "dx_1": "J069",
    "dx_2": "E119",
    "total_charge": "250.00",
    "total_paid": "175.00",
}
BASE_LINES: list[dict[str, str]] = [
    {
        "line_number": "1",
        "procedure_code": "99213",
        "units": "1",
        "unit_type": "UN",
        "line_from_date": "20260210",
        "line_to_date": "20260210",
        "line_charge": "200.00",
        "line_paid": "140.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "60.00",
        "dx_pointer_1": "1",
    },
    {
        "line_number": "2",
        "procedure_code": "36415",
        "units": "1",
        "unit_type": "UN",
        "line_from_date": "20260210",
        "line_to_date": "20260210",
        "line_charge": "50.00",
        "line_paid": "35.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "15.00",
        "dx_pointer_1": "2",
    },
]


# A valid outpatient institutional claim (type of bill 131) with two revenue lines.
BASE_INSTITUTIONAL: dict[str, str] = {
    **{k: v for k, v in BASE_CLAIM.items() if not k.startswith(("rendering_", "place_of_service"))},
    "claim_type": "I",
    "mce_claim_id": "I100",
    "type_of_bill": "131",
    "statement_from": "20260210",
    "statement_to": "20260210",
    "admission_type": "3",
    "admission_source": "1",
    "patient_status": "01",
    "total_charge": "940.00",
    "total_paid": "610.00",
}
BASE_INSTITUTIONAL_LINES: list[dict[str, str]] = [
    {
        "line_number": "1",
        "revenue_code": "0450",
        "procedure_code": "99283",
        "units": "1",
        "unit_type": "UN",
        "line_from_date": "20260210",
        "line_to_date": "20260210",
        "line_charge": "900.00",
        "line_paid": "585.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "315.00",
    },
    {
        "line_number": "2",
        "revenue_code": "0300",
        "units": "1",
        "unit_type": "UN",
        "line_from_date": "20260210",
        "line_to_date": "20260210",
        "line_charge": "40.00",
        "line_paid": "25.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "15.00",
    },
]
# The same claim as an inpatient stay (type of bill 111): admission, attending, POA, admitting diagnosis.
INPATIENT: dict[str, str] = {
    "type_of_bill": "111",
    "statement_to": "20260213",
    "admission_date": "20260210",
    "admission_hour": "0815",
    "discharge_hour": "1100",
    "admission_type": "1",
    "admission_source": "7",
    "poa_1": "Y",
    "poa_2": "N",
    "admitting_dx": "R0789",
    "drg_code": "871",
    "attending_npi": "1245319599",
    "attending_last_name": "HOLLIS",
    "attending_first_name": "HUGO",
    "icd_pcs_1": "0DTJ4ZZ",
    "icd_pcs_date_1": "20260211",
}
# A valid dental claim: an exam and a two-surface filling.
BASE_DENTAL: dict[str, str] = {
    **{k: v for k, v in BASE_CLAIM.items() if not k.startswith("dx_")},
    "claim_type": "D",
    "mce_claim_id": "D100",
    "total_charge": "305.00",
    "total_paid": "200.00",
}
BASE_DENTAL_LINES: list[dict[str, str]] = [
    {
        "line_number": "1",
        "procedure_code": "D0120",
        "units": "1",
        "line_from_date": "20260210",
        "line_to_date": "20260210",
        "line_charge": "65.00",
        "line_paid": "45.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "20.00",
    },
    {
        "line_number": "2",
        "procedure_code": "D2392",
        "units": "1",
        "tooth_number": "14",
        "tooth_surfaces": "MO",
        "line_from_date": "20260210",
        "line_to_date": "20260210",
        "line_charge": "240.00",
        "line_paid": "155.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "85.00",
    },
]
# A valid paid pharmacy claim (mce-rx-v1: one row per claim).
BASE_RX: dict[str, str] = {
    "mce_claim_id": "RX100",
    "claim_frequency": "1",
    "claim_status": "P",
    "adjudication_date": "20260305",
    "member_id": "100000000001",
    "member_last_name": "ALDER",
    "member_first_name": "ADA",
    "member_dob": "19800101",
    "member_gender": "F",
    "pharmacy_npi": "1234567893",
    "prescriber_npi": "1245319599",
    "rx_number": "7001234",
    "fill_number": "0",
    "date_of_service": "20260303",
    "date_written": "20260301",
    "ndc": "00093505601",
    "quantity_dispensed": "30",
    "quantity_unit": "EA",
    "days_supply": "30",
    "daw_code": "0",
    "compound_code": "1",
    "ingredient_cost_paid": "12.50",
    "dispensing_fee_paid": "1.75",
    "patient_pay_amount": "1.00",
    "usual_customary_charge": "20.00",
    "gross_amount_due": "14.25",
    "total_amount_paid": "13.25",
}

BASES: dict[str, tuple[dict[str, str], list[dict[str, str]]]] = {
    "P": (BASE_CLAIM, BASE_LINES),
    "I": (BASE_INSTITUTIONAL, BASE_INSTITUTIONAL_LINES),
    "D": (BASE_DENTAL, BASE_DENTAL_LINES),
    "RX": (BASE_RX, [{}]),
}


def typed_rows(
    claim_type: str, claim: Mapping[str, str] | None = None, lines: Sequence[Mapping[str, str]] | None = None
) -> list[dict[str, str]]:
    """Return the rows of one valid claim of ``claim_type`` (P, I or D) with overrides."""
    base, base_lines = BASES[claim_type]
    return claim_rows(claim, lines, base=base, base_lines=base_lines)


def claim_rows(
    claim: Mapping[str, str] | None = None,
    lines: Sequence[Mapping[str, str]] | None = None,
    base: Mapping[str, str] = BASE_CLAIM,
    base_lines: Sequence[Mapping[str, str]] = BASE_LINES,
) -> list[dict[str, str]]:
    """Return the rows of one claim: base values, claim overrides on every row, line overrides per line.

    ``lines`` longer than the base repeat the last base line; an override value
    of ``""`` empties a field.
    """
    overrides = list(lines or [])
    count = max(len(base_lines), len(overrides))
    rows = []
    for i in range(count):
        row = {**base, **base_lines[min(i, len(base_lines) - 1)]}
        row.update(claim or {})
        if i < len(overrides):
            row.update(overrides[i])
        rows.append(row)
    return rows


def mce_text(
    rows: Iterable[Mapping[str, str]],
    columns: Sequence[str] = COLUMNS,
    extra_columns: Sequence[str] = (),
) -> str:
    """Return an mce-v1 file (header + rows)."""
    cols = [*columns, *extra_columns]
    out = ["|".join(cols)]
    for r in rows:
        out.append("|".join(r.get(c, "") for c in cols))
    return "\n".join(out) + "\n"


def rx_text(rows: Iterable[Mapping[str, str]], extra_columns: Sequence[str] = ()) -> str:
    """Return an mce-rx-v1 file (header + rows)."""
    return mce_text(rows, columns=RX_COLUMNS, extra_columns=extra_columns)


def write_mce(path: Path, rows: Iterable[Mapping[str, str]], **kwargs: Any) -> Path:
    """Write an mce-v1 file and return its path."""
    path.write_text(mce_text(rows, **kwargs), encoding="utf-8")
    return path


def fw_text(claims: Sequence[Sequence[Mapping[str, str]]], layout: Layout | None = None) -> str:
    """Return the claims encoded with the fixed-width example layout."""
    import io

    lay = layout or load_layout("mce-fw-example")
    mapped = set(lay.model_fields)
    buf = io.StringIO()
    write_fixed_width(
        buf,
        lay,
        [[{k: v for k, v in r.items() if k in mapped} for r in c] for c in claims],
        {"submitter_id": "TEST", "file_date": "20260301"},
    )
    return buf.getvalue()


def run_engine(
    path: Path,
    layout: str | Layout = "mce-v1",
    extra: Mapping[str, Any] | None = None,
    chunk_lines: int = 20_000,
) -> tuple[list[ClaimResult], list[Issue]]:
    """Run the default rules over a file; return the claims and the file-level issues."""
    lay = load_layout(layout) if isinstance(layout, str) else layout
    claims: list[ClaimResult] = []
    file_issues: list[Issue] = []
    # What a convert run gives its rules: bundled code lists, the ordered-services
    # ranges and the run's date; reference files only when a test passes them.
    context: dict[str, Any] = {
        "codesets": bundled_codesets(),
        "ordered_services": OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml"),
        "today": FIXED_NOW.strftime("%Y%m%d"),
        **(extra or {}),
    }
    with FlatFileReader(path, lay, chunk_lines=chunk_lines) as reader:
        rules = RuleRegistry().select(model=lay.model)
        for item in ValidationEngine(rules).run(reader, context):
            if isinstance(item, ClaimResult):
                claims.append(item)
            else:
                file_issues.append(item)
    return claims, file_issues


@functools.cache
def bundled_codesets() -> CodeSets:
    """Return the code sets a run has without configuration (read once per test session)."""
    return CodeSets.load()


def all_issues(claims: Iterable[ClaimResult], file_issues: Iterable[Issue] = ()) -> list[Issue]:
    """Flatten the issues of claims and file-level issues."""
    out = list(file_issues)
    for c in claims:
        out.extend(c.issues)
    return out


def test_config(**kwargs: Any) -> RunConfig:
    """Return a deterministic run configuration (fixed clock, control numbers from 1)."""
    kwargs.setdefault("clock", lambda: FIXED_NOW)
    if kwargs.get("ledger") is None:
        kwargs.setdefault("control_numbers", SequentialControlNumbers(1))
    return RunConfig(**kwargs)


test_config.__test__ = False  # type: ignore[attr-defined]
