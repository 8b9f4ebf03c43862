"""The only module that imports pyx12: validate an X12 file and turn pyx12's findings into issues.

pyx12 reports acknowledgment codes (TA1 for the interchange, IK5/AK9 for
transactions and groups, IK304 for segments, IK403 for elements). This bridge
assigns them public sendpro codes (``PXnnn``) and keeps the original code in the
issue's ``detail``. pyx12 logs every error (with values, which may be PHI) through
the ``pyx12`` logger; the bridge keeps those records out of sendpro's output.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyx12
import pyx12.errors
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.segment
import pyx12.x12n_document

from sendpro.errors import MapError
from sendpro.report.issue import Category, Issue, Location, Severity
from sendpro.validate.x12maps import build_map_dir
from sendpro.x12.validator.compiler import map_nodes
from sendpro.x12.validator.engine import CompiledValidator, open_text
from sendpro.x12.validator.patterns import Separators

#: The validators ``--validator`` chooses between.
VALIDATORS = ("compiled", "pyx12")


def px_code(level: str, ack_code: str) -> str:
    """Return the public sendpro code for a pyx12 finding.

    ``PX001``/``PX002``/``PX003`` interchange, group and transaction errors;
    ``PX1nn`` segment errors (IK304 code nn); ``PX2nn`` element errors (IK403
    code nn); ``PX3nn`` element errors with implementation codes ``Inn``.
    """
    if level == "isa":
        return "PX001"
    if level == "gs":
        return "PX002"
    if level == "st":
        return "PX003"
    digits = ack_code.lstrip("I")
    if not digits.isdigit():
        return "PX100" if level == "seg" else "PX200"
    n = int(digits)
    if level == "seg":
        return f"PX1{n:02d}"
    return f"PX3{n:02d}" if ack_code.startswith("I") else f"PX2{n:02d}"


_SEGMENT_TEXT = re.compile(r"Segment (?P<seg>[A-Z0-9]{2,3})\*(?P<data>.*?) not found")
_ISA_TEXT = re.compile(r"\(ISA\*.*\)")


def redact(message: str, value: str | None) -> tuple[str, str | None]:
    """Remove data values from a pyx12 message; return the message and a value it held.

    pyx12 quotes the offending value in its text (``(19930532)``, ``len("...")``)
    and, for unexpected segments, the segment's first element. They may be PHI;
    the issue keeps the value separately, shown only when values are requested.
    """
    found = None
    if value:
        message = message.replace(f"({value})", "").replace(f'"{value}"', "<value>")
    seg = _SEGMENT_TEXT.search(message)
    if seg:
        found = seg.group("data")
        message = _SEGMENT_TEXT.sub(lambda m: f"Segment {m.group('seg')} not found", message)
    message = _ISA_TEXT.sub("(ISA)", message)
    return " ".join(message.split()), found


def pyx12_version() -> str:
    """Return the installed pyx12 version."""
    return importlib.metadata.version("pyx12")


def pyx12_map_dir() -> Path:
    """Return the map directory inside the installed pyx12 package."""
    return Path(pyx12.__file__).resolve().parent / "map"


def project_map_dir(cache_root: Path | None = None) -> Path:
    """Return a pyx12 map directory with sendpro's derived PACDR maps (built once, cached).

    Raises:
        MapError: the maps cannot be derived.
    """
    return build_map_dir(pyx12_map_dir(), pyx12_version(), cache_root)


@contextlib.contextmanager
def _quiet_pyx12() -> Iterator[None]:
    """Keep pyx12's log records (which carry element values) out of every handler."""
    logger = logging.getLogger("pyx12")
    saved = (logger.propagate, logger.level, list(logger.handlers))
    logger.propagate = False
    logger.handlers = [logging.NullHandler()]
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.propagate, level, logger.handlers = saved[0], saved[1], saved[2]
        logger.setLevel(level)


def _issue(
    level: str,
    ack: str,
    message: str,
    file: str,
    line: int | None,
    path: str | None,
    value: str | None = None,
    detail: dict[str, str] | None = None,
) -> Issue:
    code = px_code(level, ack)
    message, found = redact(message, value)
    value = value or found
    return Issue(
        code=code,
        severity=Severity.ERROR,
        message=message,
        location=Location(file=file, record_no=line, x12_path=path),
        rule_name=f"x12.{level}",
        category=Category.X12,
        detail={"ack_code": ack, "level": level, **(detail or {})},
        value=value,
    )


