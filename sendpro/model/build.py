"""Build :class:`Encounter` objects from a typed batch frame.

The frame holds one row per service line with claim-level values repeated; the
claim-level values are taken from each claim's first row (the consistency rule
reports rows that disagree). Rows of one claim are contiguous and share
``_claim_seq``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from sendpro.model.encounter import (
    Address,
    Adjustment,
    ClaimHeader,
    Diagnosis,
    Encounter,
    Member,
    Procedure,
    Provider,
    ServiceLine,
)
from sendpro.model.fields import CLAIM_FIELDS, LINE_FIELDS

_HEAD_COLS = ("_claim_seq", "_claim_row", *CLAIM_FIELDS)
_LINE_COLS = ("_claim_seq", "_row", "_nolines", *LINE_FIELDS)


_HX = {n: i for i, n in enumerate(_HEAD_COLS)}
_LX = {n: i for i, n in enumerate(_LINE_COLS)}
# Positions of the numbered header columns, computed once: formatting their names
# for every claim cost more than building the claim.
_DX = tuple(_HX[f"dx_{n}"] for n in range(1, 13))
_POA = tuple(_HX[f"poa_{n}"] for n in range(1, 13))
_PCS = tuple((_HX[f"icd_pcs_{n}"], _HX[f"icd_pcs_date_{n}"], n) for n in range(1, 7))
_FACILITY = tuple(_HX[f"facility_{p}"] for p in ("npi", "name", "address", "city", "state", "zip"))
_ROLES = {
    r: (_HX[f"{r}_npi"], _HX[f"{r}_last_name"], _HX[f"{r}_first_name"]) for r in ("rendering", "referring", "attending")
}
_CLAIM_ADJ = tuple(
    (_HX[f"claim_adj_group_{n}"], _HX[f"claim_adj_reason_{n}"], _HX[f"claim_adj_amount_{n}"]) for n in (1, 2)
)


def _dec(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _provider(h: tuple[Any, ...], role: str) -> Provider | None:
    n, la, fi = _ROLES[role]
    npi, last, first = h[n], h[la], h[fi]
    if npi is None and last is None and first is None:
        return None
    return Provider(role=role, npi=npi, last_name=last, first_name=first)


def _header(h: tuple[Any, ...]) -> ClaimHeader:
    ix = _HX
    slots = tuple(h[i] for i in _DX)
    poas = tuple(h[i] for i in _POA)
    diagnoses = tuple(Diagnosis(code, poa) for code, poa in zip(slots, poas, strict=True) if code is not None)
    procedures = tuple(Procedure(h[c], h[d], n) for c, d, n in _PCS if h[c] is not None or h[d] is not None)
    adjustments = tuple(
        Adjustment(h[g], h[r], h[a])
        for g, r, a in _CLAIM_ADJ
        if h[g] is not None or h[r] is not None or h[a] is not None
    )
    return ClaimHeader(
        row_no=h[ix["_claim_row"]],
        claim_type=h[ix["claim_type"]],
        claim_id=h[ix["mce_claim_id"]],
        frequency=h[ix["claim_frequency"]],
        original_claim_id=h[ix["original_claim_id"]],
        status=h[ix["claim_status"]],
        contract_type=h[ix["contract_type"]],
        adjudication_date=h[ix["adjudication_date"]],
        place_of_service=h[ix["place_of_service"]],
        type_of_bill=h[ix["type_of_bill"]],
        statement_from=h[ix["statement_from"]],
        statement_to=h[ix["statement_to"]],
        admission_date=h[ix["admission_date"]],
        admission_hour=h[ix["admission_hour"]],
        admission_type=h[ix["admission_type"]],
        admission_source=h[ix["admission_source"]],
        patient_status=h[ix["patient_status"]],
        discharge_hour=h[ix["discharge_hour"]],
        drg_code=h[ix["drg_code"]],
        diagnoses=diagnoses,
        diagnosis_slots=slots,
        poa_slots=poas,
        admitting_dx=h[ix["admitting_dx"]],
        procedures=procedures,
        total_charge=h[ix["total_charge"]],
        total_paid=h[ix["total_paid"]],
        total_allowed=h[ix["total_allowed"]],
        patient_responsibility=h[ix["patient_responsibility"]],
        tpl_paid=h[ix["tpl_paid"]],
        adjustments=adjustments,
    )


@dataclass(frozen=True, slots=True)
class _LinePlan:
    """Column positions of a line row, looked up once rather than once per line."""

    adjustments: tuple[tuple[int, int, int], ...]
    modifiers: tuple[int, ...]
    pointers: tuple[int, ...]
    fields: tuple[tuple[str, int], ...]
    decimals: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, ix: dict[str, int]) -> _LinePlan:
        """Return the plan for a column index."""
        plain = {
            "row_no": "_row",
            "line_number": "line_number",
            "procedure_code": "procedure_code",
            "revenue_code": "revenue_code",
            "unit_type": "unit_type",
            "from_date": "line_from_date",
            "to_date": "line_to_date",
            "charge": "line_charge",
            "paid": "line_paid",
            "allowed": "line_allowed",
            "place_of_service": "line_place_of_service",
            "rendering_npi": "line_rendering_npi",
            "ndc_code": "ndc_code",
            "ndc_unit": "ndc_unit",
            "tooth_number": "tooth_number",
            "tooth_surfaces": "tooth_surfaces",
            "oral_cavity_area": "oral_cavity_area",
        }
        return cls(
            tuple(
                (ix[f"line_adj_group_{n}"], ix[f"line_adj_reason_{n}"], ix[f"line_adj_amount_{n}"]) for n in (1, 2, 3)
            ),
            tuple(ix[f"modifier_{n}"] for n in range(1, 5)),
            tuple(ix[f"dx_pointer_{n}"] for n in range(1, 5)),
            tuple((name, ix[column]) for name, column in plain.items()),
            (("units", ix["units"]), ("ndc_quantity", ix["ndc_quantity"])),
        )


#: The line columns' positions, fixed by ``_LINE_COLS``: worked out once.
_LINE_PLAN = _LinePlan.of(_LX)


def _line(r: tuple[Any, ...], plan: _LinePlan) -> ServiceLine:
    adjustments = tuple(
        Adjustment(r[g], r[c], r[a])
        for g, c, a in plan.adjustments
        if r[g] is not None or r[c] is not None or r[a] is not None
    )
    values = {name: r[i] for name, i in plan.fields}
    for name, i in plan.decimals:
        values[name] = _dec(r[i])
    return ServiceLine(
        modifiers=tuple(r[i] for i in plan.modifiers if r[i] is not None),
        adjustments=adjustments,
        dx_pointers=tuple(r[i] for i in plan.pointers if r[i] is not None),
        **values,
    )


def _encounter(file: str, h: tuple[Any, ...], lines: list[ServiceLine], rows: tuple[int, ...]) -> Encounter:
    hx = _HX
    member = Member(
        member_id=h[hx["member_id"]],
        last_name=h[hx["member_last_name"]],
        first_name=h[hx["member_first_name"]],
        dob=h[hx["member_dob"]],
        gender=h[hx["member_gender"]],
        address=Address(
            h[hx["member_address"]],
            h[hx["member_city"]],
            h[hx["member_state"]],
            h[hx["member_zip"]],
        ),
    )
    billing = Provider(
        role="billing",
        npi=h[hx["billing_npi"]],
        last_name=h[hx["billing_org_name"]],
        is_organization=True,
        tax_id=h[hx["billing_tax_id"]],
        taxonomy=h[hx["billing_taxonomy"]],
        address=Address(
            h[hx["billing_address"]],
            h[hx["billing_city"]],
            h[hx["billing_state"]],
            h[hx["billing_zip"]],
        ),
        pidsl=h[hx["billing_pidsl"]],
    )
    facility: Provider | None = None
    if any(h[i] is not None for i in _FACILITY):
        facility = Provider(
            role="facility",
            npi=h[hx["facility_npi"]],
            last_name=h[hx["facility_name"]],
            is_organization=True,
            address=Address(
                h[hx["facility_address"]],
                h[hx["facility_city"]],
                h[hx["facility_state"]],
                h[hx["facility_zip"]],
            ),
        )
    return Encounter(
        file=file,
        header=_header(h),
        member=member,
        billing=billing,
        rendering=_provider(h, "rendering"),
        referring=_provider(h, "referring"),
        attending=_provider(h, "attending"),
        facility=facility,
        lines=tuple(lines),
        rows=rows,
    )


def iter_encounters(file: str, typed: pl.DataFrame) -> Iterator[tuple[int, Encounter]]:
    """Yield ``(claim_seq, encounter)`` for every claim of a typed batch frame."""
    heads = typed.filter(pl.col("_first")).select(_HEAD_COLS).rows()
    line_rows = typed.select(_LINE_COLS).rows()
    seq_h = _HX["_claim_seq"]
    seq_i, row_i, nolines_i = _LX["_claim_seq"], _LX["_row"], _LX["_nolines"]
    plan = _LINE_PLAN
    pos = 0
    total = len(line_rows)
    for h in heads:
        seq = h[seq_h]
        lines: list[ServiceLine] = []
        rows: list[int] = []
        while pos < total and line_rows[pos][seq_i] == seq:
            r = line_rows[pos]
            rows.append(r[row_i])
            if not r[nolines_i]:
                lines.append(_line(r, plan))
            pos += 1
        yield seq, _encounter(file, h, lines, tuple(rows))
