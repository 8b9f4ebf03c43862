"""Compile a pyx12 map (the project's derived PACDR maps, pyx12's control and 999 maps) into tables.

The compiled form is plain data: one record per map node (loops and segments,
with usage, position, repeat, the counting path pyx12 uses and how pyx12 tells
same-named segments apart) and, per segment, a description of every element
good enough to build one regular expression that accepts only segments pyx12
accepts. Reading the map needs pyx12 (it resolves data elements, external code
lists and the derived maps' differences); the result is cached as JSON next to
the derived maps, so later runs start without loading pyx12's map objects.

Soundness comes first: a value pattern describes a *subset* of what pyx12
accepts. Anything this module cannot express exactly (an unusual data type,
a code list entry pyx12 itself rejects) is left out, so such a segment fails the
fast check and is diagnosed by pyx12's own element checks instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendpro.errors import MapError
from sendpro.tempfiles import atomic_write_text

#: Bump when the compiled form or its derivation changes, so caches rebuild.
COMPILER_VERSION = "1"

#: Types whose value check the compiler expresses as a pattern; others are left to pyx12.
_KNOWN_TYPES = {"AN", "ID", "R", "DT", "TM"}


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """What one simple element or component accepts (see :func:`build_value_spec`)."""

    #: AN, ID, N (any N0-N9), R, DT, TM; "" when the type cannot be expressed.
    kind: str
    min_len: int
    max_len: int
    #: Codes pyx12 accepts for the element (its own list plus an external list); None: any value.
    codes: tuple[str, ...] | None
    #: The map's own regular expression (pyx12 searches it in the value); None when the map has none.
    res: str | None
    #: For a 1251 element, the 1250 qualifiers whose formats the value must match one of.
    formats: tuple[str, ...] = ()


def _value_spec(node: Any, formats: tuple[str, ...] = ()) -> ValueSpec:
    """Describe a pyx12 ``element_if``: codes are filtered through pyx12's own element check."""
    import pyx12.segment

    dtype = str(node.get_data_type() or "")
    kind = "N" if dtype.startswith("N") else dtype
    if kind not in _KNOWN_TYPES and kind != "N":
        kind = ""
    codes: tuple[str, ...] | None = None
    pool: list[str] = list(node.valid_codes)
    external = node.external_codes
    if external is not None:
        ext = node.root.ext_codes
        if external in ext.exclude_list:
            pool = []
            external = None  # pyx12 accepts any value for an excluded list
        elif external in ext.codes:
            pool += sorted(c for c in ext.codes[external]["codes"] if c)
        else:
            kind = ""  # pyx12 would raise on an undefined list: leave it to pyx12
    if pool or external is not None:
        accepted = []
        for code in dict.fromkeys(pool):
            ok, _ = node.is_valid_errors(pyx12.segment.Element(code))
            if ok:
                accepted.append(code)
        codes = tuple(accepted)
    return ValueSpec(kind, int(node.min_len), int(node.max_len), codes, node.res or None, formats)


@dataclass(frozen=True, slots=True)
class ElementSpec:
    """One element position of a segment: a simple element or a composite."""

    usage: str
    #: One spec for a simple element; the components' specs for a composite.
    values: tuple[ValueSpec, ...]
    composite: bool
    #: Component usages (composites only).
    component_usage: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchRule:
    """How pyx12's ``is_match`` tells this segment from a same-named one.

    ``where`` is ``""`` (the id alone), ``"01"``, ``"01-1"``, ``"02"`` or ``"03"``.
    """

    where: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A map node in the compiled table (index = position in :attr:`CompiledMap.nodes`)."""

    kind: str  # "root", "loop", "segment"
    id: str
    name: str
    usage: str
    pos: int
    max_repeat: int
    #: pyx12's counting key (its ``x12path`` formatted); same-named twins share it.
    path: str
    parent: int
    #: Children grouped by position, in position order: ((pos, (child, ...)), ...).
    children: tuple[tuple[int, tuple[int, ...]], ...] = ()
    first_node: int = -1
    first_seg: int = -1
    match: MatchRule | None = None
    elements: tuple[ElementSpec, ...] = ()
    #: Syntax rules as pyx12 splits them: ("P", 3, 4), ("C", 1, 2, 3), ...
    syntax: tuple[tuple[Any, ...], ...] = ()
    #: Whether one of the loop's first child is a loop (pyx12 matches such wrapper loops by any child).
    wrapper: bool = False


@dataclass(frozen=True, slots=True)
class CompiledMap:
    """A compiled map: its nodes, the map's id (``837``, ``999``) and file name."""

    file: str
    map_id: str
    #: The map's interchange version (ISA12), which picks pyx12's character set.
    icvn: str
    nodes: tuple[NodeSpec, ...]

    def node_by_path(self, path: str) -> int:
        """Return the index of the node whose pyx12 path is ``path``.

        Raises:
            MapError: no node has that path.
        """
        for i, node in enumerate(self.nodes):
            if node.path == path:
                return i
        raise MapError(f"compiled map {self.file} has no node {path}")


