"""The only module that imports pyx12: validate an X12 file and turn pyx12's findings into issues.

pyx12 reports acknowledgment codes (TA1 for the interchange, IK5/AK9 for
transactions and groups, IK304 for segments, IK403 for elements). This bridge
assigns them public sendpro codes (``PXnnn``) and keeps the original code in the
issue's ``detail``. pyx12 logs every error (with values, which may be PHI) through
the ``pyx12`` logger; the bridge keeps those records out of sendpro's output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyx12
import pyx12.errh_json
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
from sendpro.x12.validator.engine import CompiledValidator, iter_segments, open_text
from sendpro.x12.validator.envelope import (
    ISA_LEN,
    NOTE_CONTENT,
    NOTE_STRUCTURE,
    EnvelopeProblem,
    control_problem,
    group_problem,
    header_elements,
    header_problem,
    isa_element,
    unsupported_problem,
)
from sendpro.x12.validator.explain import explain, locate
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


#: pyx12's "Segment ID*first element not found": the ID as read (any characters but the separator) and data.
_SEGMENT_TEXT = re.compile(r"Segment (?P<seg>[^*]*?)\*(?P<data>.*?) not found", re.S)
#: pyx12's 'Segment identifier "..." is invalid': whatever came before the first separator.
_SEGMENT_ID_TEXT = re.compile(r'Segment identifier "(?P<seg>.*?)" is invalid', re.S)
#: A segment ID as X12 writes them; anything else may be data run together (a lost separator).
_SEG_ID = re.compile(r"[A-Za-z0-9]{2,3}")
#: A whole ISA segment quoted in pyx12's text (its X12Error on an ISA it cannot split), not "(ISA06)".
_ISA_TEXT = re.compile(r"\(ISA(?!\d\d\)).*\)", re.S)
#: pyx12's text for a segment with no data elements (x12file): it quotes the segment.
_EMPTY_SEGMENT = re.compile(r'Segment "(?P<data>.*)" is empty', re.S)
#: Where an ISA, GS or ST element error sits: the element's reference in pyx12's text.
_ENVELOPE_REF = re.compile(r"\((?P<seg>ISA|IEA|GS|GE|ST|SE)(?P<pos>\d\d)")


def segment_label(seg_id: str) -> str:
    """Return a segment ID fit to print: itself when it looks like one, else a placeholder.

    A segment whose separators were lost reads as one long "ID" holding its data
    (possibly member data), with line breaks and other control characters.
    """
    return seg_id if _SEG_ID.fullmatch(seg_id) else "(unreadable segment ID)"


def redact(message: str, value: str | None) -> tuple[str, str | None]:
    """Remove data values from a pyx12 message; return the message and a value it held.

    pyx12 quotes the offending value in its text (``(19930532)``, ``len("...")``)
    and, for unexpected segments, the segment's first element, and for an invalid
    segment ID whatever stood before the first separator. They may be PHI; the
    issue keeps the value separately, shown only when values are requested.
    """
    found = None
    if value:
        message = message.replace(f"({value})", "").replace(f'"{value}"', "<value>")
    seg = _SEGMENT_TEXT.search(message)
    if seg:
        found = seg.group("data")
        message = _SEGMENT_TEXT.sub(lambda m: f"Segment {segment_label(m.group('seg'))} not found", message)
    seg_id = _SEGMENT_ID_TEXT.search(message)
    if seg_id and not _SEG_ID.fullmatch(seg_id.group("seg")):
        found = found or seg_id.group("seg")
        message = _SEGMENT_ID_TEXT.sub("Segment identifier <value> is invalid", message)
    empty = _EMPTY_SEGMENT.search(message)
    if empty:
        # pyx12 quotes the whole segment it found empty: its data (a stray terminator
        # leaves "NAME*~") may be member data.
        found = found or empty.group("data")
        message = _EMPTY_SEGMENT.sub("Segment is empty", message)
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


def _envelope_issues(level: str, node: dict[str, Any], file: str, label: str) -> Iterator[Issue]:
    """Issues for one interchange, group or transaction set: its own errors, then its ISA/GS/ST elements'.

    An error may name a line and segment or element of its own (``line``, ``ref``:
    what :func:`run_pyx12` and :func:`check_x12` add where pyx12 stops or cannot
    read the header); otherwise it sits on the loop's line and header segment.
    """
    header = {"isa": "ISA", "gs": "GS", "st": "ST"}[level]
    for err in node.get("errors", []):
        yield _issue(
            level,
            str(err["err_cde"]),
            f"{label}: {err['err_str']}",
            file,
            err.get("line") or node.get("cur_line"),
            err.get("ref") or header,
        )
    for ele in node.get("elements", []):
        ref = f"{ele.get('seg_id') or header}{int(ele.get('ele_pos') or 0):02d}"
        if ele.get("subele_pos"):
            ref += f"-{int(ele['subele_pos']):02d}"
        for err in ele.get("errors", []):
            yield _issue(
                level,
                str(err["err_cde"]),
                f"{label}: {err['err_str']}",
                file,
                ele.get("cur_line") or node.get("cur_line"),
                ref,
                err.get("err_val"),
                {"element": str(ele.get("ele_ref_num") or "")},
            )


def _walk(doc: dict[str, Any], file: str) -> Iterator[Issue]:
    for isa in doc.get("interchanges", []):
        yield from _envelope_issues("isa", isa, file, "interchange")
        for gs in isa.get("groups", []):
            yield from _envelope_issues("gs", gs, file, "functional group")
            for st in gs.get("transactions", []):
                yield from _envelope_issues("st", st, file, "transaction set")
                for seg in st.get("segments", []):
                    seg_id = segment_label(str(seg.get("seg_id") or "?"))
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


class _EnvelopeElementsVisitor(pyx12.errh_json.errh_json_visitor):  # type: ignore[misc]
    """pyx12's JSON visitor, also writing the element errors of ISA/IEA, GS/GE and ST/SE.

    pyx12 keeps those on the interchange, group and transaction set nodes, which its
    JSON visitor does not walk: a bad ISA06 or GE01 made the file invalid with no
    finding to say why, and a 999 that accepted it. Written as ``elements`` (only
    when there are any, so clean documents keep pyx12's shape), each with the
    segment it belongs to (from the reference in pyx12's text, e.g. ``(ISA06)``)
    and that segment's line.
    """

    def visit_isa_post(self, err_isa: Any) -> None:
        self._add_elements(err_isa, "ISA", err_isa.cur_line_isa, err_isa.cur_line_iea)
        super().visit_isa_post(err_isa)

    def visit_gs_post(self, err_gs: Any) -> None:
        self._add_elements(err_gs, "GS", err_gs.cur_line_gs, err_gs.cur_line_ge)
        super().visit_gs_post(err_gs)

    def visit_st_post(self, err_st: Any) -> None:
        self._add_elements(err_st, "ST", err_st.cur_line_st, err_st.cur_line_se)
        super().visit_st_post(err_st)

    def _add_elements(self, node: Any, header: str, header_line: int, trailer_line: int | None) -> None:
        elements = []
        for ele in getattr(node, "elements", None) or []:
            errors = [{"err_cde": c, "err_str": s, "err_val": v} for (c, s, v) in ele.errors]
            if not errors:
                continue
            ref = _ENVELOPE_REF.search(str(errors[0]["err_str"]))
            seg_id = ref.group("seg") if ref else header
            elements.append(
                {
                    "seg_id": seg_id,
                    "ele_pos": ele.ele_pos,
                    "subele_pos": ele.subele_pos,
                    "repeat_pos": ele.repeat_pos,
                    "ele_ref_num": ele.ele_ref_num,
                    "name": ele.name,
                    "cur_line": header_line if seg_id == header else (trailer_line or header_line),
                    "errors": errors,
                }
            )
        if elements:
            self._stack[-1]["elements"] = elements


@contextlib.contextmanager
def _envelope_elements_written() -> Iterator[None]:
    """While the block runs, pyx12's JSON output includes ISA, GS and ST element errors."""
    original = pyx12.errh_json.errh_json_visitor
    pyx12.errh_json.errh_json_visitor = _EnvelopeElementsVisitor
    try:
        yield
    finally:
        pyx12.errh_json.errh_json_visitor = original


def _reread(stream: Any) -> tuple[str, Iterator[tuple[int, str]]] | None:
    """Read a stream pyx12 stopped on again from its start: (element separator, numbered segments).

    Segments are numbered as pyx12 numbers them (the compiled validator's reader
    mirrors pyx12's). None when the stream cannot seek back or holds no ISA.
    """
    try:
        stream.seek(0)
        head = stream.read(ISA_LEN)
    except (AttributeError, OSError, ValueError):
        return None
    if len(head) != ISA_LEN or not head.startswith("ISA"):
        return None
    return head[3], iter_segments(stream, head)


def _segment_at(stream: Any, line: int) -> list[str] | None:
    """Return the elements of segment ``line`` of the stream (None: it cannot be read again)."""
    read = _reread(stream)
    if read is None:
        return None
    element, segments = read
    for number, text in segments:
        if number == line:
            return text.lstrip().split(element)
        if number > line:
            break
    return None


def _stop_document(stream: Any, line: int, exc: Exception) -> dict[str, Any]:
    """The findings document for a stream pyx12 stopped on with an exception, at segment ``line``.

    The control segment out of order (or the GE01 that is not a number) that made
    pyx12 stop is named when there is one (:func:`control_problem`), with the TA1
    note it calls for; otherwise the segment pyx12 stopped on.
    """
    error: dict[str, Any] = {"err_cde": "000"}
    cause = ""
    read = _reread(stream)
    problem = control_problem(read[1], read[0]) if read is not None else None
    if problem is not None:
        error.update(line=problem.line, ref=problem.ref, note=problem.note)
        cause = f"{problem.message}; "
    else:
        parts = _segment_at(stream, line)
        if parts is not None:
            error["ref"] = segment_label(parts[0])
    error["err_str"] = (
        f"{cause}pyx12 cannot check the file from segment {line} on (it stops there with {type(exc).__name__}); "
        f"fix {'it' if cause else 'that segment'} and validate again"
    )
    return {"interchanges": [{"cur_line": line, "errors": [error], "groups": []}]}


def _map_not_found(stream: Any, line: int, exc: Exception) -> dict[str, Any]:
    """The findings document for a GS pyx12 finds no map for.

    Either the GS has no readable GS01/GS08, or the interchange it is in has an
    ISA (after the first, which :func:`check_x12` reads itself) whose separators
    cannot be used, so pyx12 reads GS08 in pieces; or the GS is readable and
    names a version sendpro has no map for (an ISA12 other than 00501, a 4010
    GS08, a 277 given to ``validate``: :func:`unsupported_problem`). Each is a
    finding, never a program error: the file is not a PACDR file MassHealth
    takes. The finding is filed on that interchange (``isa_trn_set_id``: its
    ISA13), so a TA1 names the right one.

    Raises:
        MapError: the stream cannot be read again to say where pyx12 stopped.
    """
    read = _reread(stream)
    if read is None:
        raise MapError(f"pyx12 cannot validate it: {exc}") from None
    element, segments = read
    isa_line, isa_text, parts = 0, "", None
    for number, text in segments:
        if number > line:
            break
        fields = text.lstrip().split(element)
        if fields[0] == "ISA":
            isa_line, isa_text = number, text.lstrip()
        if number == line:
            parts = fields
    problem = None
    if parts is not None and parts[0] == "GS":
        problem = group_problem(line, parts[1] if len(parts) > 1 else None, parts[8] if len(parts) > 8 else None)
    if problem is None and isa_line > 1:
        head = isa_text + "~"  # the terminator's own place: header_problem reads the 105 before it
        if len(head) != ISA_LEN:
            problem = EnvelopeProblem(
                isa_line, "ISA", NOTE_STRUCTURE, f"the ISA segment is not {ISA_LEN} characters long"
            )
        else:
            found = header_problem(head)
            problem = found and EnvelopeProblem(isa_line, found.ref, found.note, found.message)
    if problem is None and parts is not None and parts[0] == "GS":
        problem = unsupported_problem(isa_line, isa_element(isa_text + "~", 12) if isa_text else "", line, parts)
    if problem is None:
        raise MapError(f"pyx12 cannot validate it: {exc}") from None
    error = {"err_cde": problem.note, "err_str": problem.message, "line": problem.line, "ref": problem.ref}
    entry: dict[str, Any] = {"cur_line": line, "errors": [error], "groups": []}
    if len(isa_text) == ISA_LEN - 1:
        entry["isa_trn_set_id"] = isa_element(isa_text + "~", 13)
    return {"interchanges": [entry]}


def run_pyx12(stream: Any, map_dir: Path) -> tuple[bool, dict[str, Any]]:
    """Run pyx12 over an open X12 text stream; return (valid, its findings as a document).

    The document mirrors the envelope (interchanges, groups, transaction sets,
    segments, elements) with pyx12's acknowledgment codes: :func:`validate_x12`
    turns it into issues, :mod:`sendpro.x12.ack999` into a 999. Element errors of
    the ISA, GS and ST segments (and their trailers) are included, which pyx12's
    own JSON output leaves out (:class:`_EnvelopeElementsVisitor`).

    pyx12 stops with an exception on some damaged files (a composite with more
    components than its map defines, a GE01 that is not a number, a date range
    with two dashes, a GE before its transaction set's SE): such a stop becomes
    one interchange finding naming the segment at fault where it can be told,
    else the segment pyx12 stopped on, never an internal error. So does a GS
    pyx12 has no map for (pyx12: "Map not found"): one with no readable GS01 or
    GS08, or a version sendpro does not check (ISA12 00401, a 4010 or 277 group).

    Raises:
        MapError: pyx12 found no map where no GS can be named (the stream cannot be read again).
    """
    buffer = io.StringIO()
    last = [0]

    def progress(seg: Any, src: Any, node: Any, valid: bool) -> None:
        last[0] = src.get_cur_line()

    with _quiet_pyx12(), _envelope_elements_written():
        try:
            ok = pyx12.x12n_document.x12n_document(
                pyx12.params.params(), stream, None, None, fd_json=buffer, map_path=str(map_dir), callback=progress
            )
        except pyx12.errors.EngineError as exc:
            return False, _map_not_found(stream, last[0] + 1, exc)
        except Exception as exc:  # pyx12 defects on damaged input: a finding, not a crash
            # X12Error included: raised here only by an ISA after the first that does not split
            # into 16 elements (check_x12 reads the first one itself), so the file is X12 that
            # has a readable interchange to report it on.
            return False, _stop_document(stream, last[0] + 1, exc)
    text = buffer.getvalue()
    doc = json.loads(text) if text else {"interchanges": []}
    return bool(ok), doc


def x12_findings(path: Path, map_dir: Path | None = None) -> tuple[bool, dict[str, Any]]:
    """Run pyx12 over an X12 file (bytes that are not ASCII read as invalid characters); see :func:`run_pyx12`.

    Raises:
        MapError: pyx12 found no map where no GS can be named (the stream cannot be read again).
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
        MapError: pyx12 found no map where no GS can be named (the stream cannot be read again).
    """
    return check_x12(path, map_dir, label, validator)[0]


#: pyx12's text for a code it does not take, once the value is removed from its start.
_NOT_A_CODE = "is not a valid code for "


def explained(issues: list[Issue], path: Path, compiled: CompiledValidator) -> list[Issue]:
    """Add to each segment and element finding its loop and what the guide expects there.

    The loop goes into the message and ``detail`` (``loop``, ``loop_path``), and so
    does the expectation (``expected``; :mod:`sendpro.x12.validator.explain`). The
    findings document is not touched, so both validators' issues stay the same.
    A map that cannot be loaded for it leaves the issues as they are: the findings
    themselves are complete without the words.
    """
    lines = [i.location.record_no for i in issues if i.detail.get("level") in ("seg", "ele") and i.location.record_no]
    if not lines:
        return issues
    try:
        places = locate(path, lines, compiled.compiled, compiled.map_index)
    except MapError:
        return issues
    out = []
    for issue in issues:
        level = issue.detail.get("level", "")
        place = places.get(issue.location.record_no or -1) if level in ("seg", "ele") else None
        if place is None:
            out.append(issue)
            continue
        found = explain(
            place,
            level,
            issue.detail.get("ack_code", ""),
            issue.location.x12_path or "",
            issue.detail.get("segment_name", ""),
            issue.message,
        )
        message = found.message
        if message.startswith(_NOT_A_CODE):
            message = f"the value {message}"
        # pyx12's text may name the loop already ('Mandatory loop "Payer Name" (2010BB) missing')
        if found.loop and not (re.search(rf"\b{re.escape(found.loop)}\b", message) and found.loop_name in message):
            message += f", in loop {found.loop} ({found.loop_name})"
        if found.expected:
            message += f"; the guide expects {found.expected}"
        detail = {**issue.detail, "loop": found.loop, "loop_path": found.loop_path, "expected": found.expected or ""}
        out.append(dataclasses.replace(issue, message=message, detail=detail))
    return out


def _interchange_entry(head: str, error: dict[str, Any]) -> dict[str, Any]:
    """An interchange entry of a findings document, read from the 106-character header, with one error."""
    isa = header_elements(head)
    return {
        "isa_trn_set_id": isa[13],
        "ta1_req": isa[14],
        "orig_date": isa[9],
        "orig_time": isa[10],
        "cur_line": 1,
        "errors": [error],
        "groups": [],
    }


def _header_document(head: str, problem: EnvelopeProblem) -> dict[str, Any]:
    error = {"err_cde": problem.note, "err_str": problem.message, "line": problem.line, "ref": problem.ref}
    return {"interchanges": [_interchange_entry(head, error)]}


def _read_header(path: Path) -> str:
    """Return the file's first 106 characters as both validators read them (see ``open_text``)."""
    with open_text(path) as stream:
        return stream.read(ISA_LEN)


def check_x12(
    path: Path, map_dir: Path | None = None, label: str | None = None, validator: str = "compiled"
) -> tuple[list[Issue], dict[str, Any] | None]:
    """Validate an X12 file; return the issues and pyx12's findings (None when it is not readable X12).

    The ISA is checked first, by its fixed positions (:func:`header_problem`):
    separators that are letters, digits, spaces or the same character twice, a
    version pyx12 does not read, or elements that do not split into sixteen leave
    nothing to validate. The answer is then one interchange finding (with the TA1
    note X12 has for it, so a TA1 can reject the interchange), and neither
    validator runs. A file that ends inside its ISA is not readable X12.

    Raises:
        MapError: pyx12 found no map where no GS can be named (the stream cannot be read again).
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
    head = _read_header(path)
    if len(head) < ISA_LEN:
        message = f"the file ends inside its ISA segment ({len(head)} of its {ISA_LEN} characters)"
        return [_issue("isa", "023", message, file, 1, "ISA")], None
    problem = header_problem(head)
    if problem is not None:
        doc = _header_document(head, problem)
        return list(_walk(doc, file)), doc
    maps = map_dir or project_map_dir()
    compiled = compiled_validator(maps) if validator == "compiled" else None
    try:
        if compiled is not None:
            ok, doc = compiled.validate(path)
        else:
            ok, doc = x12_findings(path, maps)
    except MapError as exc:
        raise MapError(f"{file}: {exc}") from None
    issues = list(_walk(doc, file))
    if issues:
        # The words come from the compiled maps (loaded only when there is something to explain;
        # a stand-in for the validator, as the differential tests use, has none: its issues stay
        # pyx12's words).
        words = compiled if compiled is not None else compiled_validator(maps)
        if isinstance(words, CompiledValidator):
            issues = explained(issues, path, words)
    if not ok and not issues:
        # pyx12 can fail a file and file the reason nowhere its document shows: say so on the
        # interchange, so a 999 or TA1 written from the document rejects it too.
        error = {"err_cde": NOTE_CONTENT, "err_str": "pyx12 rejected the file without a detailed error"}
        interchanges = list(doc.get("interchanges") or [])
        if interchanges:
            interchanges[0] = {**interchanges[0], "errors": [*interchanges[0].get("errors", []), error]}
        else:
            interchanges.append(_interchange_entry(head, error))
        doc = {**doc, "interchanges": interchanges}
        issues = list(_walk(doc, file))
    return issues, doc
