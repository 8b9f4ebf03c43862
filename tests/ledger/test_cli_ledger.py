"""The ledger commands through click's runner: convert twice, validate --ack, ack, status, reconcile."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro import cli
from tests.ledger.acks_builder import ClaimStatus, build_277
from tests.ledger.conftest import SENDER, extract

pytestmark = pytest.mark.integration


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def submitted(runner: CliRunner, tmp_path: Path) -> Path:
    """A ledger (the test's SENDPRO_LEDGER) holding one run of two professional claims; return its output dir."""
    src = tmp_path / "in.txt"
    src.write_text(extract({"mce_claim_id": "C1"}, {"mce_claim_id": "C2"}))
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "run1")])
    assert result.exit_code == 0, result.output
    assert "(run 1)" in result.output
    return tmp_path / "run1"


def test_convert_twice_says_nothing_new(runner: CliRunner, submitted: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli.cli, ["convert", str(tmp_path / "in.txt"), "--out", str(tmp_path / "run2")])
    assert result.exit_code == 0, result.output
    assert "reconciled (input = accepted + rejected + skipped): yes, to the cent" in result.output
    assert "2 claim(s) already submitted in this version were skipped (CL050)" in result.output
    assert "exit 0: nothing new: every claim was already submitted" in result.output


def test_no_ledger_flag_and_explicit_ledger(runner: CliRunner, submitted: Path, tmp_path: Path) -> None:
    src = str(tmp_path / "in.txt")
    free = runner.invoke(cli.cli, ["convert", src, "--out", str(tmp_path / "free"), "--no-ledger"])
    assert free.exit_code == 0 and "ledger:" not in free.output and "every claim accepted" in free.output
    other = tmp_path / "other.sqlite"
    own = runner.invoke(cli.cli, ["convert", src, "--out", str(tmp_path / "own"), "--ledger", str(other)])
    assert own.exit_code == 0 and other.is_file() and "every claim accepted" in own.output


def test_round_trip_through_the_commands(runner: CliRunner, submitted: Path, tmp_path: Path) -> None:
    x12 = next(submitted.glob("837P*.x12"))
    ack999 = tmp_path / "run1.999"
    result = runner.invoke(cli.cli, ["validate", str(x12), "--ack", str(ack999)])
    assert result.exit_code == 0, result.output
    assert "999 for 1 transaction set(s): 1 accepted, 0 rejected" in result.output and ack999.is_file()
    ack277 = tmp_path / "run1.277"
    charge = Decimal("250.00")
    ack277.write_text(
        build_277([ClaimStatus("C1", "A2", "20", charge), ClaimStatus("C2", "A6", "21", charge)], SENDER, "P")
    )
    result = runner.invoke(cli.cli, ["ack", str(ack999), str(ack277)])
    assert result.exit_code == 0, result.output
    assert f"{ack999}: TA1, 999: 1 file(s); encounters: 2 acknowledged" in result.output  # ISA14 asked for a TA1
    assert f"{ack277}: 277 (005010X214): 1 file(s); encounters: 1 accepted, 1 rejected" in result.output

    again = runner.invoke(cli.cli, ["ack", str(ack999)])
    assert again.exit_code == 0 and "already ingested" in again.output

    shown = runner.invoke(cli.cli, ["status"])
    assert shown.exit_code == 0, shown.output
    assert "rejected by MassHealth, to fix and send again: 1" in shown.output
    assert (
        "P C2 (837P.000000001.x12, run 1, ISA13 000000001): 277: A6 (rejected for missing information): "
        "21 (missing or invalid information)"
    ) in shown.output
    doc = json.loads(runner.invoke(cli.cli, ["status", "--json"]).output)
    assert doc["encounters"]["P"]["accepted"]["claims"] == 1 and doc["to_fix"][0]["claim_id"] == "C2"

    rec = runner.invoke(cli.cli, ["reconcile"])
    assert rec.exit_code == 0, rec.output
    assert "reconciled: yes" in rec.output and "999 A (1/1 transaction sets accepted)" in rec.output
    assert json.loads(runner.invoke(cli.cli, ["reconcile", "--json", "--run", "1"]).output)["problems"] == []


