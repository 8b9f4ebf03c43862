"""The compiled validator: pyx12's verdict on an X12 file, at the speed of one regular expression a segment.

How a file is checked:

1. **Reading** mirrors pyx12's reader exactly (ASCII with undecodable bytes
   replaced, universal newlines, the 106-character ISA, 8,192-character blocks
   after it, segments split on the terminator with leading line breaks removed;
   pyx12 stops at an empty segment or a block without a terminator, and so does
   this reader), so both see the same segments on the same lines.
2. **Every segment** is placed in the map by :class:`MapWalker` (memoised
   transitions replayed against the live counters) and checked by its node's
   compiled pattern (:mod:`patterns`); the reader's own checks (HL and LX
   numbering, control numbers, SE, GE and IEA counts, leading spaces and
   trailing separators) are made on the way.
3. A segment whose pattern does not match is checked by **pyx12's own segment
   check** on that one segment: a pattern is stricter than pyx12 where it
   cannot express a rule, so a mismatch is not yet an error.
4. A transaction set with any finding is **diagnosed by pyx12 itself**: its
   segments are re-read by pyx12 inside their own interchange and group
   envelope, and pyx12's findings (moved to the file's line numbers) take the
   transaction set's place. Anything wrong outside a transaction set (the
   envelope, control numbers, a reader stop) has the whole file diagnosed by
   pyx12, and so does a transaction set whose LX numbering carries over from the
   previous one (pyx12 counts LX from the last CLM, across transaction sets).
   Either way the findings are pyx12's own, so clean files are fast and dirty
   ones are reported exactly as pyx12 reports them.

The document returned has the shape pyx12's JSON error visitor writes
(interchanges, groups, transaction sets, segments, elements), so issues, 999s
and the ledger read it unchanged.

Memory is bounded by one transaction set (the segments of the open ST are kept
until its SE, for a diagnosis; the 837 guides cap a transaction set at 5,000
claims), never by the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sendpro.x12.validator.compiler import CompiledMap, load_compiled
from sendpro.x12.validator.envelope import ISA_LEN, group_problem
from sendpro.x12.validator.patterns import PatternBuilder, SegmentCheck, Separators, build_check, syntax_ok
from sendpro.x12.validator.walker import INC, RESET, MapWalker, PathIds, compile_ops, run_ops

BLOCK = 8192
#: Reads are whole multiples of pyx12's block, so block boundaries can be checked in each read.
READ_BLOCKS = 128
_SEG_ID = re.compile(r"[A-Z0-9]{2,3}")
_ENVELOPE = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))
CONTROL_MAP = "x12.control.00501.xml"

#: Runs pyx12 over a text stream: (stream, label) -> (ok, findings document).
Reference = Callable[[TextIO], tuple[bool, dict[str, Any]]]
#: Checks one segment with pyx12: (map file, node index, segment text, separators) -> (ok, crashed).
SegmentReference = Callable[[str, int, str, Separators], tuple[bool, bool]]
#: Finds the map file for (ISA12, GS08, GS01), or None.
MapIndex = Callable[[str, str, str], str | None]


class _Fallback(Exception):
    """Something outside a transaction set is not clean: pyx12 diagnoses the whole file."""


def open_text(path: Path) -> TextIO:
    """Open an X12 file as pyx12 reads it: ASCII, universal newlines; other bytes become U+FFFD.

    pyx12 itself opens files strictly and stops with an exception on the first
    non-ASCII byte; replaced, the byte is reported as an invalid character.
    """
    return io.TextIOWrapper(path.open("rb"), encoding="ascii", errors="replace")


def read_head(stream: TextIO) -> str:
    """Read the 106-character ISA as pyx12's reader does.

    Raises:
        _Fallback: the stream does not start with an ISA pyx12 can read (pyx12 says why).
    """
    head = stream.read(ISA_LEN)
    if head[:3] != "ISA" or len(head) != ISA_LEN or head[84:89] not in ("00401", "00501"):
        raise _Fallback("ISA")
    return head


def iter_segment_batches(stream: TextIO, head: str) -> Iterator[list[str]]:
    """Yield the stream's segments after ``head``, a read at a time, as pyx12's ``RawX12File`` splits them."""
    term = head[-1]
    carry = head
    first = True
    while True:
        chunk = stream.read(BLOCK * READ_BLOCKS)
        stop = False
        # pyx12 reads block after block only while its buffer holds no terminator, and stops
        # at the first block (other than the one read with the ISA) that holds none.
        for b in range(0, max(len(chunk), 1), BLOCK):
            if first and b == 0:
                continue
            if chunk.find(term, b, b + BLOCK) == -1:
                chunk = chunk[:b]
                stop = True
                break
        first = False
        pieces = (carry + chunk).split(term)
        carry = pieces.pop()
        batch = [piece.lstrip("\n\r") for piece in pieces]
        if "" in batch:
            # pyx12 stops reading at an empty segment.
            yield batch[: batch.index("")]
            return
        yield batch
        if stop:
            return


def iter_segments(stream: TextIO, head: str) -> Iterator[tuple[int, str]]:
    """Yield (segment number, segment text) as pyx12's ``RawX12File`` splits the stream after ``head``."""
    line = 0
    for batch in iter_segment_batches(stream, head):
        for text in batch:
            line += 1
            yield line, text


