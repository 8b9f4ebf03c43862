"""Unit tests for sendpro.x12.segments: number and date formatting, delimiters, the segment writer."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest

from sendpro.x12.segments import Delimiters, SegmentWriter, amount, date8, decimal


# -- amount ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0"),
        (1, "0.01"),
        (5, "0.05"),
        (10, "0.1"),
        (99, "0.99"),
        (100, "1"),
        (150, "1.5"),
        (1050, "10.5"),
        (1005, "10.05"),
        (15000, "150"),
        (25000, "250"),
        (-1, "-0.01"),
        (-10, "-0.1"),
        (-100, "-1"),
        (-525, "-5.25"),
        (-15000, "-150"),
        (123_456_789_012, "1234567890.12"),
        (99_999_999_990, "999999999.9"),
        (10**15, "10000000000000"),
        (-(10**15) - 7, "-10000000000000.07"),
    ],
)
def test_amount_formats_cents(cents: int, text: str) -> None:
    assert amount(cents) == text


def test_amount_round_trips_without_trailing_zeros_or_negative_zero() -> None:
    shape = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]?[1-9])?$")
    for cents in range(-20_000, 20_001):
        text = amount(cents)
        assert shape.match(text), (cents, text)
        assert Decimal(text) * 100 == cents, (cents, text)
        assert text != "-0"


# -- decimal ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1", "1"),
        ("1.0", "1"),
        ("1.50", "1.5"),
        ("0.25", "0.25"),
        ("10", "10"),
        ("100.00", "100"),
        ("1E+3", "1000"),
        ("2.5E-7", "0.00000025"),
        ("0.000", "0"),
        ("12345.6780", "12345.678"),
        ("-1.50", "-1.5"),
    ],
)
def test_decimal_has_no_exponent_or_trailing_zeros(value: str, text: str) -> None:
    assert decimal(Decimal(value)) == text


@pytest.mark.parametrize("value", ["0", "-0", "-0.00", "0E+3", "0.000"])
def test_decimal_zero_has_no_sign(value: str) -> None:
    assert decimal(Decimal(value)) == "0"


# -- date8 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.date(2026, 3, 1), "20260301"),
        (dt.date(1999, 12, 31), "19991231"),
        (dt.date(2024, 2, 29), "20240229"),
        (dt.date(987, 6, 5), "09870605"),
        (dt.datetime(2026, 11, 23, 10, 30), "20261123"),
    ],
)
def test_date8(value: dt.date, text: str) -> None:
    assert date8(value) == text


# -- Delimiters --------------------------------------------------------------------------------
def test_delimiters_defaults() -> None:
    d = Delimiters()
    assert d.chars == "*:^~"
    assert d.newline is True


def test_delimiters_custom_chars_in_order() -> None:
    assert Delimiters(element="|", component=">", repetition="{", segment="!", newline=False).chars == "|>{!"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"element": "~"},
        {"component": "*"},
        {"repetition": ":"},
        {"segment": "^"},
        {"element": "|", "component": "|"},
    ],
)
def test_delimiters_must_differ(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="four different single characters"):
        Delimiters(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"element": "**"}, {"segment": "~\n"}, {"component": ""}, {"repetition": "^^"}],
)
def test_delimiters_must_be_single_characters(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="single characters"):
        Delimiters(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"element": "A"}, {"component": "z"}, {"repetition": "7"}, {"segment": " "}, {"segment": "É"}],
)
def test_delimiters_cannot_be_alphanumeric_or_space(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="letters, digits or spaces"):
        Delimiters(**kwargs)


def test_delimiters_are_frozen() -> None:
    d = Delimiters()
    with pytest.raises(AttributeError):
        d.element = "|"  # type: ignore[misc]


# -- SegmentWriter -----------------------------------------------------------------------------
def _writer(**kwargs: object) -> tuple[io.StringIO, SegmentWriter]:
    out = io.StringIO()
    return out, SegmentWriter(out, Delimiters(**kwargs))  # type: ignore[arg-type]


def test_segment_writer_joins_and_terminates_with_newline() -> None:
    out, w = _writer()
    w.segment("NM1", "85", "2", "CLINIC")
    assert out.getvalue() == "NM1*85*2*CLINIC~\n"


def test_segment_writer_without_newline() -> None:
    out, w = _writer(newline=False)
    w.segment("LX", "1")
    w.segment("LX", "2")
    assert out.getvalue() == "LX*1~LX*2~"


def test_segment_writer_drops_trailing_empty_elements_only() -> None:
    out, w = _writer()
    w.segment("SBR", "P", "18", None, "", None, "6", None, None, "MC", None, "")
    w.segment("NM1", "PR", "2", "X", None, "", None, None, None)
    assert out.getvalue().splitlines() == ["SBR*P*18****6***MC~", "NM1*PR*2*X~"]


def test_segment_writer_all_empty_leaves_only_segment_id() -> None:
    out, w = _writer()
    w.segment("LX", None, "")
    assert out.getvalue() == "LX~\n"


def test_segment_writer_uses_custom_separators() -> None:
    out, w = _writer(element="|", component=">", repetition="{", segment="!", newline=False)
    w.segment("SV1", w.composite("HC", "99213", "25"), "200", None)
    assert out.getvalue() == "SV1|HC>99213>25|200!"


def test_segment_writer_counts_and_resets() -> None:
    _, w = _writer()
    assert (w.count, w.total) == (0, 0)
    for _ in range(3):
        w.segment("A", "1")
    assert (w.count, w.total) == (3, 3)
    w.reset_count()
    assert (w.count, w.total) == (0, 3)
    w.segment("B")
    w.segment("C", None)
    assert (w.count, w.total) == (2, 5)


def test_composite_drops_trailing_empties_and_keeps_inner_ones() -> None:
    _, w = _writer()
    assert w.composite("11", "B", "1") == "11:B:1"
    assert w.composite("11", "B", None) == "11:B"
    assert w.composite("HC", "99213", None, "", None) == "HC:99213"
    assert w.composite("A", None, "C") == "A::C"
    assert w.composite(None, None) == ""
    assert w.composite() == ""


def test_composite_does_not_write_or_count() -> None:
    out, w = _writer()
    w.composite("HC", "99213")
    assert out.getvalue() == ""
    assert (w.count, w.total) == (0, 0)
