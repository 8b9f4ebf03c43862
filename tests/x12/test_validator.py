"""Unit tests for the compiled validator (sendpro.x12.validator): its parts, and files pyx12 stops on.

The differential tests (test_validator_differential.py) hold the validator against
pyx12 on whole files; these pin the pieces that make it sound: value patterns accept
nothing pyx12 rejects, the reader splits files as pyx12's does, the compiled form is
cached, and damaged input gives findings, never an exception.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyx12 import validation

from sendpro.cli import cli
from sendpro.validate.pyx12_bridge import compiled_validator, project_map_dir, validate_x12, x12_findings
from sendpro.x12.validator.compiler import COMPILER_VERSION, ValueSpec, load_compiled
from sendpro.x12.validator.patterns import DATE6, DATE8, PatternBuilder, Separators, _trie

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "x12" / "basic-professional" / "expected.x12"
SEPS = Separators("*", ":", "~")


@pytest.fixture(scope="module")
def maps() -> Path:
    return project_map_dir()


def _both(path: Path, maps: Path) -> tuple[tuple[bool, dict[str, object]], tuple[bool, dict[str, object]]]:
    return compiled_validator(maps).validate(path), x12_findings(path, maps)


# -- value patterns are sound (never accept what pyx12 rejects) -----------------------------------


@pytest.mark.parametrize("year", [1799, 1800, 1899, 1900, 1904, 1999, 2000, 2024, 2025, 2100, 2199, 2200])
def test_date8_pattern_is_pyx12s_date_rule(year: int) -> None:
    rx = re.compile(DATE8)
    for month in range(0, 14):
        for day in range(0, 33):
            value = f"{year:04d}{month:02d}{day:02d}"
            ours = rx.fullmatch(value) is not None
            theirs = validation.is_valid_date("D8", value)
            if ours:
                assert theirs, value  # sound
            if 1800 <= year <= 2199:
                assert ours == theirs, value  # and complete within the years it covers


def test_date6_pattern_is_pyx12s_date_rule() -> None:
    rx = re.compile(DATE6)
    for yy in range(100):
        for month in range(0, 14):
            for day in (0, 1, 28, 29, 30, 31, 32):
                value = f"{yy:02d}{month:02d}{day:02d}"
                assert (rx.fullmatch(value) is not None) == validation.is_valid_date("DT", value), value


@pytest.mark.parametrize("lo,hi", [(4, 4), (4, 8), (4, 6)])
def test_time_pattern_is_sound(lo: int, hi: int) -> None:
    builder = PatternBuilder("00501", SEPS)
    rx = re.compile(builder.value(ValueSpec("TM", lo, hi, None, None)) or "")
    rng = random.Random(7)
    for _ in range(20_000):
        value = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
        if rx.fullmatch(value):
            assert lo <= len(value) <= hi and validation.is_valid_time(value), value


@pytest.mark.parametrize("kind,lo,hi", [("R", 1, 18), ("R", 4, 10), ("N", 1, 9), ("N", 9, 9)])
def test_number_patterns_are_sound(kind: str, lo: int, hi: int) -> None:
    builder = PatternBuilder("00501", SEPS)
    rx = re.compile(builder.value(ValueSpec(kind, lo, hi, None, None)) or "")
    rng = random.Random(11)
    for _ in range(30_000):
        value = "".join(rng.choice("0123456789.-") for _ in range(rng.randint(1, 22)))
        if rx.fullmatch(value):
            measured = len(value.replace("-", "").replace(".", ""))
            assert validation.match_re(kind, value) and lo <= measured <= hi, value


def test_text_pattern_refuses_separators_control_characters_and_trailing_spaces() -> None:
    rx = re.compile(PatternBuilder("00501", SEPS).value(ValueSpec("AN", 1, 10, None, None)) or "")
    assert rx.fullmatch("ACME CO.")
    for bad in ("A*B", "A:B", "A~B", "AB ", "A\x01B", "A\tB", "ÄB", "", "X" * 11):
        assert not rx.fullmatch(bad), bad


def test_code_alternation_matches_exactly_its_codes() -> None:
    codes = [f"{n:02d}" for n in range(1, 60)] + ["A", "AB", "ABC", "B1"]
    rx = re.compile(_trie(codes))
    for code in codes:
        assert rx.fullmatch(code)
    for other in ("", "00", "60", "ABCD", "B", "A1", "1"):
        assert not rx.fullmatch(other), other


# -- the compiled form is cached next to the derived maps ---------------------------------------------


def test_compiled_map_is_cached_and_a_damaged_cache_is_rebuilt(maps: Path) -> None:
    from sendpro.validate.pyx12_bridge import pyx12_version

    first = load_compiled(maps, "837.5010.X298.A1.xml", pyx12_version())
    [cache] = (maps / "compiled").glob("837.5010.X298.A1.*.json")
    assert json.loads(cache.read_text())["file"] == "837.5010.X298.A1.xml"
    assert load_compiled(maps, "837.5010.X298.A1.xml", pyx12_version()) == first
    cache.write_text("{not json", encoding="utf-8")
    assert load_compiled(maps, "837.5010.X298.A1.xml", pyx12_version()) == first
    assert json.loads(cache.read_text())["nodes"]
    assert COMPILER_VERSION


def test_the_cache_key_follows_pyx12s_version(maps: Path) -> None:
    load_compiled(maps, "999.5010X231.A1.xml", "0.0-test")
    names = {p.name for p in (maps / "compiled").glob("999.5010X231.A1.*.json")}
    load_compiled(maps, "999.5010X231.A1.xml", "0.1-test")
    assert len({p.name for p in (maps / "compiled").glob("999.5010X231.A1.*.json")}) == len(names) + 1


# -- reading as pyx12 reads ---------------------------------------------------------------------------


def test_clean_golden_file_needs_no_pyx12(maps: Path, tmp_path: Path) -> None:
    v = compiled_validator(maps)
    ok, doc = v.validate(GOLDEN)
    assert ok and v.stats.segment_checks == 0 and v.stats.diagnosed == 0 and not v.stats.whole_file
    assert (ok, doc) == x12_findings(GOLDEN, maps)


def test_a_segment_longer_than_pyx12s_read_block_ends_the_file_for_both(maps: Path, tmp_path: Path) -> None:
    text = GOLDEN.read_text()
    # pyx12 stops reading at an 8,192-character block without a terminator: the rest is unread.
    long = text.replace("NM1*41*2*", "NM1*41*2*" + "X" * 20_000, 1)
    path = tmp_path / "long.x12"
    path.write_text(long)
    compiled, reference = _both(path, maps)
    assert compiled == reference and not compiled[0]


def test_an_empty_segment_ends_the_file_for_both(maps: Path, tmp_path: Path) -> None:
    segs = GOLDEN.read_text().split("~")
    segs.insert(12, "\n")
    path = tmp_path / "empty.x12"
    path.write_text("~".join(segs))
    compiled, reference = _both(path, maps)
    assert compiled == reference and not compiled[0]


def test_non_ascii_bytes_are_invalid_characters_not_a_crash(maps: Path, tmp_path: Path) -> None:
    data = GOLDEN.read_bytes().replace(b"NM1*41*2*", b"NM1*41*2*\xc3\xa9", 1)
    path = tmp_path / "latin.x12"
    path.write_bytes(data)
    compiled, reference = _both(path, maps)
    assert compiled == reference and not compiled[0]
    for validator in ("compiled", "pyx12"):
        codes = {i.code for i in validate_x12(path, maps, "latin.x12", validator)}
        assert "PX206" in codes, (validator, codes)


def test_letters_as_separators_go_to_pyx12_whole(maps: Path, tmp_path: Path) -> None:
    text = GOLDEN.read_text()
    path = tmp_path / "letters.x12"
    path.write_text(text[:104] + "A" + text[105:])
    v = compiled_validator(maps)
    assert v.validate(path) == x12_findings(path, maps) and v.stats.whole_file


# -- input pyx12 stops on -------------------------------------------------------------------------------


def _with_extra_component(tmp_path: Path) -> Path:
    text = GOLDEN.read_text()
    clm = re.search(r"^CLM\*.*?~", text, re.M)
    assert clm
    path = tmp_path / "extra.x12"
    path.write_text(text.replace(clm.group(0), clm.group(0)[:-1] + ":Z~", 1))
    return path


def test_extra_components_are_a_finding_where_pyx12_stops(maps: Path, tmp_path: Path) -> None:
    path = _with_extra_component(tmp_path)
    [issue] = validate_x12(path, maps, "extra.x12")
    assert issue.code == "PX108" and "CLM05" in issue.message
    [stop] = validate_x12(path, maps, "extra.x12", "pyx12")
    assert stop.code == "PX001" and "cannot check the file" in stop.message


def test_a_date_range_with_two_dashes_is_a_finding(maps: Path, tmp_path: Path) -> None:
    text = GOLDEN.read_text()
    dtp = re.search(r"^DTP\*472\*D8\*(\d{8})~", text, re.M)
    assert dtp
    path = tmp_path / "rd8.x12"
    path.write_text(text.replace(dtp.group(0), f"DTP*472*RD8*{dtp.group(1)}-{dtp.group(1)}-1~", 1))
    [issue] = validate_x12(path, maps, "rd8.x12")
    assert issue.code == "PX108" and "more than one dash" in issue.message


@pytest.mark.parametrize("validator", ["compiled", "pyx12"])
def test_validate_cli_reports_damaged_files_with_exit_1(tmp_path: Path, validator: str) -> None:
    path = _with_extra_component(tmp_path)
    result = CliRunner().invoke(cli, ["validate", str(path), "--validator", validator])
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output


def test_validate_cli_accepts_a_clean_file_with_either_validator() -> None:
    for validator in ("compiled", "pyx12"):
        result = CliRunner().invoke(cli, ["validate", str(GOLDEN), "--validator", validator])
        assert result.exit_code == 0 and result.output.strip().endswith("valid"), result.output
