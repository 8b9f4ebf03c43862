"""The ledger database: schema migrations, WAL, control-number reservations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sendpro.errors import LedgerError
from sendpro.ledger.control import LedgerControlNumbers
from sendpro.ledger.db import MIGRATIONS, Ledger, default_ledger_path


def test_new_ledger_is_migrated_and_in_wal_mode(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        assert ledger.schema_version == len(MIGRATIONS)
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "files", "encounters", "acks", "file_acks", "control_numbers", "reservations"} <= tables
    with Ledger(ledger_path) as again:  # reopening runs no migration twice
        assert again.schema_version == len(MIGRATIONS)


def test_a_newer_ledger_is_refused(ledger_path: Path) -> None:
    Ledger(ledger_path).close()
    db = sqlite3.connect(ledger_path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(LedgerError, match="newer than this sendpro"):
        Ledger(ledger_path)


def test_default_location_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SENDPRO_LEDGER", str(tmp_path / "x.sqlite"))
    assert default_ledger_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("SENDPRO_LEDGER")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_ledger_path() == tmp_path / "state" / "sendpro" / "ledger.sqlite"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_ledger_path() == Path.home() / ".local" / "state" / "sendpro" / "ledger.sqlite"


def test_reservations_increase_per_sender_and_kind_and_survive_reconnects(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        a = LedgerControlNumbers(ledger, "X12:ZZ:A", "run-1")
        assert [a.next_interchange(), a.next_interchange(), a.next_group(), a.next_transaction()] == [1, 2, 1, 1]
        b = LedgerControlNumbers(ledger, "X12:ZZ:B", "run-1")
        assert b.next_interchange() == 1  # another sender counts on its own
    with Ledger(ledger_path) as ledger:
        a2 = LedgerControlNumbers(ledger, "X12:ZZ:A", "run-2")
        assert a2.next_interchange() == 3
        tokens = [r[0] for r in ledger.db.execute("SELECT token FROM reservations WHERE kind = 'ISA13' ORDER BY id")]
    assert tokens == ["run-1", "run-1", "run-1", "run-2"]


def test_an_explicit_start_must_lie_above_what_was_used(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        first = LedgerControlNumbers(ledger, "S", "r1", start=500)
        assert first.next_interchange() == 500
        assert first.next_interchange() == 501  # the start applies to the first number only
        assert first.next_group() == 500
        with pytest.raises(LedgerError, match="already used"):
            LedgerControlNumbers(ledger, "S", "r2", start=10).next_interchange()
        assert ledger.last_control("S", "ISA13") == 501  # the refusal reserved nothing


def test_two_connections_never_get_the_same_number(ledger_path: Path) -> None:
    with Ledger(ledger_path) as one, Ledger(ledger_path) as two:
        numbers = []
        for _ in range(20):
            numbers.append(one.reserve("S", "ISA13", "a"))
            numbers.append(two.reserve("S", "ISA13", "b"))
    assert numbers == list(range(1, 41))


def test_exhausted_range_is_an_error(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        ledger.reserve("S", "ISA13", "t", start=999_999_999)
        with pytest.raises(LedgerError, match="exhausted"):
            ledger.reserve("S", "ISA13", "t")


def test_one_run_at_a_time_and_dead_runs_are_closed(ledger_path: Path, tmp_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        live = ledger.start_run("2026-11-23T10:00:00", "0.1.0", "[]", str(tmp_path))
        with pytest.raises(LedgerError, match=f"in use by run {live}"):
            ledger.start_run("2026-11-23T10:01:00", "0.1.0", "[]", str(tmp_path))
        # Pretend the first run's process died: a process id that cannot exist.
        ledger.db.execute("UPDATE runs SET pid = ? WHERE id = ?", (2**22 + 12345, live))
        (tmp_path / ".837P.sendpro-4206789.tmp").write_text("partial")
        second = ledger.start_run("2026-11-23T10:02:00", "0.1.0", "[]", str(tmp_path))
        assert [(r.run_id, r.state) for r in ledger.recovered] == [(live, "running")]
        assert not (tmp_path / ".837P.sendpro-4206789.tmp").exists()
        statuses = ledger.query("SELECT id, status FROM runs ORDER BY id")
        assert statuses == [(live, "interrupted"), (second, "running")]
        ledger.end_run(second, "failed", "input unusable")
        assert ledger.query("SELECT status, message FROM runs WHERE id = ?", (second,)) == [
            ("failed", "input unusable")
        ]
