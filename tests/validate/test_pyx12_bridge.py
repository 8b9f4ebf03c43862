"""Unit tests for sendpro.validate.pyx12_bridge: pyx12 findings as sendpro issues.

The files validated here are small (one or two claims) because pyx12 is slow.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sendpro.errors import MapError
from sendpro.report.issue import Category, Issue, Severity
from sendpro.validate.pyx12_bridge import (
    project_map_dir,
    px_code,
    pyx12_map_dir,
    pyx12_version,
    validate_x12,
)
from sendpro.x12.ackcodes import ELEMENT_CODES, SEGMENT_CODES
from sendpro.x12.scan import claims_at_segments
from sendpro.x12.segments import Delimiters
from tests.helpers import mce_text
from tests.x12.builders import claim, encounters, settings, write_837


# -- px_code ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "ack", "code"),
    [
        ("isa", "001", "PX001"),
        ("isa", "000", "PX001"),
        ("isa", "024", "PX001"),
        ("gs", "5", "PX002"),
        ("gs", "1", "PX002"),
        ("st", "4", "PX003"),
        ("st", "3", "PX003"),
        ("seg", "1", "PX101"),
        ("seg", "3", "PX103"),
        ("seg", "8", "PX108"),
        ("seg", "SEG1", "PX100"),
        ("seg", "LX", "PX100"),
        ("ele", "1", "PX201"),
        ("ele", "7", "PX207"),
        ("ele", "8", "PX208"),
        ("ele", "10", "PX210"),
        ("ele", "13", "PX213"),
        ("ele", "I6", "PX306"),
        ("ele", "I9", "PX309"),
        ("ele", "I10", "PX310"),
        ("ele", "I13", "PX313"),
        ("ele", "", "PX200"),
        ("ele", "X", "PX200"),
    ],
)
def test_px_code(level: str, ack: str, code: str) -> None:
    assert px_code(level, ack) == code


def test_px_code_every_documented_code_is_distinct() -> None:
    seg = {px_code("seg", c) for c in SEGMENT_CODES}
    ele = {px_code("ele", c) for c in ELEMENT_CODES}
    assert len(seg) == len(SEGMENT_CODES)
    assert len(ele) == len(ELEMENT_CODES)
    assert all(re.fullmatch(r"PX1\d\d", c) for c in seg)
    assert all(re.fullmatch(r"PX[23]\d\d", c) for c in ele)
    assert {c for c in ele if c.startswith("PX3")} == {px_code("ele", c) for c in ELEMENT_CODES if c.startswith("I")}


# -- pyx12 location ------------------------------------------------------------------------------------------
def test_pyx12_version_and_map_dir() -> None:
    assert pyx12_version() == importlib.metadata.version("pyx12")
    assert pyx12_version().startswith("4.")
    assert (pyx12_map_dir() / "maps.xml").is_file()
    assert (pyx12_map_dir() / "837.5010.X222.A1.xml").is_file()


# -- files ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A valid two-claim 837P from the writer (about 70 segments)."""
    tmp = tmp_path_factory.mktemp("bridge")
    encs = encounters(tmp, claim("C1"), claim("C2"))
    return write_837(encs)[0]


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _fix_se(lines: list[str]) -> list[str]:
    """Recompute SE01 so that only the intended defect remains."""
    st = next(i for i, s in enumerate(lines) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(lines) if s.startswith("SE*"))
    lines[se] = f"SE*{se - st + 1}*{lines[se].rstrip('~').split('*')[2]}~"
    return lines


def _edit(text: str, match: Callable[[str], bool], new: str | None, nth: int = 0) -> tuple[str, int]:
    """Replace (or delete, ``new`` None) the ``nth`` matching segment; return the text and its 1-based line.

    ``new`` is written without the segment terminator.
    """
    lines = _lines(text)
    index = [i for i, s in enumerate(lines) if match(s)][nth]
    if new is None:
        del lines[index]
    else:
        lines[index] = new + "~"
    return "\n".join(_fix_se(lines)) + "\n", index + 1


def _write(tmp_path: Path, text: str, name: str = "837P.x12") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def _check_common(issue: Issue, file: str = "837P.x12") -> None:
    assert issue.severity is Severity.ERROR
    assert issue.category is Category.X12
    assert issue.location.file == file
    assert issue.rule_name == f"x12.{issue.detail['level']}"
    assert issue.code == px_code(issue.detail["level"], issue.detail["ack_code"])


def test_valid_writer_output_has_no_issues(valid: str, tmp_path: Path) -> None:
    assert validate_x12(_write(tmp_path, valid)) == []


def test_valid_one_line_file_with_other_separators(tmp_path: Path) -> None:
    d = Delimiters(element="|", component=">", repetition="{", segment="!", newline=False)
    s = settings()
    s = dataclasses.replace(s, envelope=dataclasses.replace(s.envelope, delimiters=d))
    text, _ = write_837(encounters(tmp_path, claim("C1")), s)
    assert validate_x12(_write(tmp_path, text)) == []


