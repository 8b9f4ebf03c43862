"""Place each segment in the map as pyx12's walker does, recording each transition once.

pyx12 finds a segment's map node by scanning from the current node: the later
positions of the current loop, the loops that start there, then the parent
loops. Which node it reaches depends only on the starting node and the
segment's id and qualifier; the counters it keeps (segment and loop repeats,
whether a required segment or loop was seen) decide only whether it reports
an error on the way. So a transition is computed once per (node, segment id,
qualifier) by following pyx12's scanning order and recording what the counters
must satisfy; later segments replay the recording against the live counters:

- ``NEED p``: a required node passed over must already have been counted (else
  "mandatory segment/loop missing");
- ``INC p``, ``RESET p``: count a node, forget the counts below a loop entered anew;
- ``MAX p n``: a node's count must not exceed its repeat;
- ``FAIL``: an error whatever the counts (not-used segment, no node found).

A transition that passes leaves pyx12 with no finding; one that fails marks the
transaction set for diagnosis by pyx12 itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sendpro.x12.validator.compiler import CompiledMap, NodeSpec

# Operation codes of a recorded transition.
NEED, INC, RESET, MAX, FAIL = range(5)

Op = tuple[int, int, int]  # (code, path id, limit)

#: pyx12's "no limit" (MAXINT, 2**31 - 1).
UNBOUNDED = 2**31 - 1


class PathIds:
    """Intern pyx12 counting paths as small integers, and know which paths lie below each path."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.paths: list[str] = []
        #: Paths whose counts some map's checks read (see MapWalker.read).
        self.read: set[int] = set()
        #: Paths some recorded transition counts, and per loop the counted ones below it.
        self.counted: set[int] = set()
        self._live: dict[int, set[int]] = {}
        self._below: dict[int, frozenset[int]] = {}

    def note_counted(self, pid: int) -> None:
        """Record that some transition counts ``pid``, so loop resets above it forget it."""
        if pid in self.counted:
            return
        self.counted.add(pid)
        for loop, live in self._live.items():
            if pid in self.below(loop):
                live.add(pid)

    def live_below(self, pid: int) -> set[int]:
        """Return the counted paths below ``pid``: what a reset of that loop must forget.

        The set is updated in place as transitions counting new paths are recorded, so
        a step compiled earlier still forgets what later steps count.
        """
        live = self._live.get(pid)
        if live is None:
            below = self.below(pid)
            live = {p for p in self.counted if p in below}
            self._live[pid] = live
        return live

    def get(self, path: str) -> int:
        """Return the id of ``path``, interning it."""
        pid = self.ids.get(path)
        if pid is None:
            pid = len(self.paths)
            self.ids[path] = pid
            self.paths.append(path)
            # A new path may lie below a known one. Live sets need no update: a path is
            # counted (note_counted) only after it is interned.
            self._below.clear()
        return pid

    def below(self, pid: int) -> frozenset[int]:
        """Return the ids of every known path below ``pid`` (pyx12's ``X12Path.is_child_path``)."""
        found = self._below.get(pid)
        if found is None:
            root = self.paths[pid].split("/")
            out = []
            for other, path in enumerate(self.paths):
                parts = path.split("/")
                if len(parts) > len(root) and parts[: len(root)] == root:
                    out.append(other)
            found = frozenset(out)
            self._below[pid] = found
        return found


@dataclass(slots=True)
class _Missing:
    node: int  # the segment node the pending error is filed against
    op: int  # index of its NEED in the recording
    active: bool = False


@dataclass(slots=True)
class _Recording:
    ops: list[Op | None] = field(default_factory=list)
    missing: list[_Missing] = field(default_factory=list)


