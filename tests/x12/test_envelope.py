"""Unit tests for sendpro.x12.envelope: control numbers and the ISA/GS/GE/IEA segments."""

from __future__ import annotations

import datetime as dt
import functools
import io

import pytest

from sendpro.errors import UsageError
from sendpro.x12.envelope import (
    ClockControlNumbers,
    EnvelopeSettings,
    SequentialControlNumbers,
    write_ge,
    write_gs,
    write_iea,
    write_isa,
)
from sendpro.x12.segments import Delimiters, SegmentWriter
from tests.helpers import FIXED_NOW

MAX = 999_999_999


# -- SequentialControlNumbers --------------------------------------------------------------
def test_sequential_starts_at_one_by_default() -> None:
    c = SequentialControlNumbers()
    assert c.next_interchange() == 1
    assert c.next_group() == 1


def test_sequential_counts_interchange_and_group_independently() -> None:
    c = SequentialControlNumbers(41)
    assert [c.next_interchange() for _ in range(3)] == [41, 42, 43]
    assert [c.next_group() for _ in range(2)] == [41, 42]
    assert c.next_interchange() == 44


def test_sequential_refuses_to_wrap_after_the_maximum() -> None:
    """An explicit start must never repeat numbers already sent; only the clock source wraps."""
    c = SequentialControlNumbers(MAX - 1)
    assert [c.next_interchange() for _ in range(2)] == [MAX - 1, MAX]
    with pytest.raises(UsageError, match="exhausted"):
        c.next_interchange()
    assert [c.next_group() for _ in range(2)] == [MAX - 1, MAX]
    with pytest.raises(UsageError, match="exhausted"):
        c.next_group()
    wrapping = SequentialControlNumbers(MAX, wrap=True)
    assert [wrapping.next_interchange() for _ in range(3)] == [MAX, 1, 2]


@pytest.mark.parametrize("start", [0, -1, MAX + 1, 10**12])
def test_sequential_rejects_out_of_range_start(start: int) -> None:
    with pytest.raises(ValueError, match="1-999999999"):
        SequentialControlNumbers(start)


@pytest.mark.parametrize("start", [1, MAX])
def test_sequential_accepts_range_limits(start: int) -> None:
    assert SequentialControlNumbers(start).next_interchange() == start


# -- ClockControlNumbers ----------------------------------------------------------------------
EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (EPOCH, 1),
        (EPOCH + dt.timedelta(seconds=1), 2),
        (EPOCH + dt.timedelta(days=1), 86_401),
        (dt.datetime(2020, 1, 1, 0, 0, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5))), 5 * 3600 + 11),
    ],
)
def test_clock_numbers_are_seconds_since_2020(now: dt.datetime, expected: int) -> None:
    c = ClockControlNumbers(lambda: now)
    assert c.next_interchange() == expected
    assert c.next_group() == expected
    assert c.next_interchange() == expected + 1


def test_clock_numbers_increase_with_time() -> None:
    times = [
        FIXED_NOW,
        FIXED_NOW + dt.timedelta(seconds=1),
        FIXED_NOW + dt.timedelta(minutes=5),
        FIXED_NOW + dt.timedelta(days=30),
        FIXED_NOW + dt.timedelta(days=3650),
    ]
    numbers = [ClockControlNumbers(functools.partial(lambda t: t, t)).next_interchange() for t in times]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)
    assert numbers[1] - numbers[0] == 1
    assert all(1 <= n <= MAX for n in numbers)


def test_clock_numbers_same_instant_in_different_zones_agree() -> None:
    utc = FIXED_NOW.astimezone(dt.UTC)
    assert (
        ClockControlNumbers(lambda: utc).next_interchange() == ClockControlNumbers(lambda: FIXED_NOW).next_interchange()
    )


def test_clock_numbers_accept_a_naive_local_clock() -> None:
    aware = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC).astimezone()
    naive = aware.replace(tzinfo=None)
    assert (
        ClockControlNumbers(lambda: naive).next_interchange() == ClockControlNumbers(lambda: aware).next_interchange()
    )


def test_clock_numbers_call_the_clock() -> None:
    calls: list[int] = []

    def clock() -> dt.datetime:
        calls.append(1)
        return FIXED_NOW

    ClockControlNumbers(clock)
    assert calls == [1]


