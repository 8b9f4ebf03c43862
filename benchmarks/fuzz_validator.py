"""Randomized differential run of the compiled validator against pyx12 (not part of ``make test``).

Usage, from the repository root::

    make fuzz-validator                                    # .venv/bin/python benchmarks/fuzz_validator.py
    .venv/bin/python benchmarks/fuzz_validator.py --seed 7 --segments 20000 --files 500
    make fuzz-validator FUZZ_ARGS="--seed 7 --files 5000"

Two levels, each spread over ``--workers`` processes (default 2):

(a) segment level (``--segments N``, default 100,000): a random real segment of the
    generated 837P, 837I, 837D and 999 files (each with the map node the compiled
    validator places it at) gets one segment mutation
    (``tests/x12/validator_mutations.SEGMENT_MUTATIONS``). Soundness: whenever the
    compiled validator's fast check of that node accepts the mutant
    (``engine._Run._segment_ok`` with pyx12's segment check replaced by a probe
    that records being asked), pyx12's own check of the node
    (``Pyx12Reference.check_segment``) must accept it too. The reader's checks
    (ids, leading spaces, trailing separators) are not part of this level.
(b) file level (``--files N``, default 2,000): a random source file (the generated
    ones and the golden ``fixtures/x12/*/expected.x12``) gets one file mutation
    (``validator_mutations.MUTATIONS``); both validators run through the bridge's
    ``check_x12`` and must give the same verdict, issue set and findings document,
    as in ``tests/x12/test_validator_differential.py`` (whose ``INTENDED_DIFFERENCES``
    apply here too).

pyx12's maps are loaded once per worker (``validator_mutations.cached_pyx12_maps``;
``--fresh-maps`` loads them for every file as the bridge does, far slower).
Sources, and every mismatching mutant, are written under ``--work`` (default
``benchmarks/work/fuzz-validator``). At the end it prints, per level, the mutants
tried, how many each validator accepted, the mismatches (with a reproduction:
source, seed, mutation, both outputs) and the time taken.

Exit code: 0 when nothing differs, 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import functools
import io
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.x12 import validator_mutations as vm  # noqa: E402 - needs the repository on sys.path

DEFAULT_SEGMENTS = 100_000
DEFAULT_FILES = 2_000
#: Mismatch classes shown with an example, per level (all are counted).
KEEP = 40
GUIDES = ("837P", "837I", "837D", "999-accepted", "999-rejected")


# -- sources -----------------------------------------------------------------------------------------


def make_sources(work: Path, seed: int, claims: int) -> dict[str, Path]:
    """Write the generated sources (837P/I/D of ``claims`` claims in all, two 999s); add the golden files."""
    from sendpro.api import acknowledge_file, convert_files
    from sendpro.sample import write_sample
    from sendpro.x12.envelope import SequentialControlNumbers
    from tests.helpers import FIXED_NOW, test_config

    src = work / "sources"
    src.mkdir(parents=True, exist_ok=True)
    sample = src / "sample.txt"
    with sample.open("w", encoding="utf-8") as handle:
        write_sample(handle, claims, types=("P", "I", "D"), seed=seed)
    out = src / "out"
    convert_files([sample], out, test_config(validate_output=False))
    files = {p.stem: p for p in sorted(out.glob("837?.x12"))}

    def ack(x12: Path, name: str) -> Path:
        path = src / name
        path.unlink(missing_ok=True)
        acknowledge_file(x12, path, clock=lambda: FIXED_NOW, control=SequentialControlNumbers(1), validator="pyx12")
        return path

    files["999-accepted"] = ack(files["837P"], "accepted.999")
    x = vm.X12.parse(files["837P"].read_text(encoding="ascii"))
    segs = list(x.segments)
    for i, seg in enumerate(segs):
        if seg.startswith("DTP*472*D8*"):
            segs[i] = seg[:11] + "1626" + seg[15:]
        elif seg.startswith("DMG*D8*19"):
            segs[i] = "DMG*D8*17" + seg[9:]
    segs.insert(x.indexes("CLM")[0] + 1, "ZZZ*1")
    rejected = src / "rejected.x12"
    rejected.write_text(x.render(vm.recount(x, segs)), encoding="ascii")
    files["999-rejected"] = ack(rejected, "rejected.999")
    for golden in sorted((REPO / "fixtures" / "x12").glob("*/expected.x12")):
        files[f"golden-{golden.parent.name}"] = golden
    return files


# -- workers -----------------------------------------------------------------------------------------

_W: dict[str, Any] = {}


@dataclass
class Result:
    """What one chunk of work found."""

    level: str
    tried: int = 0
    skipped: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    #: Mismatches by class (what was mutated and how the outcomes differ), with the first example of each.
    classes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)

    def mismatch(self, cls: str, example: dict[str, Any] | Callable[[], dict[str, Any]]) -> None:
        """Count a mismatch of class ``cls``; keep an example of the class (a callable is called for the first)."""
        self.counts["mismatches"] += 1
        self.classes[cls] += 1
        if cls not in self.examples:
            self.examples[cls] = example() if callable(example) else example


class _Probe:
    """The compiled validator's fast check of one segment at one node, pyx12's check replaced by a probe."""

    def __init__(self, map_dir: Path) -> None:
        from sendpro.validate.pyx12_bridge import pyx12_version
        from sendpro.x12.validator.engine import CompiledValidator

        def never(*args: Any) -> Any:
            raise AssertionError("the probe only checks single segments")

        self.asked = False
        self.cv = CompiledValidator(map_dir, pyx12_version(), never, self._asked, never)
        self.runs: dict[tuple[str, str, str], Any] = {}

    def _asked(self, file: str, node: int, text: str, seps: Any) -> tuple[bool, bool]:
        self.asked = True
        return False, False

    def _run(self, seps: vm.Seps) -> Any:
        from sendpro.x12.validator.engine import _Run
        from sendpro.x12.validator.patterns import Separators

        key = (seps.element, seps.component, seps.segment)
        run = self.runs.get(key)
        if run is None:
            run = _Run(self.cv, io.StringIO(""))
            run.seps = Separators(*key)
            run._ele_sub = seps.element + seps.component
            self.runs[key] = run
        return run

    def accepts(self, file: str, node: int, text: str, seps: vm.Seps) -> bool:
        """Whether the fast check alone accepts ``text`` at ``node`` (pyx12's check never asked)."""
        run = self._run(seps)
        ms = run._state(file)
        self.asked = False
        ok = run._segment_ok(ms, node, text, text.split(seps.element))
        return bool(ok) and not self.asked


def placed_segments(cv: Any, path: Path) -> list[tuple[str, int, str]]:
    """Return (map file, node, text) of every segment of a clean file, as the compiled validator places them.

    The run's slow path (``_Run._segment``, one segment at a time) is taken for every
    segment, with ``_segment_ok`` wrapped to record where each one is checked.
    """
    from sendpro.x12.validator.engine import _Run, iter_segments, open_text, read_head

    seen: list[tuple[str, int, str]] = []
    with open_text(path) as stream:
        run = _Run(cv, stream)
        check = run._segment_ok

        def recording(ms: Any, node: int, text: str, parts: list[str]) -> bool:
            seen.append((ms.cmap.file, node, text))
            return bool(check(ms, node, text, parts))

        run._segment_ok = recording  # type: ignore[method-assign]
        head = read_head(stream)
        run._start(head)
        for line, text in iter_segments(stream, head):
            run._segment(line, text, text.split(run.seps.element))
    return seen


def _init(map_dir: str, sources: dict[str, str], fresh_maps: bool, seed: int, work: str) -> None:
    from sendpro.validate.pyx12_bridge import Pyx12Reference, compiled_validator

    if not fresh_maps:
        _W["maps_ctx"] = vm.cached_pyx12_maps()
        _W["maps_ctx"].__enter__()
    maps = Path(map_dir)
    _W.update(maps=maps, seed=seed, work=Path(work), texts={}, segments=[])
    _W["diff"] = vm.Differential(maps)
    _W["probe"] = _Probe(maps)
    _W["ref"] = Pyx12Reference(maps)
    cv = compiled_validator(maps)
    for name, path in sources.items():
        text = Path(path).read_text(encoding="ascii")
        _W["texts"][name] = text
        if name in GUIDES:
            seps = vm.X12.parse(text).seps
            _W["segments"].extend((name, f, n, t, seps) for f, n, t in placed_segments(cv, Path(path)))
    _W["tmp"] = Path(work) / f"worker-{os.getpid()}.x12"


def _pyx12_errors(file: str, node: int, text: str, seps: vm.Seps) -> tuple[str, str]:
    """pyx12's own findings for one segment at one node: (for a reproduction, their codes)."""
    import pyx12.map_if
    import pyx12.params
    import pyx12.segment

    from sendpro.x12.validator.compiler import map_nodes

    root = pyx12.map_if.load_map_file(file, pyx12.params.params(), str(_W["maps"]))
    sub = seps.element if text.startswith("ISA") else seps.component
    seg = pyx12.segment.Segment(text, seps.segment, seps.element, sub)
    try:
        ok, errors = map_nodes(root)[node].is_valid_errors(seg)
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc}", type(exc).__name__
    codes = ",".join(sorted({str(e.err_cde) for e in errors}))
    return f"ok={ok} " + "; ".join(f"{e.err_cde} {e.refdes}: {e.err_str}" for e in errors), codes


