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
import pyx12.params
import pyx12.x12n_document

from sendpro.errors import MapError
from sendpro.report.issue import Category, Issue, Location, Severity
from sendpro.validate.x12maps import build_map_dir


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


def x12_findings(path: Path, map_dir: Path | None = None) -> tuple[bool, dict[str, Any]]:
    """Run pyx12 over an X12 file; return (valid, its findings as a document).

    The document mirrors the envelope (interchanges, groups, transaction sets,
    segments, elements) with pyx12's acknowledgment codes: :func:`validate_x12`
    turns it into issues, :mod:`sendpro.x12.ack999` into a 999.

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
        pyx12.errors.X12Error: the file cannot be read as X12.
    """
    maps = map_dir or project_map_dir()
    buffer = io.StringIO()
    with _quiet_pyx12():
        try:
            ok = pyx12.x12n_document.x12n_document(
                pyx12.params.params(), str(path), None, None, fd_json=buffer, map_path=str(maps)
            )
        except pyx12.errors.EngineError as exc:
            raise MapError(f"pyx12 cannot validate it: {exc}") from None
    text = buffer.getvalue()
    doc = json.loads(text) if text else {"interchanges": []}
    return bool(ok), doc


def validate_x12(path: Path, map_dir: Path | None = None, label: str | None = None) -> list[Issue]:
    """Validate an X12 file with pyx12 against sendpro's map set; return the issues.

    An empty list means pyx12 found nothing wrong.

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
    """
    return check_x12(path, map_dir, label)[0]


def check_x12(
    path: Path, map_dir: Path | None = None, label: str | None = None
) -> tuple[list[Issue], dict[str, Any] | None]:
    """Validate an X12 file; return the issues and pyx12's findings (None when it is not readable X12).

    Raises:
        MapError: pyx12 has no map for the file's version (GS08).
    """
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
    try:
        ok, doc = x12_findings(path, map_dir)
    except pyx12.errors.X12Error as exc:
        return [_issue("isa", "000", f"pyx12 cannot read the file: {exc}", file, None, None)], None
    except MapError as exc:
        raise MapError(f"{file}: {exc}") from None
    issues = list(_walk(doc, file))
    if not ok and not issues:
        issues.append(_issue("isa", "000", "pyx12 rejected the file without a detailed error", file, None, None))
    return issues, doc