def _match_rule(seg: Any) -> MatchRule | None:
    """Mirror ``segment_if._resolve_unique_key_field(with_qual=False)``: where the qualifier sits."""
    key = seg._resolve_unique_key_field(seg.id, with_qual=False)
    if key is None:
        return None
    child, ele_idx, subele_idx = key
    where = f"{ele_idx:02d}-{subele_idx}" if subele_idx else f"{ele_idx:02d}"
    return MatchRule(where, tuple(sorted(c for c in child._valid_codes_set if c is not None)))


def _element_specs(seg: Any) -> tuple[ElementSpec, ...]:
    out: list[ElementSpec] = []
    formats: list[str] = []
    for child in seg.children:
        if child.is_composite():
            out.append(
                ElementSpec(
                    str(child.usage),
                    tuple(_value_spec(c) for c in child.children),
                    True,
                    tuple(str(c.usage) for c in child.children),
                )
            )
            continue
        spec = _value_spec(child, tuple(formats) if child.data_ele == "1251" else ())
        if child.data_ele == "1250":
            formats.extend(str(c) for c in child.valid_codes)
        out.append(ElementSpec(str(child.usage), (spec,), False))
    return tuple(out)


def map_nodes(root: Any) -> list[Any]:
    """Return a pyx12 map's loops and segments in the compiled table's order (pre-order, by position)."""
    out: list[Any] = []

    def visit(node: Any) -> None:
        out.append(node)
        if not node.is_segment():
            for pos in sorted(node.pos_map):
                for child in node.pos_map[pos]:
                    visit(child)

    visit(root)
    return out


def compile_pyx12_map(root: Any, file: str) -> CompiledMap:
    """Compile a loaded pyx12 ``map_if`` into a :class:`CompiledMap`."""
    nodes: list[NodeSpec | None] = []
    index: dict[int, int] = {}

    def visit(node: Any, parent: int) -> int:
        me = len(nodes)
        nodes.append(None)
        index[id(node)] = me
        groups: list[tuple[int, tuple[int, ...]]] = []
        if not node.is_segment():
            for pos in sorted(node.pos_map):
                groups.append((pos, tuple(visit(child, me) for child in node.pos_map[pos])))
        if node.is_map_root():
            kind = "root"
        elif node.is_loop():
            kind = "loop"
        else:
            kind = "segment"
        first_node = first_seg = -1
        wrapper = False
        if kind != "segment" and groups:
            first_node = groups[0][1][0]
            first = node.get_first_node()
            wrapper = bool(first is not None and first.is_loop())
            fs = node.get_first_seg()
            first_seg = index[id(fs)] if fs is not None else -1
        max_repeat = node.get_max_repeat() if kind != "root" else 1
        nodes[me] = NodeSpec(
            kind=kind,
            id=str(node.id or ""),
            name=str(node.name or ""),
            usage=str(node.usage or ""),
            pos=int(node.pos) if kind != "root" else 0,
            max_repeat=int(max_repeat),
            path=node.x12path.format() if kind != "root" else "/",
            parent=parent,
            children=tuple(groups),
            first_node=first_node,
            first_seg=first_seg,
            match=_match_rule(node) if kind == "segment" else None,
            elements=_element_specs(node) if kind == "segment" else (),
            syntax=tuple(tuple(s) for s in node.syntax) if kind == "segment" else (),
            wrapper=wrapper,
        )
        return me

    visit(root, -1)
    return CompiledMap(file, str(root.id or ""), str(root.icvn or "00401"), tuple(n for n in nodes if n is not None))