class MapWalker:
    """Walks one compiled map: transition recordings per (node, segment key)."""

    def __init__(self, cmap: CompiledMap, paths: PathIds) -> None:
        self.cmap = cmap
        self.paths = paths
        self.nodes = cmap.nodes
        self.pid = [paths.get(n.path) for n in cmap.nodes]
        # Where pyx12 reads each segment id's qualifier, and the codes that can match there.
        where: dict[str, set[str]] = {}
        codes: dict[tuple[str, str], set[str]] = {}
        for n in cmap.nodes:
            if n.kind == "segment" and n.match is not None:
                where.setdefault(n.id, set()).add(n.match.where)
                codes.setdefault((n.id, n.match.where), set()).update(n.match.codes)
        self.where = {k: tuple(sorted(v)) for k, v in where.items()}
        self.codes = {k: frozenset(v) for k, v in codes.items()}
        #: Ids told apart only by their first element, with the codes that can match there.
        self.first = {k: self.codes[(k, "01")] for k, v in self.where.items() if v == ("01",)}
        #: Keys of the segment ids no node tells apart by a qualifier (the key is the id alone).
        self.plain: dict[str, tuple[object, ...]] = {
            n.id: (n.id,) for n in cmap.nodes if n.kind == "segment" and n.id not in where
        }
        # Counts pyx12 ever compares: required nodes (missing checks) and limited repeats. Counting
        # anything else changes no verdict, so transitions leave those counts out.
        self.read = frozenset(
            self.pid[i]
            for i, n in enumerate(cmap.nodes)
            if n.kind != "root" and (n.usage == "R" or n.max_repeat < UNBOUNDED)
        )
        paths.read |= self.read

    @property
    def paths_read(self) -> set[int]:
        """Every count a check of any loaded map reads."""
        return self.paths.read

    # -- the key of a segment ----------------------------------------------------------------------

    def key(self, seg_id: str, parts: Sequence[str], component: str) -> tuple[object, ...]:
        """Return what of a segment pyx12's matching can see: its id and qualifier values.

        Values that no node's code list holds are folded to None, which keeps the
        memo small (an address in N301 never becomes part of a key).
        """
        spots = self.where.get(seg_id)
        if not spots:
            return self.plain.get(seg_id) or (seg_id,)
        if spots == ("01",) and len(parts) > 1 and component not in parts[1]:
            value = parts[1]
            return (seg_id, value if value in self.codes[(seg_id, "01")] else None)
        out: list[object] = [seg_id]
        for spot in spots:
            idx = int(spot[:2])
            if idx >= len(parts):
                out.append(None)
                continue
            raw = parts[idx]
            if spot.endswith("-1"):
                value = raw.split(component, 1)[0]
            else:
                comps = raw.split(component)
                while len(comps) > 1 and comps[-1] == "":
                    comps.pop()
                value = component.join(comps)
            out.append(value if value in self.codes[(seg_id, spot)] else None)
        return tuple(out)

    def _matches(self, node: NodeSpec, key: tuple[object, ...]) -> bool:
        if node.id != key[0]:
            return False
        if node.match is None:
            return True
        spots = self.where[node.id]
        value = key[1 + spots.index(node.match.where)]
        return value is not None and value in node.match.codes

    # -- recording (pyx12's walk_errors, with the counters left symbolic) ----------------------------

    def transition(self, start: int, key: tuple[object, ...]) -> tuple[int, tuple[Op, ...]]:
        """Record (the node the segment lands on or -1, the counter operations on the way).

        The caller memoises the result per (start, key): the engine's steps.
        """
        rec = _Recording()
        found = self._walk(start, key, rec)
        for m in rec.missing:
            if not m.active:
                rec.ops[m.op] = None
        # A repeat limit of pyx12's MAXINT cannot be exceeded by a file of fewer segments.
        ops = tuple(
            op
            for op in rec.ops
            if op is not None
            and not (op[0] == MAX and op[2] >= UNBOUNDED)
            and not (op[0] in (INC, RESET) and not self._matters(op[1]))
        )
        # Landing on a node counts it, so a missing check on the starting node itself always passes.
        ops = tuple(op for op in ops if not (op[0] == NEED and op[1] == self.pid[start]))
        for op in ops:
            if op[0] == INC:
                self.paths.note_counted(op[1])
        return found, ops

    def _matters(self, pid: int) -> bool:
        """Whether a count (or a loop's counts below it) can be read by a check.

        Paths are shared with the other maps of a file (the envelope's control map):
        a count any map reads is kept.
        """
        if pid in self.paths_read:
            return True
        below = self.paths.below(pid)
        return any(p in self.paths_read for p in below)

    def _parent_loop(self, i: int) -> int:
        node = self.nodes[i]
        if node.kind == "root":
            return i
        return node.parent

    def _walk(self, start: int, key: tuple[object, ...], rec: _Recording) -> int:
        node_pos = self.nodes[start].pos
        node = start if self.nodes[start].kind != "segment" else self._parent_loop(start)
        while True:
            found = self._scan(node, node_pos, key, start, rec)
            if found is not None:
                return found
            if self.nodes[node].kind == "root":
                rec.ops.append((FAIL, 0, 0))  # "segment not found"
                return -1
            node_pos = self.nodes[node].pos
            node = self._parent_loop(node)

    def _scan(self, loop: int, node_pos: int, key: tuple[object, ...], start: int, rec: _Recording) -> int | None:
        for pos, kids in self.nodes[loop].children:
            if pos < node_pos:
                continue
            for child in kids:
                spec = self.nodes[child]
                if spec.kind == "segment":
                    hit = self._try_segment(loop, child, key, rec)
                else:
                    hit = self._try_loop(child, key, rec)
                if hit is not None:
                    return hit
        return None

    def _need(self, seg_node: int, counted: int, rec: _Recording) -> None:
        """A required node passed over: an error only if pyx12 later flushes it."""
        rec.missing.append(_Missing(seg_node, len(rec.ops)))
        rec.ops.append((NEED, self.pid[counted], 0))

    def _flush(self, cur_pos: int | None, rec: _Recording) -> None:
        keep = []
        for m in rec.missing:
            if cur_pos is None or self.nodes[m.node].pos != cur_pos:
                m.active = True
            else:
                keep.append(m)
        rec.missing = keep

    def _try_segment(self, loop: int, child: int, key: tuple[object, ...], rec: _Recording) -> int | None:
        spec = self.nodes[child]
        if self._matches(spec, key):
            if self.nodes[loop].kind == "loop" and self._loop_match(loop, key, rec):
                return self._goto(loop, key, rec)
            rec.ops.append((INC, self.pid[child], 0))
            if spec.usage == "N":
                rec.ops.append((FAIL, 0, 0))
            else:
                rec.ops.append((MAX, self.pid[child], spec.max_repeat))
            rec.missing = [m for m in rec.missing if m.node != child]
            self._flush(spec.pos, rec)
            return child
        if spec.usage == "R":
            self._need(child, child, rec)
        return None

    def _try_loop(self, child: int, key: tuple[object, ...], rec: _Recording) -> int | None:
        if not self._loop_match(child, key, rec):
            return None
        return self._goto(child, key, rec)

    def _loop_match(self, loop: int, key: tuple[object, ...], rec: _Recording) -> bool:
        spec = self.nodes[loop]
        if not spec.children:
            return False
        first = spec.first_node
        if self.nodes[first].kind != "segment":
            for _, kids in spec.children:
                for c in kids:
                    if self.nodes[c].kind == "loop" and self._loop_match(c, key, rec):
                        return True
            return False
        if self._matches(self.nodes[first], key):
            return True
        if spec.usage == "R":
            self._need(first, loop, rec)
        return False

    def _goto(self, loop: int, key: tuple[object, ...], rec: _Recording) -> int:
        spec = self.nodes[loop]
        first = spec.first_seg
        if first >= 0 and self._matches(self.nodes[first], key):
            if spec.usage == "N":
                rec.ops.append((FAIL, 0, 0))
            else:
                rec.ops.append((RESET, self.pid[loop], 0))
                rec.ops.append((INC, self.pid[loop], 0))
                rec.ops.append((MAX, self.pid[loop], spec.max_repeat))
            rec.ops.append((INC, self.pid[first], 0))
            self._flush(None, rec)
            return first
        for _, kids in spec.children:
            for c in kids:
                if self.nodes[c].kind != "loop":
                    continue
                found = self._goto(c, key, rec)
                if found >= 0:
                    return found
        return -1


