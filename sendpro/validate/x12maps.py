"""Derive the project's pyx12 maps (PACDR guides) from the maps the installed pyx12 carries.

pyx12 ships no PACDR map. Rather than copy its map files into the repository,
sendpro builds them at run time: it loads a base map from the installed pyx12
package (for the professional PACDR guide, the 837P X222A1 map), applies the
declared, reviewable differences in ``schemas/maps/<guide>.toml`` with lxml, and
writes the result, together with the rest of pyx12's map set and an extended
``maps.xml`` index, into a cache directory that pyx12 can take as ``map_path``.

The cache key covers the pyx12 version, the difference files and this module's
format version, so a changed difference file or a pyx12 upgrade rebuilds it.

Changes set ``usage``, ``codes`` (replace) or ``add_codes``, ``max_use``,
``repeat`` and ``name``; structural changes ``insert_after`` / ``insert_before``
(an XML snippet of a new segment, loop or element, written from the X12
standard's facts, placed next to the node the path names; pyx12 orders nodes by
their ``<pos>``) and ``remove = true``.

Difference file format (TOML)::

    [map]
    guide = "005010X298A1"            # GS08/ST03 value the map is registered under
    base = "837.5010.X222.A1.xml"     # a map file of the installed pyx12
    file = "837.5010.X298.A1.xml"     # the derived map's file name
    name = "..."                      # the derived map's title

    [[change]]
    path = "**/2300/CLM/CLM06"        # loops, a segment (optionally SEG[QUAL]), an element
    all = true                        # the 837P map holds 2300 twice (under 2000B and 2000C)
    usage = "S"                       # and/or codes / add_codes / max_use / repeat / name
    why = "PACDR claims carry no signature or assignment indicators"

A path step names a direct child by ``xid`` (loops, segments, elements;
the grouping loops ISA_LOOP, GS_LOOP, ST_LOOP, HEADER and DETAIL are looked
through); ``**`` stands for any depth; ``SEG[QUAL]`` picks the segment whose
qualifier element lists ``QUAL``. A path that matches nothing is an error, and so
is one that matches several nodes unless the change says ``all = true``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from sendpro.errors import MapError
from sendpro.resources import schemas_dir

#: Bump when the derivation logic changes, so caches rebuild.
FORMAT_VERSION = "1"

_STEP = re.compile(r"^(?P<xid>[A-Za-z0-9_-]+)(?:\[(?P<qual>[A-Za-z0-9]+)\])?$")
_ALLOWED_KEYS = {
    "path",
    "all",
    "usage",
    "codes",
    "add_codes",
    "max_use",
    "repeat",
    "name",
    "insert_after",
    "insert_before",
    "remove",
    "why",
}
_XML = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class MapDiff:
    """A parsed difference file."""

    source: Path
    guide: str
    base: str
    file: str
    name: str
    changes: tuple[dict[str, Any], ...]


def load_diff(path: Path) -> MapDiff:
    """Load and check a difference file.

    Raises:
        MapError: the file is unreadable or a change is malformed.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MapError(f"map difference file {path} cannot be read: {exc}") from None
    meta = data.get("map")
    if not isinstance(meta, dict) or not all(k in meta for k in ("guide", "base", "file")):
        raise MapError(f"{path}: needs a [map] table with guide, base and file")
    changes = data.get("change", [])
    for i, ch in enumerate(changes, start=1):
        unknown = set(ch) - _ALLOWED_KEYS
        if unknown:
            raise MapError(f"{path}: change #{i} has unknown key(s) {', '.join(sorted(unknown))}")
        if "path" not in ch or "why" not in ch:
            raise MapError(f"{path}: change #{i} needs a path and a why")
        if len(set(ch) - {"path", "why", "all"}) == 0:
            raise MapError(f"{path}: change #{i} ({ch['path']}) changes nothing")
    return MapDiff(
        path,
        str(meta["guide"]),
        str(meta["base"]),
        str(meta["file"]),
        str(meta.get("name", meta["guide"])),
        tuple(changes),
    )