def segment_chunk(start: int, count: int) -> Result:
    """Check ``count`` segment mutants numbered from ``start``."""
    res = Result("segment")
    seed, probe, ref, pool = _W["seed"], _W["probe"], _W["ref"], _W["segments"]
    for i in range(start, start + count):
        for retry in range(20):
            key = f"{seed}/segment/{i}/{retry}"
            rng = random.Random(key)
            name, file, node, text, seps = rng.choice(pool)
            mutated = vm.mutate_segment(text, seps, f"{key}/mutation")  # a seed of its own: no correlation
            if mutated is not None:
                break
            res.skipped += 1
        else:
            continue
        kind, what, new = mutated
        res.tried += 1
        fast = probe.accepts(file, node, new, seps)
        ok, crashed = ref.check_segment(file, node, new, seps)
        res.counts["fast check accepts"] += fast
        res.counts["pyx12 accepts"] += ok and not crashed
        res.counts["pyx12 stops (exception)"] += crashed
        if fast and (not ok or crashed):
            found, codes = _pyx12_errors(file, node, new, seps)
            example = {
                "source": name,
                "seed": f"{key} (segment drawn), {key}/mutation (mutate_segment)",
                "map": f"{file} node {node}",
                "segment": text,
                "mutation": f"{kind}: {what}",
                "mutant": new,
                "compiled": "fast check accepts",
                "pyx12": found,
            }
            res.mismatch(f"{text.split(seps.element, 1)[0]}, {kind}: pyx12 error codes {codes}", example)
    return res


