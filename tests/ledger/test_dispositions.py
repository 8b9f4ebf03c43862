"""One disposition, one story: what a re-run of an old extract reports about each claim."""

from __future__ import annotations

import json
from pathlib import Path

from sendpro import api
from tests.helpers import claim_rows, test_config, write_mce


def _codes(out: Path) -> list[tuple[str, str]]:
    lines = (out / "errors.jsonl").read_text().splitlines()
    return sorted((json.loads(x)["code"], json.loads(x)["claim_id"]) for x in lines)


def test_a_skipped_claim_does_not_repeat_its_warnings(tmp_path: Path) -> None:
    # A replacement whose original the ledger never saw: CL052 warns, and it is sent.
    src = write_mce(tmp_path / "in.txt", claim_rows({"claim_frequency": "7", "original_claim_id": "GONE"}))
    ledger = tmp_path / "ledger.sqlite"
    first = api.convert_files([src], tmp_path / "run1", test_config(ledger=ledger))
    assert first.exit_code == 0 and ("CL052", "C100") in _codes(tmp_path / "run1")
    again = api.convert_files([src], tmp_path / "run2", test_config(ledger=ledger))
    assert again.overall.skipped.claims == 1
    assert _codes(tmp_path / "run2") == [("CL050", "C100")]


def test_a_sent_claim_with_errors_now_is_rejected_not_also_skipped(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    src = write_mce(tmp_path / "in.txt", claim_rows())
    assert api.convert_files([src], tmp_path / "run1", test_config(ledger=ledger)).exit_code == 0
    # The same extract, damaged: the second row disagrees on a claim-level column the first row carries.
    damaged = write_mce(tmp_path / "old.txt", claim_rows(lines=[{}, {"contract_type": "02"}]))
    report = api.convert_files([damaged], tmp_path / "run2", test_config(ledger=ledger))
    codes = _codes(tmp_path / "run2")
    assert "CL050" not in {c for c, _ in codes} and ("CL014", "C100") in codes
    assert (report.overall.rejected.claims, report.overall.skipped.claims, report.exit_code) == (1, 0, 1)
