"""The interchange header read by position, and the control segments' order: what pyx12 cannot say.

pyx12 reads an ISA by splitting it on its fourth character. A header whose
separators are letters, or whose elements do not split into sixteen, leaves it
with nothing useful to report, or stops it with an exception. X12 fixes the
ISA's layout instead (106 characters, every element at its own position), so
the header can still be read here: enough to name the separator that cannot be
used (the TA1 note codes 026, 027 and 004 exist for exactly this) and to address
a TA1 to the interchange.

The second half explains where pyx12's reader stops with an exception on the
control segments (ISA, GS, ST, SE, GE, IEA): one out of order (pyx12 then pops
the wrong loop and fails on an empty stack) or a GE01 that is not a number
(pyx12's error handler converts it with ``int()``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

ISA_LEN = 106
#: Where ISA01 to ISA16 sit in the 106-character header: (start, end).
ISA_SPANS: dict[int, tuple[int, int]] = {
    1: (4, 6),
    2: (7, 17),
    3: (18, 20),
    4: (21, 31),
    5: (32, 34),
    6: (35, 50),
    7: (51, 53),
    8: (54, 69),
    9: (70, 76),
    10: (77, 81),
    11: (82, 83),
    12: (84, 89),
    13: (90, 99),
    14: (100, 101),
    15: (102, 103),
    16: (104, 105),
}
#: ISA12 versions pyx12 reads.
VERSIONS = ("00401", "00501")
#: ISA05 / ISA07, interchange ID qualifiers (X12 element I05).
ID_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})
#: TA105 note codes for the header's problems.
NOTE_ELEMENT_SEPARATOR = "026"
NOTE_COMPONENT_SEPARATOR = "027"
NOTE_TERMINATOR = "004"
NOTE_VERSION = "017"
NOTE_STRUCTURE = "022"
NOTE_CONTENT = "024"

#: GS01 and GS08 as X12 writes them (a functional identifier code; a version, release and guide).
_FUNCTIONAL_ID = re.compile(r"[A-Z]{2}")
_VERSION_ID = re.compile(r"[0-9]{6}[A-Z0-9]{0,6}")

_CONTROL = ("ISA", "GS", "ST", "SE", "GE", "IEA")
#: The loop each control segment needs to be the innermost open one.
_NEEDS = {"ISA": None, "GS": "ISA", "ST": "GS", "SE": "ST", "GE": "GS", "IEA": "ISA"}
_NAMES = {"ISA": "interchange", "GS": "functional group", "ST": "transaction set"}
_OPENS = {"ISA": "ISA", "GS": "GS", "ST": "ST"}
_CLOSES = {"IEA": "ISA", "GE": "GS", "SE": "ST"}


@dataclass(frozen=True, slots=True)
class EnvelopeProblem:
    """Something wrong with the envelope that pyx12 cannot report: where, and the TA1 note it calls for."""

    #: The segment number (1 for the ISA).
    line: int
    #: The segment or element named (``ISA16``, ``GE01``, ``GE``).
    ref: str
    #: TA105: the interchange note code.
    note: str
    #: One readable sentence, without data values.
    message: str


def isa_element(head: str, n: int) -> str:
    """Return ISA element ``n`` (1 to 16) of a 106-character header, by its fixed position."""
    start, end = ISA_SPANS[n]
    return head[start:end]


def _separator_fault(char: str) -> str | None:
    if not char.isascii():
        return "is not an ASCII character"
    if char.isalnum():
        return "is a letter or digit"
    if char == " ":
        return "is a space"
    return None


def separator_problem(head: str) -> EnvelopeProblem | None:
    """Return why the header's separators cannot be used, or None when they can.

    The data element separator (the character after ``ISA``), the component
    separator (ISA16) and the segment terminator (the ISA's last character) must
    be three different characters the data cannot hold: not a letter, digit or
    space (the characters of every identifier and name), and ASCII. A separator
    that is a line break is allowed only as the terminator.
    """
    chars = (
        (head[3], "the data element separator (the character after ISA)", "ISA", NOTE_ELEMENT_SEPARATOR),
        (head[104], "the component element separator (ISA16)", "ISA16", NOTE_COMPONENT_SEPARATOR),
        (head[105], "the segment terminator (the character after ISA16)", "ISA", NOTE_TERMINATOR),
    )
    seen: list[tuple[str, str]] = []
    for char, name, ref, note in chars:
        fault = _separator_fault(char)
        if fault is None and char in "\r\n" and note != NOTE_TERMINATOR:
            fault = "is a line break"
        if fault is None:
            fault = next((f"is the same character as {other}" for c, other in seen if c == char), None)
        if fault is not None:
            return EnvelopeProblem(1, ref, note, f"{name} {fault}: the interchange cannot be read")
        seen.append((char, name))
    repetition = head[82]
    if isa_element(head, 12) == "00501" and repetition in (c for c, _ in seen):
        # 5010's ISA11 is the repetition separator: the same character as another separator
        # splits every element that repeats (and the ISA itself, when it is the element separator).
        other = next(name for c, name in seen if c == repetition)
        return EnvelopeProblem(
            1,
            "ISA11",
            NOTE_ELEMENT_SEPARATOR,
            f"the repetition separator (ISA11) is the same character as {other}: the interchange cannot be read",
        )
    return None


def header_problem(head: str) -> EnvelopeProblem | None:
    """Return what stops the 106-character ISA from being read at all, or None.

    Checked in order: the separators (:func:`separator_problem`), the version
    (ISA12, which pyx12 needs to pick its control map) and the element count (the
    data element separator inside an element, or one missing).
    """
    problem = separator_problem(head)
    if problem is not None:
        return problem
    if isa_element(head, 12) not in VERSIONS:
        return EnvelopeProblem(
            1,
            "ISA12",
            NOTE_VERSION,
            "the interchange control version (ISA12) is not 00401 or 00501: the interchange cannot be read",
        )
    if len(head[:-1].split(head[3])) != 17:
        return EnvelopeProblem(
            1,
            "ISA",
            NOTE_STRUCTURE,
            "the ISA segment does not have 16 elements at their fixed positions "
            "(its data element separator is missing from one place or appears inside an element)",
        )
    return None


def _date(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return value.isdigit()


def addressing_problem(isa: list[str], forbidden: str) -> str | None:
    """Return why no TA1 or 999 can be addressed to this interchange, or None when one can.

    A reply names the interchange by ISA13, ISA09 and ISA10 (TA101 to TA103) and
    is sent from its receiver to its sender (ISA07/ISA08 and ISA05/ISA06): those
    values are copied, so each must be valid X12 in the reply, and none may hold
    one of the reply's separators (``forbidden``). ``isa`` holds the elements
    (``isa[n]`` is ISAnn).
    """

    def element(n: int) -> str:
        return isa[n] if len(isa) > n else ""

    for n in (5, 7):
        if element(n) not in ID_QUALIFIERS:
            return f"ISA{n:02d} is not an interchange ID qualifier"
    for n in (6, 8):
        value = element(n)
        if (
            len(value) != 15
            or not value.strip()
            or not (value.isascii() and value.isprintable())
            or any(c in value for c in forbidden)
        ):
            return f"ISA{n:02d} is not a 15-character interchange ID"
    if not _date(element(9), "%y%m%d"):
        return "ISA09 is not a date (YYMMDD)"
    if not _date(element(10), "%H%M"):
        return "ISA10 is not a time (HHMM)"
    if not (len(element(13)) == 9 and element(13).isdigit() and element(13).isascii()):
        return "ISA13 is not a 9-digit interchange control number"
    return None


def header_elements(head: str) -> list[str]:
    """Return ``["ISA", ISA01, ..., ISA16]`` of a 106-character header, read by position."""
    return ["ISA"] + [isa_element(head, n) for n in range(1, 17)]


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def control_problem(segments: Iterable[tuple[int, str]], element: str) -> EnvelopeProblem | None:
    """Return the first control segment out of order, or a GE01 that is not a number, or None.

    ``segments`` are (segment number, text) as pyx12's reader numbers them. The
    envelope nests ISA > GS > ST; each trailer (SE, GE, IEA) closes the innermost
    open loop, which must be its own.
    """
    stack: list[tuple[str, int]] = []
    for line, text in segments:
        parts = text.lstrip().split(element)
        seg_id = parts[0]
        if seg_id not in _CONTROL:
            continue
        need = _NEEDS[seg_id]
        top = stack[-1] if stack else None
        if (top[0] if top else None) != need:
            return EnvelopeProblem(line, seg_id, NOTE_STRUCTURE, _order_message(seg_id, top))
        if seg_id == "GE" and _int(parts[1] if len(parts) > 1 else "") is None:
            return EnvelopeProblem(line, "GE01", NOTE_CONTENT, "GE01 (the number of transaction sets) is not a number")
        if seg_id in _OPENS:
            stack.append((seg_id, line))
        else:
            stack.pop()
    return None


def _order_message(seg_id: str, top: tuple[str, int] | None) -> str:
    if top is None:
        return f"{seg_id} outside any interchange (after its IEA, or before an ISA)"
    loop, opened = top
    if seg_id in _CLOSES:
        return (
            f"{seg_id} where the {_NAMES[loop]} opened by the {loop} at segment {opened} is still open "
            f"(its {'SE' if loop == 'ST' else 'GE' if loop == 'GS' else 'IEA'} is missing or comes later)"
        )
    return f"{seg_id} inside the {_NAMES[loop]} opened by the {loop} at segment {opened}"


def group_problem(line: int, gs01: str | None, gs08: str | None) -> EnvelopeProblem | None:
    """Return why a GS names no functional group a map can be looked up for (damage), or None.

    A GS01 and GS08 that look like a functional identifier and a version but name
    nothing sendpro has a map for are not damage: that is a file of another kind.
    """
    for ref, value, pattern, what in (
        ("GS01", gs01, _FUNCTIONAL_ID, "functional identifier code"),
        ("GS08", gs08, _VERSION_ID, "version"),
    ):
        if not value or not pattern.fullmatch(value):
            return EnvelopeProblem(
                line,
                ref,
                NOTE_CONTENT,
                f"the GS has no readable {what} ({ref}): no map can check its functional group",
            )
    return None


#: The functional groups sendpro has maps for: GS08 by GS01.
SUPPORTED_GROUPS = {"HC": ("005010X298A1", "005010X299A1", "005010X300A1"), "FA": ("005010X231A1",)}


def unsupported_problem(isa_line: int, isa12: str, gs_line: int, gs: list[str]) -> EnvelopeProblem | None:
    """Return why a readable GS names no group sendpro has a map for, or None when it has one.

    PACDR interchanges are version 00501 (ISA12) and their groups 837 PACDR
    (GS01 ``HC``, GS08 one of :data:`SUPPORTED_GROUPS`); a 4010 file, a 277 or a
    claim guide's 005010X222A1 is a finding on the element that says so, with
    the version named (a code, never member data) and what sendpro checks.
    """
    if isa12 != "00501":
        shown = f" is {isa12}" if isa12.isascii() and isa12.isdigit() else " is not 00501"
        return EnvelopeProblem(
            isa_line or 1,
            "ISA12",
            NOTE_VERSION,
            f"the interchange control version (ISA12){shown}: PACDR interchanges are 00501, "
            "the only version sendpro has maps for",
        )
    fic = gs[1] if len(gs) > 1 else ""
    vriic = gs[8] if len(gs) > 8 else ""
    if vriic in SUPPORTED_GROUPS.get(fic, ()):
        return None
    pairs = [f"{f} {v}" for f, versions in SUPPORTED_GROUPS.items() for v in versions]
    known = f"{', '.join(pairs[:-1])} and {pairs[-1]}"
    return EnvelopeProblem(
        gs_line,
        "GS08",
        NOTE_CONTENT,
        f"the functional group is {fic} {vriic} (GS01, GS08), which sendpro has no map for; it checks {known}",
    )