def file_chunk(start: int, count: int) -> Result:
    """Run ``count`` file mutants numbered from ``start`` through both validators."""
    from tests.x12.test_validator_differential import intended

    res = Result("file")
    seed, texts, diff, path = _W["seed"], _W["texts"], _W["diff"], _W["tmp"]
    names = sorted(texts)
    for i in range(start, start + count):
        for retry in range(20):
            key = f"{seed}/file/{i}/{retry}"
            rng = random.Random(key)
            name = rng.choice(names)
            file_kind = "999" if name.startswith("999") else "837"
            kind = rng.choice([m for m in vm.MUTATIONS if m.applies(file_kind)])
            mutant = vm.mutate(texts[name], kind.name, f"{key}/mutation")
            if mutant is not None:
                break
            res.skipped += 1
        else:
            continue
        res.tried += 1
        path.write_text(mutant.text, encoding="latin-1", newline="")
        compiled, reference = diff.run(path)
        res.counts["compiled accepts"] += compiled.ok is True
        res.counts["pyx12 accepts"] += reference.ok is True
        reason = intended(mutant, reference)
        if reason is not None:
            res.counts["intended differences"] += 1
            problems = []
            if compiled.raised is not None or not compiled.issues:
                problems.append(f"intended difference, but compiled raised {compiled.raised} / found nothing")
        else:
            problems = vm.compare(compiled, reference)
        if problems:
            only_c = sorted({code for _, _, code in compiled.issues - reference.issues})
            only_r = sorted({code for _, _, code in reference.issues - compiled.issues})
            verdict = "" if compiled.ok == reference.ok else f"verdict {compiled.ok} != {reference.ok}; "
            cls = f"{kind.name} ({file_kind}): {verdict}codes only compiled {only_c}, only pyx12 {only_r}"
            res.mismatch(cls, functools.partial(_file_example, name, texts[name], key, mutant, problems, i))
    return res


