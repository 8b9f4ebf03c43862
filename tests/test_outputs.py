from __future__ import annotations

import json
import os
from pathlib import Path

from sendpro.outputs import OutputSet, remove_stale_temporaries


def test_nothing_is_visible_until_commit(tmp_path: Path) -> None:
    outputs = OutputSet(tmp_path)
    with_report = outputs.open("report.json")
    outputs.open("a.txt").write("hello")
    with_report.write("{}")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []
    outputs.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "report.json"]
    assert (tmp_path / "a.txt").read_text() == "hello"


def test_abort_removes_temporaries(tmp_path: Path) -> None:
    outputs = OutputSet(tmp_path)
    outputs.open("a.txt").write("partial")
    outputs.abort()
    assert list(tmp_path.iterdir()) == []


def test_rename_and_discard(tmp_path: Path) -> None:
    outputs = OutputSet(tmp_path)
    outputs.open("837P").write("ISA")
    outputs.open("drop").write("x")
    outputs.rename("837P", "837P_000000001.x12")
    outputs.discard("drop")
    outputs.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["837P_000000001.x12"]


def test_stale_files_of_the_previous_report_are_removed_and_others_kept(tmp_path: Path) -> None:
    (tmp_path / "old.x12").write_text("old")
    (tmp_path / "mine.txt").write_text("keep")
    (tmp_path / "report.json").write_text(json.dumps({"sendpro_version": "0", "files": ["old.x12", "report.json"]}))
    outputs = OutputSet(tmp_path)
    outputs.open("report.json").write("{}")
    outputs.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "report.json"]


def test_sha256_of_a_closed_output(tmp_path: Path) -> None:
    outputs = OutputSet(tmp_path)
    outputs.open("a").write("abc")
    outputs.close("a")
    digest, size = outputs.sha256("a")
    assert size == 3 and digest.startswith("ba7816bf")


def test_temporaries_of_dead_runs_are_removed_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / ".837P.sendpro-4206789.tmp"  # no such process
    live = tmp_path / f".837I.sendpro-{os.getppid()}.tmp"  # our parent is alive
    mine = tmp_path / f".837D.sendpro-{os.getpid()}.tmp"
    other = tmp_path / "837P.x12"
    for p in (dead, live, mine, other):
        p.write_text("x")
    assert remove_stale_temporaries(tmp_path) == [dead]
    assert live.exists() and mine.exists() and other.exists()
