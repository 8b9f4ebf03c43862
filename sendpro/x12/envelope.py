"""Interchange and functional-group envelopes, and where control numbers come from.

Control numbers and the clock are always injected: tests pass fixed ones and get
byte-identical output; a production run gets numbers from its source (a counter,
the clock, or later the submission ledger).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sendpro.errors import UsageError
from sendpro.x12.segments import Delimiters, SegmentWriter

#: A clock returns the current local time.
Clock = Callable[[], dt.datetime]

_MAX_CONTROL = 999_999_999


class ControlNumbers(Protocol):
    """Where interchange (ISA13) and group (GS06) control numbers come from."""

    def next_interchange(self) -> int:
        """Return the next interchange control number (1..999999999)."""
        ...

    def next_group(self) -> int:
        """Return the next functional group control number (1..999999999)."""
        ...

    def next_transaction(self) -> int:
        """Return the next transaction set control number (ST02, 1..999999999)."""
        ...


class SequentialControlNumbers:
    """Control numbers counting up from ``start`` (tests, or an explicit ``--control-number``)."""

    def __init__(self, start: int = 1, *, wrap: bool = False) -> None:
        if not 1 <= start <= _MAX_CONTROL:
            raise ValueError(f"a control number must be 1-{_MAX_CONTROL}")
        self._interchange = start
        self._group = start
        # ST02 need only be unique within its group: count from 1.
        self._transaction = 1
        self._wrap = wrap

    def _take(self, value: int, what: str) -> int:
        """Return ``value`` if it is a control number; past the last one, wrap or refuse."""
        if value <= _MAX_CONTROL:
            return value
        if self._wrap:
            return 1
        # Starting again at 1 would repeat numbers already sent: X12 forbids it.
        raise UsageError(f"{what} control numbers are exhausted at {_MAX_CONTROL}; start lower with --control-number")

    def next_interchange(self) -> int:
        """Return the next interchange control number."""
        value = self._take(self._interchange, "interchange")
        self._interchange = value + 1
        return value

    def next_group(self) -> int:
        """Return the next group control number."""
        value = self._take(self._group, "group")
        self._group = value + 1
        return value

    def next_transaction(self) -> int:
        """Return the next transaction set control number."""
        value = self._transaction
        self._transaction = value % _MAX_CONTROL + 1  # unique within its group only
        return value


class ClockControlNumbers(SequentialControlNumbers):
    """Control numbers derived from the clock: seconds since 2020-01-01, so later runs get higher numbers.

    Without a submission ledger this is the best a stateless run can do: numbers
    increase across runs and repeat only if two runs start in the same second.
    """

    def __init__(self, clock: Clock) -> None:
        epoch = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        now = clock()
        if now.tzinfo is None:
            now = now.astimezone()
        seconds = int((now - epoch).total_seconds())
        # Wrapping (in 2051) is the clock's nature; a ledger never wraps.
        super().__init__(seconds % _MAX_CONTROL + 1, wrap=True)


@dataclass(frozen=True, slots=True)
class EnvelopeSettings:
    """ISA/GS values from the submission profile."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    sender_code: str
    receiver_code: str
    usage: str = "T"
    ack_requested: str = "0"
    delimiters: Delimiters = Delimiters()


def write_isa(w: SegmentWriter, s: EnvelopeSettings, control: int, now: dt.datetime) -> None:
    """Write the fixed-length ISA segment."""
    d = s.delimiters
    w.segment(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        s.sender_qualifier.ljust(2),
        s.sender_id.ljust(15)[:15],
        s.receiver_qualifier.ljust(2),
        s.receiver_id.ljust(15)[:15],
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        d.repetition,
        "00501",
        f"{control:09d}",
        s.ack_requested,
        s.usage,
        d.component,
    )


def write_gs(
    w: SegmentWriter,
    s: EnvelopeSettings,
    control: int,
    now: dt.datetime,
    version: str,
    functional_id: str = "HC",
) -> None:
    """Write a GS segment (GS01 ``HC`` health care claims; ``FA`` acknowledgments)."""
    w.segment(
        "GS",
        functional_id,
        s.sender_code,
        s.receiver_code,
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        str(control),
        "X",
        version,
    )


def write_ge(w: SegmentWriter, transactions: int, control: int) -> None:
    """Write the GE trailer."""
    w.segment("GE", str(transactions), str(control))


def write_iea(w: SegmentWriter, groups: int, control: int) -> None:
    """Write the IEA trailer."""
    w.segment("IEA", str(groups), f"{control:09d}")
