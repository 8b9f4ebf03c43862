"""A ledger on a full disk: the closing transaction fails after the files were renamed into place.

The ledger then holds nothing of the run (run ``publishing``, files ``pending``, no
encounters), so the run takes its published files back: nothing stays on disk
that the ledger does not know and that the next run would send again under new
control numbers. The failure is one line naming the ledger, exit code 2.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sendpro import api, cli
from sendpro.errors import LedgerError
from sendpro.ledger.db import Ledger, file_sha256
from sendpro.ledger.journal import RunJournal
from sendpro.outputs import REPORT_NAME, OutputSet
from sendpro.x12.scan import iter_segments
from tests.helpers import mce_text, test_config, typed_rows

CLAIMS = 90  # enough encounters that recording them needs new ledger pages (a 4 KiB page holds ~30)


def _input(path: Path) -> Path:
    rows = []
    for n in range(CLAIMS):
        rows += typed_rows("PID"[n % 3], {"mce_claim_id": f"F{n:03d}"})
    rows += typed_rows("P", {"mce_claim_id": "R1", "contract_type": "07"})  # rejected: a rejects file too
    path.write_text(mce_text(rows), encoding="utf-8")
    return path


def _ledger_rows(ledger: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(ledger)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _clm_ids(out: Path) -> list[str]:
    return [el[1] for p in sorted(out.glob("837*.x12")) for _, el in iter_segments(p) if el[0] == "CLM"]


def _assert_taken_back(out: Path, ledger: Path) -> None:
    """Nothing of the run is published, and the ledger believes in none of its files."""
    assert sorted(p.name for p in out.iterdir()) == []  # no 837, report, errors or rejects, no temporaries
    assert _ledger_rows(ledger, "SELECT COUNT(*) FROM encounters") == [(0,)]
    assert _ledger_rows(ledger, "SELECT status FROM runs") == [("failed",)]
    assert {r[0] for r in _ledger_rows(ledger, "SELECT status FROM files")} == {"abandoned"}


@pytest.mark.parametrize("point", ["commit-fails", "ledger-full"])
def test_a_failed_closing_transaction_takes_the_published_files_back(point: str, tmp_path: Path) -> None:
    src = _input(tmp_path / "in.txt")
    ledger = tmp_path / "ledger.sqlite"
    with pytest.raises(LedgerError) as failed:
        api.convert_files([src], tmp_path / "out1", test_config(ledger=ledger, fault_point=point))
    message = str(failed.value)
    assert message.startswith(f"ledger {ledger}: database or disk is full")
    assert "no transaction is active" not in message and "nothing was published" in message
    assert "\n" not in message
    _assert_taken_back(tmp_path / "out1", ledger)
    burnt = _ledger_rows(ledger, "SELECT MAX(number) FROM reservations WHERE kind = 'ISA13'")[0][0]
    assert burnt == 3  # P, I and D were numbered before the failure

    again = api.convert_files([src], tmp_path / "out2", test_config(ledger=ledger))
    assert again.status == "complete" and again.overall.accepted.claims == CLAIMS
    assert sorted(_clm_ids(tmp_path / "out2")) == [f"F{n:03d}" for n in range(CLAIMS)]
    sent = _ledger_rows(ledger, "SELECT claim_id FROM encounters WHERE status = 'submitted'")
    assert len(sent) == len(set(sent)) == CLAIMS  # every claim once, none twice
    numbers = _ledger_rows(ledger, "SELECT isa13 FROM files WHERE status = 'submitted'")
    assert min(int(str(n[0])) for n in numbers) > burnt  # the failed run's numbers are never reissued


def test_the_cli_says_one_line_naming_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _input(tmp_path / "in.txt")
    ledger = tmp_path / "ledger.sqlite"
    monkeypatch.setenv("SENDPRO_LEDGER", str(ledger))
    monkeypatch.setenv("SENDPRO_FAULT_POINT", "ledger-full")
    code = cli.main(["convert", str(src), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"sendpro: error: ledger {ledger}: database or disk is full"), err
    assert err.count("\n") == 1 and "internal error" not in err and "Traceback" not in err
    assert "F000" not in err  # no claim data in the message
    _assert_taken_back(tmp_path / "out", ledger)


def test_closing_the_run_on_a_full_ledger_does_not_hide_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When even marking the run failed cannot be written, the first failure is the one reported."""

    def full(self: Ledger, *args: object, **kwargs: object) -> None:
        raise LedgerError(f"ledger {self.path}: database or disk is full")

    monkeypatch.setattr(Ledger, "end_run", full)
    src = _input(tmp_path / "in.txt")
    ledger = tmp_path / "ledger.sqlite"
    with pytest.raises(LedgerError, match="nothing was published"):
        api.convert_files([src], tmp_path / "out", test_config(ledger=ledger, fault_point="commit-fails"))
    assert list((tmp_path / "out").iterdir()) == []
    # The run stays open ("publishing", files "pending"): the next run on this host closes it.
    assert _ledger_rows(ledger, "SELECT status FROM runs") == [("publishing",)]
    assert {r[0] for r in _ledger_rows(ledger, "SELECT status FROM files")} == {"pending"}


