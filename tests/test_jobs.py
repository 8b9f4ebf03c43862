"""--jobs: batches checked in worker processes give the same files as checking in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sendpro.api import convert_files
from sendpro.convert import check, pipeline
from sendpro.sample import write_sample
from tests.helpers import test_config

pytestmark = pytest.mark.integration


def _sample(path: Path, claims: int, seed: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        write_sample(handle, claims, types=("P", "I", "D"), seed=seed, defect_rate=0.2, all_classes=True)
    return path


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name not in ("report.json", "report.html")}


def _report(out: Path) -> dict[str, object]:
    doc = json.loads((out / "report.json").read_text())
    for key in ("started_at", "finished_at", "elapsed_s", "ledger"):
        doc.pop(key, None)
    return doc


def test_workers_write_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers start only for large inputs; the threshold is lowered so a small sample uses them.
    monkeypatch.setattr(check, "MIN_ROWS_FOR_WORKERS", 0)
    started: list[int] = []
    real = check.start_pool

    def counting(plan, jobs):  # type: ignore[no-untyped-def]
        started.append(jobs)
        return real(plan, jobs)

    monkeypatch.setattr(pipeline, "start_pool", counting)
    src = _sample(tmp_path / "in.txt", 900, seed=4)
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        # A ledger: the ordered rules (replacements, voids, duplicates) run in the parent.
        config = test_config(jobs=jobs, chunk_lines=300, ledger=tmp_path / f"ledger{jobs}.sqlite")
        report = convert_files([src], out, config)
        assert report.balanced and report.output_validation == "passed"
        runs[jobs] = (_files(out), _report(out))
    assert started == [2]  # --jobs 1 checks in-process, --jobs 2 in two workers
    assert set(runs[1][0]) == set(runs[2][0]) and any(n.startswith("837") for n in runs[1][0])
    for name, content in runs[1][0].items():
        assert runs[2][0][name] == content, f"{name} differs with --jobs 2"
    assert runs[1][1] == runs[2][1]


def test_a_second_run_skips_what_workers_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "MIN_ROWS_FOR_WORKERS", 0)
    src = _sample(tmp_path / "in.txt", 300, seed=9)
    ledger = tmp_path / "ledger.sqlite"
    first = convert_files([src], tmp_path / "a", test_config(jobs=2, chunk_lines=200, ledger=ledger))
    second = convert_files([src], tmp_path / "b", test_config(jobs=2, chunk_lines=200, ledger=ledger))
    assert first.overall.accepted.claims > 0
    assert second.overall.accepted.claims == 0
    assert second.overall.skipped.claims == first.overall.accepted.claims


def test_small_inputs_and_one_job_use_no_workers(tmp_path: Path) -> None:
    src = _sample(tmp_path / "in.txt", 20, seed=2)
    from sendpro.config import RunConfig
    from sendpro.convert.plan import make_plan

    plan = make_plan([src], tmp_path / "out", RunConfig(jobs=4))
    assert check.worker_count(plan, 100) == 0
    assert check.worker_count(plan, check.MIN_ROWS_FOR_WORKERS) == 4
    one = make_plan([src], tmp_path / "out", RunConfig(jobs=1))
    assert check.worker_count(one, 10**6) == 0
