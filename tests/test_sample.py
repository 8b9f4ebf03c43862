from __future__ import annotations

import io
from collections import Counter

from sendpro.sample import iter_sample_claims, npi_with_check_digit, write_sample
from sendpro.validate.rules.provider import npi_check_digit_ok


def test_sample_is_deterministic_and_balanced() -> None:
    a, b = io.StringIO(), io.StringIO()
    sa = write_sample(a, 40, seed=3)
    write_sample(b, 40, seed=3)
    assert a.getvalue() == b.getvalue()
    assert sa.claims == 40 and sa.rows == len(a.getvalue().splitlines()) - 1
    for rows, code in iter_sample_claims(40, seed=3):
        assert code is None
        charge = sum(round(float(r["line_charge"]) * 100) for r in rows)
        assert charge == round(float(rows[0]["total_charge"]) * 100)


def test_defects_are_seeded_at_the_requested_rate() -> None:
    summary = write_sample(io.StringIO(), 400, seed=5, defect_rate=0.25)
    assert 60 <= len(summary.defects) <= 140
    assert len(Counter(code for _, code in summary.defects)) >= 6


def test_sample_npis_are_valid() -> None:
    for nine in ("123456789", "100000000", "999999999"):
        assert npi_check_digit_ok(npi_with_check_digit(nine))
