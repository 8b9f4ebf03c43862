from __future__ import annotations

from pathlib import Path

import pytest

from sendpro.flatfile.claimindex import ClaimIndex


@pytest.fixture
def index(tmp_path: Path):
    idx = ClaimIndex(tmp_path)
    yield idx
    idx.close()


def test_file_created_in_directory_and_deleted_on_close(tmp_path: Path) -> None:
    idx = ClaimIndex(tmp_path)
    assert idx.path.parent == tmp_path
    assert idx.path.name.startswith("sendpro-claims-") and idx.path.suffix == ".sqlite"
    assert idx.path.is_file()
    idx.add_runs(["A"])
    idx.close()
    assert not idx.path.exists()
    assert list(tmp_path.iterdir()) == []


def test_close_twice_is_harmless(tmp_path: Path) -> None:
    idx = ClaimIndex(tmp_path)
    idx.close()
    idx.close()
    assert not idx.path.exists()


def test_finish_scan_counts(index: ClaimIndex) -> None:
    index.add_runs(["A", "B", "C"])
    index.add_runs(["A", "D", "B", "A"])
    assert index.finish_scan() == (4, 2)
    assert index.has_split is True


def test_no_split_claims(index: ClaimIndex) -> None:
    index.add_runs([f"K{i}" for i in range(100)])
    assert index.finish_scan() == (100, 0)
    assert index.has_split is False
    assert index.split_runs(["K1", "K2"]) == {}


def test_split_runs_before_finish_scan_is_empty(index: ClaimIndex) -> None:
    index.add_runs(["A", "A"])
    assert index.has_split is False
    assert index.split_runs(["A"]) == {}


def test_split_runs(index: ClaimIndex) -> None:
    index.add_runs(["A", "B", "A", "C", "A", "C", ""])
    index.add_runs([""])
    index.finish_scan()
    assert index.split_runs(["A", "B", "C", "Z", "A", ""]) == {"A": 3, "C": 2, "": 2}
    assert index.split_runs([]) == {}


def test_split_runs_many_keys(index: ClaimIndex) -> None:
    keys = [f"K{i:05d}" for i in range(1_200)]
    index.add_runs(keys)
    index.add_runs(keys[::3])
    assert index.finish_scan() == (1_200, 400)
    found = index.split_runs(keys)
    assert found == {k: 2 for k in keys[::3]}


def test_park_and_take(index: ClaimIndex) -> None:
    index.add_runs(["A", "B", "A", "A"])
    index.add_runs(["B"])
    index.finish_scan()
    assert index.park("A", [(10, "a10"), (11, "a11")]) is False
    assert index.park("B", [(12, "b12")]) is False
    assert index.park("A", [(3, "a3")]) is False  # out of order: take sorts by line
    assert index.park("A", [(40, "a40"), (41, "a41")]) is True
    assert index.take("A") == [(3, "a3"), (10, "a10"), (11, "a11"), (40, "a40"), (41, "a41")]
    assert index.take("A") == []
    assert index.park("B", [(50, "b50")]) is True
    assert index.take("B") == [(12, "b12"), (50, "b50")]


def test_take_unknown_key(index: ClaimIndex) -> None:
    index.finish_scan()
    assert index.take("nope") == []


def test_parked_lines_keep_text(index: ClaimIndex) -> None:
    index.add_runs(["Q", "Q"])
    index.finish_scan()
    raw = "CLQ  ÉCOLE|a\\b|\u201cx\u201d"
    index.park("Q", [(2, raw)])
    index.park("Q", [(1, "")])
    assert index.take("Q") == [(1, ""), (2, raw)]
