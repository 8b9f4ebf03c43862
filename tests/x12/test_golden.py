"""Golden files: fixtures/x12/<case>/input.* converted with a fixed clock and control numbers.

Run with UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change,
then review the diff.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from sendpro.api import convert_files
from sendpro.validate.pyx12_bridge import validate_x12
from sendpro.x12.envelope import SequentialControlNumbers
from tests.helpers import test_config

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "x12"
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))


def _case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir() and any(p.glob("input.*")))


def _options(case: Path) -> dict[str, object]:
    path = case / "case.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@pytest.mark.parametrize("case", _case_dirs(), ids=lambda p: p.name)
def test_golden(case: Path, tmp_path: Path) -> None:
    opts = _options(case)
    inputs = [str(x) for x in opts.get("inputs", ["input.txt"])]  # type: ignore[union-attr]
    expected_name = str(opts.get("expected", "837P.x12"))
    for name in inputs:
        out = tmp_path / name
        profile = opts.get("profile")
        config = test_config(
            profile=str(case / str(profile)) if profile else "masshealth-sendpro",
            control_numbers=SequentialControlNumbers(int(opts.get("control_number", 1))),  # type: ignore[arg-type]
            ignore=tuple(str(c) for c in opts.get("ignore", [])),  # type: ignore[union-attr]
        )
        report = convert_files([case / name], out, config)
        produced = (out / expected_name).read_text(encoding="ascii")
        expected_path = case / "expected.x12"
        if UPDATE and name == inputs[0]:
            expected_path.write_text(produced, encoding="ascii")
            errors = (out / "errors.jsonl").read_text(encoding="utf-8")
            (case / "expected_errors.jsonl").write_text(errors.replace(str(case / name), name), encoding="utf-8")
            for reasons in out.glob("rejects_*.reasons.csv"):
                (case / f"expected_{reasons.name}").write_bytes(reasons.read_bytes())
        assert produced == expected_path.read_text(encoding="ascii"), f"{name}: 837 differs from expected.x12"
        assert report.balanced
        assert report.output_validation == "passed"
        assert validate_x12(out / expected_name) == []
        expected_errors = case / "expected_errors.jsonl"
        if expected_errors.is_file():
            got = [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
            for record in got:
                record["file"] = Path(record["file"]).name
            want = [json.loads(line) for line in expected_errors.read_text(encoding="utf-8").splitlines()]
            for record in want:
                record["file"] = Path(record["file"]).name
            assert got == want
        if name == inputs[0]:
            # One reasons row per rejected claim, pointing into its rejects file (issue 13, item 1).
            produced_reasons = sorted(p.name for p in out.glob("rejects_*.reasons.csv"))
            assert produced_reasons == sorted(p.name.removeprefix("expected_") for p in case.glob("expected_rejects_*"))
            for reasons in produced_reasons:
                assert (out / reasons).read_bytes() == (case / f"expected_{reasons}").read_bytes(), reasons