def _walk(doc: dict[str, Any], file: str) -> Iterator[Issue]:
    for isa in doc.get("interchanges", []):
        for err in isa.get("errors", []):
            yield _issue(
                "isa",
                str(err["err_cde"]),
                f"interchange: {err['err_str']}",
                file,
                isa.get("cur_line"),
                "ISA",
            )
        for gs in isa.get("groups", []):
            for err in gs.get("errors", []):
                yield _issue(
                    "gs",
                    str(err["err_cde"]),
                    f"functional group: {err['err_str']}",
                    file,
                    gs.get("cur_line"),
                    "GS",
                )
            for st in gs.get("transactions", []):
                for err in st.get("errors", []):
                    yield _issue(
                        "st",
                        str(err["err_cde"]),
                        f"transaction set: {err['err_str']}",
                        file,
                        st.get("cur_line"),
                        "ST",
                    )
                for seg in st.get("segments", []):
                    seg_id = seg.get("seg_id") or "?"
                    for err in seg.get("errors", []):
                        yield _issue(
                            "seg",
                            str(err["err_cde"]),
                            str(err["err_str"]),
                            file,
                            seg.get("cur_line"),
                            seg_id,
                            err.get("err_val"),
                            {"segment_name": str(seg.get("name") or "")},
                        )
                    for ele in seg.get("elements", []):
                        pos = ele.get("ele_pos")
                        sub = ele.get("subele_pos")
                        ref = f"{seg_id}{int(pos):02d}" if pos is not None else seg_id
                        if sub:
                            ref += f"-{int(sub):02d}"
                        for err in ele.get("errors", []):
                            yield _issue(
                                "ele",
                                str(err["err_cde"]),
                                str(err["err_str"]),
                                file,
                                seg.get("cur_line"),
                                ref,
                                err.get("err_val"),
                                {"element": str(ele.get("ele_ref_num") or "")},
                            )


def run_pyx12(stream: Any, map_dir: Path) -> tuple[bool, dict[str, Any]]:
    """Run pyx12 over an open X12 text stream; return (valid, its findings as a document).

    The document mirrors the envelope (interchanges, groups, transaction sets,
    segments, elements) with pyx12's acknowledgment codes: :func:`validate_x12`
    turns it into issues, :mod:`sendpro.x12.ack999` into a 999.

    pyx12 stops with an exception on some damaged files (a composite with more
    components than its map defines, a GE01 that is not a number, a date range
    with two dashes): such a stop becomes one interchange finding naming the last
    segment pyx12 read, never an internal error.

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
        pyx12.errors.X12Error: the file cannot be read as X12.
    """
    buffer = io.StringIO()
    last = [0]

    def progress(seg: Any, src: Any, node: Any, valid: bool) -> None:
        last[0] = src.get_cur_line()

    with _quiet_pyx12():
        try:
            ok = pyx12.x12n_document.x12n_document(
                pyx12.params.params(), stream, None, None, fd_json=buffer, map_path=str(map_dir), callback=progress
            )
        except pyx12.errors.EngineError as exc:
            raise MapError(f"pyx12 cannot validate it: {exc}") from None
        except pyx12.errors.X12Error:
            raise
        except Exception as exc:  # pyx12 defects on damaged input: a finding, not a crash
            line = last[0] + 1
            return False, {
                "interchanges": [
                    {
                        "cur_line": line,
                        "errors": [
                            {
                                "err_cde": "000",
                                "err_str": f"pyx12 cannot check the file from segment {line} on "
                                f"(it stops there with {type(exc).__name__}); fix that segment and validate again",
                            }
                        ],
                        "groups": [],
                    }
                ]
            }
    text = buffer.getvalue()
    doc = json.loads(text) if text else {"interchanges": []}
    return bool(ok), doc


def x12_findings(path: Path, map_dir: Path | None = None) -> tuple[bool, dict[str, Any]]:
    """Run pyx12 over an X12 file (bytes that are not ASCII read as invalid characters); see :func:`run_pyx12`.

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
        pyx12.errors.X12Error: the file cannot be read as X12.
    """
    maps = map_dir or project_map_dir()
    with open_text(path) as stream:
        return run_pyx12(stream, maps)


@contextlib.contextmanager
def maps_loaded_once(loaded: dict[tuple[str, str | None], Any]) -> Iterator[None]:
    """While the block runs, pyx12 loads each map once into ``loaded`` (by file and map directory).

    pyx12 parses its XML maps for every file it reads (about 0.25 s for an 837 map).
    A loaded map is never changed by a run (pyx12 keeps its counts in its walker), so
    maps can be lent to later runs: the findings are the same.
    """
    original = pyx12.map_if.load_map_file

    def load_map_file(map_file: str, param: Any, map_path: str | None = None) -> Any:
        key = (map_file, map_path)
        root = loaded.get(key)
        if root is None:
            root = original(map_file, param, map_path)
            loaded[key] = root
        return root

    pyx12.map_if.load_map_file = load_map_file
    try:
        yield
    finally:
        pyx12.map_if.load_map_file = original


