"""Rejects with their reasons (issue 13, item 1).

Every issue of a rejected claim names the rejects file and the line there of the
record it is about, and ``rejects_<type>.reasons.csv`` holds one row per rejected
claim. The checks are made against the files themselves: the line an issue names
in the rejects file is the very line it names in the input, every reasons row
points at its claim's first record, and the rejects file still converts.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sendpro.cli import cli
from sendpro.convert.sinks import REASON_COLUMNS

pytestmark = pytest.mark.integration


def _run(args: list[str]) -> Any:
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _sample(tmp_path: Path, *extra: str, defects: bool = True) -> Path:
    path = tmp_path / "in.txt"
    seeded = ["--defects", "0.3"] if defects else []
    result = _run(["sample", "--claims", "120", *seeded, "--seed", "7", "--out", str(path), *extra])
    assert result.exit_code == 0, result.output
    return path


def _convert(source: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = _run(["convert", str(source), "--out", str(out), "--no-ledger", "-q", *extra])
    assert result.exit_code == 1, result.output
    return dict(json.loads((out / "report.json").read_text(encoding="utf-8")))


def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    return path.read_text(encoding=encoding).split("\n")


def _claim_id_column(rejects: Path) -> int | None:
    header = _lines(rejects)[0].split("|")
    return header.index("mce_claim_id") if "mce_claim_id" in header else None


def _check(source: Path, out: Path, report: dict[str, Any]) -> int:
    """Check issues and reasons against the input and the rejects files; return the reasons rows."""
    inputs = _lines(source)
    issues = [json.loads(line) for line in _lines(out / "errors.jsonl") if line]
    placed = [i for i in issues if i["rejects_file"] is not None]
    assert placed, "the sample has rejected claims"
    for issue in placed:
        rejects = _lines(out / issue["rejects_file"])
        assert rejects[issue["rejects_row"] - 1] == inputs[issue["row"] - 1], issue["code"]
    # Issues of accepted claims point into no rejects file.
    rejected_ids = {i["claim_id"] for i in placed}
    assert all(i["rejects_row"] is None for i in issues if i["claim_id"] not in rejected_ids)
    # errors.csv carries the same two columns.
    with (out / "errors.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["code"] and not r["code"].startswith("#")]
    assert sum(1 for r in rows if r["rejects_file"]) == len(placed)

    total = 0
    kinds = {o["name"]: o for o in report["outputs"]}
    for entry in [o for o in report["outputs"] if o["kind"] == "rejects"]:
        name = entry["name"]
        reasons_name = name.removesuffix(".txt") + ".reasons.csv"
        assert kinds[reasons_name]["kind"] == "reasons"
        rejects = _lines(out / name)
        with (out / reasons_name).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == REASON_COLUMNS
            reasons = list(reader)
        # One row per claim as grouped: pharmacy rows sharing a claim id are one row here.
        assert len(reasons) == kinds[reasons_name]["claims"] <= entry["claims"]
        column = _claim_id_column(out / name)
        for row in reasons:
            first = rejects[int(row["rejects_row"]) - 1]
            assert first == inputs[int(row["input_row"]) - 1]
            if column is not None:
                assert first.split("|")[column] == row["claim_id"]
            own = {i["code"] for i in placed if i["claim_id"] == row["claim_id"] and i["severity"] == "error"}
            assert row["codes"].split() == sorted(own)
            for code in own:
                assert f"{code}: " in row["messages"]
            assert row["charge"] == "" or row["charge"].replace("-", "").replace(".", "").isdigit()
        total += len(reasons)
    return total


def test_mce_rejects_issues_and_reasons_point_at_the_same_lines(tmp_path: Path) -> None:
    source = _sample(tmp_path, "--types", "P,I,D")
    report = _convert(source, tmp_path / "out")
    assert _check(source, tmp_path / "out", report) == sum(
        o["claims"] for o in report["outputs"] if o["kind"] == "rejects"
    )  # medical claims group their rows by claim id: one reasons row per rejects claim


def test_fixed_width_rejects_rows_count_the_copied_header(tmp_path: Path) -> None:
    source = _sample(tmp_path, "--layout", "mce-fw-example", defects=False)
    # Damage the first CL record's member_dob (positions 136-143): that claim is rejected.
    lines = _lines(source)
    at = next(i for i, line in enumerate(lines) if line.startswith("CL"))
    lines[at] = lines[at][:135] + "20261399" + lines[at][143:]
    source.write_text("\n".join(lines), encoding="utf-8")
    report = _convert(source, tmp_path / "out")
    assert _check(source, tmp_path / "out", report) > 0
    # The rejects file starts with the input's header record: the first claim is on line 2.
    rejects = next(o["name"] for o in report["outputs"] if o["kind"] == "rejects")
    with (tmp_path / "out" / rejects.replace(".txt", ".reasons.csv")).open(encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["rejects_row"] == "2"


def test_pharmacy_rejects_have_reasons(tmp_path: Path) -> None:
    source = _sample(tmp_path, "--types", "RX")
    report = _convert(source, tmp_path / "out")
    assert _check(source, tmp_path / "out", report) > 0


def test_the_rejects_file_is_still_an_input_and_its_claims_fail_again(tmp_path: Path) -> None:
    source = _sample(tmp_path)
    first = _convert(source, tmp_path / "out")
    rejects = tmp_path / "out" / "rejects_P.txt"
    again = _convert(rejects, tmp_path / "again")
    assert again["reconciliation"]["P"]["rejected"]["claims"] == first["reconciliation"]["P"]["rejected"]["claims"]
    with (tmp_path / "out" / "rejects_P.reasons.csv").open(encoding="utf-8") as a:
        with (tmp_path / "again" / "rejects_P.reasons.csv").open(encoding="utf-8") as b:
            before = [(r["claim_id"], r["codes"]) for r in csv.DictReader(a)]
            after = [(r["claim_id"], r["codes"]) for r in csv.DictReader(b)]
    assert before == after
