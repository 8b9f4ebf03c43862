"""sendpro's own fuzz run: mutated extracts, 837s, NCPDP files and acknowledgments through the CLI.

Usage, from the repository root::

    make fuzz                                              # .venv/bin/python benchmarks/fuzz.py
    .venv/bin/python benchmarks/fuzz.py --seed 7 --cases 5000 --keep /tmp/fuzzkeep
    .venv/bin/python benchmarks/fuzz.py --kinds mce,fw --cases 2000
    make fuzz FUZZ_ARGS="--seed 7 --cases 20000"
    .venv/bin/python benchmarks/fuzz.py --replay /tmp/fuzzkeep/<class>/case-7-1234   # run one kept case again

The sources (``sendpro sample`` extracts in ``mce-v1``, ``mce-fw-example`` and ``mce-rx-v1``,
their 837s and NCPDP files, and 999 / 277CA / TA1 acknowledgments of a ledger's files) are
written under ``--work`` (default ``benchmarks/work/fuzz``) from the seed. Then ``--cases``
cases (default 100,000) are drawn: case ``i`` is a function of ``(seed, i)`` alone, so a run is
the same for a seed whatever ``--workers``. Each case mutates one source (one small function per
kind of mutation in ``tests/fuzzing/harness.py``), runs ``sendpro convert``, ``validate`` or
``ack`` on it in process (``sendpro.cli.main``) in a directory of its own, and checks the
promises listed in the harness's docstring.

The kinds' shares (``harness.KINDS``) follow what a case costs: a medical convert takes 0.2 to
0.4 s of CPU in process (most of it polars building the run's expressions, whatever the size of
the input), a pharmacy convert or a damaged 837's validation 0.05 to 0.1 s, an acknowledgment or
an NCPDP validation under 0.01 s. The default 100,000 cases therefore hold about 3,000 medical
and 1,500 fixed-width converts, 8,000 pharmacy ones, 4,500 validations of 837s, 10,000 of NCPDP
files and 73,000 acknowledgments: about 2,700 s of CPU, 23 minutes on two free cores (5,000
cases took 136 s of CPU; on a machine shared with other work the wall time grows with it).
``--kinds`` runs only some kinds (with the same shares among them).

pyx12's maps are loaded once per worker (``--fresh-maps`` loads them for every file, as a
single ``sendpro validate`` does; far slower).

At the end it prints the cases by kind (exit codes, failing cases, seconds) and the failures by
class (kind, exit code, promise and the message's first line with digits and paths normalised),
each with an example; every failing case is written under ``--keep`` (default
``<work>/failures``; at most ``--keep-per-class`` per class, 0 = all) with a ``case.json`` that
says how to replay it. Classes of ``harness.KNOWN_FAILURES`` are marked "known".

Exit code: 0 when every promise held, 1 on any failure, 2 when the run itself could not start.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fuzzing import harness  # noqa: E402 - needs the repository on sys.path

DEFAULT_CASES = 100_000
#: Cases per task handed to a worker (small enough for an even finish, large enough to be cheap).
CHUNK = 50
#: Failure classes shown with an example (all are counted).
SHOW = 60

_W: dict[str, Any] = {}


def _init(work: str, keep: str | None, per_class: int, fresh_maps: bool) -> None:
    session = harness.worker_session(fresh_maps)
    session.__enter__()  # for the worker's life
    root = Path(work) / "tmp" / f"worker-{os.getpid()}"
    root.mkdir(parents=True, exist_ok=True)
    _W.update(
        session=session,
        root=root,
        sources=harness.load_sources(Path(work)),
        keep=Path(keep) if keep else None,
        per_class=per_class,
    )


def _chunk(task: tuple[int, int, int, tuple[str, ...]]) -> harness.Tally:
    seed, start, stop, kinds = task
    return harness.run_cases(seed, range(start, stop), kinds, _W["sources"], _W["root"], _W["keep"], _W["per_class"])


def _print_tally(tally: harness.Tally, seconds: float) -> int:
    """Print the tables; return the number of failing cases."""
    total = sum(tally.cases.values())
    print(f"\n{total:,} cases in {seconds:.0f} s ({total / max(seconds, 1e-9):.0f} cases/s)\n")
    exits = sorted({e for _, e in tally.exits})
    head = f"{'kind':<9}{'cases':>9}" + "".join(f"{'exit ' + e:>9}" for e in exits) + f"{'failing':>9}{'s/case':>8}"
    print(head)
    for kind in harness.KINDS:
        n = tally.cases.get(kind, 0)
        if not n:
            continue
        row = f"{kind:<9}{n:>9,}" + "".join(f"{tally.exits.get((kind, e), 0):>9,}" for e in exits)
        print(row + f"{tally.failing.get(kind, 0):>9,}{tally.seconds[kind] / n:>8.3f}")
    failing = sum(tally.failing.values())
    print(f"{'all':<9}{total:>9,}" + " " * 9 * len(exits) + f"{failing:>9,}")
    if not tally.classes:
        print("\nno broken promise")
        return 0
    print(f"\nfailures by class ({len(tally.classes)} classes; a case may break several promises):")
    for cls, n in tally.classes.most_common(SHOW):
        why = harness.known(cls)
        print(f"{n:>7,}  {cls}{'   [known: ' + why + ']' if why else ''}")
        ex = tally.examples[cls]
        print(f"         e.g. case {ex['case']} ({ex['source']}) {ex['mutation']}")
        if ex.get("kept"):
            print(f"         replay: .venv/bin/python benchmarks/fuzz.py --replay {ex['kept']}")
    if len(tally.classes) > SHOW:
        print(f"  ... {len(tally.classes) - SHOW} more classes")
    return failing


def _replay(where: Path, fresh_maps: bool) -> int:
    root = Path(tempfile.mkdtemp(prefix="sendpro-replay-"))
    try:
        with harness.worker_session(fresh_maps):
            outcome = harness.replay_case(where, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    case = outcome.case
    print(f"case {case.id} {case.kind} ({case.source}) {case.mutation}: {case.description}")
    print(f"options: {case.options}")
    print(f"exit code: {outcome.rc}")
    if outcome.stderr.strip():
        print("stderr:\n  " + "\n  ".join(outcome.stderr.strip().splitlines()[:20]))
    for f in outcome.failures:
        print(f"BROKEN: {f.promise}: {f.detail}")
    if not outcome.failures:
        print("every promise held")
    return 1 if outcome.failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (sources and cases); default 1")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help=f"cases to run (default {DEFAULT_CASES:,})")
    parser.add_argument("--kinds", default=",".join(harness.KINDS), help="comma-separated kinds (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "fuzz", help="work directory")
    parser.add_argument("--keep", type=Path, default=None, help="directory for failing cases (default WORK/failures)")
    parser.add_argument("--keep-per-class", type=int, default=25, help="failing cases kept per class (0 = all)")
    parser.add_argument("--fresh-maps", action="store_true", help="let pyx12 load its maps for every file")
    parser.add_argument("--replay", type=Path, default=None, help="run one kept case again (its directory)")
    args = parser.parse_args(argv)

    if args.replay is not None:
        return _replay(args.replay, args.fresh_maps)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in harness.KINDS]
    if unknown or not kinds:
        print(f"fuzz: unknown kind(s) {', '.join(unknown) or '(none given)'}; kinds: {', '.join(harness.KINDS)}")
        return 2
    keep = args.keep or args.work / "failures"
    if keep.exists():
        shutil.rmtree(keep)
    keep.mkdir(parents=True)
    started = time.perf_counter()
    harness.quiet_environment()
    sources = harness.make_sources(args.work, args.seed)
    print(
        f"{len(sources)} sources in {args.work / 'sources'} ({time.perf_counter() - started:.0f} s); seed {args.seed}"
    )
    print(f"kinds: {', '.join(kinds)}; {args.cases:,} cases on {args.workers} worker(s); failing cases kept in {keep}")
    tasks = [(args.seed, r.start, r.stop, kinds) for r in harness.iter_chunks(args.cases, CHUNK)]
    tally = harness.Tally()
    t0 = time.perf_counter()
    # Not fork: the sources were made with polars in this process, and a child forked from a
    # process whose polars thread pool has started can hang on its first polars call.
    ctx = multiprocessing.get_context("spawn")
    init = (str(args.work), str(keep), args.keep_per_class, args.fresh_maps)
    next_report = 0.05
    with ctx.Pool(args.workers, initializer=_init, initargs=init) as pool:
        for done, part in enumerate(pool.imap_unordered(_chunk, tasks), start=1):
            tally.merge(part)
            if done / len(tasks) >= next_report:
                elapsed = time.perf_counter() - t0
                eta = elapsed * (len(tasks) - done) / done
                n = sum(tally.cases.values())
                failing = sum(tally.failing.values())
                print(f"  {n:,} cases, {failing:,} failing, {elapsed:.0f} s, about {eta:.0f} s to go", flush=True)
                next_report += 0.05
    shutil.rmtree(args.work / "tmp", ignore_errors=True)
    failing = _print_tally(tally, time.perf_counter() - t0)
    print(f"\ntotal: {time.perf_counter() - started:.0f} s; {failing:,} failing case(s)")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
