"""Deterministic mutations of X12 files, for the differential tests of the compiled validator against pyx12.

Everything in the first part is a pure function of its arguments: a mutation
takes a parsed file (:class:`X12`) and a seeded :class:`random.Random` and
returns ``(description, mutated text)``, or None when it does not apply to the
file (no CLM for an 837-only mutation, say). :func:`mutate` runs one mutation
from one seed, so every mutant can be reproduced from ``(source text, kind,
seed)``; :func:`batch` draws distinct mutants of one kind.

Two registries:

- :data:`SEGMENT_MUTATIONS`: changes to one segment's text (an element, a
  component, a character, ...). The fuzz script's segment level uses them
  directly; the file-level kinds below apply them to a random segment.
- :data:`MUTATIONS`: changes to a whole file (segments deleted, duplicated,
  moved, counts and control numbers, separators, line breaks, truncation, ...).

The second part (:func:`run_both`, :func:`compare`, :func:`cached_pyx12_maps`)
runs both validators over a file and lists their differences; the test module
and ``benchmarks/fuzz_validator.py`` share it. It imports sendpro only when called.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

# -- the parsed file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seps:
    """A file's element, component and segment separators."""

    element: str = "*"
    component: str = ":"
    segment: str = "~"


@dataclass(frozen=True)
class X12:
    """An X12 file as its original text, its separators and its segments (no terminators, no line breaks)."""

    text: str
    seps: Seps
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> X12:
        """Split ``text`` on the terminator the ISA names (position 105); a short file keeps ``~``."""
        if len(text) >= 106 and text.startswith("ISA"):
            seps = Seps(text[3], text[104], text[105])
        else:
            seps = Seps()
        pieces = [p.lstrip("\r\n") for p in text.split(seps.segment)]
        while pieces and pieces[-1].strip() == "":
            pieces.pop()
        return cls(text, seps, tuple(pieces))

    def render(self, segments: Sequence[str]) -> str:
        """Return ``segments`` as a file in the usual layout: terminator and line break after each."""
        return "".join(f"{s}{self.seps.segment}\n" for s in segments)

    def ids(self) -> list[str]:
        """Return every segment's id."""
        return [s.split(self.seps.element, 1)[0] for s in self.segments]

    def indexes(self, *seg_ids: str) -> list[int]:
        """Return the positions of the segments with one of ``seg_ids``."""
        return [i for i, sid in enumerate(self.ids()) if sid in seg_ids]

    def body(self) -> list[int]:
        """Return the positions of the segments strictly between an ST and its SE."""
        out: list[int] = []
        inside = False
        for i, sid in enumerate(self.ids()):
            if sid == "SE":
                inside = False
            if inside:
                out.append(i)
            if sid == "ST":
                inside = True
        return out


class Mutant(NamedTuple):
    """One mutated file: ``name`` says what changed (kind, seed and the change); ``text`` is the file."""

    name: str
    text: str
    kind: str
    seed: str


#: (what changed, the new text) or None: the mutation does not apply.
Change = tuple[str, str] | None
SegmentMutator = Callable[[str, Seps, random.Random], Change]
FileMutator = Callable[[X12, random.Random], Change]

# -- value pools -------------------------------------------------------------------------------------

#: Characters that replace one character of a file: letters, digits, space, separators, control and non-ASCII.
CHAR_POOL = ("A", "z", "0", "9", " ", ".", "-", ":", "*", "~", "^", "|", ">", "\x01", "\x1f", "\x7f", "\t", "\n", "é")
#: Values an element is set to.
VALUE_POOL = (
    "",
    "X",
    "x",
    "0",
    "1" * 40,
    "9" * 120,
    "A" * 61,
    "20260230",
    "20250229",
    "17000101",
    "20240229",
    "22000101",
    "ABC:DEF",
    "A::",
    ":B",
    "1.2.3",
    "-5",
    ".5",
    "5.",
    "-0",
    "1e5",
    "AB ",
    " AB",
    "  ",
    "A^B",
    "A\x01B",
    "Aé",
    "ZZ",
    "RD8",
    "D8",
    "20260101-20260102",
)
#: Values a date element is set to: impossible days, leap days, years pyx12 refuses, wrong lengths.
DATE_POOL = (
    "20260230",
    "20250229",
    "20240229",
    "21000229",
    "20000229",
    "17000101",
    "17991231",
    "18000101",
    "21991231",
    "22000101",
    "20261301",
    "20260100",
    "20260431",
    "2026010",
    "202601011",
    "00000000",
    "2026-01-01",
    "260101",
)
#: Values a time element (4 to 8 digits) is set to.
TIME_POOL = ("2460", "2399", "1260", "0000", "123", "12345", "235959", "23595999", "2359599", "12:00")
#: Values a number (N or R) element is set to.
NUMBER_POOL = (
    "1.2.3",
    "-5",
    ".5",
    "5.",
    "+5",
    "1e5",
    "5 ",
    " 5",
    "-0",
    "0.0",
    "1,000",
    "00000000000000000012",
    "123456789012345678",
    "-.5",
    "5-",
    "--5",
    "-",
    ".",
    "0",
    "-1.50",
)
#: RD8 date ranges pyx12 must refuse (or accept: a reversed range is not its business).
RD8_POOL = (
    "20260101-20260102-20260103",
    "20260101--20260102",
    "20260101-",
    "-20260101",
    "20260102-20260101",
    "20260101-20260230",
    "20260101",
    "2026010120260102",
)
#: Segments an "unknown segment" mutation inserts: unknown ids, bad ids, known ids out of place.
UNKNOWN_SEGMENTS = ("ZZZ*1", "ZZ*1", "ZZZZ*1", "Z1*1", "ZZZ", "zzz*1", "NTE*ADD*X", "REF*ZZ*1", "K3*X", "PWK*OZ*BM")
#: Segments of the 837 and 999 guides that are required where they occur (or that open a required loop).
REQUIRED_IDS = frozenset(
    ("ST", "SE", "BHT", "NM1", "HL", "SBR", "CLM", "LX", "SV1", "SV2", "SV3", "N3", "N4", "DMG", "PER", "HI", "CL1")
    + ("PRV", "DTP", "AK1", "AK2", "IK5", "AK9", "GS", "GE", "ISA", "IEA")
)
_ENVELOPE = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))
_DATE = re.compile(r"(?:18|19|20|21)[0-9]{6}")
_RANGE = re.compile(r"(?:18|19|20|21)[0-9]{6}-[0-9]{8}")
_TIME = re.compile(r"[0-2][0-9][0-5][0-9](?:[0-5][0-9])?")
_NUMBER = re.compile(r"-?[0-9]*\.?[0-9]+")


