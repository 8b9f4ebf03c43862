"""Code lists: reading, normalizing, dated releases, and what a run reports about them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from sendpro.codesets.catalog import SPECS, CodeSets
from sendpro.codesets.codelist import ndc11, no_dots, read_code_list
from sendpro.errors import UsageError
from sendpro.projectconfig import CodeListSource


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_plain_text_lists_take_the_first_word_of_each_line(tmp_path: Path) -> None:
    # The shape of CMS's icd10cm_codes_YYYY.txt: code, spaces, description.
    path = _write(
        tmp_path / "icd.txt", "# a comment\nA000    Cholera due to Vibrio cholerae\n\nE11.9   Type 2 diabetes\n"
    )
    found = read_code_list(path, no_dots)
    assert found.codes() == {"A000", "E119"} and found.size == 2


def test_csv_lists_carry_per_code_dates(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "pos.csv", "code,effective_from,effective_to,description\n11,,,Office\n10,2022-01-01,,Home\n"
    )
    found = read_code_list(path)
    assert found.groups == {(None, None): ["11"], ("20220101", None): ["10"]}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.txt", "# nothing but a comment\n", "no codes"),
        ("bad.csv", "code,effective_from\n11,2022-13-01\n", "not a date"),
        ("bad.csv", "name,effective_from\n11,\n", "needs a 'code' column"),
    ],
)
def test_bad_lists_are_usage_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_code_list(_write(tmp_path / name, text))


def test_missing_list_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read it"):
        read_code_list(tmp_path / "nowhere.txt")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("0071-0155-23", "00071015523"),
        ("50242-040-62", "50242004062"),
        ("60575-4112-1", "60575411201"),
        ("00071015523", "00071015523"),
    ],
)
def test_ndc_forms_become_eleven_digits(written: str, canonical: str) -> None:
    assert ndc11(written) == canonical


def _check(sets: CodeSets, name: str, codes: list[str], dates: list[str | None]) -> list[bool]:
    codeset = sets.get(name)
    assert codeset is not None
    frame = pl.DataFrame({"v": codes, "d": dates}, schema={"v": pl.String, "d": pl.String})
    return frame.select(codeset.invalid(pl.col("v"), pl.col("d")).fill_null(False))["v"].to_list()


def test_dated_releases_judge_each_value_by_its_date(tmp_path: Path) -> None:
    fy26 = CodeListSource(_write(tmp_path / "a.txt", "J069\n"), "FY2026", dt.date(2025, 10, 1), dt.date(2026, 9, 30))
    fy27 = CodeListSource(_write(tmp_path / "b.txt", "J069\nE119\n"), "FY2027", dt.date(2026, 10, 1))
    sets = CodeSets.load({"icd10cm": (fy27, fy26)})
    invalid = _check(
        sets,
        "icd10cm",
        ["E119", "E119", "J069", "ZZZZ", "E119", "E119"],
        ["20260301", "20261015", "20260301", "20260301", None, "20240101"],
    )
    # E119 is not in FY2026; it is in FY2027; unknown codes fail; no date: any release;
    # a date no release covers is not judged.
    assert invalid == [True, False, False, True, False, False]
    found = sets.get("icd10cm")
    assert found is not None and [r.version for r in found.releases] == ["FY2026", "FY2027"]
    assert found.known("E11.9") and not found.known("ZZZZ")


def test_bundled_place_of_service_list_knows_when_codes_began() -> None:
    sets = CodeSets.load()
    assert _check(sets, "pos", ["11", "10", "10", "98"], ["20210301", "20210301", "20220101", "20260101"]) == [
        False,
        True,
        False,
        True,
    ]
    assert _check(sets, "state", ["MA", "PR", "XX"], ["20260101"] * 3) == [False, False, True]


def test_the_report_says_how_each_code_set_is_checked(tmp_path: Path) -> None:
    sets = CodeSets.load({"cpt": (CodeListSource(_write(tmp_path / "cpt.txt", "99213\n"), "2026"),)})
    described = {d["name"]: d for d in sets.describe()}
    assert set(described) == {s.name for s in SPECS}
    assert described["cpt"]["mode"] == "membership" and described["cpt"]["bundled"] is False
    assert described["pos"]["mode"] == "membership" and described["pos"]["bundled"] is True
    assert described["icd10pcs"]["mode"] == "format only"
    assert "[codesets] icd10pcs" in str(described["icd10pcs"]["why"])
    # ICD-10-CM is checked with no configuration, against the release simple-icd-10-cm ships
    assert described["icd10cm"]["mode"] == "membership" and described["icd10cm"]["packaged"] is True


def test_unknown_code_set_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown code set"):
        CodeSets.load({"icd9": (CodeListSource(tmp_path / "x.txt"),)})


def test_per_code_periods_are_looked_up_per_value() -> None:
    """Thousands of distinct per-code periods (an NDC directory's marketing dates) and a code with two periods."""
    import polars as pl

    from sendpro.codesets.codelist import CodeList

    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for i in range(3000):
        start = f"{2000 + i % 20}{1 + i % 12:02d}{1 + i % 28:02d}"
        groups.setdefault((start, None if i % 3 else f"{2021 + i % 5}1231"), []).append(f"C{i:05d}")
    groups.setdefault(("20100101", "20121231"), []).append("TWICE")  # ended, then listed again
    groups.setdefault(("20200101", None), []).append("TWICE")
    groups.setdefault((None, None), []).append("OPEN")
    codes = CodeList("t", groups=groups)
    cases = {
        ("C00002", "20010303"): False,  # before its start, 20020303
        ("C00002", "20020303"): True,
        ("C00003", "20250101"): False,  # ended 20241231
        ("TWICE", "20110601"): True,
        ("TWICE", "20150601"): False,  # between its two periods
        ("TWICE", "20200102"): True,
        ("OPEN", "19990101"): True,
        ("NOPE", "20200101"): False,
    }
    frame = pl.DataFrame({"v": [v for v, _ in cases], "d": [d for _, d in cases]})
    got = frame.select(codes.active(pl.col("v"), pl.col("d")).alias("a"))["a"].to_list()
    assert got == list(cases.values())