class Pyx12Reference:
    """pyx12 as the compiled validator's reference: whole streams, single segments, the map index.

    Loaded maps are kept on the instance (one per map file), so a long run loads each once.
    """

    def __init__(self, map_dir: Path) -> None:
        self.map_dir = map_dir
        self._nodes: dict[str, list[Any]] = {}
        self._index: Any = None
        self._loaded: dict[tuple[str, str | None], Any] = {}

    def run(self, stream: Any) -> tuple[bool, dict[str, Any]]:
        """Run pyx12 over a stream (see :func:`run_pyx12`), each map parsed once per instance.

        A validator diagnosing many transaction sets of one file would otherwise pay
        pyx12's map parsing for each (see :func:`maps_loaded_once`).
        """
        with maps_loaded_once(self._loaded):
            return run_pyx12(stream, self.map_dir)

    def check_segment(self, file: str, node: int, text: str, seps: Separators) -> tuple[bool, bool]:
        """Check one segment with pyx12's own segment check; return (valid, pyx12 stopped on it)."""
        nodes = self._nodes.get(file)
        if nodes is None:
            with _quiet_pyx12():
                root = pyx12.map_if.load_map_file(file, pyx12.params.params(), str(self.map_dir))
            nodes = map_nodes(root)
            self._nodes[file] = nodes
        sub = seps.element if text.startswith("ISA") else seps.component
        seg = pyx12.segment.Segment(text, seps.segment, seps.element, sub)
        try:
            with _quiet_pyx12():
                ok, errors = nodes[node].is_valid_errors(seg)
        except Exception:  # e.g. pyx12's IndexError on extra components
            return False, True
        return bool(ok) and not errors, False

    def map_file(self, icvn: str, vriic: str, fic: str) -> str | None:
        """Return the map file pyx12 uses for an envelope's versions (None: pyx12 has none)."""
        if self._index is None:
            self._index = pyx12.map_index.map_index(str(self.map_dir))
        found = self._index.get_filename(icvn, vriic, fic)
        return str(found) if found else None


def compiled_validator(map_dir: Path) -> CompiledValidator:
    """Return the compiled validator for a map directory, with pyx12 as its reference."""
    ref = Pyx12Reference(map_dir)
    return CompiledValidator(map_dir, pyx12_version(), ref.run, ref.check_segment, ref.map_file)


def validate_x12(
    path: Path, map_dir: Path | None = None, label: str | None = None, validator: str = "compiled"
) -> list[Issue]:
    """Validate an X12 file against sendpro's map set; return the issues.

    ``validator`` is ``compiled`` (the default: :mod:`sendpro.x12.validator`, which
    gives pyx12's findings at a fraction of its time) or ``pyx12`` (pyx12 itself).
    An empty list means pyx12 finds nothing wrong.

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
    """
    return check_x12(path, map_dir, label, validator)[0]


def check_x12(
    path: Path, map_dir: Path | None = None, label: str | None = None, validator: str = "compiled"
) -> tuple[list[Issue], dict[str, Any] | None]:
    """Validate an X12 file; return the issues and pyx12's findings (None when it is not readable X12).

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
        ValueError: ``validator`` is not one of :data:`VALIDATORS`.
    """
    if validator not in VALIDATORS:
        raise ValueError(f"validator must be one of {', '.join(VALIDATORS)}, not {validator!r}")
    file = label or path.name
    with path.open("rb") as handle:
        if handle.read(3) != b"ISA":
            return [
                _issue(
                    "isa",
                    "000",
                    "the file does not start with an ISA segment: it is not an X12 file",
                    file,
                    1,
                    "ISA",
                )
            ], None
    maps = map_dir or project_map_dir()
    try:
        if validator == "compiled":
            ok, doc = compiled_validator(maps).validate(path)
        else:
            ok, doc = x12_findings(path, maps)
    except pyx12.errors.X12Error as exc:
        return [_issue("isa", "000", f"pyx12 cannot read the file: {exc}", file, None, None)], None
    except MapError as exc:
        raise MapError(f"{file}: {exc}") from None
    issues = list(_walk(doc, file))
    if not ok and not issues:
        issues.append(_issue("isa", "000", "pyx12 rejected the file without a detailed error", file, None, None))
    return issues, doc
