"""Crash safety: a run killed (SIGKILL) at any point leaves a consistent ledger that believes in no missing file.

Each test runs ``sendpro convert`` in a subprocess that kills itself at a named
point (``SENDPRO_FAULT_POINT``), checks the ledger and the output directory, and
then runs again without the fault: every claim ends up submitted exactly once,
and control numbers the dead run reserved are never reissued.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sendpro import api
from sendpro.ledger.db import Ledger, file_sha256
from sendpro.x12.scan import iter_segments
from tests.helpers import mce_text, test_config, typed_rows

POINTS = ("after-scan", "mid-run", "before-publish", "after-publish", "in-ledger")


def _convert(src: Path, out: Path, ledger: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SENDPRO_LEDGER": str(ledger)}
    env.pop("SENDPRO_FAULT_POINT", None)
    if fault:
        env["SENDPRO_FAULT_POINT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "sendpro", "convert", str(src), "--out", str(out), "--batch-lines", "100"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _input(path: Path) -> Path:
    rows = []
    for n in range(40):  # enough rows for several batches, so "mid-run" is mid-run
        rows += typed_rows("PID"[n % 3], {"mce_claim_id": f"K{n:03d}"})
    path.write_text(mce_text(rows), encoding="utf-8")
    return path


def _check_ledger(ledger: Path) -> sqlite3.Connection:
    """The ledger is intact, and every file it calls submitted is on disk, complete, with its encounters."""
    db = sqlite3.connect(ledger)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for path, sha, status in db.execute("SELECT path, sha256, status FROM files"):
        if status == "submitted":
            assert Path(path).is_file() and file_sha256(Path(path)) == sha, path
    orphans = db.execute(
        "SELECT COUNT(*) FROM encounters e LEFT JOIN files f ON f.id = e.file_id "
        "WHERE e.file_id IS NOT NULL AND (f.id IS NULL OR f.status != 'submitted')"
    ).fetchone()[0]
    assert orphans == 0  # no encounter points at a file the ledger does not believe in
    return db


def _clm_ids(out: Path) -> list[str]:
    return [el[1] for p in sorted(out.glob("837*.x12")) for _, el in iter_segments(p) if el[0] == "CLM"]


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_run_leaves_a_consistent_ledger(point: str, tmp_path: Path) -> None:
    src = _input(tmp_path / "in.txt")
    ledger = tmp_path / "ledger.sqlite"
    dead = _convert(src, tmp_path / "out-dead", ledger, fault=point)
    assert dead.returncode == -signal.SIGKILL, dead.stderr
    db = _check_ledger(ledger)
    assert db.execute("SELECT COUNT(*) FROM encounters").fetchone()[0] == 0  # nothing believed sent
    burnt = db.execute("SELECT MAX(number) FROM reservations WHERE kind = 'ISA13'").fetchone()[0] or 0
    runs = db.execute("SELECT status FROM runs").fetchall()
    published = sorted((tmp_path / "out-dead").glob("837*.x12"))
    if point in ("after-publish", "in-ledger"):
        assert len(published) == 3  # on disk, yet only "pending" in the ledger
    else:
        assert published == []  # nothing published
    if point in ("after-scan", "mid-run"):
        assert runs == [("running",)]
        assert db.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0
    else:
        assert runs == [("publishing",)]
        assert {r[0] for r in db.execute("SELECT status FROM files")} == {"pending"}
    if point in ("mid-run", "before-publish"):
        assert burnt > 0  # numbers were reserved before it died
    db.close()

    again = _convert(src, tmp_path / "out", ledger)
    assert again.returncode == 0, again.stdout + again.stderr
    db = _check_ledger(ledger)
    assert sorted(_clm_ids(tmp_path / "out")) == [f"K{n:03d}" for n in range(40)]
    # The dead run's orphaned files and temporaries were removed, so nothing of it can be sent by mistake.
    assert not list((tmp_path / "out-dead").glob("837*.x12"))
    assert not list((tmp_path / "out-dead").glob(".*.tmp"))
    submitted = db.execute("SELECT claim_id FROM encounters WHERE status = 'submitted'").fetchall()
    assert len(submitted) == len(set(submitted)) == 40
    new_numbers = [r[0] for r in db.execute("SELECT isa13 FROM files WHERE status = 'submitted'")]
    assert min(new_numbers) > burnt  # reserved numbers are burnt, never reissued
    assert db.execute("SELECT status FROM runs ORDER BY id").fetchall() == [("interrupted",), ("complete",)]
    assert "ledger run 1 was interrupted" in again.stdout
    db.close()

    third = _convert(src, tmp_path / "out3", ledger)
    assert third.returncode == 0 and "nothing new" in third.stdout
    assert not list((tmp_path / "out3").glob("837*.x12"))


def test_recovery_removes_everything_a_killed_run_published(tmp_path: Path) -> None:
    """Killed after publishing: its report (status complete, listing its 837s) goes with the 837s it describes."""
    rows = []
    for n in range(6):
        rows += typed_rows("PID"[n % 3], {"mce_claim_id": f"K{n:03d}"})
    rows += typed_rows("P", {"mce_claim_id": "R1", "contract_type": "07"})  # rejected: rejects_P.txt
    rows += typed_rows("I", {"mce_claim_id": "R2", "contract_type": "07"})  # rejected: rejects_I.txt
    src = tmp_path / "in.txt"
    src.write_text(mce_text(rows), encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    dead_out = tmp_path / "out-dead"
    dead = _convert(src, dead_out, ledger, fault="after-publish")
    assert dead.returncode == -signal.SIGKILL, dead.stderr
    published = {p.name for p in dead_out.iterdir()}
    assert {"report.json", "report.html", "errors.jsonl", "errors.csv", "rejects_P.txt", "rejects_I.txt"} < published
    assert json.loads((dead_out / "report.json").read_text())["status"] == "complete"
    # The team edited one rejects file in place before the next run: that file is theirs now.
    edited = dead_out / "rejects_I.txt"
    edited.write_text(edited.read_text().replace("|07|", "|01|"), encoding="utf-8")
    # The next run converts the other (unchanged) rejects file: recovery must not delete its own input.
    again_input = dead_out / "rejects_P.txt"

    report = api.convert_files([again_input], tmp_path / "out", test_config(ledger=ledger))

    assert report.overall.rejected.claims == 1  # it read its input: R1 again
    left = {p.name for p in dead_out.iterdir()}
    assert left == {"rejects_P.txt", "rejects_I.txt"}  # the input being converted, and the edited file
    assert not any(name.startswith("837") for name in left)  # (the 837s went, as before)
    [recovered] = report.recovered
    assert recovered["run"] == 1 and recovered["died_while"] == "publishing"
    assert {Path(p).name for p in recovered["removed"]} == published - {"rejects_P.txt", "rejects_I.txt"}
    assert Path(recovered["removed"][0]).name == "report.json"  # first: no report lists a file that is gone
    db = _check_ledger(ledger)
    assert db.execute("SELECT status FROM runs ORDER BY id").fetchall() == [("interrupted",), ("complete",)]
    db.close()


def test_recovery_leaves_a_report_that_is_not_the_dead_runs(tmp_path: Path) -> None:
    """Another run's report.json in a dead run's directory (here one without a ledger) is not the dead run's."""
    src = _input(tmp_path / "in.txt")
    dead_out = tmp_path / "out-dead"
    api.convert_files([src], dead_out, test_config())  # published there, no ledger
    before = {p.name: file_sha256(p) for p in dead_out.iterdir()}
    ledger = tmp_path / "ledger.sqlite"
    with Ledger(ledger) as db:  # a run that died while publishing into the same directory
        run_id = db.start_run("2026-11-23T10:00:00", "0.1.0", "[]", str(dead_out.resolve()))
        db.db.execute("UPDATE runs SET status = 'publishing', pid = ? WHERE id = ?", (2**31 - 1, run_id))

    report = api.convert_files([src], tmp_path / "out", test_config(ledger=ledger))

    assert report.recovered == [{"run": run_id, "died_while": "publishing", "removed": []}]
    assert {p.name: file_sha256(p) for p in dead_out.iterdir()} == before
