"""The ``check`` stage: an input's batches checked and prepared, in this process or in workers.

:func:`checked` yields, in input order, the file-level issues and every batch
checked by the batch-local rules and prepared for the sinks; the caller settles
each batch (the ordered rules) and routes its claims before asking for the next.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from sendpro.convert.plan import RunPlan
from sendpro.convert.prepare import Prepared, prepare
from sendpro.convert.workers import BatchPool, WorkerSpec
from sendpro.flatfile.reader import FlatFileReader
from sendpro.report.issue import Issue
from sendpro.validate.engine import ValidationEngine

#: Below this many input rows a run checks in-process: starting a worker (importing
#: polars and sendpro, loading the rules' resources) costs more than it saves.
MIN_ROWS_FOR_WORKERS = 20_000


def available_cores() -> int:
    """Return the number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worker_count(plan: RunPlan, rows: int) -> int:
    """Return how many worker processes check batches (0: this process does).

    ``--jobs`` (default: the cores available); a pharmacy run and a small input
    are checked in-process (pharmacy rules read the claim index of the file).
    """
    jobs = plan.config.jobs if plan.config.jobs is not None else available_cores()
    if jobs <= 1 or plan.pharmacy or rows < MIN_ROWS_FOR_WORKERS:
        return 0
    return jobs


def start_pool(plan: RunPlan, jobs: int) -> BatchPool:
    """Start ``jobs`` workers that check batches with the plan's rules."""
    cfg = plan.config
    spec = WorkerSpec(
        layout=plan.layout,
        select=cfg.select,
        ignore=cfg.ignore,
        severities=dict(cfg.severities),
        resources=plan.with_history(None).resources,
        forbidden=plan.forbidden,
        pacdr=plan.pacdr,
        hashes=plan.resources.history is not None,
    )
    return BatchPool(jobs, spec)


def checked(
    plan: RunPlan, engine: ValidationEngine, reader: FlatFileReader, pool: BatchPool | None
) -> Iterator[Issue | Prepared]:
    """Yield the file-level issues and the prepared batches of ``reader``'s file, in input order."""
    facts, found = engine.open_file(reader, plan.resources.for_rules())
    yield from found
    pairs = ((batch.frame, engine.blank_issues(batch)) for batch in reader.iter_batches())
    catalog = plan.layout.catalog
    if pool is None:
        for frame, before in pairs:
            yield from before
            batch = engine.check_batch(facts.name, frame, facts.expected_fields, catalog)
            yield prepare(batch, plan.pacdr, plan.resources.history is not None)
    else:
        for before, prepared in pool.check(facts, pairs):
            yield from before
            yield prepared
    yield from engine.end_file()