# -- helpers -----------------------------------------------------------------------------------------


def _replace(x: X12, i: int, new: str | None) -> list[str]:
    """Return the segments with segment ``i`` replaced (None deletes it)."""
    segs = list(x.segments)
    if new is None:
        del segs[i]
    else:
        segs[i] = new
    return segs


def recount(x: X12, segs: list[str]) -> list[str]:
    """Return ``segs`` with every SE01 set to its transaction set's segment count (ST to SE)."""
    e = x.seps.element
    out = list(segs)
    start = None
    for i, seg in enumerate(out):
        sid = seg.split(e, 1)[0]
        if sid == "ST":
            start = i
        elif sid == "SE" and start is not None:
            parts = seg.split(e)
            if len(parts) > 1:
                parts[1] = str(i - start + 1)
                out[i] = e.join(parts)
            start = None
    return out


def _maybe_recount(x: X12, segs: list[str], rng: random.Random) -> tuple[list[str], str]:
    """Recount SE01 three times in four: a count left wrong would make every such mutant dirty at SE."""
    if rng.random() < 0.75:
        return recount(x, segs), " (SE01 recounted)"
    return segs, ""


def _seg_no(i: int) -> str:
    return f"segment {i + 1}"


def _pick_element(parts: list[str], rng: random.Random, pattern: re.Pattern[str] | None = None) -> int | None:
    """Return a random element position of a split segment (one whose value matches ``pattern``)."""
    choices = [k for k in range(1, len(parts)) if pattern is None or pattern.fullmatch(parts[k])]
    return rng.choice(choices) if choices else None


# -- segment mutations (one segment's text) ---------------------------------------------------------