def _file_example(name: str, text: str, key: str, mutant: vm.Mutant, problems: list[str], i: int) -> dict[str, Any]:
    """A file-level mismatch for the report; the mutant is saved under the work directory."""
    saved = _W["work"] / "mismatches" / f"{name}-{mutant.kind}-{i}.x12"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(mutant.text, encoding="latin-1", newline="")
    return {
        "source": name,
        "seed": f"{key} (source and kind drawn), {key}/mutation (mutate)",
        "mutation": mutant.name,
        "mutant file": str(saved),
        "changed lines": _changed(text, mutant.text),
        "differences": problems,
    }


def _changed(before: str, after: str, limit: int = 6) -> list[str]:
    import difflib

    lines = [ln for ln in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)]
    return [repr(ln) for ln in lines if not ln.startswith(("---", "+++"))][:limit]


def _run(task: tuple[str, int, int]) -> Result:
    level, start, count = task
    return segment_chunk(start, count) if level == "segment" else file_chunk(start, count)


# -- main --------------------------------------------------------------------------------------------


def _tasks(level: str, total: int, chunk: int) -> list[tuple[str, int, int]]:
    return [(level, s, min(chunk, total - s)) for s in range(0, total, chunk)]


def _print_level(label: str, results: list[Result], seconds: float) -> int:
    tried = sum(r.tried for r in results)
    skipped = sum(r.skipped for r in results)
    counts: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    examples: dict[str, dict[str, Any]] = {}
    for r in results:
        counts.update(r.counts)
        classes.update(r.classes)
        for cls, ex in r.examples.items():
            examples.setdefault(cls, ex)
    print(f"\n{label}: {tried:,} mutants tried ({skipped:,} draws did not apply) in {seconds:.1f} s")
    for key in sorted(counts):
        print(f"  {key}: {counts[key]:,}")
    if classes:
        print(f"  mismatch classes: {len(classes)}")
    for cls, n in classes.most_common(KEEP):
        print(f"  MISMATCH x{n}: {cls}")
        for key, value in examples[cls].items():
            if isinstance(value, list):
                print(f"    {key}:")
                for item in value:
                    print(f"      {item}")
            else:
                print(f"    {key}: {value!r}" if key in ("segment", "mutant") else f"    {key}: {value}")
    return counts["mismatches"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (sources and mutations); default 1")
    parser.add_argument("--segments", type=int, default=DEFAULT_SEGMENTS, help="segment-level mutants")
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="file-level mutants")
    parser.add_argument("--claims", type=int, default=6, help="claims in the generated sample (P, I, D in turn)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "fuzz-validator")
    parser.add_argument("--fresh-maps", action="store_true", help="let pyx12 load its maps for every file")
    args = parser.parse_args(argv)

    from sendpro.validate.pyx12_bridge import project_map_dir

    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    maps = project_map_dir()
    sources = make_sources(args.work, args.seed, args.claims)
    print(f"sources ({len(sources)}) in {args.work / 'sources'}; maps {maps}; seed {args.seed}")
    init = (str(maps), {k: str(v) for k, v in sources.items()}, args.fresh_maps, args.seed, str(args.work))
    found = 0
    ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    with ctx.Pool(args.workers, initializer=_init, initargs=init) as pool:
        for level, total, chunk in (("segment", args.segments, 2_000), ("file", args.files, 25)):
            if total <= 0:
                continue
            t0 = time.perf_counter()
            results = list(pool.imap_unordered(_run, _tasks(level, total, chunk)))
            found += _print_level(f"{level} level", results, time.perf_counter() - t0)
    print(f"\ntotal: {time.perf_counter() - started:.1f} s, {found} mismatch(es)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
