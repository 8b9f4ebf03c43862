"""`sendpro validate [--ack]` on damaged 837s: findings and exit 1, and an acknowledgment that is valid X12.

Each class of damage here once crashed ``validate`` (an internal error or exit 2)
or made ``--ack`` write a 999 that was not itself valid X12 (or that accepted a
file ``validate`` rejected). Both validators are run on each: the compiled one
leaves whatever pyx12 stops on to the bridge, so both must say the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sendpro.cli import cli
from sendpro.validate.pyx12_bridge import check_x12, compiled_validator, project_map_dir, x12_findings
from tests.x12.validator_mutations import cached_pyx12_maps

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "x12" / "basic-professional" / "expected.x12"
TEXT = GOLDEN.read_text(encoding="ascii")
SEGMENTS = TEXT.split("~\n")  # the last piece is empty
VALIDATORS = ("compiled", "pyx12")


@pytest.fixture(scope="module", autouse=True)
def _pyx12_maps_once() -> Iterator[None]:
    with cached_pyx12_maps():
        yield


@pytest.fixture(scope="module")
def maps() -> Path:
    return project_map_dir()


def _line(prefix: str) -> int:
    """The segment number of the first segment starting with ``prefix``."""
    return next(n for n, seg in enumerate(SEGMENTS, 1) if seg.startswith(prefix))


def _write(tmp_path: Path, data: str | bytes, name: str = "in.x12") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="latin-1", newline="")
    else:
        path.write_bytes(data)
    return path


def _validate(path: Path, validator: str, ack: Path | None = None) -> Result:
    args = ["validate", str(path), "--validator", validator]
    if ack is not None:
        args += ["--ack", str(ack)]
    return CliRunner().invoke(cli, args)


def _check(result: Result) -> list[str]:
    """Exit 1, no exception, no internal error; return the finding lines (one line each, file first)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    lines = result.output.splitlines()
    # every line names its file (findings, the summary) or the acknowledgment: nothing spills over
    assert all(line.startswith(("/", "in.x12")) for line in lines), result.output
    return lines


def _valid_ack(ack: Path, maps: Path) -> str:
    """The acknowledgment's text, after checking it is valid X12."""
    issues, _ = check_x12(ack, maps, "ack")
    assert issues == [], [f"{i.location.x12_path}: {i.message}" for i in issues]
    return ack.read_text(encoding="ascii")


def _both_validators_say(path: Path, tmp_path: Path, maps: Path, *expected: str) -> dict[str, str]:
    """Run validate and validate --ack with each validator; return each validator's acknowledgment."""
    acks = {}
    outputs = []
    for validator in VALIDATORS:
        lines = _check(_validate(path, validator))
        for text in expected:
            assert any(text in line for line in lines), (validator, text, lines)
        outputs.append([line for line in lines if "problem(s)" not in line])
        ack = tmp_path / f"{validator}.999"
        _check(_validate(path, validator, ack))
        acks[validator] = _valid_ack(ack, maps)
    assert outputs[0] == outputs[1]
    return acks


def _ta1(ack: str) -> str:
    found = re.search(r"^TA1\*[^~]*~", ack, re.M)
    assert found, ack
    return found.group(0)


# -- the envelope's control segments ------------------------------------------------------------


def test_ge01_not_a_number_is_a_finding_on_ge01_and_a_rejecting_ta1(tmp_path: Path, maps: Path) -> None:
    path = _write(tmp_path, TEXT.replace("GE*1*1~", "GE*X*1~"))
    acks = _both_validators_say(path, tmp_path, maps, f"line {_line('GE*')}: GE01: PX001", "GE01")
    for ack in acks.values():
        assert _ta1(ack) == "TA1*000000001*261123*1030*R*024~"