# -- ISA --------------------------------------------------------------------------------------
def _settings(**kwargs: object) -> EnvelopeSettings:
    base: dict[str, object] = {
        "sender_qualifier": "ZZ",
        "sender_id": "SENDER",
        "receiver_qualifier": "ZZ",
        "receiver_id": "RECEIVER",
        "sender_code": "GSSENDER",
        "receiver_code": "GSRECEIVER",
    }
    base.update(kwargs)
    return EnvelopeSettings(**base)  # type: ignore[arg-type]


def _isa(settings: EnvelopeSettings, control: int = 1, now: dt.datetime = FIXED_NOW) -> str:
    out = io.StringIO()
    write_isa(SegmentWriter(out, settings.delimiters), settings, control, now)
    return out.getvalue()


@pytest.mark.parametrize(
    ("sender", "receiver"),
    [
        ("", ""),
        ("A", "B"),
        ("SENDER", "PLACEHOLDER"),
        ("X" * 15, "Y" * 15),
        ("TOO-LONG-SENDER-ID-1234", "RECEIVER-ID-THAT-IS-LONG"),
    ],
)
@pytest.mark.parametrize("control", [1, 123, MAX])
def test_isa_is_106_characters_with_terminator(sender: str, receiver: str, control: int) -> None:
    s = _settings(sender_id=sender, receiver_id=receiver, delimiters=Delimiters(newline=False))
    isa = _isa(s, control)
    assert len(isa) == 106
    assert isa.startswith("ISA*")
    assert isa[3] == "*"
    assert isa[-1] == "~"
    el = isa[:-1].split("*")
    assert len(el) == 17
    assert el[6] == sender.ljust(15)[:15]
    assert el[8] == receiver.ljust(15)[:15]
    assert el[13] == f"{control:09d}"


def test_isa_with_newline_is_106_characters_plus_newline() -> None:
    isa = _isa(_settings())
    assert len(isa) == 107
    assert isa.endswith("~\n")


def test_isa_values() -> None:
    s = _settings(
        sender_qualifier="ZZ",
        sender_id="MCE01",
        receiver_qualifier="30",
        receiver_id="MASSHEALTH",
        usage="P",
        ack_requested="1",
        delimiters=Delimiters(newline=False),
    )
    el = _isa(s, 42)[:-1].split("*")
    assert el[0:5] == ["ISA", "00", " " * 10, "00", " " * 10]
    assert el[5] == "ZZ"
    assert el[6] == "MCE01          "
    assert el[7] == "30"
    assert el[8] == "MASSHEALTH     "
    assert el[9] == "261123"
    assert el[10] == "1030"
    assert el[11] == "^"
    assert el[12] == "00501"
    assert el[13] == "000000042"
    assert el[14] == "1"
    assert el[15] == "P"
    assert el[16] == ":"


def test_isa_one_character_qualifier_is_padded() -> None:
    el = _isa(_settings(sender_qualifier="1", delimiters=Delimiters(newline=False)))
    assert len(el) == 106
    assert el[:-1].split("*")[5] == "1 "


def test_isa_takes_separators_from_delimiters() -> None:
    d = Delimiters(element="|", component=">", repetition="{", segment="!", newline=False)
    isa = _isa(_settings(delimiters=d))
    assert len(isa) == 106
    assert isa[3] == "|"
    assert isa[-1] == "!"
    el = isa[:-1].split("|")
    assert el[11] == "{"
    assert el[16] == ">"
    assert isa[104] == ">"


def test_isa_date_and_time_use_the_clock_value() -> None:
    el = _isa(_settings(delimiters=Delimiters(newline=False)), now=dt.datetime(2031, 2, 3, 4, 5, 59))[:-1].split("*")
    assert (el[9], el[10]) == ("310203", "0405")


# -- GS / GE / IEA --------------------------------------------------------------------------
def test_gs_values() -> None:
    out = io.StringIO()
    write_gs(SegmentWriter(out, Delimiters()), _settings(), 7, FIXED_NOW, "005010X298A1")
    assert out.getvalue() == "GS*HC*GSSENDER*GSRECEIVER*20261123*1030*7*X*005010X298A1~\n"


def test_gs_control_number_is_not_padded() -> None:
    out = io.StringIO()
    write_gs(SegmentWriter(out, Delimiters(newline=False)), _settings(), MAX, FIXED_NOW, "V")
    assert out.getvalue().split("*")[6] == str(MAX)


def test_ge_and_iea() -> None:
    out = io.StringIO()
    w = SegmentWriter(out, Delimiters())
    write_ge(w, 3, 12)
    write_iea(w, 1, 12)
    assert out.getvalue().splitlines() == ["GE*3*12~", "IEA*1*000000012~"]
    assert w.total == 2
