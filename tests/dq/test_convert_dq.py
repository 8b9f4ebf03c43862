"""``sendpro convert`` on ``sendpro sample`` data: report.json's dq_measures and the run summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sendpro import cli
from sendpro.dq.measures import CLAIM_GROUPS, RECORD_TYPES

pytestmark = pytest.mark.integration

KEYS = {
    "measure",
    "name",
    "claim_group",
    "record_type",
    "file",
    "numerator",
    "denominator",
    "rate",
    "threshold",
    "met",
    "source",
}
BAD_NPI = "1234567890"  # ten digits, wrong check digit


def _sample(runner: CliRunner, tmp_path: Path) -> Path:
    src = tmp_path / "in.txt"
    result = runner.invoke(cli.cli, ["sample", "--claims", "24", "--types", "P,I", "--seed", "3", "--out", str(src)])
    assert result.exit_code == 0, result.output
    return src


def _seed_bad_billing_npi(src: Path) -> str:
    """Give the first original professional claim a billing NPI with a wrong check digit; return its id."""
    with src.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="|"))
        fields = list(rows[0])
    target = next(r["mce_claim_id"] for r in rows if r["claim_type"] == "P" and r["claim_frequency"] == "1")
    for r in rows:
        if r["mce_claim_id"] == target:
            r["billing_npi"] = BAD_NPI
    with src.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields, delimiter="|", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def _convert(runner: CliRunner, src: Path, out: Path) -> tuple[dict[str, Any], str]:
    # PV010 (NPI check digit) is ignored so that the seeded claim is sent, as a
    # project that turned the rule off would send it: the DQ measure still sees it.
    args = ["convert", str(src), "--out", str(out), "--no-ledger", "--ignore", "PV010", "--jobs", "1"]
    result = runner.invoke(cli.cli, args)
    assert result.exit_code in (0, 1), result.output
    return json.loads((out / "report.json").read_text(encoding="utf-8")), result.output


def _billing(report: dict[str, Any]) -> dict[str, Any]:
    return next(
        m
        for m in report["dq_measures"]
        if m["measure"] == "billing_npi" and m["claim_group"] == "professional" and m["record_type"] == "original"
    )


def test_report_has_dq_measures_and_a_seeded_defect_lowers_its_rate(tmp_path: Path) -> None:
    """report.json lists the measures per file, group and record type; a bad NPI lowers billing_npi only."""
    runner = CliRunner()
    src = _sample(runner, tmp_path)
    clean, clean_output = _convert(runner, src, tmp_path / "clean")
    assert clean["dq_measures"], "no measure computed"
    files = {o["name"] for o in clean["outputs"] if o["kind"] == "837"}
    for m in clean["dq_measures"]:
        assert set(m) == KEYS
        assert m["claim_group"] in CLAIM_GROUPS and m["record_type"] in RECORD_TYPES
        assert m["file"] in files
        assert 0 <= m["numerator"] <= m["denominator"]
        assert m["source"].startswith("jplegeratma/")
    assert {n["measure"] for n in clean["dq_not_computed"]} >= {"admission_type"}
    # ICD-10-CM needs no configuration (the packaged release), so the diagnosis measures are computed
    assert "principal_diagnosis" in {m["measure"] for m in clean["dq_measures"]}
    assert all(set(n) == {"measure", "name", "reason"} for n in clean["dq_not_computed"])
    before = _billing(clean)
    assert before["rate"] == 1.0 and before["met"] is True
    assert "data-quality measures below threshold" not in clean_output

    _seed_bad_billing_npi(src)
    seeded, output = _convert(runner, src, tmp_path / "seeded")
    after = _billing(seeded)
    assert after["denominator"] == before["denominator"]
    assert after["numerator"] == before["numerator"] - 1
    assert after["met"] is False
    assert "MassHealth data-quality measures below threshold: 1" in output
    assert "billing_npi" in output and f"({after['numerator']}/{after['denominator']})" in output
    # Every other measure is as it was.
    others = {(m["measure"], m["claim_group"], m["record_type"]): m["numerator"] for m in seeded["dq_measures"]}
    for m in clean["dq_measures"]:
        if m["measure"] != "billing_npi":
            assert others[(m["measure"], m["claim_group"], m["record_type"])] == m["numerator"]


def test_rejected_claims_are_not_measured(tmp_path: Path) -> None:
    """With PV010 on, the seeded claim is rejected: it is not sent, so the measure stays at 1.0."""
    runner = CliRunner()
    src = _sample(runner, tmp_path)
    _seed_bad_billing_npi(src)
    out = tmp_path / "out"
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(out), "--no-ledger"])
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert _billing(report)["rate"] == 1.0
