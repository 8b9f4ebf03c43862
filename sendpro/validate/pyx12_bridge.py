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

#: Segment error codes (IK304) and what they mean.
SEGMENT_CODES = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
}
#: Element error codes (IK403) and what they mean.
ELEMENT_CODES = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}


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


def validate_x12(path: Path, map_dir: Path | None = None, label: str | None = None) -> list[Issue]:
    """Validate an X12 file with pyx12 against sendpro's map set; return the issues.

    An empty list means pyx12 found nothing wrong.

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
            ]
    maps = map_dir or project_map_dir()
    param = pyx12.params.params()
    buffer = io.StringIO()
    with _quiet_pyx12():
        try:
            ok = pyx12.x12n_document.x12n_document(param, str(path), None, None, fd_json=buffer, map_path=str(maps))
        except pyx12.errors.EngineError as exc:
            raise MapError(f"{file}: pyx12 cannot validate it: {exc}") from None
        except pyx12.errors.X12Error as exc:
            return [_issue("isa", "000", f"pyx12 cannot read the file: {exc}", file, None, None)]
    text = buffer.getvalue()
    issues = list(_walk(json.loads(text), file)) if text else []
    if not ok and not issues:
        issues.append(_issue("isa", "000", "pyx12 rejected the file without a detailed error", file, None, None))
    return issues