@pytest.mark.parametrize(
    ("edit", "line", "expected", "note"),
    [
        (
            lambda t: t[:84] + "00401" + t[89:],
            1,
            "ISA12: PX001 error: interchange: the interchange control version "
            "(ISA12) is 00401: PACDR interchanges are 00501",
            "017",
        ),
        (
            lambda t: t.replace("*005010X298A1~", "*004010X098A1~", 1),
            2,
            "GS08: PX001 error: interchange: the "
            "functional group is HC 004010X098A1 (GS01, GS08), which sendpro has no map for",
            "024",
        ),
        (
            lambda t: t.replace("GS*HC*", "GS*HN*", 1),
            2,
            "GS08: PX001 error: interchange: the functional group is HN 005010X298A1",
            "024",
        ),
    ],
    ids=["isa12-4010", "gs08-4010", "gs01-277"],
)
def test_a_version_sendpro_has_no_map_for_is_a_finding_and_a_rejecting_ta1(
    tmp_path: Path, maps: Path, edit: Callable[[str], str], line: int, expected: str, note: str
) -> None:
    # Found by the fuzz run: "Map not found" was a program error (exit 2), though the file
    # is simply not a PACDR file MassHealth takes; MassHealth would reject it with a TA1.
    path = _write(tmp_path, edit(TEXT))
    acks = _both_validators_say(path, tmp_path, maps, f"line {line}: {expected}")
    for ack in acks.values():
        assert _ta1(ack) == f"TA1*000000001*261123*1030*R*{note}~"


def test_ge_inside_a_transaction_set_names_the_ge_and_rejects_the_structure(tmp_path: Path, maps: Path) -> None:
    segs = list(SEGMENTS)
    se, ge = _line("SE*") - 1, _line("GE*") - 1
    segs[se], segs[ge] = segs[ge], segs[se]  # GE before the SE
    path = _write(tmp_path, "~\n".join(segs))
    acks = _both_validators_say(path, tmp_path, maps, f"line {se + 1}: GE: PX001", "still open")
    for ack in acks.values():
        assert _ta1(ack) == "TA1*000000001*261123*1030*R*022~"


def test_an_unreadable_second_isa_is_a_finding_not_a_program_error(tmp_path: Path, maps: Path) -> None:
    segs = list(SEGMENTS)
    segs.insert(5, "ISA*00*")
    path = _write(tmp_path, "~\n".join(segs))
    acks = _both_validators_say(path, tmp_path, maps, "line 6: ISA: PX001")
    for ack in acks.values():
        assert _ta1(ack) == "TA1*000000001*261123*1030*R*022~"


@pytest.mark.parametrize("validator", VALIDATORS)
def test_huge_ge01_gives_a_999_whose_ak902_is_a_count(tmp_path: Path, maps: Path, validator: str) -> None:
    path = _write(tmp_path, TEXT.replace("GE*1*1~", f"GE*{'9' * 12}*1~"))
    ack = tmp_path / "out.999"
    _check(_validate(path, validator, ack))
    assert re.search(r"^AK9\*R\*1\*1\*1\*5~", _valid_ack(ack, maps), re.M)


@pytest.mark.parametrize("validator", VALIDATORS)
def test_se01_not_a_number_is_an_se01_finding_and_rejects_the_transaction_set(
    tmp_path: Path, maps: Path, validator: str
) -> None:
    path = _write(tmp_path, TEXT.replace("SE*232*0001~", "SE*X*0001~"))
    lines = _check(_validate(path, validator))
    assert any(f"line {_line('SE*')}: SE01: PX003" in line for line in lines), lines
    ack = tmp_path / "out.999"
    _check(_validate(path, validator, ack))
    assert re.search(r"^IK5\*R\*4", _valid_ack(ack, maps), re.M)


def test_st_and_se_element_errors_are_pyx12s_in_the_compiled_validator(tmp_path: Path, maps: Path) -> None:
    path = _write(tmp_path, TEXT.replace("SE*232*0001~", "SE*X*0001~"))
    compiled = compiled_validator(maps).validate(path)
    assert compiled == x12_findings(path, maps)
    [st] = compiled[1]["interchanges"][0]["groups"][0]["transactions"]
    assert [(e["seg_id"], e["ele_pos"], e["cur_line"]) for e in st["elements"]] == [("SE", 1, _line("SE*"))]


def test_a_gs_without_gs01_and_gs08_is_a_finding_not_a_map_error(tmp_path: Path, maps: Path) -> None:
    gs = SEGMENTS[1]
    path = _write(tmp_path, TEXT.replace(gs, gs.replace("*", "~\n")))  # the GS's separators lost
    acks = _both_validators_say(path, tmp_path, maps, "line 2: GS01: PX001")
    for ack in acks.values():
        assert _ta1(ack) == "TA1*000000001*261123*1030*R*024~"