def test_invalid_date_in_dmg02(valid: str, tmp_path: Path) -> None:
    text, line = _edit(valid, lambda s: s.startswith("DMG*"), "DMG*D8*19801301*F", nth=1)
    [issue] = validate_x12(_write(tmp_path, text))
    _check_common(issue)
    assert issue.code == "PX208"
    assert issue.detail["ack_code"] == "8"
    assert issue.detail["level"] == "ele"
    assert issue.detail["element"] == "1251"
    assert issue.location.record_no == line
    assert issue.location.x12_path == "DMG02"
    assert issue.value == "19801301"
    assert "19801301" not in issue.message
    assert "date" in issue.message
    assert "19801301" not in str(issue.to_dict())


def test_unknown_code_in_clm06(valid: str, tmp_path: Path) -> None:
    text, line = _edit(valid, lambda s: s.startswith("CLM*C2*"), "CLM*C2*250***11:B:1*Q")
    path = _write(tmp_path, text)
    [issue] = validate_x12(path)
    _check_common(issue)
    assert issue.code == "PX207"
    assert issue.detail["ack_code"] == "7"
    assert issue.location.record_no == line
    assert issue.location.x12_path == "CLM06"
    assert issue.value == "Q"
    assert "(Q)" not in issue.message
    # record_no is a segment number that the scanner maps back to the claim
    assert claims_at_segments(path, [line]) == {line: "C2"}


def test_unknown_code_in_a_composite(valid: str, tmp_path: Path) -> None:
    text, line = _edit(valid, lambda s: s.startswith("CLM*C1*"), "CLM*C1*250***ZQ:B:1")
    [issue] = validate_x12(_write(tmp_path, text))
    assert issue.code == "PX207"
    assert issue.location.x12_path == "CLM05-01"
    assert issue.location.record_no == line
    assert issue.value == "ZQ"
    assert "ZQ" not in issue.message


def test_not_used_element(valid: str, tmp_path: Path) -> None:
    text, line = _edit(valid, lambda s: s.startswith("CLM*C1*"), "CLM*C1*250*X**11:B:1")
    [issue] = validate_x12(_write(tmp_path, text))
    _check_common(issue)
    assert issue.code == "PX210"
    assert issue.location.x12_path == "CLM03"
    assert issue.location.record_no == line


def test_missing_required_segment(valid: str, tmp_path: Path) -> None:
    text, line = _edit(valid, lambda s: s.startswith("SV1*"), None)
    issues = validate_x12(_write(tmp_path, text))
    assert [i.code for i in issues] == ["PX103"]
    [issue] = issues
    _check_common(issue)
    assert issue.detail["ack_code"] == "3"
    assert issue.detail["level"] == "seg"
    assert issue.location.x12_path == "SV1"
    assert issue.location.record_no == line  # pyx12 notices it at the segment now in its place
    assert issue.value is None
    assert "SV1" in issue.message and "missing" in issue.message


def test_missing_required_loop_gives_segment_errors(valid: str, tmp_path: Path) -> None:
    text, _ = _edit(valid, lambda s: s.startswith("NM1*41*"), None)
    issues = validate_x12(_write(tmp_path, text))
    assert issues
    assert "PX103" in {i.code for i in issues}
    assert all(i.code.startswith("PX1") for i in issues)
    assert all(i.detail["level"] == "seg" for i in issues)
    for issue in issues:
        _check_common(issue)


def test_transaction_group_and_interchange_errors(valid: str, tmp_path: Path) -> None:
    lines = _lines(valid)
    se = next(i for i, s in enumerate(lines) if s.startswith("SE*"))
    count = lines[se].split("*")[1]
    lines[se] = f"SE*{int(count) + 1}*0001~"
    lines[-2] = "GE*2*1~"
    lines[-1] = "IEA*1*000000002~"
    issues = validate_x12(_write(tmp_path, "\n".join(lines) + "\n"))
    by_code = {i.code: i for i in issues}
    assert set(by_code) == {"PX001", "PX002", "PX003"}
    assert (by_code["PX003"].location.x12_path, by_code["PX003"].detail["ack_code"]) == ("ST", "4")
    assert by_code["PX003"].location.record_no == se + 1
    assert (by_code["PX002"].location.x12_path, by_code["PX002"].detail["level"]) == ("GS", "gs")
    assert (by_code["PX001"].location.x12_path, by_code["PX001"].detail["ack_code"]) == ("ISA", "001")
    for issue in issues:
        _check_common(issue)


def test_segment_numbers_in_a_one_line_file(valid: str, tmp_path: Path) -> None:
    text, line = _edit(valid, lambda s: s.startswith("CLM*C2*"), "CLM*C2*250***11:B:1*Q")
    path = _write(tmp_path, text.replace("~\n", "~"))
    [issue] = validate_x12(path)
    assert issue.location.record_no == line
    assert claims_at_segments(path, [line]) == {line: "C2"}


