"""Shared test helpers: a valid synthetic professional claim and ways to write and run it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sendpro.config import RunConfig
from sendpro.flatfile.fixedwidth import write_fixed_width
from sendpro.flatfile.layout import Layout, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.report.issue import Issue
from sendpro.sample import COLUMNS
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
    with FlatFileReader(path, lay, chunk_lines=chunk_lines) as reader:
        for item in ValidationEngine(RuleRegistry().select()).run(reader, dict(extra or {})):
            if isinstance(item, ClaimResult):
                claims.append(item)
            else:
                file_issues.append(item)
    return claims, file_issues


def all_issues(claims: Iterable[ClaimResult], file_issues: Iterable[Issue] = ()) -> list[Issue]:
    """Flatten the issues of claims and file-level issues."""
    out = list(file_issues)
    for c in claims:
        out.extend(c.issues)
    return out


def test_config(**kwargs: Any) -> RunConfig:
    """Return a deterministic run configuration (fixed clock, control numbers from 1)."""
    kwargs.setdefault("clock", lambda: FIXED_NOW)
    kwargs.setdefault("control_numbers", SequentialControlNumbers(1))
    return RunConfig(**kwargs)


test_config.__test__ = False  # type: ignore[attr-defined]
