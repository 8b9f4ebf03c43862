"""X12 segments: delimiters, value formatting and a counting segment writer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 separators and whether a newline follows each segment."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"
    newline: bool = True

    def __post_init__(self) -> None:
        chars = [self.element, self.component, self.repetition, self.segment]
        if any(len(c) != 1 for c in chars) or len(set(chars)) != 4:
            raise ValueError("X12 separators must be four different single characters")
        if any(c.isalnum() or c == " " for c in chars):
            raise ValueError("X12 separators cannot be letters, digits or spaces")

    @property
    def chars(self) -> str:
        """Return the four separator characters."""
        return self.element + self.component + self.repetition + self.segment


def amount(cents: int) -> str:
    """Format cents as an X12 decimal (R): ``15000`` -> ``150``, ``-525`` -> ``-5.25``, ``1050`` -> ``10.5``.

    No trailing zeros and no minus sign on zero (X12 RFI 2819).
    """
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    if frac == 0:
        return f"{sign}{whole}"
    if frac % 10 == 0:
        return f"{sign}{whole}.{frac // 10}"
    return f"{sign}{whole}.{frac:02d}"


def decimal(value: Decimal) -> str:
    """Format a quantity as an X12 decimal without exponent, trailing zeros or a sign on zero."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def date8(value: dt.date) -> str:
    """Format a date as CCYYMMDD."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


class SegmentWriter:
    """Writes segments to a text stream and counts them.

    ``count`` is the number of segments since the last :meth:`reset_count` (SE01
    needs it); ``total`` counts every segment written.
    """

    __slots__ = ("out", "delimiters", "count", "total", "_element", "_component", "_end")

    def __init__(self, out: TextIO, delimiters: Delimiters) -> None:
        self.out = out
        self.delimiters = delimiters
        self.count = 0
        self.total = 0
        self._element = delimiters.element
        self._component = delimiters.component
        self._end = delimiters.segment + ("\n" if delimiters.newline else "")

    def reset_count(self) -> None:
        """Start counting the segments of a new transaction set."""
        self.count = 0

    def segment(self, *elements: str | None) -> None:
        """Write one segment; ``None`` is an empty element and trailing empties are dropped."""
        n = len(elements)
        while n and not elements[n - 1]:  # None and "" are the only empty values
            n -= 1
        self.out.write(self._element.join([e or "" for e in elements[:n]]) + self._end)
        self.count += 1
        self.total += 1

    def composite(self, *parts: str | None) -> str:
        """Join component values, dropping trailing empties."""
        values = ["" if p is None else p for p in parts]
        while values and values[-1] == "":
            values.pop()
        return self._component.join(values)