def _int(value: str | None) -> int | None:
    """pyx12's ``X12Base._int``: Python's int(), None when it fails."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def _fmt(parts: list[str], idx: int, component: str) -> str | None:
    """pyx12's ``Segment.get_value`` of element ``idx``: trailing empty components dropped."""
    if idx >= len(parts):
        return None
    raw = parts[idx]
    if component not in raw:
        return raw
    comps = raw.split(component)
    while len(comps) > 1 and comps[-1] == "":
        comps.pop()
    return component.join(comps)


#: A memoised step: (node reached or -1, its counter operations compiled, the pattern's fullmatch,
#: (the element positions its syntax rules read, their verdicts by presence) or None).
_Step = tuple[
    int,
    Callable[[dict[int, int]], bool] | None,
    Callable[[str], object] | None,
    tuple[Callable[[list[str]], tuple[bool, ...]], dict[tuple[bool, ...], bool]] | None,
]


@dataclass
class _MapState:
    """A compiled map with its walker and the checks built for the file's separators."""

    cmap: CompiledMap
    walker: MapWalker
    checks: dict[int, SegmentCheck] = field(default_factory=dict)
    #: Memoised steps, per starting node, by segment key.
    steps: list[dict[tuple[object, ...], _Step]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.steps = [{} for _ in self.cmap.nodes]


@dataclass
class Stats:
    """What the validator did (for benchmarks and the run summary)."""

    segments: int = 0
    #: Segments whose pattern did not match and that pyx12's segment check looked at.
    segment_checks: int = 0
    #: Transaction sets diagnosed by pyx12.
    diagnosed: int = 0
    #: Whether pyx12 diagnosed the file whole, and what made it necessary.
    whole_file: bool = False
    why: str = ""


class CompiledValidator:
    """Validates X12 files against the project's map directory; one instance serves many files.

    ``reference`` runs pyx12 over a stream (the diagnosis), ``segment_reference``
    runs pyx12's check of one segment, ``map_index`` finds a map file by the
    envelope's versions; all three are pyx12 seen through the bridge.
    """

    def __init__(
        self,
        map_dir: Path,
        pyx12_version: str,
        reference: Reference,
        segment_reference: SegmentReference,
        map_index: MapIndex,
    ) -> None:
        self.map_dir = map_dir
        self.version = pyx12_version
        self.reference = reference
        self.segment_reference = segment_reference
        self.map_index = map_index
        self.paths = PathIds()
        self._maps: dict[str, CompiledMap] = {}
        self.stats = Stats()

    def compiled(self, file: str) -> CompiledMap:
        """Return the compiled map ``file`` (compiled once per process, cached on disk)."""
        cmap = self._maps.get(file)
        if cmap is None:
            cmap = load_compiled(self.map_dir, file, self.version)
            self._maps[file] = cmap
        return cmap

    def validate(self, path: Path) -> tuple[bool, dict[str, Any]]:
        """Validate the X12 file at ``path``; return (valid, findings document) as pyx12 would.

        A group with no map (its version unsupported or unreadable) is left to
        pyx12 through the bridge, which makes it a finding.
        """
        self.stats = Stats()
        try:
            with open_text(path) as stream:
                return _Run(self, stream).run()
        except _Fallback as why:
            self.stats.whole_file = True
            self.stats.why = str(why)
            with open_text(path) as stream:
                return self.reference(stream)


class _Run:
    """One pass over one file (the state pyx12's reader, walker and error handler keep)."""

    def __init__(self, owner: CompiledValidator, stream: TextIO) -> None:
        self.o = owner
        self.stream = stream
        self.paths = owner.paths
        self.counts: dict[int, int] = {}
        self.maps: dict[str, _MapState] = {}
        self.doc: dict[str, Any] = {"interchanges": []}
        self.valid = True
        self.seen_st = False
        self.st_clm_seen = False
        self.lx_carried = False
        self.seps = Separators("*", ":", "~")
        self.control: _MapState | None = None
        self.cur: _MapState | None = None
        self.cur_file: str | None = None
        self.node = -1
        self.node_map: _MapState | None = None
        # reader state
        self.loops: list[tuple[str, str | None]] = []
        self.isa_ids: list[str | None] = []
        self.gs_ids: list[str | None] = []
        self.st_ids: list[str | None] = []
        self.gs_count = 0
        self.st_count = 0
        self.seg_count = 0
        self.hl_count = 0
        self.hl_stack: list[int | None] = []
        self.hl_set: set[int | None] = set()
        self.lx_count = 0
        self.check_lx = False
        self.icvn: str | None = None
        # envelope text for a diagnosis
        self.isa_text = ""
        self.gs_text = ""
        self.isa_doc: dict[str, Any] | None = None
        self.gs_doc: dict[str, Any] | None = None
        self.st_doc: dict[str, Any] | None = None
        self.st_segments: list[str] = []
        self._good_ids: set[str] = set()
        self._ele_sub = "*:"
        self.st_line = 0
        self.st_dirty = False
        # Segments pyx12 would stop on, by line: (text for the diagnosis, findings to add, id, pos, name).
        self.sanitized: dict[int, tuple[str, list[dict[str, Any]], str, int, str]] = {}

    # -- plumbing ----------------------------------------------------------------------------------

    def _state(self, file: str) -> _MapState:
        st = self.maps.get(file)
        if st is None:
            cmap = self.o.compiled(file)
            st = _MapState(cmap, MapWalker(cmap, self.paths))
            self.maps[file] = st
        return st

    def _check(self, ms: _MapState, node: int) -> SegmentCheck:
        check = ms.checks.get(node)
        if check is None:
            spec = ms.cmap.nodes[node]
            builder = PatternBuilder(ms.cmap.icvn, self.seps, isa=spec.id == "ISA")
            check = build_check(spec, builder)
            ms.checks[node] = check
        return check

    def _segment_ok(self, ms: _MapState, node: int, text: str, parts: list[str]) -> bool:
        """The fast check of one placed segment, then pyx12's own check when the pattern says no."""
        check = ms.checks.get(node) or self._check(ms, node)
        if check.pattern is not None and check.pattern.fullmatch(text):
            good = True
            if check.syntax:
                mask = self._presence(ms, node)(parts)
                verdict = check.syntax_memo.get(mask)
                if verdict is None:
                    verdict = syntax_ok(parts, check.syntax, self.seps.component)
                    check.syntax_memo[mask] = verdict
                good = verdict
            for i, j, rx in check.searches:
                k = i + 1
                value = parts[k] if k < len(parts) else ""
                if j >= 0:
                    comps = value.split(self.seps.component)
                    value = comps[j] if j < len(comps) else ""
                if value and not rx.search(value):
                    good = False
            if good:
                return True
        self.o.stats.segment_checks += 1
        ok, crashed = self.o.segment_reference(ms.cmap.file, node, text, self.seps)
        if crashed and self.st_doc is not None:
            self._sanitize(ms, node, text, parts)
        return ok and not crashed

    def _work_around(self, line: int) -> bool:
        """Make the segment at ``line`` (where pyx12 stopped) readable; False when that is not possible."""
        k = line - self.st_line
        ms = self.node_map
        if ms is None or not 0 <= k < len(self.st_segments) or line in self.sanitized:
            return False
        text = self.st_segments[k]
        parts = text.split(self.seps.element)
        # The walk may have gone astray before this segment: try every node of its id.
        for node, spec in enumerate(ms.cmap.nodes):
            if spec.kind == "segment" and spec.id == parts[0]:
                _, crashed = self.o.segment_reference(ms.cmap.file, node, text, self.seps)
                if crashed and self._sanitize(ms, node, text, parts, line):
                    return True
        return False

    def _sanitize(self, ms: _MapState, node: int, text: str, parts: list[str], line: int | None = None) -> bool:
        """Make a segment pyx12 stops on readable for its diagnosis, and say what pyx12 could not.

        Two inputs stop pyx12 4.0's segment check with an exception: a composite with more
        components than the map defines (an IndexError) and a DTP03 date range with more
        than one dash (a ValueError). For the diagnosis the extra components are cut off
        and the range cut at its second dash; the finding pyx12 would have made is added
        to the segment as a segment-level error (IK3 code 8, as pyx12 files composite and
        syntax errors). Anything else pyx12 stops on is left to the stream's crash guard.
        """
        spec = ms.cmap.nodes[node]
        s = self.seps
        fixed = list(parts)
        notes: list[dict[str, Any]] = []
        for i, e in enumerate(spec.elements, start=1):
            if i >= len(fixed):
                break
            if e.composite and e.usage != "N":
                comps = fixed[i].split(s.component)
                if len(comps) > len(e.values):
                    fixed[i] = s.component.join(comps[: len(e.values)])
                    notes.append(
                        {
                            "err_cde": "8",
                            "err_str": f"Too many sub-elements in composite {spec.id}{i:02d}: "
                            f"has {len(comps)}, the guide defines {len(e.values)}",
                            "err_val": parts[i],
                        }
                    )
        if spec.id == "DTP" and len(fixed) > 3 and fixed[2] == "RD8" and fixed[3].count("-") > 1:
            fixed[3] = "-".join(fixed[3].split("-")[:2])
            notes.append(
                {
                    "err_cde": "8",
                    "err_str": "Data element DTP03 holds a date range with more than one dash",
                    "err_val": parts[3],
                }
            )
        if not notes:
            return False
        new = s.element.join(fixed)
        _, crashed = self.o.segment_reference(ms.cmap.file, node, new, s)
        if crashed:
            return False
        if line is None:
            line = self.st_line + len(self.st_segments) - 1
        self.sanitized[line] = (new, notes, spec.id, spec.pos, spec.name)
        return True

    def _force(self, loop_path: str, seg_path: str) -> None:
        """pyx12's ``forceWalkCounterToLoopStart`` for ISA and GS."""
        lp = self.paths.get(loop_path)
        sp = self.paths.get(seg_path)
        run_ops(((RESET, lp, 0), (INC, lp, 0), (INC, sp, 0)), self.counts, self.paths)

    # -- the pass ----------------------------------------------------------------------------------

    def run(self) -> tuple[bool, dict[str, Any]]:
        """Check every segment; return (valid, findings document).

        Raises:
            _Fallback: something outside a transaction set is not clean.
        """
        head = read_head(self.stream)
        self._start(head)
        line = 0
        ele = self.seps.element
        comp = self.seps.component
        ele_sub = self._ele_sub
        counts = self.counts
        slow = _ENVELOPE
        numbered = frozenset(("HL", "LX", "CLM"))
        # Locals mirror the run's state on the fast path; they are re-read after every slow-path call.
        fast = False
        node = self.node
        ms = self.node_map
        steps: list[dict[tuple[object, ...], _Step]] = []
        key_of: Callable[[str, list[str], str], tuple[object, ...]] = _no_key
        plain: dict[str, tuple[object, ...]] = {}
        first: dict[str, frozenset[str]] = {}
        held = self.st_segments
        for batch in iter_segment_batches(self.stream, head):
            for text in batch:
                line += 1
                parts = text.split(ele)
                seg_id = parts[0]
                # The fast path: a segment inside a clean transaction set with nothing for the reader to
                # number; the same steps as _segment/_place (which handle everything else), inlined.
                # (An id that is not an X12 id needs no test here: no map node has it, so the walk fails.)
                if not fast or seg_id in slow or text[:1] == " " or text[-1:] == ele or text.rstrip(ele_sub) == seg_id:
                    self.node = node
                    self._segment(line, text, parts)
                    node = self.node
                    fast = self.st_doc is not None and not self.st_dirty and self.node_map is not None
                    if ms is not self.node_map:
                        ms = self.node_map
                        if ms is not None:
                            steps, key_of, plain, first = ms.steps, ms.walker.key, ms.walker.plain, ms.walker.first
                    held = self.st_segments
                    continue
                held.append(text)
                if seg_id in numbered and not self._numbering(seg_id, parts):
                    self.st_dirty = True
                    fast = False
                    continue
                key = plain.get(seg_id)
                if key is None:
                    codes = first.get(seg_id)
                    value = parts[1] if len(parts) > 1 else None
                    if codes is not None and value is not None and comp not in value:
                        key = (seg_id, value if value in codes else None)
                    else:
                        key = key_of(seg_id, parts, comp)
                step = steps[node].get(key)
                if step is None:
                    assert ms is not None
                    step = self._step(ms, node, key)
                found, apply, match, syntax = step
                if (apply is not None and not apply(counts)) or found < 0:
                    self.st_dirty = True
                    fast = False
                    continue
                node = found
                if match is not None and match(text) is not None:
                    if syntax is None or syntax[1].get(syntax[0](parts)):
                        continue
                assert ms is not None
                if not self._segment_ok(ms, found, text, parts):
                    self.st_dirty = True
                    fast = False
        self.node = node
        self.o.stats.segments = line
        if self.loops:
            raise _Fallback("unterminated envelope")
        return self.valid and not _has_errors(self.doc), self.doc

    def _start(self, head: str) -> None:
        """Take the separators from the ISA as pyx12 does (element at 3, component at 104, terminator at 105).

        Separators that are letters, digits, spaces or line breaks, or that repeat, go to
        pyx12's whole-file diagnosis (no pattern can be built for them).
        """
        ele, sub, seg = head[3], head[104], head[105]
        if len({ele, sub, seg}) != 3 or any(c.isalnum() or c in " \r\n" for c in (ele, sub, seg)):
            raise _Fallback("separators")
        self.seps = Separators(ele, sub, seg)
        self._ele_sub = ele + sub
        self.control = self._state(CONTROL_MAP)

    def _step(self, ms: _MapState, node: int, key: tuple[object, ...]) -> _Step:
        """Build the memoised step of a segment key from a node: transition, counting, fast check.

        ``match`` is set only for segments whose pattern alone decides (no syntax rule, no map
        regex); the others go through :meth:`_segment_ok`.
        """
        found, ops = ms.walker.transition(node, key)
        match: Callable[[str], object] | None = None
        syntax = None
        if found >= 0:
            check = ms.checks.get(found) or self._check(ms, found)
            if check.pattern is not None and not check.searches:
                match = check.pattern.fullmatch
                if check.syntax:
                    syntax = (self._presence(ms, found), check.syntax_memo)
        step: _Step = (found, compile_ops(ops, self.paths) if ops else None, match, syntax)
        ms.steps[node][key] = step
        return step

    def _presence(self, ms: _MapState, node: int) -> Callable[[list[str]], tuple[bool, ...]]:
        """Return a function giving, for a split segment, which elements its syntax rules name are present.

        pyx12 counts an element present when it exists and is not empty; a composite
        whose components are all empty is absent. Generated once per node.
        """
        spec = ms.cmap.nodes[node]
        involved = sorted({int(str(i)) for rule in spec.syntax for i in rule[1:]})
        comp = self.seps.component
        terms = []
        for i in involved:
            composite = i - 1 < len(spec.elements) and spec.elements[i - 1].composite
            value = f"parts[{i}].strip({comp!r})" if composite else f"parts[{i}]"
            terms.append(f"(n > {i} and {value} != '')")
        src = "def present(parts):\n    n = len(parts)\n    return (" + ", ".join(terms) + ",)\n"
        env: dict[str, object] = {}
        exec(src, env)  # noqa: S102 - built above from integers and the separator's repr
        return env["present"]  # type: ignore[return-value]

    def _segment(self, line: int, text: str, parts: list[str]) -> None:
        """Check one segment: the reader's checks, its place in the map, its pattern."""
        seps = self.seps
        inside = self.st_doc is not None
        ele = seps.element
        clean = not (text[:1] == " " or text[-1:] == ele)
        seg_id = parts[0]
        # pyx12: "Segment ... is empty" when nothing but separators follows the id.
        if text.rstrip(self._ele_sub) == seg_id:
            clean = False
        if seg_id not in self._good_ids:
            if _SEG_ID.fullmatch(seg_id):
                self._good_ids.add(seg_id)
            else:
                clean = False
        if inside:
            self.st_segments.append(text)
        if seg_id in _ENVELOPE:
            self._envelope(line, text, parts, seg_id, clean)
            return
        if not inside:
            # Between envelopes only what the control map places (a TA1 after the ISA) can be clean.
            if self.isa_doc is None or not clean or not self._place(parts, text, not self.seen_st):
                raise _Fallback(f"segment {seg_id} outside a transaction set")
            return
        self.seg_count += 1
        if not self._numbering(seg_id, parts):
            clean = False
        if self.st_dirty:
            return  # pyx12 diagnoses this transaction set; no need to look further into it
        if not clean:
            self.st_dirty = True
            return
        if not self._place(parts, text):
            self.st_dirty = True

    def _numbering(self, seg_id: str, parts: list[str]) -> bool:
        """The reader's HL and (837) LX numbering (X12Base._parse_segment); False when it reports."""
        c = self.seps.component
        ok = True
        if seg_id == "HL":
            self.hl_count += 1
            if self.hl_count != _int(_fmt(parts, 1, c)):
                ok = False
            parent = _fmt(parts, 2, c)
            stack = self.hl_stack
            if parent != "":
                hp = _int(parent)
                # pyx12 never pops the stack at a parentless HL, so it grows with every 2000A:
                # membership is asked of a set kept beside it.
                if hp not in self.hl_set:
                    ok = False
                while stack and hp != stack[-1]:
                    self.hl_set.discard(stack.pop())
            stack.append(self.hl_count)
            self.hl_set.add(self.hl_count)
        elif self.check_lx:
            if seg_id == "CLM":
                self.lx_count = 0
                self.st_clm_seen = True
            elif seg_id == "LX":
                if not self.st_clm_seen and self.lx_count:
                    # pyx12 counts LX from the last CLM, across transaction sets: a diagnosis of
                    # this transaction set alone would start from 0, so it needs the whole file.
                    self.lx_carried = True
                self.lx_count += 1
                if _fmt(parts, 1, c) != f"{self.lx_count:d}":
                    ok = False
        return ok

    def _place(self, parts: list[str], text: str, walk_errors_dropped: bool = False) -> bool:
        """Walk one segment to its node and check it there; False when pyx12 would report.

        With ``walk_errors_dropped`` only the segment's own check counts: pyx12's error
        handler has nowhere to file a walk error before the file's first ST (a TA1 after
        the ISA, say, passes over the required GS_LOOP) and drops it. The run loop
        inlines these same steps for ordinary segments.
        """
        ms = self.node_map
        if ms is None:
            return False
        key = ms.walker.key(parts[0], parts, self.seps.component)
        step = ms.steps[self.node].get(key)
        if step is None:
            step = self._step(ms, self.node, key)
        found, apply, _, _ = step
        ok = apply is None or apply(self.counts) or walk_errors_dropped
        if found < 0:
            return False
        self.node = found
        return self._segment_ok(ms, found, text, parts) and ok

    # -- envelope ----------------------------------------------------------------------------------

    def _envelope(self, line: int, text: str, parts: list[str], seg_id: str, clean: bool) -> None:
        """ISA, GS, ST, SE, GE, IEA: the reader's loop and control-number checks, then placement.

        Mirrors what pyx12 does for each: ISA and GS put the walker at their node by
        force (``forceWalkCounterToLoopStart``) and GS picks the map by GS08; ST opens a
        transaction set (its segments are kept for a diagnosis); SE checks SE01/SE02 and
        either closes a clean transaction set or has pyx12 diagnose it; GE and IEA check
        their counts and ids. Anything not clean here, outside a transaction set, raises
        :class:`_Fallback`. The document entries are filled as pyx12's error handler
        fills them (ack codes, counts, the line of the trailer).
        """
        c = self.seps.component
        if seg_id == "ISA":
            if self.st_doc is not None or self.gs_doc is not None or not clean:
                raise _Fallback("ISA")
            if len(parts) != 17:
                raise _Fallback("ISA elements")
            if parts[16] != c:
                # pyx12 reads every interchange with the first ISA's separators; a diagnosis in this
                # ISA's own envelope would read it with this one's.
                raise _Fallback("ISA16 is not the first ISA's")
            isa13 = parts[13]
            if isa13 in self.isa_ids:
                raise _Fallback("ISA13 repeated")
            self.loops.append(("ISA", isa13))
            self.isa_ids.append(isa13)
            self.gs_count = 0
            self.gs_ids = []
            self.icvn = parts[12]
            assert self.control is not None
            self.node_map = self.control
            self.node = self.control.cmap.node_by_path("/ISA_LOOP/ISA")
            self._force("/ISA_LOOP", "/ISA_LOOP/ISA")
            if not self._segment_ok(self.control, self.node, text, parts):
                raise _Fallback("ISA content")
            self.isa_text = text
            self.isa_doc = {
                "isa_trn_set_id": parts[13],
                "ta1_req": parts[14],
                "orig_date": parts[9],
                "orig_time": parts[10],
                "cur_line": line,
                "errors": [],
                "groups": [],
            }
            self.doc["interchanges"].append(self.isa_doc)
            return
        if self.isa_doc is None or not clean:
            raise _Fallback(f"{seg_id} outside an interchange")
        if seg_id == "GS":
            if self.gs_doc is not None or self.st_doc is not None:
                raise _Fallback("GS")
            gs06 = _fmt(parts, 6, c)
            if gs06 in self.gs_ids:
                raise _Fallback("GS06 repeated")
            self.gs_count += 1
            self.gs_ids.append(gs06)
            self.loops.append(("GS", gs06))
            self.st_count = 0
            self.st_ids = []
            assert self.control is not None
            self.node_map = self.control
            self._force("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
            fic, vriic = _fmt(parts, 1, c), _fmt(parts, 8, c)
            if group_problem(line, fic, vriic) is not None:
                # pyx12 finds no map for it and stops; the bridge makes that stop a finding.
                raise _Fallback("GS01 or GS08 unreadable")
            file = self.o.map_index(self.icvn or "", vriic or "", fic or "")
            if file is None:
                # No map for a readable version: the bridge makes pyx12's stop a finding on it.
                raise _Fallback("no map for the group")
            if file != self.cur_file:
                self.cur_file = file
                self.cur = self._state(file)
                self.check_lx = self.cur.cmap.map_id == "837"
            assert self.cur is not None
            self.node_map = self.cur
            self.node = self.cur.cmap.node_by_path("/ISA_LOOP/GS_LOOP/GS")
            if not self._segment_ok(self.cur, self.node, text, parts):
                raise _Fallback("GS content")
            self.gs_text = text
            self.gs_doc = {
                "gs_control_num": gs06,
                "fic": fic,
                "vriic": vriic,
                "ack_code": None,
                "st_count_orig": 0,
                "st_count_recv": 0,
                "cur_line": line,
                "errors": [],
                "transactions": [],
            }
            self.isa_doc["groups"].append(self.gs_doc)
            return
        if seg_id == "ST":
            if self.gs_doc is None or self.st_doc is not None:
                raise _Fallback("ST")
            st02 = _fmt(parts, 2, c)
            if st02 in self.st_ids:
                raise _Fallback("ST02 repeated")
            self.hl_stack = []
            self.hl_set = set()
            self.hl_count = 0
            self.st_count += 1
            self.st_ids.append(st02)
            self.loops.append(("ST", st02))
            self.seg_count = 1
            self.seen_st = True
            self.st_clm_seen = False
            self.lx_carried = False
            self.st_line = line
            self.st_dirty = False
            self.st_segments = [text]
            self.sanitized = {}
            if not self._place(parts, text):
                raise _Fallback("ST")
            self.st_doc = {
                "trn_set_id": _fmt(parts, 1, c),
                "trn_set_control_num": st02,
                "vriic": _fmt(parts, 3, c),
                "ack_code": "R",
                "cur_line": line,
                "errors": [],
                "segments": [],
            }
            return
        if seg_id == "SE":
            if self.st_doc is None or not self.loops or self.loops[-1][0] != "ST":
                raise _Fallback("SE")
            # Every segment between ST and SE counts (an envelope segment there goes to pyx12 whole).
            self.seg_count = line - self.st_line
            if self.loops[-1][1] != _fmt(parts, 2, c) or _int(_fmt(parts, 1, c)) != self.seg_count + 1:
                self.st_dirty = True
            self.loops.pop()
            if not self.st_dirty and not self._place(parts, text):
                self.st_dirty = True
            if self.st_dirty:
                if self.lx_carried:
                    raise _Fallback("LX numbering carried over from the previous transaction set")
                self._diagnose(line)
            else:
                self.st_doc["ack_code"] = "A"
                self.st_doc["cur_line"] = line
                assert self.gs_doc is not None
                self.gs_doc["transactions"].append(self.st_doc)
            self.st_doc = None
            self.st_segments = []
            return
        if seg_id == "GE":
            if self.gs_doc is None or self.st_doc is not None or not self.loops or self.loops[-1][0] != "GS":
                raise _Fallback("GE")
            count = _int(_fmt(parts, 1, c))
            if self.loops[-1][1] != _fmt(parts, 2, c) or count != self.st_count:
                raise _Fallback("GE counts")
            self.loops.pop()
            if not self._place(parts, text):
                raise _Fallback("GE")
            failed = any(_has_errors_st(t) for t in self.gs_doc["transactions"])
            self.gs_doc["ack_code"] = "R" if failed else "A"
            self.gs_doc["st_count_orig"] = count
            self.gs_doc["st_count_recv"] = self.st_count
            self.gs_doc["cur_line"] = line
            self.gs_doc = None
            return
        # IEA
        if self.gs_doc is not None or self.st_doc is not None or not self.loops or self.loops[-1][0] != "ISA":
            raise _Fallback("IEA")
        if self.loops[-1][1] != _fmt(parts, 2, c) or _int(_fmt(parts, 1, c)) != self.gs_count:
            raise _Fallback("IEA counts")
        self.loops.pop()
        if not self._place(parts, text):
            raise _Fallback("IEA")
        self.isa_doc["cur_line"] = line
        self.isa_doc = None

    # -- diagnosis of one transaction set ----------------------------------------------------------

    #: How many segments pyx12 stops on one diagnosis works around before it gives up.
    MAX_WORKAROUNDS = 20

    def _diagnose(self, se_line: int) -> None:
        """Have pyx12 read the transaction set in its own envelope; take its findings as the file's.

        When pyx12 stops on a segment (see :meth:`_sanitize`), that segment is made
        readable and the diagnosis run again, up to :data:`MAX_WORKAROUNDS` times.
        """
        self.o.stats.diagnosed += 1
        s = self.seps
        term = s.segment
        gs06 = self.gs_doc["gs_control_num"] if self.gs_doc else ""
        isa13 = self.loops[0][1] if self.loops else ""
        for _ in range(self.MAX_WORKAROUNDS + 1):
            fixed = {line - self.st_line: entry[0] for line, entry in self.sanitized.items()}
            body = "".join(f"{fixed.get(k, seg)}{term}\n" for k, seg in enumerate(self.st_segments))
            text = (
                f"{self.isa_text}{term}\n{self.gs_text}{term}\n{body}"
                f"GE{s.element}1{s.element}{gs06}{term}\nIEA{s.element}1{s.element}{isa13}{term}\n"
            )
            ok, doc = self.o.reference(io.StringIO(text))
            stopped = _stopped_at(doc)
            if stopped is None or not self._work_around(stopped + self.st_line - 3):
                break
        try:
            [isa] = doc["interchanges"]
            [gs] = isa["groups"]
            [st] = gs["transactions"]
        except (KeyError, ValueError, TypeError):
            raise _Fallback("diagnosis shape") from None
        if isa.get("errors") or gs.get("errors") or isa.get("elements") or gs.get("elements"):
            raise _Fallback("diagnosis envelope")
        # pyx12 can fail a file with no finding in its document (an error on SE is filed
        # on no node the document shows): keep its verdict as well as its findings.
        self.valid &= bool(ok)
        offset = self.st_line - 3  # the diagnosis file's line 3 is the ST

        def moved(n: Any) -> Any:
            return n + offset if isinstance(n, int) and n >= 3 else n

        st["cur_line"] = moved(st.get("cur_line"))
        for seg in st.get("segments", []):
            seg["cur_line"] = moved(seg.get("cur_line"))
        for ele in st.get("elements", []):  # ST/SE element errors
            ele["cur_line"] = moved(ele.get("cur_line"))
        self._add_notes(st)
        assert self.gs_doc is not None
        self.gs_doc["transactions"].append(st)
        # pyx12's walker ends a transaction set on its SE whatever happened inside it.
        self._after_dirty_st()

    def _add_notes(self, st: dict[str, Any]) -> None:
        """Add the findings of segments pyx12 would have stopped on (see :meth:`_sanitize`)."""
        if not self.sanitized:
            return
        segments: list[dict[str, Any]] = st.setdefault("segments", [])
        by_line = {seg.get("cur_line"): seg for seg in segments}
        for line, (_, notes, seg_id, pos, name) in sorted(self.sanitized.items()):
            entry = by_line.get(line)
            if entry is None:
                entry = {
                    "seg_id": seg_id,
                    "seg_count": line - self.st_line + 1,
                    "pos": pos,
                    "name": name,
                    "ls_id": None,
                    "cur_line": line,
                    "errors": [],
                    "elements": [],
                }
                segments.append(entry)
            entry["errors"].extend(notes)
        segments.sort(key=lambda seg: seg.get("cur_line") or 0)
        st["ack_code"] = "R"

    def _after_dirty_st(self) -> None:
        ms = self.node_map
        if ms is None:
            raise _Fallback("no map")
        se = ms.cmap.node_by_path("/ISA_LOOP/GS_LOOP/ST_LOOP/SE")
        st_loop = self.paths.get("/ISA_LOOP/GS_LOOP/ST_LOOP")
        run_ops(((RESET, st_loop, 0),), self.counts, self.paths)
        self.counts[self.paths.get(ms.cmap.nodes[se].path)] = 1
        self.node = se


def _no_key(seg_id: str, parts: list[str], component: str) -> tuple[object, ...]:
    raise AssertionError("the fast path runs only with a map")


def _stopped_at(doc: dict[str, Any]) -> int | None:
    """Return the segment pyx12 stopped on, when its crash guard answered instead of a diagnosis."""
    isas = doc.get("interchanges") or []
    if len(isas) == 1 and not isas[0].get("groups"):
        errors = isas[0].get("errors") or []
        if errors and errors[0].get("err_cde") == "000":
            line = isas[0].get("cur_line")
            return int(line) if isinstance(line, int) else None
    return None


def _has_errors_st(st: dict[str, Any]) -> bool:
    # ST/SE element errors ("elements") are left out, as pyx12 leaves them out of its group's AK901.
    if st.get("errors"):
        return True
    for seg in st.get("segments", []):
        if seg.get("errors") or any(e.get("errors") for e in seg.get("elements", [])):
            return True
    return False


def _has_errors(doc: dict[str, Any]) -> bool:
    for isa in doc.get("interchanges", []):
        if isa.get("errors") or isa.get("elements"):
            return True
        for gs in isa.get("groups", []):
            transactions = gs.get("transactions", [])
            if (
                gs.get("errors")
                or gs.get("elements")
                or any(_has_errors_st(st) or st.get("elements") for st in transactions)
            ):
                return True
    return False
