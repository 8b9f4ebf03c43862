from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from sendpro.model.fields import FIELDS_BY_NAME
from sendpro.model.typing import cents_expr, clean_text, clean_text_frame, type_frame, valid_expr


def _valid(field: str, values: list[str | None]) -> list[bool]:
    frame = pl.DataFrame({field: values}, schema={field: pl.String})
    return frame.select(valid_expr(FIELDS_BY_NAME[field]))[field].to_list()


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("member_dob", ["19800101", "20000229", None], ["19800230", "1980-01-01", "2024013", "20240101x"]),
        ("total_charge", ["150", "150.", "150.5", "150.00", "-5.25", "0"], ["$150", "1,500.00", "150.005", "abc", ""]),
        ("units", ["1", "1.5", "0.125"], ["0", "-1", "1.2345", "x"]),
        ("line_number", ["1", "0001", "9999"], ["0", "10000", "1.0"]),
        ("member_gender", ["M", "F", "U"], ["m", "X"]),
        ("dx_1", ["J069", "E119", "S72001A", "Z23"], ["J06.9", "j069", "123", "J0699999"]),
        ("billing_npi", ["1234567893"], ["123456789", "12345678901", "ABCDEFGHIJ"]),
        ("member_zip", ["02118", "021181234"], ["0211", "021181"]),
        ("mce_claim_id", ["C-100/2", "A B"], ["C*1", "C~1", "C|1", "C:1", "X" * 39]),
        ("member_last_name", ["A", "X" * 60], ["X" * 61]),
        ("admission_hour", ["0000", "2359"], ["2400", "1260"]),
        ("icd_pcs_1", ["0DTJ4ZZ"], ["0DTJ4Z", "0DTI4ZZ"]),
    ],
)
def test_valid_expr(field: str, good: list[str | None], bad: list[str]) -> None:
    assert all(_valid(field, good)), (field, good)
    assert not any(_valid(field, bad)), (field, bad)


def test_cents_expr_is_exact() -> None:
    values = ["150", "150.5", "150.05", "-5.25", "0.01", "99999999999.99", "x", None]
    frame = pl.DataFrame({"a": values}, schema={"a": pl.String})
    got = frame.select(cents_expr(pl.col("a")).alias("a"))["a"].to_list()
    assert got == [15000, 15050, 15005, -525, 1, 9999999999999, None, None]


def test_type_frame_types_and_nulls_invalid_values() -> None:
    frame = pl.DataFrame(
        {
            "member_dob": ["19800101", "19800231"],
            "total_charge": ["12.5", "$1"],
            "line_number": ["2", "x"],
            "units": ["1.50", "0"],
        },
        schema={k: pl.String for k in ("member_dob", "total_charge", "line_number", "units")},
    )
    typed = type_frame(frame)
    assert typed["member_dob"].to_list() == [dt.date(1980, 1, 1), None]
    assert typed["total_charge"].to_list() == [1250, None]
    assert typed["line_number"].to_list() == [2, None]
    assert typed["units"].to_list() == ["1.50", None]
    assert "billing_npi" in typed.columns  # every model field is present
    assert Decimal(typed["units"][0]) == Decimal("1.5")


@pytest.mark.parametrize(
    ("text", "clean", "done"),
    [
        ("Muñoz", "Munoz", {"transliterated"}),
        ("O'BRIEN*SMITH", "O'BRIEN SMITH", {"separator"}),
        ("A~B:C^D|E", "A B C D E", {"separator"}),
        ("Straße", "Strasse", {"transliterated"}),
        ("Zoë  Ørsted", "Zoe Orsted", {"transliterated"}),
        ("tab\there", "tab here", {"separator"}),
        ("李", "?", {"transliterated"}),
        ("PLAIN", "PLAIN", set()),
    ],
)
def test_clean_text(text: str, clean: str, done: set[str]) -> None:
    assert clean_text(text) == (clean, frozenset(done))


def test_clean_text_frame_only_touches_dirty_values() -> None:
    frame = pl.DataFrame({"member_last_name": ["ALDER", "MUÑOZ", None], "member_id": ["A*1", "B", "C"]})
    cleaned, notes = clean_text_frame(frame)
    assert cleaned["member_last_name"].to_list() == ["ALDER", "MUNOZ", None]
    assert cleaned["member_id"].to_list() == ["A*1", "B", "C"]  # identifiers are never rewritten
    assert notes == [(1, "member_last_name", frozenset({"transliterated"}))]
