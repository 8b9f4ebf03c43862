"""Say where in the guide a finding sits and what the guide expects there, for an analyst.

pyx12's findings name a segment line, a segment or element and an acknowledgment
code; its texts rarely say which loop the segment is in (only as an internal map
path, "Started at /ISA_LOOP/.../2010BA/DMG", when a segment is not found) or what
the guide would have taken instead. An analyst checking a PACDR file someone else
wrote needs both. This module adds them from the compiled map, after validation:

- :func:`locate` walks the file once more with the compiled map (the same
  placement :class:`~sendpro.x12.validator.walker.MapWalker` gives pyx12's walk,
  without the counters) and records, for each line asked about, the node the
  segment landed on, or where the walk stood when it found no node for it;
- :func:`explain` turns one finding and its place into the loop (id and name) and
  a sentence of what the guide expects: the codes an element takes, its length or
  data type, the segments the guide has at that point, a loop's or segment's
  repeat limit.

The findings document is left as pyx12 (or the compiled validator) wrote it, so
the two validators stay equal finding for finding; only the issues built from it
gain these words. Nothing here quotes a value from the file (possible PHI).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sendpro.x12.validator.compiler import CompiledMap, ElementSpec, NodeSpec, ValueSpec
from sendpro.x12.validator.engine import iter_segments, open_text
from sendpro.x12.validator.envelope import ISA_LEN
from sendpro.x12.validator.walker import MapWalker, PathIds

#: Loops that only group a map's parts: a finding is never said to be "in" them.
GROUPING_LOOPS = frozenset(("ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "FOOTER"))
#: At most this many codes are listed in a sentence; longer lists are counted.
MAX_CODES = 20

_ENVELOPE = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))
_DATA_TYPES = {
    "AN": "text",
    "ID": "a code",
    "N": "digits only (an integer)",
    "R": "a decimal number",
    "DT": "a date, CCYYMMDD",
    "TM": "a time, HHMM or HHMMSS",
}
_DATE_FORMATS = {"D8": "CCYYMMDD", "RD8": "CCYYMMDD-CCYYMMDD", "DT": "CCYYMMDDHHMM", "TM": "HHMM"}
#: pyx12's "Started at <map path>" in the text of a segment it did not find.
_STARTED_AT = re.compile(r"\.? ?Started at (?P<path>/\S+)")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a segment sits in a compiled map.

    ``node`` is the segment node it landed on when ``placed``; otherwise the node
    the walk stood on when it found none (the segment before it).
    """

    cmap: CompiledMap
    node: int
    placed: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    """What :func:`explain` adds to a finding."""

    #: The loop's id and name ("2010BA", "Subscriber Name"); empty for the envelope.
    loop: str
    loop_name: str
    #: The loops from the top, ids joined with "/" ("2000A/2000B/2010BA").
    loop_path: str
    #: What the guide expects, a sentence without a final stop; None when pyx12's text says it.
    expected: str | None
    #: pyx12's text with its internal map path replaced by words.
    message: str


def locate(
    path: Path,
    lines: Iterable[int],
    compiled: Callable[[str], CompiledMap],
    map_index: Callable[[str, str, str], str | None],
) -> dict[int, Place]:
    """Place each of ``lines`` (segment numbers as the validators count them) in its group's map.

    Segments of a group with no map, and envelope segments, get no place.
    """
    wanted = set(lines)
    out: dict[int, Place] = {}
    if not wanted:
        return out
    last = max(wanted)
    with open_text(path) as stream:
        head = stream.read(ISA_LEN)
        if len(head) != ISA_LEN or not head.startswith("ISA"):
            return out
        ele, comp = head[3], head[104]
        icvn = head.split(ele)[12] if head.count(ele) >= 16 else ""
        cmap: CompiledMap | None = None
        walker: MapWalker | None = None
        steps: dict[tuple[int, tuple[object, ...]], int] = {}
        node = -1
        for number, text in iter_segments(stream, head):
            if number > last:
                break
            parts = text.split(ele)
            seg_id = parts[0].strip()
            if seg_id == "ISA":
                icvn = parts[12] if len(parts) > 12 else icvn
            elif seg_id == "GS":
                file = map_index(icvn, parts[8] if len(parts) > 8 else "", parts[1] if len(parts) > 1 else "")
                cmap = compiled(file) if file else None
                walker = MapWalker(cmap, PathIds()) if cmap else None
                steps = {}
                node = -1
            elif seg_id == "ST" and cmap is not None:
                node = _path_node(cmap, "/ISA_LOOP/GS_LOOP/ST_LOOP/ST")
            elif seg_id not in _ENVELOPE and cmap is not None and walker is not None and node >= 0:
                key = walker.key(seg_id, parts, comp)
                found = steps.get((node, key))
                if found is None:
                    found = walker.transition(node, key)[0]
                    steps[(node, key)] = found
                if number in wanted:
                    out[number] = Place(cmap, found if found >= 0 else node, found >= 0)
                if found >= 0:
                    node = found
    return out


