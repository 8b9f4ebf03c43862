from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from tests.helpers import claim_rows, run_engine, write_mce


def test_encounter_values_keep_their_rows(tmp_path: Path) -> None:
    rows = claim_rows(
        {"claim_adj_group_1": "PR", "claim_adj_reason_1": "1", "claim_adj_amount_1": "5.00", "dx_3": "I10"},
        [{"modifier_1": "25", "dx_pointer_2": "3"}, {"units": "2.5", "line_rendering_npi": "1245319599"}],
    )
    claims, _ = run_engine(write_mce(tmp_path / "in.txt", rows))
    enc = claims[0].encounter
    assert enc.rows == (2, 3)
    assert enc.header.row_no == 2
    assert [ln.row_no for ln in enc.lines] == [2, 3]
    assert enc.header.total_charge == 25000 and enc.header.adjudication_date == dt.date(2026, 3, 1)
    assert [d.code for d in enc.header.diagnoses] == ["J069", "E119", "I10"]
    assert enc.header.diagnosis_slots[:4] == ("J069", "E119", "I10", None)
    assert enc.header.adjustments[0].amount == 500
    first, second = enc.lines
    assert first.modifiers == ("25",) and first.dx_pointers == (1, 3)
    assert second.units == Decimal("2.5") and second.rendering_npi == "1245319599"
    assert enc.member.address.present and enc.billing.is_organization
    assert enc.rendering is not None and enc.rendering.last_name == "HOLLIS"
    assert enc.referring is None and enc.facility is None
    # The claim-level PR 5.00 repeats money the balanced lines already adjust: only CL060 may object.
    assert claims[0].raw.count("\n") == 1 and {i.code for i in claims[0].issues} == {"CL060"}
