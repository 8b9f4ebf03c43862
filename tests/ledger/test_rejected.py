"""`sendpro rejected`: the claims MassHealth rejected, back out of their extracts (issue 13, item 2)."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from sendpro.cli import cli
from sendpro.ledger.rejected import parse_rows
from tests.helpers import claim_rows
from tests.ledger.acks_builder import ClaimStatus, build_277
from tests.ledger.conftest import SENDER, Convert

CHARGE = Decimal("250.00")


def _claims(n: int) -> list[dict[str, str]]:
    return [{"mce_claim_id": f"C{i}"} for i in range(1, n + 1)]


def _reject(tmp_path: Path, ledger_path: Path, *claim_ids: str, name: str = "claims.277") -> None:
    ack = tmp_path / name
    ack.write_text(
        build_277([ClaimStatus(c, "A7", "21", CHARGE, entity="85") for c in claim_ids], SENDER, "PLACEHOLDER")
    )
    result = CliRunner().invoke(cli, ["ack", str(ack), "--ledger", str(ledger_path)])
    assert result.exit_code == 0, result.output


def _rejected(ledger_path: Path, out: Path, *extracts: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["rejected", *map(str, extracts), "--ledger", str(ledger_path), "--out", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _reasons(out: Path) -> list[dict[str, str]]:
    with out.with_name(f"{out.stem}.reasons.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_rejected_claims_come_back_in_the_extract_layout_with_their_reasons(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert(*_claims(4))
    _reject(tmp_path, ledger_path, "C2", "C4")
    # The extract was moved and renamed since: found by content.
    kept = tmp_path / "archive" / "extract-2026-11.txt"
    kept.parent.mkdir()
    shutil.move(tmp_path / "in1.txt", kept)
    out = tmp_path / "fix.txt"
    code, output = _rejected(ledger_path, out, kept)
    assert code == 1, output
    assert "2 claim(s) MassHealth rejected" in output
    source = kept.read_text(encoding="utf-8").splitlines()
    written = out.read_text(encoding="utf-8").splitlines()
    assert written[0] == source[0]  # the extract's header row
    wanted = [line for line in source[1:] if line.split("|")[1] in ("C2", "C4")]
    assert written[1:] == wanted
    reasons = _reasons(out)
    assert [r["claim_id"] for r in reasons] == ["C2", "C4"]
    assert reasons[0]["input_file"] == kept.name and reasons[0]["acknowledgment"] == "claims.277"
    # the codes as received, each with its text (X12 lists 507 and 508)
    assert reasons[0]["reason"].startswith("277: A7 (rejected for invalid information): 21 (missing or invalid")
    assert written[int(reasons[1]["out_row"]) - 1].split("|")[1] == "C4"
    # The file written is an input again: converting it re-sends the two claims.
    report = convert(text=out.read_text(encoding="utf-8"))
    assert report.overall.accepted.claims == 2


def test_a_claim_sent_again_since_is_not_listed_and_nothing_to_fix_exits_0(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert(*_claims(2))
    _reject(tmp_path, ledger_path, "C1")
    fixed = [dict(r, claim_frequency="7", original_claim_id="C1") for r in claim_rows({"mce_claim_id": "C1"})]
    convert(*fixed)
    code, output = _rejected(ledger_path, tmp_path / "fix.txt", tmp_path / "in1.txt")
    assert code == 0, output
    assert "nothing to fix" in output
    assert not (tmp_path / "fix.txt").exists()


def test_claims_whose_extract_is_not_given_are_named(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(2))
    convert({"mce_claim_id": "K1"})
    _reject(tmp_path, ledger_path, "C1")
    _reject(tmp_path, ledger_path, "K1", name="second.277")
    code, output = _rejected(ledger_path, tmp_path / "fix.txt", tmp_path / "in1.txt")
    assert code == 1
    assert "1 claim(s) MassHealth rejected" in output
    assert "not found: claim K1: input in2.txt of run 2: not among the extracts given" in output
    assert [r["claim_id"] for r in _reasons(tmp_path / "fix.txt")] == ["C1"]


def test_the_ledger_keeps_rows_and_input_hashes_but_no_member_data(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert(*_claims(3))
    db = sqlite3.connect(ledger_path)
    ((name, size, sha),) = db.execute("SELECT name, bytes, sha256 FROM run_inputs").fetchall()
    assert name == "in1.txt" and size == (tmp_path / "in1.txt").stat().st_size and len(sha) == 64
    rows = [parse_rows(r[0]) for r in db.execute("SELECT input_rows FROM encounters ORDER BY id")]
    source = (tmp_path / "in1.txt").read_text(encoding="utf-8").splitlines()
    for n, claim_rows_ in enumerate(rows, 1):
        assert {source[r - 1].split("|")[1] for r in claim_rows_} == {f"C{n}"}
    db.close()
    member = claim_rows({})[0]
    raw = ledger_path.read_bytes()
    for field in ("member_id", "member_last_name", "member_first_name", "member_dob"):
        assert member[field].encode() not in raw, field


def test_parse_rows_reads_ranges_and_lists() -> None:
    assert parse_rows("11-13") == (11, 12, 13)
    assert parse_rows("4,9,10") == (4, 9, 10)
    assert parse_rows("7") == (7,)
    assert parse_rows(None) == ()


def test_a_fixed_width_claim_comes_back_with_header_and_a_recomputed_trailer(tmp_path: Path) -> None:
    runner = CliRunner()
    source, ledger_path = tmp_path / "in.txt", tmp_path / "ledger.sqlite"
    assert (
        runner.invoke(cli, ["sample", "--claims", "5", "--layout", "mce-fw-example", "--out", str(source)]).exit_code
        == 0
    )
    result = runner.invoke(
        cli, ["convert", str(source), "--out", str(tmp_path / "o"), "--ledger", str(ledger_path), "-q"]
    )
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(ledger_path)
    claim_id, cents = db.execute("SELECT claim_id, charge FROM encounters ORDER BY id LIMIT 1 OFFSET 1").fetchone()
    db.close()
    ack = tmp_path / "r.277"
    ack.write_text(
        build_277([ClaimStatus(claim_id, "A7", "21", Decimal(cents) / 100, entity="85")], SENDER, "PLACEHOLDER")
    )
    assert runner.invoke(cli, ["ack", str(ack), "--ledger", str(ledger_path)]).exit_code == 0
    out = tmp_path / "fix.txt"
    code, output = _rejected(ledger_path, out, source)
    assert code == 1, output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("HD") and lines[-1].startswith("TR")
    assert lines[1].startswith(f"CL{claim_id}")
    # The trailer counts and sums the one claim: the file converts cleanly.
    again = runner.invoke(cli, ["convert", str(out), "--out", str(tmp_path / "again"), "--no-ledger", "-q"])
    assert again.exit_code == 0, again.output