# -- JSON cache -------------------------------------------------------------------------------------


def _to_json(cmap: CompiledMap) -> dict[str, Any]:
    def value(v: ValueSpec) -> dict[str, Any]:
        return {
            "kind": v.kind,
            "min": v.min_len,
            "max": v.max_len,
            "codes": list(v.codes) if v.codes is not None else None,
            "res": v.res,
            "formats": list(v.formats),
        }

    def node(n: NodeSpec) -> dict[str, Any]:
        return {
            "kind": n.kind,
            "id": n.id,
            "name": n.name,
            "usage": n.usage,
            "pos": n.pos,
            "max": n.max_repeat,
            "path": n.path,
            "parent": n.parent,
            "children": [[p, list(c)] for p, c in n.children],
            "first_node": n.first_node,
            "first_seg": n.first_seg,
            "match": [n.match.where, list(n.match.codes)] if n.match else None,
            "elements": [
                {
                    "usage": e.usage,
                    "composite": e.composite,
                    "component_usage": list(e.component_usage),
                    "values": [value(v) for v in e.values],
                }
                for e in n.elements
            ],
            "syntax": [list(s) for s in n.syntax],
            "wrapper": n.wrapper,
        }

    return {"file": cmap.file, "map_id": cmap.map_id, "icvn": cmap.icvn, "nodes": [node(n) for n in cmap.nodes]}


def _from_json(data: dict[str, Any]) -> CompiledMap:
    def value(v: dict[str, Any]) -> ValueSpec:
        codes = v["codes"]
        return ValueSpec(
            str(v["kind"]),
            int(v["min"]),
            int(v["max"]),
            tuple(codes) if codes is not None else None,
            v["res"],
            tuple(v["formats"]),
        )

    nodes = []
    for n in data["nodes"]:
        match = n["match"]
        nodes.append(
            NodeSpec(
                kind=n["kind"],
                id=n["id"],
                name=n["name"],
                usage=n["usage"],
                pos=int(n["pos"]),
                max_repeat=int(n["max"]),
                path=n["path"],
                parent=int(n["parent"]),
                children=tuple((int(p), tuple(int(x) for x in c)) for p, c in n["children"]),
                first_node=int(n["first_node"]),
                first_seg=int(n["first_seg"]),
                match=MatchRule(match[0], tuple(match[1])) if match else None,
                elements=tuple(
                    ElementSpec(
                        e["usage"],
                        tuple(value(v) for v in e["values"]),
                        bool(e["composite"]),
                        tuple(e["component_usage"]),
                    )
                    for e in n["elements"]
                ),
                syntax=tuple(tuple(s) for s in n["syntax"]),
                wrapper=bool(n["wrapper"]),
            )
        )
    return CompiledMap(str(data["file"]), str(data["map_id"]), str(data["icvn"]), tuple(nodes))


def load_compiled(map_dir: Path, file: str, pyx12_version: str) -> CompiledMap:
    """Return the compiled form of map ``file`` in ``map_dir``, compiling and caching it once.

    The cache file's name carries a digest of the map file, its data element and
    code list files, pyx12's version and :data:`COMPILER_VERSION`; the derived map
    directory itself is already keyed by the differences in ``schemas/maps``.

    Raises:
        MapError: the map cannot be read.
    """
    source = map_dir / file
    digest = hashlib.sha256(f"{COMPILER_VERSION}|{pyx12_version}|{file}|".encode())
    try:
        for part in (source, map_dir / "dataele.xml", map_dir / "codes.xml"):
            digest.update(part.read_bytes())
    except OSError as exc:
        raise MapError(f"map {file} cannot be read: {exc}") from None
    cache = map_dir / "compiled" / f"{source.stem}.{digest.hexdigest()[:16]}.json"
    if cache.is_file():
        try:
            return _from_json(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt below
    import pyx12.map_if
    import pyx12.params

    try:
        root = pyx12.map_if.load_map_file(file, pyx12.params.params(), str(map_dir))
    except Exception as exc:  # pyx12 raises several kinds on a bad map
        raise MapError(f"map {file} cannot be loaded: {exc}") from None
    cmap = compile_pyx12_map(root, file)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps(_to_json(cmap), separators=(",", ":")))
    except OSError:
        pass  # a read-only cache directory only costs the compile next time
    return cmap