def test_a_refused_acknowledgment_exits_one(runner: CliRunner, submitted: Path, tmp_path: Path) -> None:
    stray = tmp_path / "stray.277"
    stray.write_text(build_277([ClaimStatus("NOPE", "A2", "20", Decimal("1"))], SENDER, "P"))
    result = runner.invoke(cli.cli, ["ack", str(stray)])
    assert result.exit_code == 1
    assert "refused: it matches nothing submitted through this ledger" in result.output


def test_reconcile_exits_one_on_a_discrepancy(runner: CliRunner, submitted: Path, tmp_path: Path) -> None:
    off = tmp_path / "off.277"
    claims = [ClaimStatus("C1", "A2", "20", Decimal("250.00"))]
    off.write_text(build_277(claims, SENDER, "P", totals=(1, 1, Decimal("250.00"), Decimal("9.00"))))
    assert runner.invoke(cli.cli, ["ack", str(off)]).exit_code == 0
    result = runner.invoke(cli.cli, ["reconcile"])
    assert result.exit_code == 1
    assert "reconciled: NO (2 problem(s))" in result.output


def test_reconcile_of_a_run_that_does_not_exist_says_so(submitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reconcile", "--run", "99"]) == 2
    captured = capsys.readouterr()
    assert "no run 99 in the ledger" in captured.err and "problem" not in captured.out + captured.err


def test_reconcile_tells_files_of_the_same_name_apart(runner: CliRunner, submitted: Path, tmp_path: Path) -> None:
    """Runs of one ledger publish distinct names (the ISA13 in the default name); run and directory are shown too."""
    src = tmp_path / "more.txt"
    src.write_text(extract({"mce_claim_id": "C3"}))
    assert runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "run2")]).exit_code == 0
    rec = runner.invoke(cli.cli, ["reconcile"])
    rows = [line.split() for line in rec.output.splitlines() if "837P." in line and "run" not in line.split()[0]]
    assert [(r[0], r[1]) for r in rows] == [("1", "000000001"), ("2", "000000002")]
    assert "837P.000000001.x12" in rec.output and "837P.000000002.x12" in rec.output
    assert f"in {tmp_path / 'run1'}" in rec.output and f"in {tmp_path / 'run2'}" in rec.output


def test_status_counts_a_sent_claim_as_sent_when_its_correction_was_held(
    runner: CliRunner, submitted: Path, tmp_path: Path
) -> None:
    fix = tmp_path / "fix.txt"
    # A replacement of C1 that sendpro holds (a dotted diagnosis): MassHealth still has the first version.
    fix.write_text(extract({"mce_claim_id": "C1", "claim_frequency": "7", "original_claim_id": "C1", "dx_1": "J06.9"}))
    held = runner.invoke(cli.cli, ["convert", str(fix), "--out", str(tmp_path / "run2")])
    assert held.exit_code == 1, held.output
    doc = json.loads(runner.invoke(cli.cli, ["status", "--json"]).output)
    assert doc["encounters"]["P"]["submitted"]["claims"] == 2 and "held" not in doc["encounters"]["P"]
    assert doc["correction_held"] == 1
    shown = runner.invoke(cli.cli, ["status"]).output
    assert "1 sent claim(s) have a newer version sendpro held" in shown


def test_ledger_commands_without_a_ledger_are_one_line_errors(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    assert cli.main(["status", "--ledger", str(missing)]) == 2
    assert cli.main(["reconcile", "--ledger", str(missing)]) == 2
    assert not missing.exists()


def test_validate_ack_refuses_ncpdp(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "x.ncpdp"
    path.write_text("x\n")
    result = runner.invoke(
        cli.cli, ["validate", str(path), "--ack", str(tmp_path / "x.999"), "--ncpdp-layout", "batch-d0"]
    )
    assert result.exit_code == 2 and "X12 files only" in result.output