def _path_node(cmap: CompiledMap, path: str) -> int:
    for i, n in enumerate(cmap.nodes):
        if n.path == path:
            return i
    return -1


def _loops(cmap: CompiledMap, node: int) -> list[NodeSpec]:
    """The loops enclosing ``node`` (itself first when it is a loop), innermost first, grouping loops left out."""
    out = []
    i = node
    while i >= 0:
        n = cmap.nodes[i]
        if n.kind == "loop" and n.id not in GROUPING_LOOPS:
            out.append(n)
        i = n.parent
    return out


def _codes(codes: Iterable[str]) -> str:
    found = list(dict.fromkeys(codes))
    if len(found) > MAX_CODES:
        return f"{', '.join(found[:MAX_CODES])}, ... ({len(found)} codes)"
    return ", ".join(found)


def _qualifier_ref(seg: NodeSpec) -> str:
    assert seg.match is not None
    where = seg.match.where
    return f"{seg.id}{where[:2]}-{int(where[3:]):02d}" if "-" in where else f"{seg.id}{where}"


def _describe_segments(cmap: CompiledMap, segs: list[NodeSpec]) -> list[str]:
    """Name segment nodes by loop and qualifier: ``2010BB Payer Name (NM101 PR, ZD)``.

    Same-named segments of one loop told apart by the same element (the REFs of a
    loop) are named once, with their codes together.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for seg in segs:
        loops = _loops(cmap, seg.parent)
        where = f"{loops[0].id} {loops[0].name}" if loops else seg.name
        ref = _qualifier_ref(seg) if seg.match is not None and seg.match.codes else ""
        groups.setdefault((where, ref), []).extend(seg.match.codes if ref and seg.match else ())
    return [f"{where} ({ref} {_codes(codes)})" if ref else where for (where, ref), codes in groups.items()]


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def candidates(cmap: CompiledMap, node: int, seg_id: str) -> list[int]:
    """The segment nodes with id ``seg_id`` the guide would take after ``node``, in pyx12's scanning order.

    pyx12 looks at the later positions of the current loop (and the loops starting
    there), then at those of each enclosing loop. A loop that encloses the current
    node and may occur once is left out: a segment opening it again is never right.
    """
    nodes = cmap.nodes
    out: list[int] = []
    enclosing = set()
    i = node
    while i >= 0:
        enclosing.add(i)
        i = nodes[i].parent
    pos = nodes[node].pos
    loop = node if nodes[node].kind != "segment" else nodes[node].parent
    while loop >= 0:
        for child_pos, kids in nodes[loop].children:
            if child_pos < pos:
                continue
            for child in kids:
                spec = nodes[child]
                if spec.kind == "segment":
                    if spec.id == seg_id and spec.usage != "N":
                        out.append(child)
                elif spec.first_seg >= 0 and nodes[spec.first_seg].id == seg_id:
                    if child in enclosing and spec.max_repeat <= 1:
                        continue
                    if spec.usage != "N":
                        out.append(spec.first_seg)
        pos = nodes[loop].pos
        loop = nodes[loop].parent
    return list(dict.fromkeys(out))


def _value_expectation(ack: str, v: ValueSpec, formats: tuple[str, ...] = ()) -> str | None:
    """What a simple element (or component) takes, for an element finding with code ``ack``."""
    if ack in ("7", "I6") and v.codes is not None:
        return f"one of: {_codes(v.codes)}" if v.codes else "no value (the guide lists no code for it)"
    if ack in ("4", "5"):
        return f"{v.min_len} to {v.max_len} characters" if v.min_len != v.max_len else f"{v.min_len} characters"
    if ack == "6":
        kind = _DATA_TYPES.get(v.kind)
        return f"{kind}, {v.min_len} to {v.max_len} characters" if kind else None
    if ack == "8":
        shapes = [_DATE_FORMATS[f] for f in formats if f in _DATE_FORMATS] or ["CCYYMMDD"]
        return f"a real calendar date, {' or '.join(shapes)}"
    if ack == "9":
        return "a real time, HHMM or HHMMSS"
    if ack in ("1", "I9"):
        return "a value: the guide requires this element here"
    if ack in ("10", "I10", "I13"):
        return "no value: the guide does not use this element here"
    return None


def _element_expectation(ack: str, seg: NodeSpec, ref: str) -> str | None:
    """What the element ``ref`` (``DMG02``, ``CLM05-01``) of segment node ``seg`` takes."""
    m = re.fullmatch(r"(?P<pos>\d\d)(?:-(?P<sub>\d\d))?", ref[len(seg.id) :])
    if ack == "3":
        return f"at most {len(seg.elements)} elements in {seg.id}"
    if m is None:
        return None
    pos = int(m.group("pos"))
    if pos < 1 or pos > len(seg.elements):
        return f"at most {len(seg.elements)} elements in {seg.id}"
    element: ElementSpec = seg.elements[pos - 1]
    if ack == "13" and element.composite:
        return f"at most {len(element.values)} components in {ref[: len(seg.id) + 2]}"
    if element.composite:
        if m.group("sub") is None:
            return None
        sub = int(m.group("sub"))
        if sub < 1 or sub > len(element.values):
            return f"at most {len(element.values)} components"
        return _value_expectation(ack, element.values[sub - 1])
    return _value_expectation(ack, element.values[0], element.values[0].formats)


def _named(cmap: CompiledMap, place: Place, seg_id: str, name: str, kind: str) -> int | None:
    """The node (a segment, or a loop) called ``name`` nearest the place: what a "missing" finding names."""
    here = cmap.nodes[place.node].path
    best, best_len = None, -1
    for i, n in enumerate(cmap.nodes):
        if n.name != name or n.kind != kind or (kind == "segment" and n.id != seg_id):
            continue
        common = len(_common_prefix(n.path, here))
        if common > best_len:
            best, best_len = i, common
    return best


def _common_prefix(a: str, b: str) -> list[str]:
    out = []
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        out.append(x)
    return out


def explain(
    place: Place,
    level: str,
    ack: str,
    ref: str,
    segment_name: str,
    message: str,
) -> Explanation:
    """Explain one segment or element finding (``level`` ``seg`` or ``ele``) at its place.

    ``ref`` is the finding's segment id or element reference, ``segment_name`` the
    name pyx12's document gives the segment, ``message`` pyx12's text (values
    already removed).
    """
    cmap = place.cmap
    nodes = cmap.nodes
    spec = nodes[place.node]
    seg_id = ref
    expected: str | None = None
    loop_of = place.node
    if level == "ele" and place.placed:
        expected = _element_expectation(ack, spec, ref)
    elif level == "seg":
        if ack in ("1", "2") and not place.placed and re.fullmatch(r"[A-Z0-9]{2,3}", seg_id):
            found = candidates(cmap, place.node, seg_id)
            if found:
                expected = f"{seg_id} here only as " + " or ".join(_describe_segments(cmap, [nodes[c] for c in found]))
            else:
                expected = f"no {seg_id} segment at this point of the guide"
            after = spec.id if spec.kind == "segment" else ""
            loops = _loops(cmap, place.node)
            where = f" after {after} of loop {loops[0].id} ({loops[0].name})" if after and loops else ""
            message = _STARTED_AT.sub(where, message)
        elif ack == "3":
            kind = "loop" if message.lower().startswith("mandatory loop") else "segment"
            target = _named(cmap, place, seg_id, segment_name, kind)
            if target is not None:
                t = nodes[target]
                loop_of = target
                if kind == "loop":
                    first = nodes[t.first_seg] if t.first_seg >= 0 else None
                    opens = f", starting with {first.id}" if first else ""
                    if first is not None and first.match is not None and first.match.codes:
                        opens += f" ({_qualifier_ref(first)} {_codes(first.match.codes)})"
                    parent = _loops(cmap, t.parent)
                    inside = f" in every {parent[0].id}" if parent else ""
                    expected = f"loop {t.id} ({t.name}){inside}{opens}"
                else:
                    parent = _loops(cmap, t.parent)
                    inside = f" in every {parent[0].id}" if parent else ""
                    expected = f"{t.id} ({t.name}){inside}"
        elif ack == "4" and place.placed:
            loop = nodes[spec.parent]
            outer = _loops(cmap, loop.parent)
            per = f" in each {outer[0].id}" if outer else ""
            expected = f"loop {loop.id} at most {_times(loop.max_repeat)}{per}"
            loop_of = spec.parent
        elif ack == "5" and place.placed:
            loops = _loops(cmap, place.node)
            per = f" in each {loops[0].id}" if loops else ""
            expected = f"{spec.id} ({spec.name}) at most {_times(spec.max_repeat)}{per}"
        elif ack in ("I4",) and place.placed:
            expected = f"no {spec.id} ({spec.name}): the guide does not use it here"
    loops = _loops(cmap, loop_of)
    if not loops:
        return Explanation("", "", "", expected, message)
    return Explanation(
        loops[0].id,
        loops[0].name,
        "/".join(n.id for n in reversed(loops)),
        expected,
        message,
    )