# -- the ISA header ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "char", "ref", "note"),
    [
        (104, "A", "ISA16", "027"),  # a letter as the component separator
        (104, "*", "ISA16", "027"),  # the element separator twice
        (104, "\xe9", "ISA16", "027"),  # not ASCII
        (3, "1", "ISA", "026"),  # a digit as the element separator
        (105, "Z", "ISA", "004"),  # a letter as the terminator
        (82, ":", "ISA11", "026"),  # 5010's repetition separator = the component separator
    ],
    ids=["isa16-letter", "isa16-twice", "isa16-latin1", "element-digit", "terminator-letter", "isa11-twice"],
)
def test_unusable_separators_get_a_rejecting_ta1_in_default_separators(
    tmp_path: Path, maps: Path, position: int, char: str, ref: str, note: str
) -> None:
    path = _write(tmp_path, TEXT[:position] + char + TEXT[position + 1 :])
    acks = _both_validators_say(path, tmp_path, maps, f"line 1: {ref}: PX001", "cannot be read")
    for ack in acks.values():
        assert ack.startswith("ISA*00*") and ack.split("~")[0].endswith("*:")  # the default separators
        assert _ta1(ack) == f"TA1*000000001*261123*1030*R*{note}~"
        assert "GS*" not in ack  # no functional group can be read, so none is acknowledged


def test_an_isa_element_error_is_named_and_rejected(tmp_path: Path, maps: Path) -> None:
    path = _write(tmp_path, TEXT[:102] + "X" + TEXT[103:])  # ISA15 usage indicator X
    acks = _both_validators_say(path, tmp_path, maps, "line 1: ISA15: PX001")
    for ack in acks.values():
        assert _ta1(ack) == "TA1*000000001*261123*1030*R*020~"
        assert ack.split("~")[0].split("*")[15] == "T"  # the reply's own usage: a valid code


@pytest.mark.parametrize("validator", VALIDATORS)
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not an X12 file"),
        (b"N3*1 MAIN ST~\n", "not an X12 file"),
        (TEXT[:60].encode(), "ends inside its ISA"),
        (TEXT[:90].encode() + b"00000\xe9001" + TEXT[99:].encode(), "ISA13"),  # no TA1 can name it
        (TEXT[:40].encode() + b"\x01" + TEXT[41:].encode(), "ISA06"),  # no reply can be addressed
    ],
    ids=["empty", "not-x12", "isa-cut", "isa13-unreadable", "isa06-control-char"],
)
def test_no_interchange_to_reply_to_is_exit_1_and_no_ack(
    tmp_path: Path, validator: str, data: bytes, expected: str
) -> None:
    path = _write(tmp_path, data)
    ack = tmp_path / "out.999"
    lines = _check(_validate(path, validator, ack))
    assert any(f"{ack}: not written:" in line and expected in line for line in lines), lines
    assert not ack.exists()


# -- values copied into the 999 ---------------------------------------------------------------------


def _bytes_replaced(old: str, new: bytes) -> bytes:
    assert old in TEXT
    return TEXT.encode().replace(old.encode(), new, 1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # a byte that is not ASCII in a claim ID (the CTX naming the claim is left out)
        (_bytes_replaced("CLM*PRO-0001*", b"CLM*PRO-\xe90001*"), f"line {_line('CLM*PRO-0001')}: claim PRO-"),
        # ... in a segment ID (IK301 keeps the letters and digits)
        (_bytes_replaced("N3*1 MAIN ST", b"N\xe93*1 MAIN ST"), f"line {_line('N3*1 MAIN')}: (unreadable segment ID)"),
        # ... in the GS's sender code (the group cannot be echoed: TA1 024)
        (_bytes_replaced("GS*HC*PLACEHOLDER", b"GS*HC*PLACE\xe9OLDER"), "line 2: GS02: PX002"),
    ],
    ids=["claim-id", "segment-id", "gs02"],
)
def test_non_ascii_bytes_give_a_valid_rejecting_999(tmp_path: Path, maps: Path, data: bytes, expected: str) -> None:
    path = _write(tmp_path, data)
    acks = _both_validators_say(path, tmp_path, maps, expected)
    for ack in acks.values():
        assert re.search(r"^(IK5\*R|TA1\*[^~]*\*R\*)", ack, re.M), ack


def test_a_byte_that_is_not_ascii_in_data_is_an_invalid_character(tmp_path: Path, maps: Path) -> None:
    path = _write(tmp_path, _bytes_replaced("N3*1 MAIN ST", b"N3*1 M\xc3\xa9IN ST"))
    acks = _both_validators_say(path, tmp_path, maps, f"line {_line('N3*1 MAIN')}: N301: PX206")
    for ack in acks.values():
        assert f"IK3*N3*{_line('N3*1 MAIN') - 2}**8~" in ack