def test_label_names_the_file(valid: str, tmp_path: Path) -> None:
    text, _ = _edit(valid, lambda s: s.startswith("DMG*"), "DMG*D8*19801301*F")
    [issue] = validate_x12(_write(tmp_path, text), label="out/837P.x12")
    assert issue.location.file == "out/837P.x12"


def test_explicit_map_dir(valid: str, tmp_path: Path) -> None:
    path = _write(tmp_path, valid)
    assert validate_x12(path, map_dir=project_map_dir()) == []
    # pyx12's own map set has no PACDR map
    with pytest.raises(MapError, match="005010X298A1"):
        validate_x12(path, map_dir=pyx12_map_dir())


# -- not X12 / no map ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [b"", b"claim_type|mce_claim_id\nP|C1\n", b" ISA*00*", b"\xef\xbb\xbfISA*00*"],
    ids=["empty", "flat-file", "leading-space", "bom"],
)
def test_non_x12_file_gives_one_px001(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    [issue] = validate_x12(path)
    _check_common(issue, "in.txt")
    assert issue.code == "PX001"
    assert issue.location.record_no == 1
    assert issue.location.x12_path == "ISA"
    assert issue.detail["ack_code"] == "000"
    assert "not an X12 file" in issue.message


def test_mce_input_is_not_x12(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text(mce_text(claim("C1")), encoding="utf-8")
    assert [i.code for i in validate_x12(path)] == ["PX001"]


@pytest.mark.parametrize("content", ["ISA*00*", "ISA*hello~\n"])
def test_broken_isa_is_reported_not_raised(tmp_path: Path, content: str) -> None:
    issues = validate_x12(_write(tmp_path, content))
    assert issues
    assert all(i.code == "PX001" for i in issues)


@pytest.mark.parametrize("validator", ["compiled", "pyx12"])
def test_unknown_gs08_is_a_finding(valid: str, tmp_path: Path, validator: str) -> None:
    # A version sendpro has no map for is not a PACDR file MassHealth takes: a finding on GS08, not an error
    path = _write(tmp_path, valid.replace("005010X298A1", "005010X999A1"), "odd.x12")
    [issue] = validate_x12(path, validator=validator)
    assert (issue.code, issue.severity, issue.location.x12_path) == ("PX001", "error", "GS08")
    assert "005010X999A1" in issue.message and "005010X298A1" in issue.message


# -- logging -------------------------------------------------------------------------------------------------
def _pyx12_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pyx12" or r.name.startswith("pyx12.")]


def test_pyx12_logs_do_not_reach_the_root_logger(valid: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text, _ = _edit(valid, lambda s: s.startswith("DMG*"), "DMG*D8*19801301*F")
    path = _write(tmp_path, text)
    caplog.set_level(logging.ERROR)
    # positive control: pyx12 on its own logs the error, value included
    import pyx12.params
    import pyx12.x12n_document

    pyx12.x12n_document.x12n_document(
        pyx12.params.params(), str(path), None, None, fd_json=io.StringIO(), map_path=str(project_map_dir())
    )
    assert any("19801301" in r.getMessage() for r in _pyx12_records(caplog))
    caplog.clear()
    issues = validate_x12(path)
    assert [i.code for i in issues] == ["PX208"]
    assert _pyx12_records(caplog) == []
    assert "19801301" not in caplog.text


def test_pyx12_logger_is_restored(valid: str, tmp_path: Path) -> None:
    logger = logging.getLogger("pyx12")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    before = (logger.propagate, logger.level, list(logger.handlers))
    try:
        validate_x12(_write(tmp_path, valid))
        assert (logger.propagate, logger.level, list(logger.handlers)) == before
        # the no-map path too (pyx12 stops on it), with the pyx12 validator that runs pyx12 itself
        odd = _write(tmp_path, valid.replace("005010X298A1", "005010X999A1"), "odd.x12")
        assert validate_x12(odd, validator="pyx12")
        assert (logger.propagate, logger.level, list(logger.handlers)) == before
    finally:
        logger.removeHandler(handler)


# -- values out of messages ---------------------------------------------------------------------------------------
def test_short_value_does_not_garble_the_message(valid: str, tmp_path: Path) -> None:
    text, _ = _edit(valid, lambda s: s.startswith("CLM*C1*"), "CLM*C1*250***11:B:1*C")
    [issue] = validate_x12(_write(tmp_path, text))
    assert issue.value == "C"
    assert "(CLM06)" in issue.message
    assert "Indicator" in issue.message


def test_segment_errors_do_not_put_member_data_in_the_message(valid: str, tmp_path: Path) -> None:
    lines = _lines(valid)
    dmg = next(i for i, s in enumerate(lines) if s.startswith("DMG*"))
    lines.insert(dmg + 1, "N3*12 ELM AVE~")  # a second member address line where none belongs
    issues = validate_x12(_write(tmp_path, "\n".join(_fix_se(lines)) + "\n"))
    assert issues
    assert all(i.code.startswith("PX1") for i in issues)
    assert not [i.message for i in issues if "ELM AVE" in i.message]
