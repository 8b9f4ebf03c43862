"""Read back an 837 file sendpro wrote: control totals, and which claim holds a segment.

Reconciliation never trusts the writer's own counters: after a file is written,
:func:`tally_837` re-reads it from disk and counts claims, lines and money from
the segments actually there. Streaming, so memory stays flat.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sendpro.report.issue import Issue


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
    #: Claims whose CLM02 / AMT*D are not the sums of their lines: (claim id, what), the first 20.
    unbalanced: list[tuple[str, str]] = field(default_factory=list)
    unbalanced_count: int = 0


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


#: The segments reconciliation reads; the others are only counted.
_TALLIED = ("ISA", "GS", "ST", "CLM", "LX", "SV1", "SV2", "SV3", "SVD", "AMT")


class _ClaimBalance:
    """One claim's charge and paid against its lines' (CLM02 = sum of line charges, AMT*D = sum of SVD02)."""

    __slots__ = ("claim_id", "charge", "paid", "line_charge", "line_paid")

    def __init__(self, claim_id: str, charge: int) -> None:
        self.claim_id = claim_id
        self.charge = charge
        self.paid = 0
        self.line_charge = 0
        self.line_paid = 0

    def problems(self) -> list[str]:
        out = []
        if self.charge != self.line_charge:
            out.append(f"CLM02 {self.charge / 100:.2f} is not the sum of the line charges {self.line_charge / 100:.2f}")
        if self.paid != self.line_paid:
            out.append(f"AMT*D {self.paid / 100:.2f} is not the sum of SVD02 {self.line_paid / 100:.2f}")
        return out


def tally_837(path: Path, chunk_size: int = 1 << 20) -> X12Tally:
    """Count claims, lines and money in an 837 file (P, I or D), and check each claim balances.

    Claim charge is CLM02; claim paid is AMT*D of loop 2320; line charge is
    SV102 / SV203 / SV302; line paid is SVD02. A claim whose CLM02 or AMT*D is
    not the sum of its lines is listed in :attr:`X12Tally.unbalanced` (the input
    rules make that impossible, so it is a sendpro bug). Only the segments that
    matter are parsed: a regular expression finds them in each chunk of text.
    """
    t = X12Tally()
    with path.open("r", encoding="ascii", errors="replace", newline="") as handle:
        head = handle.read(106)
        if len(head) < 106 or not head.startswith("ISA"):
            raise ValueError(f"{path.name} does not start with an ISA segment")
        element, terminator = head[3], head[105]
        # Every segment is matched with the terminator in front of it: a literal
        # first character lets the regex engine skip ahead, several times faster
        # than a look-behind tried at every position. A virtual terminator goes
        # before the ISA, and each chunk keeps its last terminator for the next.
        found = re.compile(
            rf"{re.escape(terminator)}[\r\n]*({'|'.join(_TALLIED)}){re.escape(element)}([^{re.escape(terminator)}]*)"
        )
        claim: _ClaimBalance | None = None
        buffer = terminator + head
        t.segments = -1  # the virtual terminator
        while True:
            chunk = handle.read(chunk_size)
            buffer += chunk
            cut = buffer.rfind(terminator) if chunk else len(buffer)
            text, buffer = buffer[:cut], buffer[cut:]
            t.segments += text.count(terminator)
            for match in found.finditer(text):
                claim = _tally_segment(t, match.group(1), match.group(2).split(element), claim)
            if not chunk:
                if text[text.rfind(terminator) + 1 :].strip():
                    t.segments += 1  # a last segment without its terminator
                break
    _close_claim(t, claim)
    return t


def _tally_segment(t: X12Tally, seg: str, el: list[str], claim: _ClaimBalance | None) -> _ClaimBalance | None:
    """Add one segment to the tally; return the claim being read."""
    if seg == "CLM":
        _close_claim(t, claim)
        charge = _cents(el[1])
        t.claims += 1
        t.charge += charge
        return _ClaimBalance(el[0], charge)
    if seg == "LX":
        t.lines += 1
    elif seg in ("SV1", "SV3", "SV2"):
        cents = _cents(el[2] if seg == "SV2" else el[1])
        t.line_charge += cents
        if claim is not None:
            claim.line_charge += cents
    elif seg == "SVD":
        cents = _cents(el[1])
        t.line_paid += cents
        if claim is not None:
            claim.line_paid += cents
    elif seg == "AMT" and el[0] == "D":
        cents = _cents(el[1])
        t.paid += cents
        if claim is not None:
            claim.paid += cents
    elif seg == "ST":
        _close_claim(t, claim)
        t.transactions += 1
        if len(el) > 2:
            t.versions.add(el[2])
        return None
    elif seg == "GS":
        t.groups += 1
    elif seg == "ISA":
        t.interchanges += 1
        t.control_numbers.append(el[12])
    return claim


def _close_claim(t: X12Tally, claim: _ClaimBalance | None) -> None:
    if claim is None:
        return
    problems = claim.problems()
    if problems:
        t.unbalanced_count += 1
        if len(t.unbalanced) < 20:  # enough to name the bug; the count says how many
            t.unbalanced.append((claim.claim_id, "; ".join(problems)))


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


def name_claims(path: Path, issues: list[Issue]) -> list[Issue]:
    """Name the claim (CLM01) each X12 finding of ``path`` sits in, so an analyst can find it."""
    if not issues:
        return issues
    try:
        claims = claims_at_segments(path, [i.location.record_no for i in issues if i.location.record_no])
    except ValueError:  # not an X12 file: nothing to map
        return issues
    out = []
    for i in issues:
        claim = claims.get(i.location.record_no or -1)
        if claim is not None:
            i = dataclasses.replace(i, location=dataclasses.replace(i.location, claim_id=claim))
        out.append(i)
    return out