def _qualifier_codes(segment: etree._Element) -> set[str]:
    """Return the codes of the segment's first coded element (how pyx12 tells twins apart)."""
    for element in segment.iter("element"):
        codes = element.find("valid_codes")
        if codes is not None and len(codes):
            return {c.text or "" for c in codes.findall("code")}
    return set()


def _children(node: etree._Element) -> list[etree._Element]:
    """Return the map children of ``node``, looking through wrapper and explicit loops.

    ISA_LOOP, GS_LOOP, ST_LOOP, HEADER and DETAIL only group things; paths skip them.
    """
    out: list[etree._Element] = []
    for child in node:
        if child.tag not in ("loop", "segment", "element", "composite"):
            continue
        if child.tag == "loop" and child.get("type") in ("wrapper", "explicit"):
            out.append(child)
            out.extend(_children(child))
        else:
            out.append(child)
    return out


def _descendants(node: etree._Element) -> list[etree._Element]:
    out: list[etree._Element] = []
    for child in _children(node):
        out.append(child)
        out.extend(_descendants(child))
    return out


def resolve(root: etree._Element, path: str, many: bool = False) -> list[etree._Element]:
    """Return the map node(s) ``path`` names (see the module docstring).

    Steps name direct children (loops, segments, elements); ``**`` stands for
    any number of levels in between.

    Raises:
        MapError: no node matches, or several do and ``many`` is False.
    """
    nodes = [root]
    deep = False
    for step in path.split("/"):
        if step == "**":
            deep = True
            continue
        m = _STEP.match(step)
        if not m:
            raise MapError(f"map path {path!r}: step {step!r} is not XID, XID[QUALIFIER] or **")
        xid, qual = m.group("xid"), m.group("qual")
        found: list[etree._Element] = []
        for node in nodes:
            pool = _descendants(node) if deep else _children(node)
            for cand in pool:
                if cand.get("xid") != xid:
                    continue
                if qual is not None and qual not in _qualifier_codes(cand):
                    continue
                if not any(cand is f for f in found):
                    found.append(cand)
        deep = False
        if not found:
            raise MapError(f"map path {path!r}: nothing matches step {step!r}")
        nodes = found
    if len(nodes) != 1 and not many:
        raise MapError(f"map path {path!r} matches {len(nodes)} nodes; add a parent loop, a [QUALIFIER] or all = true")
    return nodes


def _set_text(node: etree._Element, tag: str, value: str) -> None:
    child = node.find(tag)
    if child is None:
        raise MapError(f"map node {node.get('xid')} has no <{tag}> to change")
    child.text = value


def _set_codes(node: etree._Element, codes: Iterable[str], replace: bool) -> None:
    if node.tag != "element":
        raise MapError(f"codes can only be set on elements, not {node.tag} {node.get('xid')}")
    holder = node.find("valid_codes")
    if holder is None:
        holder = etree.SubElement(node, "valid_codes")
        # pyx12's schema wants valid_codes after seq; SubElement appends at the end, which is where it sits.
    if replace:
        for child in list(holder):
            holder.remove(child)
    existing = {c.text for c in holder.findall("code")}
    for code in codes:
        if code not in existing:
            etree.SubElement(holder, "code").text = code
            existing.add(code)


def apply_diff(tree: etree._ElementTree, diff: MapDiff) -> None:
    """Apply every change of ``diff`` to ``tree`` in place.

    Raises:
        MapError: a change does not apply.
    """
    root = tree.getroot()
    name = root.find("name")
    if name is not None:
        name.text = diff.name
    for change in diff.changes:
        for node in resolve(root, str(change["path"]), many=bool(change.get("all", False))):
            _apply_change(node, change, diff)


def _snippet(text: str, where: str) -> etree._Element:
    """Parse an XML snippet of a new map node (a segment, loop or element)."""
    try:
        node = etree.fromstring(text.strip(), _XML)
    except etree.XMLSyntaxError as exc:
        raise MapError(f"{where}: the inserted XML is not well formed: {exc}") from None
    if node.tag not in ("segment", "loop", "element", "composite") or not node.get("xid"):
        raise MapError(f"{where}: an inserted node must be a segment, loop, element or composite with an xid")
    return node


