"""The test base claims of every type are clean: no issue at all, and pyx12 accepts their 837."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendpro import api
from tests.helpers import INPATIENT, all_issues, mce_text, run_engine, test_config, typed_rows


@pytest.mark.parametrize(
    ("claim_type", "extra"),
    [("P", {}), ("I", {}), ("I", INPATIENT), ("D", {})],
    ids=["professional", "outpatient", "inpatient", "dental"],
)
def test_base_claim_is_clean(tmp_path: Path, claim_type: str, extra: dict[str, str]) -> None:
    path = tmp_path / "in.txt"
    path.write_text(mce_text(typed_rows(claim_type, extra)))
    claims, file_issues = run_engine(path)
    assert [i.message for i in all_issues(claims, file_issues)] == []
    report = api.convert_files([path], tmp_path / "out", test_config())
    assert report.exit_code == 0 and report.output_validation == "passed"
