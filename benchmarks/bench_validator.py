"""Benchmark sendpro's compiled X12 validator alone against pyx12 on the same 837.

This is a benchmark, not a test: pytest never collects it. Run it from the repository root with the
project's venv::

    .venv/bin/python benchmarks/bench_validator.py                          # 10,000 claims
    .venv/bin/python benchmarks/bench_validator.py --sizes 2000 --repeat 3  # a quick run
    .venv/bin/python benchmarks/bench_validator.py --pairs 5 --json benchmarks/work/validator.json

For every size it writes (or reuses) the synthetic P sample that ``bench_convert.py`` uses, turns it
into an 837 with ``sendpro convert SAMPLE --no-validate-output`` and then measures, on that one 837:

1. **in process, steady state**: a child Python times ``compiled_validator(maps).validate(path)``
   ``--repeat`` times after one untimed warm-up on the same file, and ``x12_findings(path, maps)``
   (pyx12) ``--pyx12-repeat`` times after an untimed warm-up on a small 837 (pyx12 is far slower;
   it reloads its maps on every call, so that is part of its steady state). Each validator runs in
   its own child, so neither's memory or caches help the other.
2. **whole processes**, alternated A B A B ... (``--pairs`` pairs) so that machine drift cancels:
   A = ``sendpro validate FILE``, B = ``x12valid -m MAPDIR FILE``. Each child is reaped with
   ``os.wait4`` (``bench_convert.measure``) for its wall time and peak RSS; the ratio B/A is taken
   per pair and the median reported. One untimed ``sendpro validate`` runs first.

It prints a Markdown table, the validator's own ``stats`` (on a clean file every segment should take
the fast path: ``segment_checks`` and ``diagnosed`` 0, ``whole_file`` false) and a verdict against
the target: the validator alone >= 40x pyx12's validate-only throughput, in process and as whole
processes. Exit code: 0, unless a command failed (2). Standard library only (the children import
sendpro); the tools come from the directory of the running Python (the venv) or ``--bin``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

# The script's own directory is on sys.path when it runs as ``python benchmarks/bench_validator.py``.
from bench_convert import (
    REPO,
    BenchError,
    Measurement,
    Tools,
    _failure,
    _fmt,
    _rss_mib,
    count_segments,
    ensure_sample,
    machine_info,
    measure,
    progress,
    report_failures,
    write_json,
    x12_outputs,
)

DEFAULT_SIZES = (10_000,)
DEFAULT_SEED = 1
DEFAULT_REPEAT = 5
DEFAULT_PYX12_REPEAT = 1
DEFAULT_PAIRS = 3
#: Claims in the small 837 that warms pyx12 up before its timed runs.
WARMUP_CLAIMS = 50
#: The validator alone against pyx12's validate-only throughput.
TARGET_SPEEDUP = 40.0
#: The line a worker prints its results on.
MARKER = "BENCH_VALIDATOR_RESULT "


# -- the in-process worker (runs in a child: python bench_validator.py --worker KIND ...) -----------
def _doc_digest(docs: list[Any]) -> str:
    return hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()


def worker(kind: str, files: list[Path], map_dir: Path, repeat: int, warmup: list[Path]) -> int:
    """Time one validator in this process; print the results as one JSON line."""
    from sendpro.validate.pyx12_bridge import compiled_validator, x12_findings

    out: dict[str, Any] = {"kind": kind, "files": [str(f) for f in files], "repeat": repeat}
    if kind == "compiled":
        started = time.perf_counter()
        v = compiled_validator(map_dir)
        out["construct_s"] = time.perf_counter() - started

        def once(path: Path) -> tuple[bool, Any, dict[str, Any]]:
            ok, doc = v.validate(path)
            return ok, doc, asdict(v.stats)
    else:

        def once(path: Path) -> tuple[bool, Any, dict[str, Any]]:
            ok, doc = x12_findings(path, map_dir)
            return ok, doc, {}

    # Warm-up (untimed against the steady state, but reported): compiled maps loaded, patterns built.
    started = time.perf_counter()
    for f in warmup or files:
        once(f)
    out["warmup_s"] = time.perf_counter() - started
    out["warmup_files"] = [str(f) for f in warmup or files]
    times: list[float] = []
    oks: list[list[bool]] = []
    stats: list[list[dict[str, Any]]] = []
    docs: list[Any] = []
    for _ in range(repeat):
        gc.collect()
        run_oks, run_stats, docs = [], [], []
        elapsed = 0.0
        for f in files:
            started = time.perf_counter()
            ok, doc, st = once(f)
            elapsed += time.perf_counter() - started
            run_oks.append(bool(ok))
            run_stats.append(st)
            docs.append(doc)
        times.append(elapsed)
        oks.append(run_oks)
        stats.append(run_stats)
    out.update(
        times_s=times,
        ok=oks,
        stats=stats,
        doc_sha256=_doc_digest(docs),
        peak_rss_mib=_rss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
    )
    print(MARKER + json.dumps(out), flush=True)
    return 0


# -- the parent ------------------------------------------------------------------------------------
def write_837(tools: Tools, work: Path, sample: Path, size: int, tag: str) -> list[Path]:
    """Convert ``sample`` without output validation; return the 837 file(s) written."""
    out_dir = work / f"validator-n{size}{tag}"
    ledger = out_dir.with_name(out_dir.name + ".ledger.sqlite")
    shutil.rmtree(out_dir, ignore_errors=True)
    for stale in (ledger, Path(f"{ledger}-wal"), Path(f"{ledger}-shm")):
        stale.unlink(missing_ok=True)
    cmd = [str(tools.sendpro), "convert", str(sample), "--out", str(out_dir), "--no-validate-output"]
    cmd += ["--ledger", str(ledger), "-q"]
    progress(f"[{size}] writing the 837: {' '.join(cmd)}")
    log = work / "logs" / f"validator-n{size}{tag}-convert"
    m = measure(cmd, log)
    if m.returncode not in (0, 1):  # 1 = some claims rejected
        raise _failure(cmd, m, log, "sendpro convert failed")
    files = x12_outputs(out_dir)
    if not files:
        raise BenchError(f"sendpro convert wrote no 837 file into {out_dir}")
    return files


def run_worker(
    tools: Tools, work: Path, size: int, kind: str, files: list[Path], map_dir: Path, repeat: int, warmup: list[Path]
) -> dict[str, Any]:
    cmd = [str(tools.python), str(Path(__file__).resolve()), "--worker", kind, "--map-dir", str(map_dir)]
    cmd += ["--repeat", str(repeat)]
    for w in warmup:
        cmd += ["--warmup", str(w)]
    cmd += [str(f) for f in files]
    progress(f"[{size}] in process: {kind}, warm-up + {repeat} run(s) ...")
    log = work / "logs" / f"validator-n{size}-inprocess-{kind}"
    m = measure(cmd, log)
    lines = [ln for ln in Path(f"{log}.out").read_text(errors="replace").splitlines() if ln.startswith(MARKER)]
    if m.returncode != 0 or not lines:
        raise _failure(cmd, m, log, f"in-process {kind} worker failed")
    data: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    data["command"] = cmd
    data["process"] = asdict(m)
    progress(f"[{size}] in process: {kind}: " + ", ".join(f"{t:.3f} s" for t in data["times_s"]))
    return data


def _verdict_ok(kind: str, m: Measurement, log: Path, files: list[Path]) -> bool:
    text = Path(f"{log}.out").read_text(errors="replace") + Path(f"{log}.err").read_text(errors="replace")
    if kind == "x12valid":  # exits 1 even on success; "FILE: OK" is the verdict
        return m.returncode in (0, 1) and all(f"{f}: OK" in text for f in files)
    return m.returncode == 0 and all(f"{f}: valid" in text for f in files)


def run_process(tools: Tools, work: Path, size: int, kind: str, files: list[Path], map_dir: Path, tag: str) -> Any:
    if kind == "x12valid":
        cmd = [str(tools.x12valid), "-m", str(map_dir), *(str(f) for f in files)]
    else:
        cmd = [str(tools.sendpro), "validate", *(str(f) for f in files)]
    log = work / "logs" / f"validator-n{size}-process-{kind}-{tag}"
    m = measure(cmd, log)
    for f in files:  # x12valid writes NAME.997 (or STEM.997) next to each input
        for ack in (Path(f"{f}.997"), f.with_suffix(".997")):
            ack.unlink(missing_ok=True)
    if not _verdict_ok(kind, m, log, files):
        raise _failure(cmd, m, log, f"{kind} did not report the 837 valid")
    return cmd, m


def bench_size(tools: Tools, work: Path, size: int, args: argparse.Namespace, map_dir: Path, version: str) -> Any:
    sample = ensure_sample(tools, work, size, args.seed, version)
    files = write_837(tools, work, sample, size, "")
    segments = sum(count_segments(f) for f in files)
    small = ensure_sample(tools, work, WARMUP_CLAIMS, args.seed, version)
    warm = write_837(tools, work, small, WARMUP_CLAIMS, "-warmup")
    progress(f"[{size}] {len(files)} file(s), {segments:,} segments")

    compiled = run_worker(tools, work, size, "compiled", files, map_dir, args.repeat, [])
    pyx12 = run_worker(tools, work, size, "pyx12", files, map_dir, args.pyx12_repeat, warm)

    progress(f"[{size}] whole processes: one untimed sendpro validate, then {args.pairs} pair(s) ...")
    run_process(tools, work, size, "sendpro", files, map_dir, "warmup")
    pairs: list[dict[str, Any]] = []
    commands: dict[str, list[str]] = {}
    for i in range(args.pairs):
        pair: dict[str, Any] = {}
        for kind in ("sendpro", "x12valid"):
            cmd, m = run_process(tools, work, size, kind, files, map_dir, str(i + 1))
            commands[kind] = cmd
            pair[kind] = asdict(m)
        pair["ratio"] = pair["x12valid"]["wall_s"] / pair["sendpro"]["wall_s"]
        progress(
            f"[{size}] pair {i + 1}/{args.pairs}: sendpro validate {pair['sendpro']['wall_s']:.2f} s, "
            f"x12valid {pair['x12valid']['wall_s']:.2f} s, ratio {pair['ratio']:.1f}"
        )
        pairs.append(pair)
    return summarise(size, files, segments, compiled, pyx12, pairs, commands)


def _inproc(segments: int, data: dict[str, Any]) -> dict[str, Any]:
    times = data["times_s"]
    best, median = min(times), statistics.median(times)
    return {
        "runs": len(times),
        "best_s": best,
        "median_s": median,
        "segments_per_s_best": segments / best if best > 0 else float("nan"),
        "segments_per_s_median": segments / median if median > 0 else float("nan"),
        "peak_rss_mib": data["process"]["max_rss_mib"],
        "all_valid": all(all(run) for run in data["ok"]),
    }


def _whole(segments: int, pairs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    walls = [p[kind]["wall_s"] for p in pairs]
    best, median = min(walls), statistics.median(walls)
    return {
        "runs": len(walls),
        "best_s": best,
        "median_s": median,
        "segments_per_s_best": segments / best if best > 0 else float("nan"),
        "segments_per_s_median": segments / median if median > 0 else float("nan"),
        "peak_rss_mib": max(p[kind]["max_rss_mib"] for p in pairs),
    }


def summarise(
    size: int,
    files: list[Path],
    segments: int,
    compiled: dict[str, Any],
    pyx12: dict[str, Any],
    pairs: list[dict[str, Any]],
    commands: dict[str, list[str]],
) -> dict[str, Any]:
    c, p = _inproc(segments, compiled), _inproc(segments, pyx12)
    a, b = _whole(segments, pairs, "sendpro"), _whole(segments, pairs, "x12valid")
    inproc_ratio = c["segments_per_s_best"] / p["segments_per_s_best"]
    whole_ratio = statistics.median(pr["ratio"] for pr in pairs)
    # The validator's stats from every timed run: on a clean file all should be fast-path only.
    runs = [st for run in compiled["stats"] for st in run]
    stats = {
        "segments": sum(st["segments"] for st in compiled["stats"][-1]),  # the last timed run, all files
        "segment_checks_max": max(st["segment_checks"] for st in runs),
        "diagnosed_max": max(st["diagnosed"] for st in runs),
        "whole_file_any": any(st["whole_file"] for st in runs),
        "per_run": compiled["stats"],
    }
    odd: list[str] = []
    if stats["segment_checks_max"] or stats["diagnosed_max"] or stats["whole_file_any"]:
        odd.append(
            "the compiled validator left its fast path on a clean file: "
            f"segment_checks={stats['segment_checks_max']}, diagnosed={stats['diagnosed_max']}, "
            f"whole_file={stats['whole_file_any']}"
        )
    if stats["segments"] != segments:
        odd.append(f"the validator counted {stats['segments']:,} segments, the file holds {segments:,}")
    if not c["all_valid"]:
        odd.append("the compiled validator did not find the clean 837 valid")
    if not p["all_valid"]:
        odd.append("pyx12 did not find the clean 837 valid")
    same_doc = compiled["doc_sha256"] == pyx12["doc_sha256"]
    if not same_doc:
        odd.append("the compiled validator's findings document differs from pyx12's")
    return {
        "size": size,
        "files": [str(f) for f in files],
        "segments": segments,
        "in_process": {"compiled": c, "pyx12": p, "ratio_best": inproc_ratio},
        "in_process_raw": {"compiled": compiled, "pyx12": pyx12},
        "whole_process": {
            "sendpro_validate": a,
            "x12valid": b,
            "pairs": pairs,
            "median_ratio": whole_ratio,
            "commands": commands,
        },
        "validator_stats": stats,
        "same_findings_document": same_doc,
        "verdict": {
            "target": TARGET_SPEEDUP,
            "in_process_ratio": inproc_ratio,
            "in_process_ok": inproc_ratio >= TARGET_SPEEDUP,
            "whole_process_median_ratio": whole_ratio,
            "whole_process_ok": whole_ratio >= TARGET_SPEEDUP,
        },
        "odd": odd,
    }


# -- reporting -------------------------------------------------------------------------------------
def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render(results: list[dict[str, Any]], info: dict[str, Any], args: argparse.Namespace) -> str:
    out: list[str] = ["### sendpro validator benchmark", ""]
    ram = f"{info['ram_gib']} GiB RAM" if info.get("ram_gib") is not None else "RAM unknown"
    out.append(f"Machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {ram}; {info['os']}.  ")
    out.append(f"Python {info['python']}, sendpro {info['sendpro']}, polars {info['polars']}, pyx12 {info['pyx12']}.  ")
    out.append(
        f"One clean 837 per size from synthetic P claims (`sendpro sample --seed {args.seed}`, then "
        "`sendpro convert --no-validate-output`). In process: best and median of the timed runs after a "
        "warm-up; whole process: alternated pairs, peak RSS the largest."
    )
    out.append("")
    out.append(
        "| Claims | Segments | Measure | Validator | Runs | Best (s) | Median (s) | Segments/s (best) "
        "| Peak RSS (MiB) |"
    )
    out.append(
        "|-------:|---------:|---------|-----------|-----:|---------:|-----------:|------------------:|---------------:|"
    )
    for r in results:
        rows = [
            ("in process", "compiled `validate()`", r["in_process"]["compiled"]),
            ("in process", "pyx12 `x12_findings()`", r["in_process"]["pyx12"]),
            ("whole process", "`sendpro validate`", r["whole_process"]["sendpro_validate"]),
            ("whole process", "`x12valid`", r["whole_process"]["x12valid"]),
        ]
        for measure_, name, d in rows:
            out.append(
                f"| {r['size']:,} | {r['segments']:,} | {measure_} | {name} | {d['runs']} | {_fmt(d['best_s'], 3)} | "
                f"{_fmt(d['median_s'], 3)} | {_fmt(d['segments_per_s_best'])} | {_fmt(d['peak_rss_mib'])} |"
            )
    out.append("")
    out.append("In-process peak RSS is the worker's (imports included). Whole-process pairs (A then B):")
    out.append("")
    out.append("| Claims | Pair | `sendpro validate` (s) | `x12valid` (s) | x12valid / sendpro |")
    out.append("|-------:|-----:|-----------------------:|---------------:|-------------------:|")
    for r in results:
        for i, pr in enumerate(r["whole_process"]["pairs"], 1):
            out.append(
                f"| {r['size']:,} | {i} | {pr['sendpro']['wall_s']:.3f} | {pr['x12valid']['wall_s']:.3f} "
                f"| {pr['ratio']:.1f} |"
            )
    out.append("")
    for r in results:
        st = r["validator_stats"]
        fast = not (st["segment_checks_max"] or st["diagnosed_max"] or st["whole_file_any"])
        out.append(
            f"- [{r['size']:,}] compiled validator stats (every timed run): segments {st['segments']:,}, "
            f"segment_checks {st['segment_checks_max']}, diagnosed {st['diagnosed_max']}, "
            f"whole_file {st['whole_file_any']}"
            + (" (fast path took every segment)" if fast else " (**left the fast path on a clean file**)")
        )
        same = "yes" if r["same_findings_document"] else "**no**"
        out.append(f"- [{r['size']:,}] findings document identical to pyx12's: {same}")
    out.append("")
    for r in results:
        v = r["verdict"]
        out.append(
            f"**Verdict [{r['size']:,} claims]**: validator alone vs pyx12 validate-only, target ≥ {v['target']:g}x: "
            f"in-process steady state {v['in_process_ratio']:.1f}x ({_yes(v['in_process_ok'])}); "
            f"whole process, median of {len(r['whole_process']['pairs'])} pair(s) "
            f"{v['whole_process_median_ratio']:.1f}x ({_yes(v['whole_process_ok'])})."
        )
    odd = [f"- [{r['size']:,}] {o}" for r in results for o in r["odd"]]
    if odd:
        out += ["", "Odd:", "", *odd]
    return "\n".join(out)


# -- main ------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N", help="claims per sample")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sample seed (default {DEFAULT_SEED})")
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work", help="work directory (samples, outputs)")
    p.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"timed in-process runs of the compiled validator (default {DEFAULT_REPEAT})",
    )
    p.add_argument(
        "--pyx12-repeat",
        type=int,
        default=DEFAULT_PYX12_REPEAT,
        help=f"timed in-process runs of pyx12 (default {DEFAULT_PYX12_REPEAT})",
    )
    p.add_argument(
        "--pairs",
        type=int,
        default=DEFAULT_PAIRS,
        help=f"whole-process pairs, sendpro validate then x12valid (default {DEFAULT_PAIRS})",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="write the raw results as JSON")
    p.add_argument("--bin", type=Path, help="directory holding sendpro, x12valid and python (default: the venv's)")
    # the in-process child
    p.add_argument("--worker", choices=("compiled", "pyx12"), help=argparse.SUPPRESS)
    p.add_argument("--map-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=Path, action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("files", type=Path, nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        if not args.files or args.map_dir is None:
            p.error("--worker needs --map-dir and files")
        return args
    if args.files:
        p.error("unexpected arguments: " + " ".join(map(str, args.files)))
    for name in ("repeat", "pyx12_repeat", "pairs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if any(s < 1 for s in args.sizes):
        p.error("--sizes must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker, args.files, args.map_dir, args.repeat, args.warmup)
    try:
        tools = Tools.locate(args.bin)
        versions = tools.versions()
        map_dir = tools.map_dir()
    except BenchError as exc:
        print(f"bench_validator: {exc}", file=sys.stderr)
        return 2
    info = machine_info(versions)
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(args.sizes))
    progress(f"tools: {tools.bin_dir}; pyx12 maps: {map_dir}; work: {work}")

    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for size in sizes:
        try:
            results.append(bench_size(tools, work, size, args, map_dir, versions["sendpro"]))
        except BenchError as exc:
            failures.append(f"[{size}] {exc}")
            progress(f"FAILED [{size}] {exc}")

    print()
    if results:
        print(render(results, info, args))
    else:
        print("no size finished; nothing to tabulate")
    if args.json:
        payload = {
            "machine": info,
            "settings": {
                "sizes": sizes,
                "seed": args.seed,
                "repeat": args.repeat,
                "pyx12_repeat": args.pyx12_repeat,
                "pairs": args.pairs,
                "warmup_claims": WARMUP_CLAIMS,
            },
            "map_dir": str(map_dir),
            "target": {"speedup": TARGET_SPEEDUP},
            "results": results,
            "failures": failures,
        }
        write_json(args.json, payload)
    return report_failures(failures)


if __name__ == "__main__":
    sys.exit(main())