def test_pyx12s_own_segment_codes_become_ik304_8(tmp_path: Path, maps: Path) -> None:
    path = _write(tmp_path, TEXT.replace("HL*3*1*22*0~", "HL*7*1*22*0~"))  # HL01 out of sequence
    acks = _both_validators_say(path, tmp_path, maps, f"line {_line('HL*3*')}: claim PRO-0002: HL: PX100")
    for ack in acks.values():
        assert f"IK3*HL*{_line('HL*3*') - 2}**8~" in ack
        assert "IK3*HL*40**HL1" not in ack


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t.replace("SV1*HC:99213*200", "SV\n1*HC:99213*200", 1),  # a line break inside the ID
        lambda t: t.replace("NM1*IL*1*ALDER*ADA", "NM1 IL 1 ALDER ADA", 1),  # separators lost: data in the ID
    ],
    ids=["line-break", "lost-separators"],
)
def test_a_damaged_segment_id_is_printed_on_one_line_without_its_data(
    tmp_path: Path, maps: Path, damage: Callable[[str], str]
) -> None:
    path = _write(tmp_path, damage(TEXT))
    for validator in VALIDATORS:
        result = _validate(path, validator, tmp_path / f"{validator}.999")
        lines = _check(result)
        assert "ALDER" not in result.output and "99213" not in result.output, lines
        _valid_ack(tmp_path / f"{validator}.999", maps)


@pytest.mark.parametrize("validator", VALIDATORS)
def test_two_interchanges_get_one_reply_with_both_ta1s_before_the_groups(
    tmp_path: Path, maps: Path, validator: str
) -> None:
    text = _two_interchanges()
    first_end = len(TEXT)
    path = _write(tmp_path, text[:first_end] + text[first_end:].replace("CLM*PRO-0001*250", "CLM*PRO-0001*25X"))
    ack = tmp_path / "out.999"
    _check(_validate(path, validator, ack))
    text = _valid_ack(ack, maps)
    ids = [seg.split("*")[0] for seg in text.split("~\n") if seg]
    assert ids[:4] == ["ISA", "TA1", "TA1", "GS"] and ids.count("ISA") == 1 and ids.count("GS") == 2
    assert re.search(r"^AK9\*A\*1\*1\*1~.*^AK9\*R\*1\*1\*0~", text, re.M | re.S)


def _two_interchanges(second_isa16: str = ":") -> str:
    second = TEXT.replace("*000000001*", "*000000002*").replace("*1*X*", "*2*X*").replace("GE*1*1~", "GE*1*2~")
    second = second.replace("IEA*1*000000001~", "IEA*1*000000002~")
    return TEXT + second[:104] + second_isa16 + second[105:]


@pytest.mark.parametrize("isa16", [">", "1"])
def test_a_second_isa_with_other_separators_is_read_as_pyx12_reads_it(tmp_path: Path, maps: Path, isa16: str) -> None:
    text = _two_interchanges(isa16)
    # a finding in the second transaction set, so the compiled validator has pyx12 diagnose it
    path = _write(tmp_path, text[: len(TEXT)] + text[len(TEXT) :].replace("CLM*PRO-0001*250", "CLM*PRO-0001*25X"))
    assert compiled_validator(maps).validate(path) == x12_findings(path, maps)
    for validator in VALIDATORS:
        assert _validate(path, validator).exit_code in (0, 1)


@pytest.mark.parametrize("validator", VALIDATORS)
def test_an_empty_segment_is_reported_without_quoting_it(tmp_path: Path, maps: Path, validator: str) -> None:
    # Found by the fuzz run: a stray terminator leaves a segment of data alone ("SMITHSON*~"),
    # and pyx12's message 'Segment "SMITHSON*" is empty' quoted it.
    at = TEXT.index("NM1*IL")
    path = _write(tmp_path, TEXT[:at] + "SMITHSON*~\n" + TEXT[at:])
    ack = tmp_path / "out.999"
    lines = _check(_validate(path, validator, ack))
    assert any("PX108 error: Segment is empty" in line for line in lines), lines
    assert "SMITHSON" not in "\n".join(lines)
    assert "SMITHSON" not in _valid_ack(ack, maps)