def seg_set_element(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Set one element to a value from :data:`VALUE_POOL`."""
    parts = seg.split(seps.element)
    k = _pick_element(parts, rng)
    if k is None:
        return None
    value = rng.choice(VALUE_POOL).replace(":", seps.component)
    parts[k] = value
    return f"element {k:02d} := {value!r}", seps.element.join(parts)


def seg_set_component(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Set one component of a composite to a pool value (a first component when none is a composite)."""
    parts = seg.split(seps.element)
    composites = [k for k in range(1, len(parts)) if seps.component in parts[k]]
    k = rng.choice(composites) if composites else _pick_element(parts, rng)
    if k is None:
        return None
    comps = parts[k].split(seps.component)
    j = rng.randrange(len(comps))
    comps[j] = rng.choice(VALUE_POOL).replace(":", seps.component)
    parts[k] = seps.component.join(comps)
    return f"element {k:02d} component {j + 1} := {comps[j]!r}", seps.element.join(parts)


def seg_replace_char(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Replace one character of the segment with one from :data:`CHAR_POOL`."""
    if not seg:
        return None
    pos = rng.randrange(len(seg))
    char = rng.choice([c for c in CHAR_POOL if c != seg[pos]])
    return f"char {pos} {seg[pos]!r} -> {char!r}", seg[:pos] + char + seg[pos + 1 :]


def seg_delete_element(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Remove one element (those after it move one position left)."""
    parts = seg.split(seps.element)
    k = _pick_element(parts, rng)
    if k is None:
        return None
    del parts[k]
    return f"element {k:02d} removed", seps.element.join(parts)


def seg_swap_elements(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Swap two elements."""
    parts = seg.split(seps.element)
    if len(parts) < 3:
        return None
    a, b = sorted(rng.sample(range(1, len(parts)), 2))
    if parts[a] == parts[b]:
        return None
    parts[a], parts[b] = parts[b], parts[a]
    return f"elements {a:02d} and {b:02d} swapped", seps.element.join(parts)


def seg_truncate(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Cut the segment short: at an element boundary or anywhere (down to one character)."""
    parts = seg.split(seps.element)
    if len(parts) > 2 and rng.random() < 0.5:
        keep = rng.randrange(1, len(parts) - 1)
        return f"only the first {keep} element(s) kept", seps.element.join(parts[: keep + 1])
    if len(seg) < 2:
        return None
    cut = rng.randrange(1, len(seg))
    return f"cut after {cut} characters", seg[:cut]


def seg_append_empty(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Append one or two empty elements (trailing element separators)."""
    n = rng.choice((1, 1, 2))
    return f"{n} empty element(s) appended", seg + seps.element * n


def seg_append_extra(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Append an element with a value after the last one."""
    value = rng.choice(("X", "1", "ZZ", "20260101", "A" * 30))
    return f"extra element {value!r} appended", seg + seps.element + value


def seg_extra_component(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Add a component: CLM05 ``11:B:1:Z``, or one more to a composite, or one to a simple element."""
    parts = seg.split(seps.element)
    c = seps.component
    if parts[0] == "CLM" and len(parts) > 5 and rng.random() < 0.5:
        parts[5] = c.join(("11", "B", "1", "Z"))
        return "CLM05 := 11:B:1:Z", seps.element.join(parts)
    composites = [k for k in range(1, len(parts)) if c in parts[k]]
    k = rng.choice(composites) if composites and rng.random() < 0.7 else _pick_element(parts, rng)
    if k is None:
        return None
    extra = rng.choice(("Z", "", "1", "ZZ"))
    parts[k] = parts[k] + c + extra + (c if rng.random() < 0.2 else "")
    return f"element {k:02d} := {parts[k]!r} (extra component)", seps.element.join(parts)


def extra_component(x: X12, rng: random.Random) -> Change:
    """Add a component (see :func:`seg_extra_component`), mostly to a segment that has a composite."""
    c, e = x.seps.component, x.seps.element
    composites = [i for i, seg in enumerate(x.segments) if c in seg and not seg.startswith("ISA")]
    clms = [i for i in x.indexes("CLM") if len(x.segments[i].split(e)) > 5]
    roll = rng.random()
    if clms and roll < 0.3:
        i = rng.choice(clms)
    elif composites and roll < 0.8:
        i = rng.choice(composites)
    else:
        i = rng.randrange(len(x.segments))
    change = seg_extra_component(x.segments[i], x.seps, rng)
    if change is None:
        return None
    return f"{_seg_no(i)} {x.segments[i]!r}: {change[0]}", x.render(_replace(x, i, change[1]))


def seg_invalid_date(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Set a date (CCYYMMDD), a time or a date range to an impossible or out-of-range value."""
    parts = seg.split(seps.element)
    dates = [k for k in range(1, len(parts)) if _DATE.fullmatch(parts[k]) or _RANGE.fullmatch(parts[k])]
    times = [k for k in range(1, len(parts)) if _TIME.fullmatch(parts[k])]
    if not dates and not times:
        return None
    if dates and (not times or rng.random() < 0.75):
        k = rng.choice(dates)
        value = rng.choice(RD8_POOL if _RANGE.fullmatch(parts[k]) else DATE_POOL)
    else:
        k = rng.choice(times)
        value = rng.choice(TIME_POOL)
    parts[k] = value
    return f"element {k:02d} := {value!r}", seps.element.join(parts)


def seg_bad_number(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Set a numeric-looking element to a malformed or unusual number."""
    parts = seg.split(seps.element)
    k = _pick_element(parts, rng, _NUMBER)
    if k is None:
        return None
    value = rng.choice(NUMBER_POOL)
    parts[k] = value
    return f"element {k:02d} := {value!r}", seps.element.join(parts)


def seg_lowercase_id(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Lowercase the segment id (all of it, or its first letter only)."""
    sid, sep, rest = seg.partition(seps.element)
    new = sid.lower() if rng.random() < 0.6 else sid[:1].lower() + sid[1:]
    if new == sid:
        return None
    return f"id {sid!r} -> {new!r}", new + sep + rest


def seg_separators_only(seg: str, seps: Seps, rng: random.Random) -> Change:
    """Keep the id and nothing but separators after it (pyx12: the segment is empty)."""
    sid = seg.split(seps.element, 1)[0]
    tail = rng.choice((seps.element, seps.element * 3, seps.element + seps.component, ""))
    return f"only {sid + tail!r} kept", sid + tail


def seg_rd8_two_dashes(seg: str, seps: Seps, rng: random.Random) -> Change:
    """DTP: make DTP03 a malformed RD8 range (two dashes, one date, ...) under DTP02 ``RD8``."""
    parts = seg.split(seps.element)
    if parts[0] != "DTP" or len(parts) < 4:
        return None
    value = rng.choice(RD8_POOL)
    parts[2], parts[3] = "RD8", value
    return f"DTP02 := 'RD8', DTP03 := {value!r}", seps.element.join(parts)


#: Mutations of one segment's text, by name.
SEGMENT_MUTATIONS: tuple[tuple[str, SegmentMutator], ...] = (
    ("set_element", seg_set_element),
    ("set_component", seg_set_component),
    ("replace_char", seg_replace_char),
    ("delete_element", seg_delete_element),
    ("swap_elements", seg_swap_elements),
    ("truncate_segment", seg_truncate),
    ("append_empty_element", seg_append_empty),
    ("append_extra_element", seg_append_extra),
    ("extra_component", seg_extra_component),
    ("invalid_date", seg_invalid_date),
    ("bad_number", seg_bad_number),
    ("lowercase_segment_id", seg_lowercase_id),
    ("separators_only", seg_separators_only),
    ("rd8_two_dashes", seg_rd8_two_dashes),
)


def mutate_segment(seg: str, seps: Seps, seed: int | str) -> tuple[str, str, str] | None:
    """Apply one random segment mutation to ``seg`` from ``seed``; return (kind, description, new text)."""
    rng = random.Random(seed)
    name, func = rng.choice(SEGMENT_MUTATIONS)
    change = func(seg, seps, rng)
    if change is None or change[1] == seg:
        return None
    return name, change[0], change[1]


# -- file mutations ----------------------------------------------------------------------------------


def on_segment(func: SegmentMutator, where: Callable[[str], bool] | None = None) -> FileMutator:
    """Make a file mutation of a segment mutation: applied to a random segment (one ``where`` accepts)."""

    def mutation(x: X12, rng: random.Random) -> Change:
        ids = x.ids()
        choices = [i for i in range(len(x.segments)) if where is None or where(ids[i])]
        if not choices:
            return None
        i = rng.choice(choices)
        change = func(x.segments[i], x.seps, rng)
        if change is None:
            return None
        return f"{_seg_no(i)} {x.segments[i]!r}: {change[0]}", x.render(_replace(x, i, change[1]))

    mutation.__doc__ = func.__doc__
    return mutation


def delete_segment(x: X12, rng: random.Random) -> Change:
    """Delete one segment (envelope segments included)."""
    i = rng.randrange(len(x.segments))
    segs, note = _maybe_recount(x, _replace(x, i, None), rng)
    return f"{_seg_no(i)} {x.segments[i]!r} deleted{note}", x.render(segs)


def delete_required_segment(x: X12, rng: random.Random) -> Change:
    """Delete a segment the guide requires where it stands (or that opens a required loop)."""
    choices = [i for i, sid in enumerate(x.ids()) if sid in REQUIRED_IDS]
    if not choices:
        return None
    i = rng.choice(choices)
    segs, note = _maybe_recount(x, _replace(x, i, None), rng)
    return f"required {_seg_no(i)} {x.segments[i]!r} deleted{note}", x.render(segs)


def duplicate_segment(x: X12, rng: random.Random) -> Change:
    """Repeat one segment right after itself."""
    i = rng.randrange(len(x.segments))
    segs = list(x.segments)
    segs.insert(i + 1, segs[i])
    segs, note = _maybe_recount(x, segs, rng)
    return f"{_seg_no(i)} {x.segments[i]!r} duplicated{note}", x.render(segs)


def swap_segments(x: X12, rng: random.Random) -> Change:
    """Swap two adjacent segments."""
    i = rng.randrange(len(x.segments) - 1)
    if x.segments[i] == x.segments[i + 1]:
        return None
    segs = list(x.segments)
    segs[i], segs[i + 1] = segs[i + 1], segs[i]
    return f"{_seg_no(i)} {x.segments[i]!r} and the next {x.segments[i + 1]!r} swapped", x.render(segs)


def misplaced_segment(x: X12, rng: random.Random) -> Change:
    """Copy a segment of the transaction set to another place in it."""
    body = x.body()
    if len(body) < 2:
        return None
    src, dst = rng.sample(body, 2)
    segs = list(x.segments)
    segs.insert(dst, segs[src])
    segs, note = _maybe_recount(x, segs, rng)
    return f"{_seg_no(src)} {x.segments[src]!r} copied before {_seg_no(dst)}{note}", x.render(segs)


def replace_char(x: X12, rng: random.Random) -> Change:
    """Replace any one character of the file (separators, line breaks and the ISA included)."""
    pos = rng.randrange(len(x.text))
    old = x.text[pos]
    char = rng.choice([c for c in CHAR_POOL if c != old])
    line = x.text.count("\n", 0, pos) + 1
    return f"char {pos} (line {line}) {old!r} -> {char!r}", x.text[:pos] + char + x.text[pos + 1 :]


def isa_element(x: X12, rng: random.Random) -> Change:
    """Change one ISA element keeping the ISA's fixed width (a date, a time, a qualifier, a version, ...)."""
    if not x.segments or not x.segments[0].startswith("ISA"):
        return None
    parts = x.segments[0].split(x.seps.element)
    if len(parts) != 17:
        return None
    k = rng.randrange(1, 16)  # ISA16 is the component separator itself
    width = len(parts[k])
    pool = ("X", "0", " ", "Z", "9", "A", "é", "\x01")
    special = {
        9: ("260230", "250229", "240229", "261301", "000000", "2602 1"),
        10: ("2460", "1260", "0000", "2359", "12 0"),
        11: ("U", "^", ":", "*", "~", " "),
        12: ("00401", "00502", "00500", "0050 "),
        13: ("000000000", "12345678 ", "ABCDEFGHI", "-12345678"),
        14: ("2", "X", " "),
        15: ("P", "X", "t", " "),
    }
    if k in special and rng.random() < 0.7:
        value = rng.choice(special[k])
    else:
        value = (rng.choice(pool) * width) if rng.random() < 0.3 else (rng.choice(pool) + parts[k][1:])
    value = value[:width].ljust(width)
    if value == parts[k]:
        return None
    parts[k] = value
    return f"ISA{k:02d} {x.segments[0].split(x.seps.element)[k]!r} -> {value!r}", x.render(
        _replace(x, 0, x.seps.element.join(parts))
    )


def _set_value(x: X12, i: int, k: int, value: str) -> list[str]:
    parts = x.segments[i].split(x.seps.element)
    while len(parts) <= k:
        parts.append("")
    parts[k] = value
    return _replace(x, i, x.seps.element.join(parts))


def _wrong_number(value: str, rng: random.Random) -> str:
    """Return a value near a number that is not it: one off, zero, empty, a letter, a leading zero."""
    try:
        n = int(value)
    except ValueError:
        n = 1
    return rng.choice((str(n + 1), str(n - 1), "0", "", "A", f"0{n}", f"{n} ", str(n + 100)))


def hl_numbering(x: X12, rng: random.Random) -> Change:
    """HL: a wrong HL01 (its number) or HL02 (its parent's number)."""
    hls = x.indexes("HL")
    if not hls:
        return None
    i = rng.choice(hls)
    parts = x.segments[i].split(x.seps.element)
    k = rng.choice((1, 2))
    old = parts[k] if k < len(parts) else ""
    value = _wrong_number(old or "1", rng) if old or rng.random() < 0.5 else rng.choice(("1", "2", "99"))
    if value == old:
        return None
    return f"{_seg_no(i)} {x.segments[i]!r}: HL{k:02d} := {value!r}", x.render(_set_value(x, i, k, value))


def lx_numbering(x: X12, rng: random.Random) -> Change:
    """LX: a wrong service line number."""
    lxs = x.indexes("LX")
    if not lxs:
        return None
    i = rng.choice(lxs)
    old = x.segments[i].split(x.seps.element)[1:2] or [""]
    value = rng.choice((_wrong_number(old[0], rng), "01", "1.0", " 1"))
    if value == old[0]:
        return None
    return f"{_seg_no(i)} {x.segments[i]!r}: LX01 := {value!r}", x.render(_set_value(x, i, 1, value))


def se_count(x: X12, rng: random.Random) -> Change:
    """SE01: a wrong segment count."""
    ses = x.indexes("SE")
    if not ses:
        return None
    i = rng.choice(ses)
    old = x.segments[i].split(x.seps.element)[1:2] or [""]
    value = _wrong_number(old[0], rng)
    if value == old[0]:
        return None
    return f"{_seg_no(i)} {x.segments[i]!r}: SE01 := {value!r}", x.render(_set_value(x, i, 1, value))


def envelope_count(x: X12, rng: random.Random) -> Change:
    """GE01 (transaction sets) or IEA01 (groups): a wrong count."""
    found = x.indexes("GE", "IEA")
    if not found:
        return None
    i = rng.choice(found)
    old = x.segments[i].split(x.seps.element)[1:2] or [""]
    value = _wrong_number(old[0], rng)
    if value == old[0]:
        return None
    sid = x.ids()[i]
    return f"{_seg_no(i)} {x.segments[i]!r}: {sid}01 := {value!r}", x.render(_set_value(x, i, 1, value))


def control_number(x: X12, rng: random.Random) -> Change:
    """A control number that no longer matches its pair: ST02, SE02, GS06, GE02, ISA13 or IEA02."""
    where = {"ST": 2, "SE": 2, "GS": 6, "GE": 2, "IEA": 2, "ISA": 13}
    found = x.indexes(*where)
    if not found:
        return None
    i = rng.choice(found)
    sid = x.ids()[i]
    k = where[sid]
    parts = x.segments[i].split(x.seps.element)
    if k >= len(parts):
        return None
    old = parts[k]
    if sid == "ISA":
        value = (old[:-1] + ("1" if old[-1:] != "1" else "2")) if rng.random() < 0.7 else "X" * len(old)
    else:
        value = rng.choice((_wrong_number(old, rng), old + "0", "X", old.zfill(len(old) + 1)))
    if value == old:
        return None
    return f"{_seg_no(i)} {x.segments[i]!r}: {sid}{k:02d} := {value!r}", x.render(_set_value(x, i, k, value))


def unknown_segment(x: X12, rng: random.Random) -> Change:
    """Insert a segment with an unknown id (``ZZZ*1``), a malformed id, or a known one out of place."""
    body = x.body()
    if not body:
        return None
    i = rng.choice(body + [body[-1] + 1])
    seg = rng.choice(UNKNOWN_SEGMENTS).replace("*", x.seps.element)
    segs = list(x.segments)
    segs.insert(i, seg)
    segs, note = _maybe_recount(x, segs, rng)
    return f"{seg!r} inserted before {_seg_no(i)}{note}", x.render(segs)


def extra_claim(x: X12, rng: random.Random) -> Change:
    """837: repeat a whole 2300 claim (its CLM up to the next HL, CLM or SE) right after it."""
    ids = x.ids()
    clms = [i for i, sid in enumerate(ids) if sid == "CLM"]
    if not clms:
        return None
    start = rng.choice(clms)
    end = start + 1
    while end < len(ids) and ids[end] not in ("HL", "CLM", "SE"):
        end += 1
    segs = list(x.segments)
    segs[end:end] = segs[start:end]
    segs, note = _maybe_recount(x, segs, rng)
    return f"claim at {_seg_no(start)} {x.segments[start]!r} ({end - start} segments) repeated{note}", x.render(segs)


def leading_space(x: X12, rng: random.Random) -> Change:
    """Put a space (or a tab) before a segment's id."""
    i = rng.randrange(1, len(x.segments))
    pad = rng.choice((" ", " ", "  ", "\t"))
    return f"{_seg_no(i)} {x.segments[i]!r}: {pad!r} before it", x.render(_replace(x, i, pad + x.segments[i]))


def empty_segment(x: X12, rng: random.Random) -> Change:
    """Insert an empty segment (two terminators in a row: pyx12 stops reading there)."""
    i = rng.randrange(1, len(x.segments) + 1)
    segs = list(x.segments)
    segs.insert(i, rng.choice(("", " ")))
    return f"empty segment {segs[i]!r} inserted before {_seg_no(i)}", x.render(segs)


def truncate_file(x: X12, rng: random.Random) -> Change:
    """Cut the file at a random character (a segment boundary half the time)."""
    if rng.random() < 0.5:
        n = rng.randrange(1, len(x.segments))
        return f"only the first {n} segments kept", x.render(x.segments[:n])
    cut = rng.randrange(1, len(x.text))
    return f"cut after character {cut}", x.text[:cut]


def line_breaks(x: X12, rng: random.Random) -> Change:
    """Change the line breaks between segments: none, CRLF, CR, blank lines, a break inside a segment."""
    t = x.seps.segment
    style = rng.choice(("none", "crlf", "cr", "blank", "inside"))
    if style == "none":
        return "no line breaks", "".join(f"{s}{t}" for s in x.segments)
    if style == "crlf":
        return "CRLF line breaks", "".join(f"{s}{t}\r\n" for s in x.segments)
    if style == "cr":
        return "CR line breaks", "".join(f"{s}{t}\r" for s in x.segments)
    if style == "blank":
        return "a blank line after every segment", "".join(f"{s}{t}\n\n" for s in x.segments)
    i = rng.randrange(1, len(x.segments))
    seg = x.segments[i]
    pos = rng.randrange(1, max(len(seg), 2))
    return f"{_seg_no(i)} {seg!r}: line break at {pos}", x.render(_replace(x, i, seg[:pos] + "\n" + seg[pos:]))


def separators(x: X12, rng: random.Random) -> Change:
    """Use other separators: the whole file consistently (still valid), or the ISA alone (broken)."""
    which = rng.choice(("element", "component", "segment"))
    old = getattr(x.seps, which)
    new = rng.choice([c for c in ("|", ">", "^", "!", "}", "\x1d", "~", "*", ":", "A", " ") if c != old])
    seps = dataclasses.replace(x.seps, **{which: new})
    consistent = rng.random() < 0.6
    if consistent:
        segs = [s.replace(old, new) if which != "segment" else s for s in x.segments]
        if which == "component":
            isa = segs[0]
            segs[0] = isa[:-1] + new  # ISA16 is the component separator
        text = "".join(f"{s}{seps.segment}\n" for s in segs)
        return f"{which} separator {old!r} -> {new!r} throughout", text
    pos = {"element": 3, "component": 104, "segment": 105}[which]
    if len(x.text) <= pos:
        return None
    return f"ISA's {which} separator {old!r} -> {new!r} (the file unchanged)", x.text[:pos] + new + x.text[pos + 1 :]


def _is_envelope(seg_id: str) -> bool:
    return seg_id in _ENVELOPE


def _is_dtp(seg_id: str) -> bool:
    return seg_id == "DTP"


def combined(x: X12, rng: random.Random) -> Change:
    """Two or three mutations of other kinds, one after another."""
    done: list[str] = []
    cur = x
    for _ in range(rng.choice((2, 2, 3))):
        kind = rng.choice([m for m in MUTATIONS if m.name != "combined"])
        change = kind.func(cur, rng)
        if change is None:
            continue
        done.append(f"{kind.name}: {change[0]}")
        cur = X12.parse(change[1])
        if not cur.segments:
            break
    if not done:
        return None
    return " + ".join(done), cur.text


@dataclass(frozen=True)
class Mutation:
    """A kind of file mutation; ``only`` names the file kinds it applies to (None: all)."""

    name: str
    func: FileMutator
    only: frozenset[str] | None = None

    def applies(self, file_kind: str) -> bool:
        """Return whether the mutation applies to a file of ``file_kind`` (``837`` or ``999``)."""
        return self.only is None or file_kind in self.only


_837 = frozenset(("837",))

#: Every kind of file mutation.
MUTATIONS: tuple[Mutation, ...] = (
    Mutation("delete_segment", delete_segment),
    Mutation("delete_required_segment", delete_required_segment),
    Mutation("duplicate_segment", duplicate_segment),
    Mutation("swap_segments", swap_segments),
    Mutation("misplaced_segment", misplaced_segment),
    Mutation("replace_char", replace_char),
    Mutation("set_element", on_segment(seg_set_element)),
    Mutation("set_component", on_segment(seg_set_component)),
    Mutation("delete_element", on_segment(seg_delete_element)),
    Mutation("swap_elements", on_segment(seg_swap_elements)),
    Mutation("truncate_segment", on_segment(seg_truncate)),
    Mutation("append_empty_element", on_segment(seg_append_empty)),
    Mutation("append_extra_element", on_segment(seg_append_extra)),
    Mutation("extra_component", extra_component),
    Mutation("invalid_date", on_segment(seg_invalid_date)),
    Mutation("bad_number", on_segment(seg_bad_number)),
    Mutation("lowercase_segment_id", on_segment(seg_lowercase_id)),
    Mutation("separators_only", on_segment(seg_separators_only)),
    Mutation("rd8_two_dashes", on_segment(seg_rd8_two_dashes, _is_dtp), _837),
    Mutation("envelope_element", on_segment(seg_set_element, _is_envelope)),
    Mutation("isa_element", isa_element),
    Mutation("hl_numbering", hl_numbering, _837),
    Mutation("lx_numbering", lx_numbering, _837),
    Mutation("se_count", se_count),
    Mutation("envelope_count", envelope_count),
    Mutation("control_number", control_number),
    Mutation("unknown_segment", unknown_segment),
    Mutation("extra_claim", extra_claim, _837),
    Mutation("leading_space", leading_space),
    Mutation("empty_segment", empty_segment),
    Mutation("truncate_file", truncate_file),
    Mutation("line_breaks", line_breaks),
    Mutation("separators", separators),
    Mutation("combined", combined),
)
BY_NAME: dict[str, Mutation] = {m.name: m for m in MUTATIONS}


def mutate(text: str, kind: str, seed: int | str) -> Mutant | None:
    """Apply the mutation ``kind`` to ``text`` with ``random.Random(seed)``; None when it does not apply."""
    x = X12.parse(text)
    if len(x.segments) < 2:
        return None
    change = BY_NAME[kind].func(x, random.Random(seed))
    if change is None or change[1] == text:
        return None
    return Mutant(f"{kind}[{seed}]: {change[0]}", change[1], kind, str(seed))


def batch(text: str, kind: str, count: int, seed: int | str = 0) -> list[Mutant]:
    """Return up to ``count`` distinct mutants of one kind (seeds ``{seed}/{kind}/0``, ``/1``, ...)."""
    out: list[Mutant] = []
    seen = {text}
    for n in range(count * 8):
        if len(out) == count:
            break
        m = mutate(text, kind, f"{seed}/{kind}/{n}")
        if m is not None and m.text not in seen:
            seen.add(m.text)
            out.append(m)
    return out


def mutants(text: str, file_kind: str, per_kind: int, seed: int | str = 0) -> Iterator[tuple[str, str]]:
    """Yield ``(name, text)`` for ``per_kind`` mutants of every kind that applies to ``file_kind``."""
    for m in MUTATIONS:
        if m.applies(file_kind):
            for mutant in batch(text, m.name, per_kind, seed):
                yield mutant.name, mutant.text


# -- running both validators -------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one validator said about a file."""

    #: The verdict (None: the validator raised, or the file was not read as X12).
    ok: bool | None = None
    doc: Any = None
    #: (segment number, x12 path, code) of every issue ``check_x12`` derived.
    issues: frozenset[tuple[int | None, str | None, str]] = frozenset()
    #: ``Type: message`` of an exception the validator raised (MapError included).
    raised: str | None = None


class _Recording:
    """Stands in for the bridge's compiled validator: the shared instance, its result kept."""

    def __init__(self, owner: Differential) -> None:
        self.owner = owner

    def validate(self, path: Path) -> tuple[bool, Any]:
        return self.owner.record(self.owner.compiled.validate, path)


class Differential:
    """Runs the compiled validator and pyx12 over files and lists their differences.

    One compiled validator serves every file (its maps are compiled once). The
    issues come from the bridge's public ``check_x12``; while :meth:`run` runs, the
    bridge's ``compiled_validator`` (returning the shared instance) and
    ``x12_findings`` are wrapped, so the same call also gives the verdict and
    findings document each validator returned: one run of each validator per file.
    """

    def __init__(self, map_dir: Path) -> None:
        from sendpro.validate import pyx12_bridge

        self.bridge: Any = pyx12_bridge
        self.map_dir = map_dir
        self.compiled = pyx12_bridge.compiled_validator(map_dir)
        self.findings = pyx12_bridge.x12_findings
        self._last: tuple[str, Any] | None = None

    def record(self, func: Callable[..., tuple[bool, Any]], *args: Any) -> tuple[bool, Any]:
        """Call a validator; keep what it returned or raised."""
        try:
            result = func(*args)
        except Exception as exc:
            self._last = ("raised", f"{type(exc).__name__}: {exc}")
            raise
        self._last = ("ok", result)
        return result

    def _validate(self, path: Path, validator: str) -> Outcome:
        out = Outcome()
        self._last = None
        try:
            issues, _ = self.bridge.check_x12(path, self.map_dir, path.name, validator)
        except Exception as exc:
            out.raised = f"{type(exc).__name__}: {exc}"
            return out
        out.issues = frozenset((i.location.record_no, i.location.x12_path, i.code) for i in issues)
        if self._last is None:
            # check_x12 answered alone (the file does not start with ISA): ask the validator itself.
            with contextlib.suppress(Exception):  # what it raised is in self._last
                if validator == "compiled":
                    self.record(self.compiled.validate, path)
                else:
                    self.record(self.findings, path, self.map_dir)
        if self._last is not None:
            if self._last[0] == "raised":
                out.raised = self._last[1]
            else:
                out.ok, out.doc = self._last[1]
        return out

    def run(self, path: Path) -> tuple[Outcome, Outcome]:
        """Return the (compiled, pyx12) outcomes for the file at ``path``."""
        bridge = self.bridge
        saved = (bridge.compiled_validator, bridge.x12_findings)
        recording = _Recording(self)
        bridge.compiled_validator = lambda map_dir: recording
        bridge.x12_findings = lambda p, maps=None: self.record(self.findings, p, maps)
        try:
            return self._validate(path, "compiled"), self._validate(path, "pyx12")
        finally:
            bridge.compiled_validator, bridge.x12_findings = saved


def diff_docs(a: Any, b: Any, where: str = "doc", limit: int = 12) -> list[str]:
    """Return where two findings documents differ (``where: compiled != pyx12``), at most ``limit`` places."""
    out: list[str] = []

    def walk(x: Any, y: Any, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                if k not in x or k not in y:
                    out.append(
                        f"{at}.{k}: {'missing' if k not in x else _short(x[k])} != "
                        f"{'missing' if k not in y else _short(y[k])}"
                    )
                else:
                    walk(x[k], y[k], f"{at}.{k}")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                out.append(f"{at}: {len(x)} items != {len(y)} items: {_short(x)} != {_short(y)}")
                return
            for n, (p, q) in enumerate(zip(x, y, strict=True)):
                walk(p, q, f"{at}[{n}]")
        elif x != y:
            out.append(f"{at}: {_short(x)} != {_short(y)}")

    walk(a, b, where)
    return out


def _short(value: Any, width: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def compare(compiled: Outcome, reference: Outcome) -> list[str]:
    """Return the differences between the compiled validator's outcome and pyx12's (empty: the same)."""
    problems: list[str] = []
    if compiled.raised != reference.raised:
        problems.append(f"raised: compiled {compiled.raised!r} != pyx12 {reference.raised!r}")
    if compiled.ok != reference.ok:
        problems.append(f"verdict: compiled {compiled.ok} != pyx12 {reference.ok}")
    if compiled.issues != reference.issues:
        only_c = sorted(compiled.issues - reference.issues, key=str)
        only_r = sorted(reference.issues - compiled.issues, key=str)
        problems.append(f"issues (line, path, code): only compiled {only_c}; only pyx12 {only_r}")
    if compiled.doc != reference.doc:
        keys = diff_docs(compiled.doc, reference.doc)
        what = "doc differs although the issue sets match" if compiled.issues == reference.issues else "doc differs"
        problems.append(f"{what} (compiled != pyx12): " + "; ".join(keys))
    return problems


@contextlib.contextmanager
def cached_pyx12_maps() -> Iterator[dict[tuple[str, str | None], Any]]:
    """Load each pyx12 map once while the block runs (pyx12 otherwise parses its XML maps on every file).

    Nearly all of pyx12's time on a small file is spent loading the control and
    837 maps; the bridge's :func:`maps_loaded_once` lends loaded maps to later runs,
    which gives the same findings, 20 to 30 times faster.
    """
    from sendpro.validate.pyx12_bridge import maps_loaded_once

    cache: dict[tuple[str, str | None], Any] = {}
    with maps_loaded_once(cache):
        yield cache
