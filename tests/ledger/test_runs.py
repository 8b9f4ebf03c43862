"""Runs through one ledger: duplicate guard, replacement/void chains, control numbers, the output directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sendpro import api
from sendpro.config import RunConfig
from sendpro.errors import InputFileError, LedgerError, UsageError
from sendpro.x12.envelope import SequentialControlNumbers
from sendpro.x12.scan import iter_segments
from tests.helpers import BASE_RX, mce_text, rx_text, test_config, typed_rows
from tests.ledger.conftest import Convert, extract


def _issue_codes(out: Path) -> list[str]:
    return [json.loads(line)["code"] for line in (out / "errors.jsonl").read_text().splitlines() if line.strip()]


def _x12_files(out: Path) -> list[Path]:
    return sorted(out.glob("837*.x12"))


def test_the_same_extract_twice_emits_nothing_new(convert: Convert, tmp_path: Path) -> None:
    claims = [{"mce_claim_id": "C1"}, {"mce_claim_id": "C2"}]
    first = convert(*claims)
    assert first.overall.accepted.claims == 2 and first.exit_code == 0
    second = convert(*claims)
    assert second.exit_code == 0
    assert second.overall.accepted.claims == 0 and second.overall.rejected.claims == 0
    assert second.overall.skipped.claims == 2 and second.balanced
    assert second.overall.skipped.charge == first.overall.accepted.charge  # reconciled to the cent
    assert _x12_files(tmp_path / "out2") == []  # no 837 at all
    codes = _issue_codes(tmp_path / "out2")
    assert codes == ["CL050", "CL050"]
    message = (tmp_path / "out2" / "errors.jsonl").read_text()
    assert "837P.000000001.x12 (run 1," in message  # names the earlier file


def test_resubmit_sends_the_same_version_again_on_purpose(convert: Convert) -> None:
    convert({"mce_claim_id": "C1"})
    again = convert({"mce_claim_id": "C1"}, resubmit=True)
    assert again.overall.accepted.claims == 1 and again.overall.skipped.claims == 0


def test_overlapping_extracts_are_converted_in_turn_and_the_overlap_is_skipped(
    tmp_path: Path, ledger_path: Path
) -> None:
    """One run refuses a claim id in two inputs (FF009); run by run, the ledger skips what was sent."""
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text(extract({"mce_claim_id": "C1"}, {"mce_claim_id": "C2"}))
    b.write_text(extract({"mce_claim_id": "C2"}, {"mce_claim_id": "C3"}))
    with pytest.raises(InputFileError, match="also in"):
        api.convert_files([a, b], tmp_path / "out", test_config(ledger=ledger_path))
    first = api.convert_files([a], tmp_path / "out1", test_config(ledger=ledger_path))
    second = api.convert_files([b], tmp_path / "out2", test_config(ledger=ledger_path))
    assert first.overall.accepted.claims == 2
    assert second.overall.accepted.claims == 1 and second.overall.skipped.claims == 1
    ids = [el[1] for _, el in iter_segments(_x12_files(tmp_path / "out2")[0]) if el[0] == "CLM"]
    assert ids == ["C3"]


def test_a_changed_original_must_be_sent_as_a_replacement(convert: Convert, tmp_path: Path) -> None:
    convert({"mce_claim_id": "C1"})
    changed = convert({"mce_claim_id": "C1", "member_last_name": "ALDERSON"})
    assert changed.overall.rejected.claims == 1 and changed.exit_code == 1
    assert _issue_codes(tmp_path / "out2") == ["CL051"]
    replacement = convert(
        {"mce_claim_id": "C1R", "claim_frequency": "7", "original_claim_id": "C1", "member_last_name": "ALDERSON"}
    )
    assert replacement.overall.accepted.claims == 1 and replacement.exit_code == 0
    assert _issue_codes(tmp_path / "out3") == []  # the original is known: no CL052


def test_a_replacement_chain_and_a_void(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert({"mce_claim_id": "C1"})
    convert({"mce_claim_id": "C1R", "claim_frequency": "7", "original_claim_id": "C1"})
    void = convert({"mce_claim_id": "C1V", "claim_frequency": "8", "original_claim_id": "C1"})
    assert void.overall.accepted.claims == 1
    late = convert({"mce_claim_id": "C1R2", "claim_frequency": "7", "original_claim_id": "C1"})
    assert late.overall.rejected.claims == 1
    assert _issue_codes(tmp_path / "out4") == ["CL053"]
    assert "already voided by C1V" in (tmp_path / "out4" / "errors.jsonl").read_text()
    db = sqlite3.connect(ledger_path)
    chain = db.execute("SELECT claim_id, frequency, original_claim_id, status FROM encounters ORDER BY id").fetchall()
    assert chain == [
        ("C1", "1", None, "submitted"),
        ("C1R", "7", "C1", "submitted"),
        ("C1V", "8", "C1", "submitted"),
        ("C1R2", "7", "C1", "held"),
    ]


def test_an_unknown_original_is_only_a_warning(convert: Convert, tmp_path: Path) -> None:
    report = convert({"mce_claim_id": "C9R", "claim_frequency": "7", "original_claim_id": "C0LD"})
    assert report.overall.accepted.claims == 1 and report.exit_code == 0
    assert _issue_codes(tmp_path / "out1") == ["CL052"]


def _control_numbers(out: Path) -> list[tuple[str, str, str]]:
    found = []
    for path in _x12_files(out):
        isa = gs = ""
        for _, el in iter_segments(path):
            if el[0] == "ISA":
                isa = el[13]
            elif el[0] == "GS":
                gs = el[6]
            elif el[0] == "ST":
                found.append((isa, gs, el[2]))
    return found


def test_control_numbers_never_repeat_across_runs(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    seen: list[tuple[str, str, str]] = []
    runs: list[list[int]] = []
    for run in range(3):
        # Mixed types: three interchanges per run, all from the one sender's sequences.
        rows = [*typed_rows("P", {"mce_claim_id": f"P{run}"}), *typed_rows("I", {"mce_claim_id": f"I{run}"})]
        rows += typed_rows("D", {"mce_claim_id": f"D{run}"})
        report = convert(text=mce_text(rows))
        assert report.overall.accepted.claims == 3
        found = _control_numbers(tmp_path / f"out{run + 1}")
        seen += found
        runs.append(sorted(int(s[0]) for s in found))
    assert len(seen) == 9
    for kind in range(3):  # ISA13, GS06, ST02: all different
        assert len({int(s[kind]) for s in seen}) == 9
    assert runs[0][-1] < runs[1][0] and runs[1][-1] < runs[2][0]  # each run above the one before
    with sqlite3.connect(ledger_path) as db:
        recorded = sorted(r[0] for r in db.execute("SELECT isa13 FROM files"))
    assert recorded == sorted(int(s[0]) for s in seen)


def test_explicit_control_number_with_a_ledger(convert: Convert, tmp_path: Path) -> None:
    convert({"mce_claim_id": "C1"}, control_start=700)
    assert _control_numbers(tmp_path / "out1")[0][:2] == ("000000700", "700")
    later = convert({"mce_claim_id": "C2"})
    assert _control_numbers(tmp_path / "out2")[0][:2] == ("000000701", "701")
    with pytest.raises(LedgerError, match="already used"):
        convert({"mce_claim_id": "C3"}, control_start=5)
    assert later.exit_code == 0


def test_explicit_control_numbers_and_a_ledger_do_not_mix(tmp_path: Path, ledger_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text(extract({"mce_claim_id": "C1"}))
    config = RunConfig(ledger=ledger_path, control_numbers=SequentialControlNumbers(1))
    with pytest.raises(UsageError, match="from the ledger"):
        api.convert_files([src], tmp_path / "out", config)


def test_a_run_never_removes_a_submitted_file(convert: Convert, tmp_path: Path) -> None:
    out = tmp_path / "shared"
    convert({"mce_claim_id": "C1"}, out=out)
    submitted = _x12_files(out)
    with pytest.raises(UsageError, match="new --out directory"):
        convert({"mce_claim_id": "C2"}, out=out)
    assert _x12_files(out) == submitted  # untouched
    archive = tmp_path / "sent"
    archive.mkdir()
    for f in submitted:
        f.rename(archive / f.name)  # the team moved the submitted file away
    assert convert({"mce_claim_id": "C2"}, out=out).overall.accepted.claims == 1


def test_without_a_ledger_nothing_is_remembered(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text(extract({"mce_claim_id": "C1"}))
    for n in range(2):
        report = api.convert_files([src], tmp_path / f"out{n}", test_config())
        assert report.overall.accepted.claims == 1 and report.ledger is None


def test_pharmacy_claims_go_through_the_ledger_too(tmp_path: Path, ledger_path: Path) -> None:
    src = tmp_path / "rx.txt"
    src.write_text(rx_text([{**BASE_RX, "mce_claim_id": "RX1"}, {**BASE_RX, "mce_claim_id": "RX2"}]))
    first = api.convert_files([src], tmp_path / "rx1", test_config(ledger=ledger_path))
    assert first.overall.accepted.claims == 2
    second = api.convert_files([src], tmp_path / "rx2", test_config(ledger=ledger_path))
    assert second.overall.skipped.claims == 2 and second.overall.accepted.claims == 0
    with sqlite3.connect(ledger_path) as db:
        files = db.execute("SELECT kind, sender, isa13, claims, status FROM files").fetchall()
        batch_numbers = db.execute("SELECT number FROM reservations WHERE kind = 'ISA13'").fetchall()
    assert files == [("ncpdp", "NCPDP:PLACEHOLDER", 1, 2, "submitted")]
    assert batch_numbers == [(1,)]  # the NCPDP batch number comes from the ledger too


def test_status_counts_each_claim_once_in_its_latest_state(convert: Convert, ledger_path: Path) -> None:
    """A claim held twice is held once; held, then fixed and sent, it is submitted (no longer held)."""
    bad = {"mce_claim_id": "C9", "contract_type": "07"}
    convert({"mce_claim_id": "C1"}, bad)
    convert({"mce_claim_id": "C1"}, bad)
    counts = api.ledger_status(ledger_path).encounters["P"]
    assert counts["held"][0] == 1 and counts["submitted"][0] == 1
    convert({"mce_claim_id": "C1"}, {"mce_claim_id": "C9"})
    counts = api.ledger_status(ledger_path).encounters["P"]
    assert "held" not in counts and counts["submitted"][0] == 2
