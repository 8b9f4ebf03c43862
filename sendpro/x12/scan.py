"""Read back an 837 file sendpro wrote: control totals, and which claim holds a segment.

Reconciliation never trusts the writer's own counters: after a file is written,
:func:`tally_837` re-reads it from disk and counts claims, lines and money from
the segments actually there. Streaming, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path


@dataclass
class X12Tally:
    """Counts and money found in an 837 file (amounts in cents)."""

    interchanges: int = 0
    groups: int = 0
    transactions: int = 0
    segments: int = 0
    claims: int = 0
    lines: int = 0
    charge: int = 0
    paid: int = 0
    line_charge: int = 0
    line_paid: int = 0
    versions: set[str] = field(default_factory=set)
    control_numbers: list[str] = field(default_factory=list)


def _cents(text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an X12 amount: {text!r}") from None
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"amount with more than 2 decimals: {text!r}")
    return int(cents)


def iter_segments(path: Path, chunk_size: int = 1 << 20) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(segment number, elements)`` for every segment of an X12 file.

    Separators come from the ISA segment. Line breaks between segments are ignored.

    Raises:
        ValueError: the file does not start with an ISA segment.
    """
    with path.open("r", encoding="ascii", errors="replace", newline="") as handle:
        head = handle.read(106)
        if len(head) < 106 or not head.startswith("ISA"):
            raise ValueError(f"{path.name} does not start with an ISA segment")
        element, terminator = head[3], head[105]
        buffer = head
        number = 0
        while True:
            chunk = handle.read(chunk_size)
            buffer += chunk
            parts = buffer.split(terminator)
            buffer = parts.pop() if chunk else ""
            for part in parts:
                text = part.strip("\r\n")
                if not text:
                    continue
                number += 1
                yield number, text.split(element)
            if not chunk:
                rest = buffer.strip()
                if rest:
                    number += 1
                    yield number, rest.split(element)
                return


def tally_837(path: Path) -> X12Tally:
    """Count claims, lines and money in an 837 file (P, I or D).

    Claim charge is CLM02; claim paid is AMT*D of loop 2320; line charge is
    SV102 / SV203 / SV302; line paid is SVD02.
    """
    t = X12Tally()
    for _, el in iter_segments(path):
        seg = el[0]
        t.segments += 1
        if seg == "CLM":
            t.claims += 1
            t.charge += _cents(el[2])
        elif seg == "LX":
            t.lines += 1
        elif seg in ("SV1", "SV3"):
            t.line_charge += _cents(el[2])
        elif seg == "SV2":
            t.line_charge += _cents(el[3])
        elif seg == "SVD":
            t.line_paid += _cents(el[2])
        elif seg == "AMT" and el[1] == "D":
            t.paid += _cents(el[2])
        elif seg == "ST":
            t.transactions += 1
            if len(el) > 3:
                t.versions.add(el[3])
        elif seg == "GS":
            t.groups += 1
        elif seg == "ISA":
            t.interchanges += 1
            t.control_numbers.append(el[13])
    return t


def claims_at_segments(path: Path, segment_numbers: Iterable[int]) -> dict[int, str]:
    """Return the claim (CLM01) each of ``segment_numbers`` belongs to.

    A segment belongs to a claim from the subscriber HL that opens the claim's
    2000B loop to the segment before the next HL or SE; segments of the
    billing-provider 2000A loop and of the envelope belong to no single claim.
    """
    wanted = set(segment_numbers)
    found: dict[int, str] = {}
    if not wanted:
        return found
    current: str | None = None
    waiting: list[int] = []  # 2000B segments seen before their CLM
    in_subscriber = False
    last = max(wanted)
    for number, el in iter_segments(path):
        seg = el[0]
        if seg == "HL":
            current, waiting = None, []
            in_subscriber = len(el) > 3 and el[3] in ("22", "23")
        elif seg in ("SE", "ST", "GE", "IEA"):
            current, waiting, in_subscriber = None, [], False
        elif seg == "CLM":
            current = el[1] if len(el) > 1 else None
            if current is not None:
                for n in waiting:
                    found[n] = current
            waiting = []
        if number in wanted:
            if current is not None:
                found[number] = current
            elif in_subscriber:
                waiting.append(number)
        if number > last and not waiting:
            break
    return found
