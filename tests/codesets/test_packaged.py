"""ICD-10-CM with no configuration: the release simple-icd-10-cm ships, read without importing it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from sendpro import cli
from sendpro.codesets import packaged
from sendpro.codesets.catalog import CodeSets
from sendpro.codesets.packaged import icd10cm_release, reportable_codes
from sendpro.projectconfig import CodeListSource
from tests.helpers import claim_rows, write_mce


def test_reportable_codes_are_the_leaves() -> None:
    entries = ["1", "A00-A09", "A00", "A000", "A009", "J06", "J069", "T36", "T360", "T360X1", "T360X1A", "T360X1D"]
    # chapters and blocks are not codes; a category or subcategory with children is not reportable; the
    # placeholder X of T36.0X1A leaves T36.0 a parent though T36.0X is not in the list
    assert reportable_codes(entries) == ["A000", "A009", "J069", "T360X1A", "T360X1D"]
    assert reportable_codes([" a000 \n", "Z00", "Z0000"]) == ["A000", "Z0000"]


def test_the_packaged_release_is_found_and_named() -> None:
    release = icd10cm_release()
    assert release is not None
    assert release.release == "April 2026" and "simple-icd-10-cm" in release.source
    codes = set(release.codes)
    assert {"J069", "Z0000", "M5450", "S52521A"} <= codes
    # M54.5 was split in FY2022 and J06 is a category: neither is a code a claim may carry
    assert codes.isdisjoint({"M545", "J06", "J0699", "A00-A09", "1"})
    assert len(codes) > 70_000


def test_reading_the_list_does_not_import_the_package() -> None:
    # importing simple_icd_10_cm parses its tabular XML (seconds on every run); the list file is enough
    code = "import sys; from sendpro.codesets.packaged import icd10cm_release; icd10cm_release(); "
    code += "print('simple_icd_10_cm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the package uses importlib.resources' legacy API
def test_same_codes_as_the_package_says_are_leaves() -> None:
    # the package's own API is the reference for what a reportable code is (its import is slow: once, here)
    import simple_icd_10_cm as icd

    release = icd10cm_release()
    assert release is not None
    # blocks of one category share its code (B20, Z66: billable), so blocks are told apart by shape only;
    # the package also lists a few leaves that are not ICD-10-CM code shapes, which sendpro never accepts
    by_api = {c for c in icd.get_all_codes(False) if icd.is_leaf(c) and packaged._CODE.fullmatch(c)}
    assert {"B20", "Z66"} <= by_api
    assert set(release.codes) == by_api


def test_cs001_checks_membership_with_no_configuration(tmp_path: Path) -> None:
    rows = [
        *claim_rows({"mce_claim_id": "GOOD", "dx_1": "J069"}),
        *claim_rows({"mce_claim_id": "SPLIT", "dx_1": "M545"}),  # deleted in FY2022: M54.50, .51, .59
        *claim_rows({"mce_claim_id": "NONE", "dx_1": "J0699"}),
    ]
    src = write_mce(tmp_path / "in.txt", rows)
    result = CliRunner().invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "out"), "--no-ledger"])
    assert result.exit_code == 1, result.output
    issues = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert sorted(i["claim_id"] for i in issues if i["code"] == "CS001") == ["NONE", "SPLIT"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    [icd10cm] = [c for c in report["codesets"] if c["name"] == "icd10cm"]
    assert icd10cm["mode"] == "membership" and icd10cm["packaged"] is True
    assert icd10cm["releases"][0]["version"] == "ICD-10-CM April 2026"
    assert "simple-icd-10-cm" in icd10cm["releases"][0]["source"]
    assert "ICD-10-CM April 2026" in result.output  # the run summary names the release


def test_a_configured_list_wins(tmp_path: Path) -> None:
    mine = tmp_path / "icd.txt"
    mine.write_text("M545\n", encoding="utf-8")
    sets = CodeSets.load({"icd10cm": (CodeListSource(mine, "mine"),)})
    found = sets.get("icd10cm")
    assert found is not None and not found.packaged and found.known("M545") and not found.known("J069")


def test_without_the_package_the_code_set_is_format_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == packaged.ICD10CM_PACKAGE else real(name, *a)
    )
    assert icd10cm_release() is None
    described = {d["name"]: d for d in CodeSets.load().describe()}
    assert described["icd10cm"]["mode"] == "format only"
    assert "simple-icd-10-cm is not installed" in str(described["icd10cm"]["why"])


def test_the_packaged_list_judges_values_whatever_the_date() -> None:
    found = CodeSets.load().get("icd10cm")
    assert found is not None
    frame = pl.DataFrame({"v": ["J069", "M545", None], "d": ["20150101", "20270101", "20260101"]})
    out = frame.select(found.invalid(pl.col("v"), pl.col("d")).alias("bad"))["bad"].to_list()
    assert out == [False, True, False]
