"""validate_ncpdp: clean writer output for both layouts, then one corruption per check code.

The files hold three claims (original, void, replacement): record 1 is the header, records 2-4 the
details and record 5 the trailer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.ncpdp.codec import ETX, FIELD_SEP, GROUP_SEP, SEGMENT_SEP, STX
from sendpro.ncpdp.layout import NcpdpLayout
from sendpro.ncpdp.validate import CHECKS, validate_detected, validate_ncpdp
from sendpro.report.issue import Category, Issue, Severity
from tests.ncpdp.support import put, write_ncpdp

Found = list[tuple[str, int | None, str | None]]


def found(issues: list[Issue]) -> Found:
    return [(i.code, i.location.record_no, i.location.ncpdp_field) for i in issues]


def codes(issues: list[Issue]) -> list[tuple[str, int | None]]:
    return [(i.code, i.location.record_no) for i in issues]


@pytest.fixture(scope="module")
def three(hand_encounters: list[PharmacyEncounter]) -> list[PharmacyEncounter]:
    return hand_encounters[:3]


@pytest.fixture(scope="module")
def fixed_lines(
    tmp_path_factory: pytest.TempPathFactory, post_adjudication: NcpdpLayout, three: list[PharmacyEncounter]
) -> list[str]:
    path = tmp_path_factory.mktemp("fixed") / "clean.ncpdp"
    write_ncpdp(path, post_adjudication, three)
    assert validate_ncpdp(path, post_adjudication) == []
    lines = path.read_text(encoding="ascii").split("\n")
    assert lines[-1] == "" and len(lines) == 6
    return lines[:-1]


@pytest.fixture(scope="module")
def batch_frames(
    tmp_path_factory: pytest.TempPathFactory, batch_d0: NcpdpLayout, three: list[PharmacyEncounter]
) -> list[str]:
    path = tmp_path_factory.mktemp("batch") / "clean.ncpdp"
    write_ncpdp(path, batch_d0, three)
    assert validate_ncpdp(path, batch_d0) == []
    text = path.read_text(encoding="ascii")
    parts = text.split(ETX)
    assert parts[-1] == "" and len(parts) == 6
    assert all(p.startswith(STX) for p in parts[:-1])
    return [p[1:] for p in parts[:-1]]


def check_fixed(tmp_path: Path, layout: NcpdpLayout, lines: list[str], ending: str = "\n") -> list[Issue]:
    path = tmp_path / "corrupt.ncpdp"
    path.write_text("".join(line + ending for line in lines), encoding="ascii", newline="")
    return validate_ncpdp(path, layout)


def batch_text(frames: list[str]) -> str:
    return "".join(STX + f + ETX for f in frames)


def check_batch(tmp_path: Path, layout: NcpdpLayout, text: str) -> list[Issue]:
    path = tmp_path / "corrupt.ncpdp"
    path.write_text(text, encoding="ascii", newline="")
    return validate_ncpdp(path, layout)


# --- clean output ---------------------------------------------------------------------------------------------


def test_writer_output_is_clean(
    tmp_path: Path, any_layout: NcpdpLayout, rx_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "out.ncpdp"
    write_ncpdp(path, any_layout, rx_encounters)
    assert validate_ncpdp(path, any_layout) == []


def test_crlf_fixed_file_is_clean(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    assert check_fixed(tmp_path, post_adjudication, fixed_lines, ending="\r\n") == []


def test_checks_catalogue() -> None:
    assert sorted(CHECKS) == [f"RX2{n:02d}" for n in range(1, 18)]
    names = [name for name, _ in CHECKS.values()]
    assert len(set(names)) == len(names) and all(n.startswith("ncpdp.") for n in names)
    assert CHECKS["RX207"][0] == "ncpdp.field_format"
    assert CHECKS["RX209"][0] == "ncpdp.framing"


def test_issue_shape_and_label(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[1] = put(lines[1], 293, "000000125X")
    path = tmp_path / "bad.ncpdp"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    (issue,) = validate_ncpdp(path, post_adjudication)
    assert issue.code == "RX207"
    assert issue.severity is Severity.ERROR
    assert issue.category is Category.NCPDP
    assert issue.rule_name == "ncpdp.field_format"
    assert issue.location.file == "bad.ncpdp"
    assert issue.location.record_no == 2
    assert issue.location.ncpdp_field == "506-F6"
    assert issue.message == "506-F6 Ingredient Cost Paid: not a signed overpunch amount"
    (labelled,) = validate_ncpdp(path, post_adjudication, label="RX.ncpdp")
    assert labelled.location.file == "RX.ncpdp"


# --- fixed layout ---------------------------------------------------------------------------------------------


def test_rx201_record_too_long(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[2] += "X"
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX201", 3)]
    assert issues[0].message == "the DT record is 363 characters; the layout says 362"


@pytest.mark.parametrize("index,record,rtype,length", [(0, 1, "HD", 100), (4, 5, "TR", 60)])
def test_rx201_record_too_short(
    tmp_path: Path,
    post_adjudication: NcpdpLayout,
    fixed_lines: list[str],
    index: int,
    record: int,
    rtype: str,
    length: int,
) -> None:
    lines = list(fixed_lines)
    lines[index] = lines[index][:-1]  # a trailing blank
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX201", record)]
    assert issues[0].message == f"the {rtype} record is {length - 1} characters; the layout says {length}"


def test_rx202_unknown_record_type(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines.insert(2, "ZZ" + " " * 360)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX202", 3), ("RX205", 6)]  # the extra record also breaks the record count
    assert issues[0].message == "record type 'ZZ' is not one of the layout's record types"


def test_rx202_blank_line(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines.insert(4, "")
    assert codes(check_fixed(tmp_path, post_adjudication, lines)) == [("RX202", 5), ("RX205", 6)]


def test_rx203_header_missing(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    issues = check_fixed(tmp_path, post_adjudication, fixed_lines[1:])
    assert codes(issues) == [("RX203", None), ("RX205", 4)]
    assert issues[0].message == "the file has no HD header record"


def test_rx203_header_not_first(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = [fixed_lines[1], fixed_lines[0], *fixed_lines[2:]]
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX203", 2)]
    assert issues[0].message == "the header record must come first, once"


def test_rx203_header_repeated(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines.insert(2, fixed_lines[0])
    assert codes(check_fixed(tmp_path, post_adjudication, lines)) == [("RX203", 3), ("RX205", 6)]


def test_rx204_trailer_missing(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    issues = check_fixed(tmp_path, post_adjudication, fixed_lines[:-1])
    assert codes(issues) == [("RX204", None)]
    assert issues[0].message == "the file has no TR trailer record"


def test_rx204_record_after_trailer(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = [*fixed_lines, fixed_lines[1]]  # the first detail again, after the trailer
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX204", 6), ("RX205", 5), ("RX205", 5), ("RX206", 5)]
    assert issues[0].message == "a record follows the trailer record"


def test_rx204_second_trailer(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = [*fixed_lines, fixed_lines[-1]]
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert [(c, r) for c, r in codes(issues) if c == "RX204"] == [("RX204", 6), ("RX204", 6)]
    assert "a second trailer record" in [i.message for i in issues]


@pytest.mark.parametrize(
    "start,text,name,message",
    [
        (10, "0000000009", "Record Count (header and trailer included)", "says 9, the file holds 5"),
        (20, "0000000002", "Detail Record Count", "says 2, the file holds 3"),
    ],
)
def test_rx205_trailer_count_off(
    tmp_path: Path,
    post_adjudication: NcpdpLayout,
    fixed_lines: list[str],
    start: int,
    text: str,
    name: str,
    message: str,
) -> None:
    lines = list(fixed_lines)
    lines[4] = put(lines[4], start, text)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX205", 5, name)]
    assert issues[0].message == f"trailer {name} {message}"


def test_rx206_trailer_total_off(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    assert lines[4][29:43] == "0000000010178{"
    lines[4] = put(lines[4], 30, "0000000010178A")
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX206", 5, "509-F9")]
    assert issues[0].message == "trailer Total Amount Paid says 1017.81, the file holds 1017.80"


def test_rx206_detail_total_changed(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    assert lines[2][352:362] == "000000132N"
    lines[2] = put(lines[2], 353, "000000132E")  # the void's -13.25 becomes +13.25
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX206", 5, "509-F9")]
    assert issues[0].message == "trailer Total Amount Paid says 1017.80, the file holds 1044.30"


@pytest.mark.parametrize(
    "index,start,text,field",
    [
        (1, 293, "000000125X", "506-F6"),  # bad overpunch
        (1, 343, "0000 0142E", "430-DU"),  # a blank inside an amount
        (2, 288, "3O0", "405-D5"),  # letter O in a number
        (2, 276, "00000300.0", "442-E7"),  # a decimal point in an implied-decimal number
        (3, 239, "20260231", "401-D1"),  # no 31 February
        (3, 181, "19801301", "304-C4"),  # month 13
        (3, 189, "M", "305-C5"),  # the gender code map not applied
        (0, 58, "2026112X", "880-K2"),  # header creation date
    ],
)
def test_rx207_bad_field(
    tmp_path: Path,
    post_adjudication: NcpdpLayout,
    fixed_lines: list[str],
    index: int,
    start: int,
    text: str,
    field: str,
) -> None:
    lines = list(fixed_lines)
    lines[index] = put(lines[index], start, text)
    assert len(lines[index]) == len(fixed_lines[index])
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX207", index + 1, field)]  # a required field that does not decode is not RX208 too


def test_rx207_trailer_count_not_digits(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[4] = put(lines[4], 10, "00000000O5")
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX207", 5), ("RX205", 5)]  # the unreadable count also does not match
    assert issues[1].message == "trailer Record Count (header and trailer included) cannot be read, the file holds 5"


@pytest.mark.parametrize(
    "index,start,width,field",
    [
        (2, 91, 20, "302-C2"),  # cardholder id
        (3, 257, 19, "407-D7"),  # NDC
        (1, 83, 8, "Claim Status (P paid, D denied)"),  # claim status (82) + first 7 of the date: two fields
    ],
)
def test_rx208_blank_required(
    tmp_path: Path,
    post_adjudication: NcpdpLayout,
    fixed_lines: list[str],
    index: int,
    start: int,
    width: int,
    field: str,
) -> None:
    lines = list(fixed_lines)
    if field.startswith("Claim Status"):
        lines[index] = put(lines[index], 82, " " * 9)
        expected = [("RX208", 2, field), ("RX208", 2, "Adjudication Date")]
    else:
        lines[index] = put(lines[index], start, " " * width)
        expected = [("RX208", index + 1, field)]
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == expected
    assert issues[0].message.endswith("is required but blank")


def test_rx208_blank_total_also_breaks_the_sum(
    tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]
) -> None:
    lines = list(fixed_lines)
    lines[1] = put(lines[1], 353, " " * 10)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX208", 2, "509-F9"), ("RX206", 5, "509-F9")]
    assert issues[1].message == "trailer Total Amount Paid says 1017.80, the file holds 1004.55"


def test_blank_optional_field_is_fine(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[1] = put(lines[1], 111, " " * 35)  # patient first name
    lines[1] = put(lines[1], 247, " " * 8)  # date written
    assert check_fixed(tmp_path, post_adjudication, lines) == []


@pytest.mark.parametrize("index", [0, 4], ids=["header", "trailer"])
def test_rx211_batch_number_differs(
    tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str], index: int
) -> None:
    lines = list(fixed_lines)
    start = 51 if index == 0 else 3
    assert lines[index][start - 1 : start + 6] == "0000042"
    lines[index] = put(lines[index], start, "0000043")
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert codes(issues) == [("RX211", 5)]
    header, trailer = (43, 42) if index == 0 else (42, 43)
    assert issues[0].message == f"trailer batch number {trailer} differs from the header's {header}"


def test_rx207_space_in_date(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[1] = put(lines[1], 239, "202603 3")
    assert found(check_fixed(tmp_path, post_adjudication, lines)) == [("RX207", 2, "401-D1")]


# --- batch layout ---------------------------------------------------------------------------------------------


def test_rx209_record_without_stx(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    text = batch_text(batch_frames)
    start = text.index(STX + "G10000000002")
    issues = check_batch(tmp_path, batch_d0, text[:start] + text[start + 1 :])
    assert codes(issues) == [("RX209", 3)]
    assert issues[0].message == "the record is not framed by STX ... ETX"


def test_rx209_last_record_without_etx(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    text = batch_text(batch_frames)
    assert text.endswith(ETX)
    assert codes(check_batch(tmp_path, batch_d0, text[:-1])) == [("RX209", 5)]


def test_rx209_text_after_the_last_record(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    text = batch_text(batch_frames) + "JUNK"
    assert codes(check_batch(tmp_path, batch_d0, text)) == [("RX209", 6), ("RX202", 6), ("RX205", 5)]


def test_rx209_record_without_etx_in_the_middle(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    text = "".join(STX + f + ("" if i == 1 else ETX) for i, f in enumerate(batch_frames))
    issues = check_batch(tmp_path, batch_d0, text)
    assert ("RX209", 2) in codes(issues)


def test_rx201_batch_header_and_trailer_length(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[0] += " "
    frames[4] = frames[4][:-1]
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert codes(issues) == [("RX201", 1), ("RX201", 5)]
    assert issues[0].message == "the 00 record is 74 characters; the layout says 73"
    assert issues[1].message == "the 99 record is 53 characters; the layout says 54"


def test_rx202_batch_unknown_record(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames.insert(2, "ZZ" + " " * 20)
    assert codes(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX202", 3), ("RX205", 6)]


def test_rx204_batch_trailer_missing(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    assert codes(check_batch(tmp_path, batch_d0, batch_text(batch_frames[:-1]))) == [("RX204", None)]


def test_rx203_batch_header_missing(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    issues = check_batch(tmp_path, batch_d0, batch_text(batch_frames[1:]))
    assert codes(issues) == [("RX203", None), ("RX205", 4)]
    assert issues[0].message == "the file has no 00 header record"


def test_rx205_batch_count_off(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[4] = put(frames[4], 10, "0000000004")
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert found(issues) == [("RX205", 5, "Record Count (header and trailer included)")]


def test_rx211_batch_file_trailer_number(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[4] = put(frames[4], 3, "0000007")
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert codes(issues) == [("RX211", 5)]
    assert issues[0].message == "trailer batch number 7 differs from the header's 42"


def _without_segment(frame: str, segment: str) -> str:
    body_start = frame.index(SEGMENT_SEP)
    head, body = frame[:body_start], frame[body_start:]
    kept = [s for s in body.split(SEGMENT_SEP) if not s.startswith(FIELD_SEP + "AM" + segment)]
    new = SEGMENT_SEP.join(kept)
    assert len(new) < len(body)
    return head + new


def test_rx210_missing_pricing_segment(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[1] = _without_segment(frames[1], "11")
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert found(issues) == [
        ("RX208", 2, "409-D9"),
        ("RX208", 2, "412-DC"),
        ("RX208", 2, "113-N3"),
        ("RX210", 2, None),
    ]
    assert issues[-1].message == "the transaction misses segment(s) AM11"


def test_rx210_missing_two_segments(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[3] = _without_segment(_without_segment(frames[3], "04"), "03")
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert found(issues) == [("RX208", 4, "302-C2"), ("RX208", 4, "411-DB"), ("RX210", 4, None)]
    assert issues[-1].message == "the transaction misses segment(s) AM03, AM04"


def test_rx210_wrong_version(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    assert frames[2][18:20] == "D0"
    frames[2] = put(frames[2], 19, "51")
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert codes(issues) == [("RX210", 3)]
    assert issues[0].message == "the transaction's version is '51', not D0"


def test_rx207_batch_segment_value(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    assert FIELD_SEP + "N3132N" in frames[2]
    frames[2] = frames[2].replace(FIELD_SEP + "N3132N", FIELD_SEP + "N31X2N")
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX207", 3, "113-N3")]


def test_rx207_batch_request_header_date(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    assert frames[1][50:58] == "20260303"  # G1 + reference (12) + date of service at 39-46
    frames[1] = put(frames[1], 51, "20260230")
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX207", 2, "401-D1")]


def test_rx208_batch_segment_field_missing(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    field = FIELD_SEP + "C2100000000001"
    assert field in frames[3]
    frames[3] = frames[3].replace(field, "")  # AM04 is still there, empty
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX208", 4, "302-C2")]


def test_rx208_batch_request_header_blank(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[1] = put(frames[1], 36, " " * 15)  # service provider id at 24-38 of the request header
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX208", 2, "201-B1")]


def test_batch_group_separator_is_optional(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = [f.replace(GROUP_SEP, "") for f in batch_frames]
    assert check_batch(tmp_path, batch_d0, batch_text(frames)) == []


# --- blank trailer control fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,width,code,message",
    [
        (10, 10, "RX205", "trailer Record Count (header and trailer included) is blank, the file holds 5"),
        (20, 10, "RX205", "trailer Detail Record Count is blank, the file holds 3"),
        (30, 14, "RX206", "trailer Total Amount Paid is blank, the file holds 1017.80"),
    ],
)
def test_blank_trailer_control_field(
    tmp_path: Path,
    post_adjudication: NcpdpLayout,
    fixed_lines: list[str],
    start: int,
    width: int,
    code: str,
    message: str,
) -> None:
    lines = list(fixed_lines)
    lines[4] = put(lines[4], start, " " * width)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert [(i.code, i.message) for i in issues] == [(code, message)]


def test_blank_batch_trailer_count(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[4] = put(frames[4], 10, " " * 10)
    (issue,) = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert issue.message == "trailer Record Count (header and trailer included) is blank, the file holds 5"


# --- RX212: D.0 fields longer than their max_length ---------------------------------------------------------------


def _with_field(frame: str, code: str, value: str) -> str:
    """Return a D.0 frame with the value of the field ``code`` replaced."""
    start = frame.index(FIELD_SEP + code) + 3
    ends = [frame.find(sep, start) for sep in (FIELD_SEP, SEGMENT_SEP, GROUP_SEP)]
    end = min([e for e in ends if e >= 0] or [len(frame)])
    return frame[:start] + value + frame[end:]


@pytest.mark.parametrize(
    "code,value,expected",
    [
        ("D5", "12345", [("RX212", 2, "405-D5")]),  # days supply, max 3
        ("D7", "0" * 25, [("RX212", 2, "407-D7")]),  # NDC, max 19
        ("D7", "0" * 19, []),  # at its maximum: fine
        ("C2", "9" * 21, [("RX212", 2, "302-C2")]),  # cardholder id, max 20
        ("D3", "123", [("RX212", 2, "403-D3")]),  # fill number, max 2
        ("E7", "12345678901", [("RX212", 2, "442-E7")]),  # quantity, max 10
        ("C4", "1980010101", [("RX207", 2, "304-C4"), ("RX212", 2, "304-C4")]),  # a date is 8
        ("D5", "1X345", [("RX207", 2, "405-D5"), ("RX212", 2, "405-D5")]),  # two problems, two issues
    ],
)
def test_rx212_field_longer_than_max_length(
    tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str], code: str, value: str, expected: Found
) -> None:
    frames = list(batch_frames)
    frames[1] = _with_field(frames[1], code, value)
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert found(issues) == expected
    for issue in issues:
        assert value not in issue.message  # the value is never quoted (PHI)
    if expected:
        assert f"has {len(value)} characters; the layout allows " in issues[-1].message


def test_rx212_message(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    frames[3] = _with_field(frames[3], "D5", "12345")
    (issue,) = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert (issue.code, issue.location.record_no, issue.rule_name) == ("RX212", 4, "ncpdp.field_length")
    assert issue.message == "405-D5 Days Supply has 5 characters; the layout allows 3"


# --- RX213: a transaction reference used twice --------------------------------------------------------------------


def test_rx213_duplicate_reference(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    assert frames[3][2:12] == "0000000003"
    frames[3] = put(frames[3], 3, "0000000001")
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert found(issues) == [("RX213", 4, "880-K5")]
    assert issues[0].message == "the transaction reference repeats the one of record 2"


def test_rx213_each_repeat_is_reported(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = [put(f, 3, "0000000007") if f.startswith("G1") else f for f in batch_frames]
    issues = check_batch(tmp_path, batch_d0, batch_text(frames))
    assert found(issues) == [("RX213", 3, "880-K5"), ("RX213", 4, "880-K5")]
    assert all(i.message.endswith("record 2") for i in issues)


# --- RX214: a transaction code the layout does not define ---------------------------------------------------------


@pytest.mark.parametrize("text", ["B7", "B9", "B3", "  "])
def test_rx214_fixed_transaction_code(
    tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str], text: str
) -> None:
    lines = list(fixed_lines)
    assert lines[2][2:4] == "B2"
    lines[2] = put(lines[2], 3, text)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX214", 3, "103-A3")]
    wrong = "is blank, not one of" if text == "  " else "holds a transaction code other than"
    assert issues[0].message == f"103-A3 Transaction Code {wrong} B1, B2, the codes the layout defines"


@pytest.mark.parametrize("text", ["B7", "B9"])
def test_rx214_batch_transaction_code(
    tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str], text: str
) -> None:
    frames = list(batch_frames)
    assert frames[1][20:22] == "B1"  # G1 + reference (12) + transaction code at 9-10 of the request header
    frames[1] = put(frames[1], 21, text)
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX214", 2, "103-A3")]


# --- RX215: a code outside the field's codes or map ---------------------------------------------------------------


@pytest.mark.parametrize(
    "index,start,text,field",
    [
        (1, 189, "7", "305-C5"),  # gender: the map writes 0, 1 or 2
        (1, 81, "5", "Claim Frequency"),  # 1, 7 or 8
        (1, 82, "X", "Claim Status (P paid, D denied)"),  # P or D
        (1, 292, "9", "406-D6"),  # compound code 1 or 2 (format N)
        (1, 286, "ZZ", "600-28"),  # unit of measure EA, GM, ML
        (1, 291, "A", "408-D8"),  # DAW 0-9
    ],
)
def test_rx215_fixed_code_outside_its_values(
    tmp_path: Path,
    post_adjudication: NcpdpLayout,
    fixed_lines: list[str],
    index: int,
    start: int,
    text: str,
    field: str,
) -> None:
    lines = list(fixed_lines)
    lines[index] = put(lines[index], start, text)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX215", index + 1, field)]
    assert "holds a code outside the layout's codes (" in issues[0].message


def test_rx215_gender_message(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[1] = put(lines[1], 189, "7")
    (issue,) = check_fixed(tmp_path, post_adjudication, lines)
    assert issue.message == "305-C5 Patient Gender Code holds a code outside the layout's codes (0, 1, 2)"


@pytest.mark.parametrize("code,value,field", [("C5", "7", "305-C5"), ("D8", "X", "408-D8"), ("28", "KG", "600-28")])
def test_rx215_batch_code(
    tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str], code: str, value: str, field: str
) -> None:
    frames = list(batch_frames)
    frames[1] = _with_field(frames[1], code, value)
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX215", 2, field)]


def test_blank_optional_code_is_fine(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[1] = put(lines[1], 286, "  ")  # unit of measure is optional
    assert check_fixed(tmp_path, post_adjudication, lines) == []


# --- RX216: the header's file type --------------------------------------------------------------------------------


@pytest.mark.parametrize("text,wrong", [("X", "holds a value other than"), (" ", "is blank, not one of")])
def test_rx216_fixed_file_type(
    tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str], text: str, wrong: str
) -> None:
    lines = list(fixed_lines)
    assert lines[0][69] == "T"
    lines[0] = put(lines[0], 70, text)
    issues = check_fixed(tmp_path, post_adjudication, lines)
    assert found(issues) == [("RX216", 1, "File Type (T test, P production)")]
    assert issues[0].message == f"File Type (T test, P production) {wrong} T (test) or P (production)"


def test_rx216_batch_file_type(tmp_path: Path, batch_d0: NcpdpLayout, batch_frames: list[str]) -> None:
    frames = list(batch_frames)
    assert frames[0][46] == "T"
    frames[0] = put(frames[0], 47, "X")
    assert found(check_batch(tmp_path, batch_d0, batch_text(frames))) == [("RX216", 1, "File Type")]


def test_production_file_type_is_fine(tmp_path: Path, post_adjudication: NcpdpLayout, fixed_lines: list[str]) -> None:
    lines = list(fixed_lines)
    lines[0] = put(lines[0], 70, "P")
    assert check_fixed(tmp_path, post_adjudication, lines) == []


# --- detection: a damaged or empty NCPDP file is reported as NCPDP (RX217, or by a guessed layout) -----------------


def test_detected_clean_files(tmp_path: Path, fixed_lines: list[str], batch_frames: list[str]) -> None:
    fixed = tmp_path / "out.txt"
    fixed.write_text("\n".join(fixed_lines) + "\n", encoding="ascii")
    batch = tmp_path / "out.dat"
    batch.write_text(batch_text(batch_frames), encoding="ascii", newline="")
    assert validate_detected(fixed) == []
    assert validate_detected(batch) == []


@pytest.mark.parametrize("name", ["damaged.ncpdp", "damaged.txt"])
def test_detected_fixed_file_with_damaged_header(tmp_path: Path, fixed_lines: list[str], name: str) -> None:
    lines = list(fixed_lines)
    lines[0] = put(lines[0], 1, "XX")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    issues = validate_detected(path)
    assert issues is not None
    assert codes(issues) == [("RX202", 1), ("RX203", None)]
    assert issues[1].message == "the file has no HD header record"


@pytest.mark.parametrize("name", ["damaged.ncpdp", "damaged.dat"])
def test_detected_batch_file_with_damaged_header(tmp_path: Path, batch_frames: list[str], name: str) -> None:
    frames = list(batch_frames)
    frames[0] = put(frames[0], 1, "X0")
    path = tmp_path / name
    path.write_text(batch_text(frames), encoding="ascii", newline="")
    issues = validate_detected(path)
    assert issues is not None
    assert codes(issues) == [("RX202", 1), ("RX203", None)]
    assert issues[1].message == "the file has no 00 header record"


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.ncpdp", "", "the file is empty: an NCPDP file starts with a header record"),
        ("blank.ncpdp", "\n\n", "the file is empty: an NCPDP file starts with a header record"),
        ("junk.ncpdp", "hello\nworld\n", "the first record is no NCPDP header record (batch-d0: STX + 00, "),
        ("junk.dat", "\x02ZZ junk\x03", "the first record is no NCPDP header record"),  # STX framing
    ],
)
def test_detected_rx217(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="ascii", newline="")
    issues = validate_detected(path, label="IN")
    assert issues is not None
    assert [(i.code, i.location.file, i.location.record_no) for i in issues] == [("RX217", "IN", None)]
    assert issues[0].message.startswith(message)
    assert issues[0].rule_name == "ncpdp.unrecognised"


@pytest.mark.parametrize(
    "name,content",
    [
        ("empty.x12", ""),
        ("input.txt", "mce_claim_id|claim_frequency\nRX1|1\nRX2|1\n"),
        ("damaged.x12", "ISX*00*          *00*          ~GS*HC~"),
    ],
)
def test_detected_not_ncpdp(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="ascii")
    assert validate_detected(path) is None


def test_api_validate_file_reports_ncpdp_not_x12(tmp_path: Path, fixed_lines: list[str]) -> None:
    from sendpro import api

    empty = tmp_path / "RX.ncpdp"
    empty.write_text("", encoding="ascii")
    assert [i.code for i in api.validate_file(empty)] == ["RX217"]
    damaged = tmp_path / "RX2.ncpdp"
    damaged.write_text("\n".join([put(fixed_lines[0], 1, "H?"), *fixed_lines[1:]]) + "\n", encoding="ascii")
    assert [(i.code, i.location.file) for i in api.validate_file(damaged)] == [
        ("RX202", str(damaged)),
        ("RX203", str(damaged)),
    ]