def test_an_interrupt_after_the_closing_commit_keeps_the_recorded_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files the ledger recorded as submitted are never taken back: it would then believe in missing files."""
    record = Ledger.finish_publish

    def interrupted(self: Ledger, *args: Any, **kwargs: Any) -> None:
        record(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "finish_publish", interrupted)
    src = _input(tmp_path / "in.txt")
    ledger = tmp_path / "ledger.sqlite"
    with pytest.raises(KeyboardInterrupt):
        api.convert_files([src], tmp_path / "out", test_config(ledger=ledger))
    assert _ledger_rows(ledger, "SELECT status FROM runs") == [("complete",)]
    for path, sha, status in _ledger_rows(ledger, "SELECT path, sha256, status FROM files"):
        assert status == "submitted" and file_sha256(Path(str(path))) == sha
    assert (tmp_path / "out" / REPORT_NAME).is_file()


# -- the ledger's transactions ---------------------------------------------------------------------
@pytest.fixture
def full_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger that is full for real: no page may be added to it (this connection only)."""
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        pages = ledger.db.execute("PRAGMA page_count").fetchone()[0]
        ledger.db.execute(f"PRAGMA max_page_count = {pages}")
        yield ledger


def test_a_full_ledger_fails_in_one_line_and_stays_usable(full_ledger: Ledger) -> None:
    with pytest.raises(LedgerError) as failed, full_ledger.transaction() as db:
        db.executemany(
            "INSERT INTO control_numbers (sender, kind, last) VALUES (?, 'ISA13', 1)",
            [(f"S{n:05d}" + "x" * 200,) for n in range(100)],
        )
    assert str(failed.value) == (
        f"ledger {full_ledger.path}: database or disk is full (free space on its file system, then run again)"
    )
    assert not full_ledger.db.in_transaction
    full_ledger.db.execute("PRAGMA max_page_count = 1073741823")  # space freed
    assert full_ledger.reserve("X12:ZZ:S", "ISA13", "t") == 1


def test_a_bug_in_the_sql_is_not_called_a_full_disk(full_ledger: Ledger) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"), full_ledger.transaction() as db:
        db.execute("INSERT INTO nowhere VALUES (1)")
    assert not full_ledger.db.in_transaction


def test_a_full_run_journal_names_the_journal(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path)
    try:
        pages = journal.db.execute("PRAGMA page_count").fetchone()[0]
        journal.db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(LedgerError, match=f"^run journal {journal.path}: database or disk is full"):
            for n in range(5000):
                journal.add(f"C{n}", "P", "1", None, "h" * 64, 100, 0, "837P")
            journal.flush()
    finally:
        journal.close()


# -- taking published files back ---------------------------------------------------------------------
def _two_outputs(directory: Path) -> OutputSet:
    outputs = OutputSet(directory)
    outputs.open("837P.x12").write("ISA~")
    outputs.open(REPORT_NAME).write("{}\n")
    return outputs


def test_withdraw_takes_back_what_commit_published(tmp_path: Path) -> None:
    outputs = _two_outputs(tmp_path / "out")
    outputs.commit()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["837P.x12", REPORT_NAME]
    removed = outputs.withdraw()
    assert [p.name for p in removed] == [REPORT_NAME, "837P.x12"]  # the report first
    assert list((tmp_path / "out").iterdir()) == []


def test_withdraw_leaves_a_file_someone_else_put_there(tmp_path: Path) -> None:
    outputs = _two_outputs(tmp_path / "out")
    outputs.commit()
    replacement = tmp_path / "out" / "837P.x12.new"
    replacement.write_text("not ours")
    os.replace(replacement, tmp_path / "out" / "837P.x12")
    outputs.withdraw()
    assert (tmp_path / "out" / "837P.x12").read_text() == "not ours"


def test_a_commit_that_fails_midway_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = _two_outputs(tmp_path / "out")
    real = os.replace
    calls = {"n": 0}

    def fails_second(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device", str(dst))
        real(src, dst)

    monkeypatch.setattr("sendpro.outputs.os.replace", fails_second)
    with pytest.raises(OSError, match="No space"):
        outputs.commit()
    outputs.abort()
    assert list((tmp_path / "out").iterdir()) == []
