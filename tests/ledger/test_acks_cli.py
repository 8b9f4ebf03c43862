"""``sendpro ack`` through click's runner: directories, an empty inbox, unmatched globs, and what each line says."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro import cli
from sendpro.ledger import acks
from tests.ledger.acks_builder import ClaimStatus, build_277, cut_after
from tests.ledger.conftest import SENDER, extract

CHARGE = Decimal("250.00")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def ledger(runner: CliRunner, tmp_path: Path) -> Path:
    """A ledger holding one run of two professional claims (C1, C2); return its path."""
    path = tmp_path / "ledger.sqlite"
    src = tmp_path / "in.txt"
    src.write_text(extract({"mce_claim_id": "C1"}, {"mce_claim_id": "C2"}))
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "run1"), "--ledger", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _ack(runner: CliRunner, ledger: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(cli.cli, ["ack", *args, "--ledger", str(ledger)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.splitlines()


def _277(path: Path, *claims: ClaimStatus) -> Path:
    path.write_text(build_277(list(claims), SENDER, "PLACEHOLDER"))
    return path


def test_a_directory_is_ingested_in_name_order_and_hidden_files_are_skipped(
    runner: CliRunner, ledger: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbound"
    inbox.mkdir()
    _277(inbox / "b.277", ClaimStatus("C2", "A7", "21", CHARGE))
    _277(inbox / "a.277", ClaimStatus("C1", "A2", "20", CHARGE))
    (inbox / ".upload.277").write_text("ISA*partial")
    (inbox / "old").mkdir()
    code, lines = _ack(runner, ledger, str(inbox))
    assert code == 0, lines
    assert lines == [
        f"{inbox}: skipped 2: .upload.277 (hidden), old (a directory)",
        f"{inbox / 'a.277'}: 277 (005010X214): 1 file(s); encounters: 1 accepted",
        f"{inbox / 'b.277'}: 277 (005010X214): 1 file(s); encounters: 1 rejected",
    ]


def test_an_empty_inbox_is_nothing_to_do(runner: CliRunner, ledger: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbound"
    inbox.mkdir()
    assert _ack(runner, ledger, str(inbox)) == (
        0,
        [f"{inbox}: no acknowledgment files in the directory, nothing to do"],
    )
    (inbox / ".partial").write_text("")
    assert _ack(runner, ledger, str(inbox)) == (
        0,
        [f"{inbox}: no acknowledgment files in the directory, nothing to do (skipped .partial (hidden))"],
    )


def test_an_unmatched_glob_says_no_files_match(runner: CliRunner, ledger: Path, tmp_path: Path) -> None:
    # What the README's old cron line handed over on a quiet night: the shell passes the pattern on.
    for pattern in ("*", "*.277", "ack-??.999", "[ab].277"):
        literal = tmp_path / "inbound" / pattern
        assert _ack(runner, ledger, str(literal)) == (0, [f"{literal}: no files match, nothing to do"])


def test_a_missing_file_is_still_refused(runner: CliRunner, ledger: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone.277"
    assert _ack(runner, ledger, str(missing)) == (1, [f"{missing}: refused: no such file"])


def test_notes_go_to_stderr_with_json(runner: CliRunner, ledger: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbound"
    inbox.mkdir()
    result = runner.invoke(cli.cli, ["ack", str(inbox), "--json", "--ledger", str(ledger)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [] and "nothing to do" in result.stderr
    _277(inbox / "a.277", ClaimStatus("C1", "A2", "20", CHARGE))
    (inbox / ".hidden").write_text("")
    result = runner.invoke(cli.cli, ["ack", str(inbox), "--json", "--ledger", str(ledger)])
    assert [r["status"] for r in json.loads(result.stdout)] == ["ingested"] and "skipped 1" in result.stderr


def test_a_cut_file_in_the_inbox_is_refused_and_taken_once_complete(
    runner: CliRunner, ledger: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbound"
    inbox.mkdir()
    whole = build_277([ClaimStatus("C1", "A7", "21", CHARGE)], SENDER, "PLACEHOLDER")
    (inbox / "claims.277").write_text(cut_after(whole, "STC", 3))
    code, lines = _ack(runner, ledger, str(inbox))
    assert code == 1
    assert lines == [
        f"{inbox / 'claims.277'}: refused: the file ends inside transaction set 0001 after segment 29 (STC), "
        "with no SE, GE and IEA: it is cut short"
    ]
    db = sqlite3.connect(ledger)
    assert db.execute("SELECT COUNT(*) FROM acks").fetchone() == (0,)
    assert db.execute("SELECT DISTINCT status FROM encounters").fetchall() == [("submitted",)]
    db.close()
    (inbox / "claims.277").write_text(whole)  # the complete copy arrives
    assert _ack(runner, ledger, str(inbox)) == (
        0,
        [f"{inbox / 'claims.277'}: 277 (005010X214): 1 file(s); encounters: 1 rejected"],
    )


def test_every_message_names_the_file_once_and_the_reason_once(runner: CliRunner, ledger: Path, tmp_path: Path) -> None:
    taken = _277(tmp_path / "taken.277", ClaimStatus("C1", "A2", "20", CHARGE))
    assert _ack(runner, ledger, str(taken))[0] == 0
    readme = tmp_path / "README.md"
    readme.write_text("# not an acknowledgment\n" * 10)
    empty = tmp_path / "empty.999"
    empty.write_text("")
    stranger = _277(tmp_path / "stranger.277", ClaimStatus("NOPE", "A2", "20", CHARGE))
    cut = tmp_path / "cut.277"
    cut.write_text(cut_after(taken.read_text(), "GE"))
    missing = tmp_path / "missing.999"
    code, lines = _ack(runner, ledger, *map(str, (taken, readme, empty, stranger, cut, missing)))
    assert code == 1
    assert lines == [
        f"{taken}: already ingested on {lines[0].split(' on ')[1][:10]} (ack 1); nothing changed",
        f"{readme}: refused: not an X12 file (it does not start with ISA)",
        f"{empty}: refused: the file is empty",
        f"{stranger}: refused: it matches nothing submitted through this ledger for submitter X12:ZZ:PLACEHOLDER "
        "(277 status for claim NOPE)",
        f"{cut}: refused: the file ends inside interchange 000000777 after segment 32 (GE), with no IEA: "
        "it is cut short",
        f"{missing}: refused: no such file",
    ]
    for line, path in zip(lines, (taken, readme, empty, stranger, cut, missing), strict=True):
        assert line.count(path.name) == 1, line
    assert lines[0].count("already ingested") == 1


def test_the_json_message_is_the_reason_alone(runner: CliRunner, ledger: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# not an acknowledgment\n" * 10)
    result = runner.invoke(cli.cli, ["ack", str(readme), "--json", "--ledger", str(ledger)])
    (doc,) = json.loads(result.stdout)
    assert doc["path"] == str(readme) and doc["status"] == "refused"
    assert doc["message"] == "not an X12 file (it does not start with ISA)"


def test_an_unreadable_file_is_refused_without_stopping_the_others(
    runner: CliRunner, ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = _277(tmp_path / "locked.277", ClaimStatus("C1", "A2", "20", CHARGE))
    other = _277(tmp_path / "other.277", ClaimStatus("C2", "A2", "20", CHARGE))
    real = acks.file_sha256

    def sha(path: Path) -> str:
        if path == locked:  # root reads through chmod 000, so the refusal is staged
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(acks, "file_sha256", sha)
    code, lines = _ack(runner, ledger, str(locked), str(other))
    assert (code, lines[0]) == (1, f"{locked}: refused: cannot be read: Permission denied")
    assert lines[1] == f"{other}: 277 (005010X214): 1 file(s); encounters: 1 accepted"