def _apply_change(node: etree._Element, change: dict[str, Any], diff: MapDiff) -> None:
    """Apply one change's settings to one map node."""
    try:
        if "insert_after" in change or "insert_before" in change:
            parent = node.getparent()
            if parent is None:
                raise MapError("cannot insert next to the map root")
            index = list(parent).index(node)
            if "insert_before" in change:
                parent.insert(index, _snippet(str(change["insert_before"]), str(change["path"])))
            if "insert_after" in change:
                parent.insert(
                    index + 1 + ("insert_before" in change), _snippet(str(change["insert_after"]), str(change["path"]))
                )
        if change.get("remove"):
            parent = node.getparent()
            if parent is None:
                raise MapError("cannot remove the map root")
            parent.remove(node)
            return
        if "usage" in change:
            if change["usage"] not in ("R", "S", "N"):
                raise MapError(f"usage must be R, S or N, not {change['usage']!r}")
            _set_text(node, "usage", str(change["usage"]))
        if "codes" in change:
            _set_codes(node, [str(c) for c in change["codes"]], replace=True)
        if "add_codes" in change:
            _set_codes(node, [str(c) for c in change["add_codes"]], replace=False)
        if "max_use" in change:
            _set_text(node, "max_use", str(change["max_use"]))
        if "repeat" in change:
            _set_text(node, "repeat", str(change["repeat"]))
        if "name" in change:
            _set_text(node, "name", str(change["name"]))
    except MapError as exc:
        raise MapError(f"{diff.source}: change {change['path']}: {exc}") from None


def diff_files() -> list[Path]:
    """Return the difference files in ``schemas/maps``."""
    return sorted((schemas_dir() / "maps").glob("*.toml"))


def _cache_root() -> Path:
    base = os.environ.get("SENDPRO_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    if os.environ.get("SENDPRO_CACHE_DIR"):
        return root
    return root / "sendpro"


def build_map_dir(pyx12_map_dir: Path, pyx12_version: str, target_root: Path | None = None) -> Path:
    """Return a pyx12 map directory holding pyx12's maps plus the derived ones, building it once.

    Raises:
        MapError: a base map is missing or a difference does not apply.
    """
    diffs = [load_diff(p) for p in diff_files()]
    digest = hashlib.sha256()
    digest.update(f"{FORMAT_VERSION}|{pyx12_version}|".encode())
    for d in diffs:
        digest.update(d.source.read_bytes())
    key = digest.hexdigest()[:16]
    root = target_root or _cache_root() / "pyx12-maps"
    final = root / key
    if (final / "maps.xml").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        for src in pyx12_map_dir.iterdir():
            if src.suffix in (".xml", ".xsd", ".dtd"):
                shutil.copyfile(src, work / src.name)
        index = etree.parse(str(work / "maps.xml"))
        version = index.getroot().find("version[@icvn='00501']")
        if version is None:
            raise MapError("pyx12's maps.xml has no 00501 version entry")
        parser = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True)
        for d in diffs:
            base = pyx12_map_dir / d.base
            if not base.is_file():
                raise MapError(f"{d.source}: base map {d.base} is not in the installed pyx12 ({pyx12_version})")
            tree = etree.parse(str(base), parser)
            apply_diff(tree, d)
            tree.write(str(work / d.file), xml_declaration=True, encoding="utf-8")
            for old in version.findall(f"map[@vriic='{d.guide}']"):
                version.remove(old)
            entry = etree.SubElement(version, "map", vriic=d.guide, fic="HC", abbr=f"837-{d.guide[-6:-2]}")
            entry.text = d.file
        index.write(str(work / "maps.xml"), xml_declaration=True, encoding="utf-8")
        try:
            work.rename(final)
        except OSError:
            # Another process built the same maps first; use theirs.
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final
