"""Checking and preparing batches in worker processes (``--jobs N``).

The parent reads the inputs and sends each batch's frame to a worker, which
runs the batch-local rules (:meth:`ValidationEngine.check_batch`), and builds
the batch's claim table and 837 text blocks (:func:`prepare`). Results come
back in input order, with at most ``2 × jobs`` batches in flight, so memory
stays bounded. The parent alone settles batches (the ordered, ledger-reading
rules), numbers HL, ST and control numbers, writes every file and the ledger:
the output is byte-identical whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import polars as pl

from sendpro.convert.fragments import Fragment, FragmentResult, check_fragment
from sendpro.convert.plan import RuleResources
from sendpro.convert.prepare import Prepared, prepare
from sendpro.flatfile.layout import Layout
from sendpro.report.issue import Issue
from sendpro.validate.engine import FileFacts, ValidationEngine
from sendpro.validate.registry import RuleRegistry
from sendpro.x12.writer import PacdrSettings


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to check batches as the parent would: the run's rules and resources."""

    layout: Layout
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    severities: dict[str, object]
    resources: RuleResources
    forbidden: str
    pacdr: PacdrSettings
    #: Compute content hashes (the run has a ledger).
    hashes: bool = True


class _Worker:
    """One worker process's engine, started afresh for each input file."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        rules = RuleRegistry().select(
            spec.select,
            spec.ignore,
            spec.severities,  # type: ignore[arg-type]
            model=spec.layout.model,
        )
        # The same rules as the parent's plan (those lacking a reference file were left out there).
        kept, _ = rules.runnable(spec.resources.for_rules().keys())
        self.engine = ValidationEngine(kept, forbidden=spec.forbidden)
        self.file: FileFacts | None = None

    def check(self, facts: FileFacts, frame: pl.DataFrame) -> Prepared:
        if facts != self.file:
            self.engine.begin_file(facts, self.spec.layout, self.spec.resources.for_rules())
            self.file = facts
        batch = self.engine.check_batch(facts.name, frame, facts.expected_fields, self.spec.layout.catalog)
        found = prepare(batch, self.spec.pacdr, self.spec.hashes)
        # Encounters are objects the parent would have to unpickle; it builds the few it needs.
        batch.encounters = {}
        return found


# The worker process's own engine, set once by the pool's initializer: a process-wide
# value only inside a worker, which exists for nothing else.
_WORKER: list[_Worker] = []


def _start(spec: WorkerSpec) -> None:
    _WORKER.append(_Worker(spec))


def _check(facts: FileFacts, frame: pl.DataFrame) -> Prepared:
    return _WORKER[0].check(facts, frame)


class BatchPool:
    """Worker processes that check and prepare batches, handing the results back in order."""

    def __init__(self, jobs: int, spec: WorkerSpec) -> None:
        # spawn, not fork: polars runs threads, and a forked child inherits their locks.
        context = multiprocessing.get_context("spawn")
        self.jobs = jobs
        self._executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start, initargs=(spec,))

    def check(
        self, facts: FileFacts, pairs: Iterator[tuple[pl.DataFrame, list[Issue]]]
    ) -> Iterator[tuple[list[Issue], Prepared]]:
        """Yield ``(issues before the batch, prepared batch)`` for every ``(frame, issues)`` of ``pairs``, in order."""
        window: deque[tuple[list[Issue], Future[Prepared]]] = deque()
        for frame, before in pairs:
            window.append((before, self._executor.submit(_check, facts, frame)))
            if len(window) >= 2 * self.jobs:
                before0, done = window.popleft()
                yield before0, done.result()
        while window:
            before0, done = window.popleft()
            yield before0, done.result()

    def validate(self, fragment: Fragment) -> Future[FragmentResult]:
        """Validate one written transaction set in a worker (see :mod:`sendpro.convert.fragments`)."""
        return self._executor.submit(check_fragment, fragment)

    def close(self) -> None:
        """Stop the workers (at once, when the run failed)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