def compile_ops(ops: Sequence[Op], paths: PathIds) -> Callable[[dict[int, int]], bool]:
    """Return a function applying ``ops`` to the counters (what :func:`run_ops` does, without dispatch).

    A file has a few dozen distinct transitions and each runs thousands of times,
    so each becomes straight-line Python once.
    """
    lines = ["def step(counts):", "    ok = True", "    get = counts.get"]
    env: dict[str, object] = {}
    for n, (code, pid, limit) in enumerate(ops):
        if code == INC:
            lines.append(f"    counts[{pid}] = get({pid}, 0) + 1")
        elif code == MAX:
            lines.append(f"    if get({pid}, 0) > {limit}: ok = False")
        elif code == NEED:
            lines.append(f"    if get({pid}, 0) < 1: ok = False")
        elif code == RESET:
            env[f"live{n}"] = paths.live_below(pid)
            lines.append(f"    for k in live{n}:")
            lines.append("        if k in counts: del counts[k]")
        else:
            lines.append("    ok = False")
    lines.append("    return ok")
    exec("\n".join(lines), env)  # noqa: S102 - source built above from integers only
    return env["step"]  # type: ignore[return-value]


def run_ops(ops: Sequence[Op], counts: dict[int, int], paths: PathIds) -> bool:
    """Apply operations to the live counters; return False when pyx12 would report.

    For the rare operations outside recorded transitions (ISA and GS forcing the walker,
    the end of a diagnosed transaction set): a reset here forgets every known path below
    the loop, counted by a transition or not.
    """
    ok = True
    for code, pid, limit in ops:
        if code == INC:
            counts[pid] = counts.get(pid, 0) + 1
        elif code == MAX:
            if counts.get(pid, 0) > limit:
                ok = False
        elif code == NEED:
            if counts.get(pid, 0) < 1:
                ok = False
        elif code == RESET:
            # Forget the counts below the loop (few are live at a time: look at those).
            below = paths.below(pid)
            for k in [k for k in counts if k in below]:
                del counts[k]
        else:
            ok = False
    return ok
