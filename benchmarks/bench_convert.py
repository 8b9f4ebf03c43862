"""Benchmark sendpro's conversion, validated by its compiled validator and by pyx12, against pyx12 alone.

This is a benchmark, not a test: pytest never collects it (it lives outside ``tests/`` and its
name does not start with ``test_``). Run it from the repository root with the project's venv::

    make bench                                          # same as: .venv/bin/python benchmarks/bench_convert.py
    .venv/bin/python benchmarks/bench_convert.py --sizes 1000 3000          # a quick run (~1 minute)
    .venv/bin/python benchmarks/bench_convert.py --repeat 3 --json benchmarks/work/results.json
    .venv/bin/python benchmarks/bench_convert.py --runs ab                 # skip the slow pyx12 runs (c, e)
    .venv/bin/python benchmarks/bench_convert.py --runs abcde              # also time `sendpro validate`
    .venv/bin/python benchmarks/bench_convert.py --sizes 1000000 --runs ab --jobs 1   # one process

For every size (claims; default 10000 and 100000; almost all of the time is pyx12, runs c and e) it
writes a synthetic mce-v1 sample with ``sendpro sample`` (fixed seed; reused from ``--work`` when one with
the same size, seed and sendpro version is already there) and times, each in its own subprocess:

    a  ``sendpro convert SAMPLE --out OUT --no-validate-output --ledger L -q``  (conversion only)
    b  ``sendpro convert SAMPLE --out OUT --ledger L -q``  (conversion + the default compiled validator)
    c  ``x12valid -m MAPDIR COPY``  (pyx12 alone, on a copy of the 837 written by a)
    d  ``sendpro validate COPY``  (optional, e.g. ``--runs abcde``)
    e  ``sendpro convert SAMPLE --out OUT --validator pyx12 --ledger L -q``  (conversion + pyx12, the old default)

Each child is reaped with ``os.wait4`` so its peak RSS is its own (``getrusage(RUSAGE_CHILDREN)``
would be a running maximum over every child). It prints wall seconds, claims/s (claims in the
sample), segments/s (``~``-terminated segments in the 837) and peak RSS per run, the project's
targets (e wall / b wall >= 8 at 100,000 claims, a/c throughput >= 10, e/c throughput >= 0.8, flat
peak RSS across sizes for a, b and e), b/c throughput for information, and a Markdown table with
the machine it ran on. ``bench_validator.py`` times the validator alone against pyx12.

Exit code: 0, unless a command failed (then the failure is printed and the exit code is 2).
Standard library only; the tools are taken from the directory of the running Python (the venv).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000)
DEFAULT_SEED = 1
DEFAULT_RUNS = "abce"
#: Targets the project holds itself to.
TARGET_A_OVER_C = 10.0
#: Convert validated by pyx12 (e) against pyx12 alone (c): validating inside sendpro costs little more.
TARGET_E_OVER_C = 0.8
#: Wall time of convert --validator pyx12 (e) over the default convert (b), judged at TARGET_E_OVER_B_SIZE.
TARGET_E_OVER_B = 8.0
TARGET_E_OVER_B_SIZE = 100_000
#: Peak RSS at the largest size over peak RSS at the smallest; above this the memory use is not "flat".
RSS_FLAT_TOLERANCE = 1.25

RUN_LABELS = {
    "a": "convert (no output validation)",
    "b": "convert + compiled validation",
    "c": "x12valid (pyx12 only)",
    "d": "sendpro validate",
    "e": "convert + pyx12 validation",
}
#: The validator each convert run asks for (report.json's ``output_validator``).
CONVERT_VALIDATOR = {"b": "compiled", "e": "pyx12"}


class BenchError(Exception):
    """A command the benchmark depends on failed."""


@dataclass
class Measurement:
    """One execution of one command."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    returncode: int


@dataclass
class RunResult:
    """The best of ``--repeat`` executions of one command at one size."""

    size: int
    run: str
    label: str
    command: list[str]
    claims: int
    segments: int
    measurements: list[Measurement] = field(default_factory=list)
    ok: bool = True
    note: str = ""

    @property
    def wall_s(self) -> float:
        """Best (smallest) wall time over the repeats."""
        return min(m.wall_s for m in self.measurements)

    @property
    def max_rss_mib(self) -> float:
        """Largest peak RSS over the repeats (the conservative figure)."""
        return max(m.max_rss_mib for m in self.measurements)

    @property
    def claims_per_s(self) -> float:
        return self.claims / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def segments_per_s(self) -> float:
        return self.segments / self.wall_s if self.wall_s > 0 else float("nan")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.measurements:
            data.update(
                best_wall_s=self.wall_s,
                max_rss_mib=self.max_rss_mib,
                claims_per_s=self.claims_per_s,
                segments_per_s=self.segments_per_s,
            )
        return data


# -- running commands ---------------------------------------------------------------------------
def _rss_mib(ru_maxrss: int) -> float:
    """ru_maxrss is KiB on Linux and bytes on macOS."""
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def measure(cmd: Sequence[str], log_stem: Path) -> Measurement:
    """Run ``cmd`` with stdout/stderr in ``log_stem``.out/.err; reap it with wait4 for its own rusage."""
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{log_stem}.out", "wb") as out, open(f"{log_stem}.err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen the child is already reaped
    return Measurement(
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_mib=_rss_mib(usage.ru_maxrss),
        returncode=proc.returncode,
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _failure(cmd: Sequence[str], m: Measurement, log_stem: Path, why: str) -> BenchError:
    out, err = _tail(Path(f"{log_stem}.out")), _tail(Path(f"{log_stem}.err"))
    parts = [f"{why} (exit {m.returncode}): {' '.join(cmd)}"]
    if out:
        parts.append(f"--- stdout ({log_stem}.out, tail) ---\n{out}")
    if err:
        parts.append(f"--- stderr ({log_stem}.err, tail) ---\n{err}")
    return BenchError("\n".join(parts))


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- inputs and outputs -------------------------------------------------------------------------
def count_segments(path: Path) -> int:
    """Count ``~``-terminated segments without holding the file in memory."""
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"~")
    return n


def x12_outputs(out_dir: Path) -> list[Path]:
    """The 837 files a convert run wrote (from report.json, else every ``*.x12``)."""
    report = out_dir / "report.json"
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        names = [o["name"] for o in data.get("outputs", []) if o.get("kind") == "837"]
        if names:
            return [out_dir / n for n in names]
    return sorted(out_dir.glob("*.x12"))


def read_report(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@dataclass
class Tools:
    """Where the commands live, and what the venv has installed."""

    bin_dir: Path
    python: Path
    sendpro: Path
    x12valid: Path

    @classmethod
    def locate(cls, bin_dir: Path | None) -> Tools:
        candidates = [bin_dir] if bin_dir else [Path(sys.executable).parent, REPO / ".venv" / "bin"]
        for d in candidates:
            if d is not None and (d / "sendpro").exists() and (d / "x12valid").exists():
                python = d / "python" if (d / "python").exists() else Path(sys.executable)
                return cls(d, python, d / "sendpro", d / "x12valid")
        tried = ", ".join(str(d) for d in candidates if d is not None)
        raise BenchError(f"sendpro and x12valid not found in {tried}; run with the venv's python or pass --bin")

    def py(self, code: str) -> str:
        done = subprocess.run([str(self.python), "-c", code], capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"{self.python} -c {code!r} failed:\n{done.stderr.strip()}")
        return done.stdout.strip()

    def map_dir(self) -> Path:
        """sendpro's derived PACDR map directory (builds the cache if needed, outside any timing)."""
        return Path(self.py("from sendpro.validate.pyx12_bridge import project_map_dir; print(project_map_dir())"))

    def versions(self) -> dict[str, str]:
        code = (
            "import importlib.metadata as m, json, platform\n"
            "def v(n):\n"
            "    try:\n"
            "        return m.version(n)\n"
            "    except m.PackageNotFoundError:\n"
            "        return 'not installed'\n"
            "print(json.dumps({'python': platform.python_version(), 'sendpro': v('sendpro'),"
            " 'polars': v('polars'), 'pyx12': v('pyx12'), 'lxml': v('lxml')}))"
        )
        return dict(json.loads(self.py(code)))


def ensure_sample(tools: Tools, work: Path, size: int, seed: int, sendpro_version: str) -> Path:
    """Write (or reuse) a P-only sample of ``size`` claims; a sidecar records how it was made."""
    sample = work / f"sample-P-n{size}-seed{seed}.txt"
    meta_path = sample.with_suffix(".json")
    meta = {"claims": size, "types": "P", "seed": seed, "sendpro": sendpro_version}
    if sample.is_file() and meta_path.is_file():
        try:
            if json.loads(meta_path.read_text(encoding="utf-8")) == meta:
                progress(f"[{size}] reusing {sample}")
                return sample
        except ValueError:
            pass
    partial = sample.with_suffix(".partial")
    cmd = [str(tools.sendpro), "sample", "--claims", str(size), "--types", "P", "--seed", str(seed)]
    cmd += ["--out", str(partial)]
    progress(f"[{size}] writing sample: {' '.join(cmd)}")
    log = work / "logs" / f"n{size}-sample"
    m = measure(cmd, log)
    if m.returncode != 0 or not partial.is_file():
        raise _failure(cmd, m, log, "sendpro sample failed")
    partial.replace(sample)
    meta_path.write_text(json.dumps(meta) + "\n", encoding="utf-8")
    progress(f"[{size}] sample written in {m.wall_s:.1f} s")
    return sample


# -- the runs -----------------------------------------------------------------------------------
def bench_size(
    tools: Tools,
    work: Path,
    size: int,
    seed: int,
    runs: str,
    repeat: int,
    map_dir: Path,
    sendpro_version: str,
    jobs: int | None = None,
) -> tuple[list[RunResult], list[str]]:
    """Measure every requested run at one size (converts with ``--jobs`` when given); return results, failures."""
    results: list[RunResult] = []
    failures: list[str] = []
    try:
        sample = ensure_sample(tools, work, size, seed, sendpro_version)
    except BenchError as exc:
        return results, [str(exc)]
    logs = work / "logs"
    out_a, out_b, out_e = work / f"out-n{size}-a", work / f"out-n{size}-b", work / f"out-n{size}-e"
    val_dir = work / f"validate-n{size}"
    copies: list[Path] = []

    def convert(run: str, out_dir: Path, extra: list[str]) -> RunResult | None:
        # The production path, ledger included: a fresh ledger per repeat (the same
        # sample through one ledger would be skipped as already submitted).
        ledger = out_dir.with_name(out_dir.name + ".ledger.sqlite")
        cmd = [str(tools.sendpro), "convert", str(sample), "--out", str(out_dir), *extra]
        cmd += ["--ledger", str(ledger), "-q"] + (["--jobs", str(jobs)] if jobs else [])
        res = RunResult(size, run, RUN_LABELS[run], cmd, size, 0)
        for i in range(repeat):
            shutil.rmtree(out_dir, ignore_errors=True)
            for stale in (ledger, Path(f"{ledger}-wal"), Path(f"{ledger}-shm")):
                stale.unlink(missing_ok=True)
            progress(f"[{size}] ({run}) {res.label}, {i + 1}/{repeat} ...")
            log = logs / f"n{size}-{run}-{i + 1}"
            m = measure(cmd, log)
            res.measurements.append(m)
            if m.returncode not in (0, 1):  # 1 = some claims rejected: still a finished run
                raise _failure(cmd, m, log, f"({run}) sendpro convert failed")
            progress(f"[{size}] ({run}) {m.wall_s:.2f} s, {m.max_rss_mib:.0f} MiB")
        report = read_report(out_dir)
        files = x12_outputs(out_dir)
        if not files:
            raise BenchError(f"({run}) sendpro convert wrote no 837 file into {out_dir}")
        res.segments = sum(count_segments(f) for f in files)
        notes = []
        inputs_claims = sum(int(i.get("claims", 0)) for i in report.get("inputs", []))
        if report and inputs_claims != size:
            notes.append(f"sample holds {inputs_claims} claims, not {size}")
        rejected = report.get("reconciliation", {}).get("all", {}).get("rejected", {}).get("claims", 0)
        if rejected:
            notes.append(f"{rejected} claim(s) rejected")
        if run in CONVERT_VALIDATOR:
            want, used = CONVERT_VALIDATOR[run], report.get("output_validator")
            if report.get("output_validation") != "passed":
                res.ok = False
                notes.append(f"{want} output validation: {report.get('output_validation')}")
                failures.append(
                    f"[{size}] ({run}) sendpro reports {want} output validation {report.get('output_validation')!r}"
                )
            if used != want:
                res.ok = False
                notes.append(f"report.json says the output was validated by {used!r}, not {want!r}")
                failures.append(f"[{size}] ({run}) output validated by {used!r}, not {want!r}")
        res.note = "; ".join(notes)
        return res

    def validator(run: str, argv_head: list[str], check: str) -> RunResult:
        cmd = [*argv_head, *(str(c) for c in copies)]
        segments = sum(count_segments(c) for c in copies)
        res = RunResult(size, run, RUN_LABELS[run], cmd, size, segments)
        for i in range(repeat):
            progress(f"[{size}] ({run}) {res.label}, {i + 1}/{repeat} ...")
            log = logs / f"n{size}-{run}-{i + 1}"
            m = measure(cmd, log)
            res.measurements.append(m)
            for c in copies:  # x12valid writes NAME.997 (or STEM.997 for .txt) next to each input
                for ack in (Path(f"{c}.997"), c.with_suffix(".997")):
                    ack.unlink(missing_ok=True)
            text = Path(f"{log}.out").read_text(errors="replace") + Path(f"{log}.err").read_text(errors="replace")
            if check == "x12valid":
                # the console script exits 1 even on success; "FILE: OK" on stderr is the verdict
                good = m.returncode in (0, 1) and all(f"{c}: OK" in text for c in copies)
            else:
                good = m.returncode == 0 and all(f"{c}: valid" in text for c in copies)
            if not good:
                raise _failure(cmd, m, log, f"({run}) {res.label} did not report the 837 valid")
            progress(f"[{size}] ({run}) {m.wall_s:.2f} s, {m.max_rss_mib:.0f} MiB")
        return res

    steps: list[tuple[str, Any]] = []
    if "a" in runs or "c" in runs or "d" in runs:  # c and d validate the 837 written by a
        steps.append(("a", lambda: convert("a", out_a, ["--no-validate-output"])))
    if "b" in runs:
        steps.append(("b", lambda: convert("b", out_b, [])))
    if "e" in runs:
        steps.append(("e", lambda: convert("e", out_e, ["--validator", "pyx12"])))
    if "c" in runs:
        steps.append(("c", lambda: validator("c", [str(tools.x12valid), "-m", str(map_dir)], "x12valid")))
    if "d" in runs:
        steps.append(("d", lambda: validator("d", [str(tools.sendpro), "validate"], "sendpro")))

    for run, step in steps:
        if run in ("c", "d") and not copies:
            failures.append(f"[{size}] ({run}) skipped: no 837 from (a)")
            continue
        try:
            res = step()
        except BenchError as exc:
            failures.append(f"[{size}] {exc}")
            continue
        if run == "a":
            shutil.rmtree(val_dir, ignore_errors=True)
            val_dir.mkdir(parents=True)
            for f in x12_outputs(out_a):
                copies.append(val_dir / f.name)
                shutil.copyfile(f, copies[-1])
            if "a" not in runs:
                continue
        results.append(res)
    return results, failures


# -- reporting ----------------------------------------------------------------------------------
def machine_info(versions: dict[str, str]) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / (1024 * 1024)
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": round(ram_gib, 1) if ram_gib is not None else None,
        "os": platform.platform(),
        **versions,
    }


def _fmt(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}" if x == x else "n/a"  # NaN != NaN


def _ok(value: float | None, good: bool) -> str:
    return "n/a" if value is None else ("yes" if good else "**no**")


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den is not None and den > 0 else None


def ratios(results: list[RunResult]) -> dict[str, Any]:
    by: dict[tuple[int, str], RunResult] = {(r.size, r.run): r for r in results if r.measurements}
    sizes = sorted({r.size for r in results})
    per_size = []
    for s in sizes:
        a, b, c, e = (by.get((s, run)) for run in "abce")
        a_c = _ratio(a.claims_per_s, c.claims_per_s) if a and c else None
        b_c = _ratio(b.claims_per_s, c.claims_per_s) if b and c else None
        e_c = _ratio(e.claims_per_s, c.claims_per_s) if e and c else None
        e_b = _ratio(e.wall_s, b.wall_s) if e and b else None
        judged = s >= TARGET_E_OVER_B_SIZE
        per_size.append(
            {
                "size": s,
                "a_over_c": a_c,
                "a_over_c_ok": a_c is not None and a_c >= TARGET_A_OVER_C,
                # informational: the default convert (compiled validator) against pyx12 alone
                "b_over_c": b_c,
                "e_over_c": e_c,
                "e_over_c_ok": e_c is not None and e_c >= TARGET_E_OVER_C,
                # wall time (e) / (b): how much faster the default convert is than convert --validator pyx12
                "e_wall_over_b_wall": e_b,
                "e_wall_over_b_wall_judged": judged,
                "e_wall_over_b_wall_ok": e_b is not None and e_b >= TARGET_E_OVER_B if judged else None,
            }
        )
    rss = {}
    for run in ("a", "b", "e"):
        have = [by[(s, run)] for s in sizes if (s, run) in by]
        if len(have) >= 2:
            r = have[-1].max_rss_mib / have[0].max_rss_mib
            rss[run] = {
                "smallest": have[0].size,
                "largest": have[-1].size,
                "ratio": r,
                "flat": r <= RSS_FLAT_TOLERANCE,
            }
    return {"per_size": per_size, "rss_largest_over_smallest": rss}


def _cell(value: float | None, ok: bool | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + ("" if ok is None else f" ({_ok(value, ok)})")


def render(results: list[RunResult], info: dict[str, Any], summary: dict[str, Any], repeat: int, seed: int) -> str:
    out: list[str] = []
    out.append("### sendpro conversion benchmark")
    out.append("")
    ram = f"{info['ram_gib']} GiB RAM" if info.get("ram_gib") is not None else "RAM unknown"
    out.append(f"Machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {ram}; {info['os']}.  ")
    out.append(f"Python {info['python']}, sendpro {info['sendpro']}, polars {info['polars']}, pyx12 {info['pyx12']}.  ")
    out.append(
        f"Synthetic P claims (`sendpro sample --seed {seed}`); best wall time of {repeat} run(s), "
        "largest peak RSS; segments counted in the 837 output. (b) validates the 837 with the compiled "
        "validator (the default), (e) with pyx12 (`--validator pyx12`)."
    )
    out.append("")
    out.append("| Claims | Run | Wall (s) | Claims/s | Segments/s | Peak RSS (MiB) |")
    out.append("|-------:|-----|---------:|---------:|-----------:|---------------:|")
    for r in sorted(results, key=lambda r: (r.size, r.run)):
        if not r.measurements:
            continue
        out.append(
            f"| {r.size:,} | ({r.run}) {r.label} | {_fmt(r.wall_s, 2)} | {_fmt(r.claims_per_s)} | "
            f"{_fmt(r.segments_per_s)} | {_fmt(r.max_rss_mib)} |"
        )
    out.append("")
    out.append(
        f"| Claims | (e)/(b) wall (target ≥ {TARGET_E_OVER_B:g} at {TARGET_E_OVER_B_SIZE:,}) "
        f"| (b)/(c) throughput | (a)/(c) throughput (target ≥ {TARGET_A_OVER_C:g}) "
        f"| (e)/(c) throughput (target ≥ {TARGET_E_OVER_C:g}) |"
    )
    out.append(
        "|-------:|---------------------------:|----------:|---------------------------:|---------------------------:|"
    )
    for p in summary["per_size"]:
        e_b = _cell(p["e_wall_over_b_wall"], p["e_wall_over_b_wall_ok"], 1)
        if p["e_wall_over_b_wall"] is not None and not p["e_wall_over_b_wall_judged"]:
            e_b += f" (not judged below {TARGET_E_OVER_B_SIZE:,})"
        out.append(
            f"| {p['size']:,} | {e_b} | {_cell(p['b_over_c'], None, 1)} "
            f"| {_cell(p['a_over_c'], p['a_over_c_ok'])} | {_cell(p['e_over_c'], p['e_over_c_ok'])} |"
        )
    rss = summary["rss_largest_over_smallest"]
    if rss:
        out.append("")
        out.append(f"Peak RSS, largest size over smallest (target: about the same, ≤ {RSS_FLAT_TOLERANCE:g} here):")
        out.append("")
        for run, v in rss.items():
            flat = "flat" if v["flat"] else "**grows**"
            out.append(
                f"- ({run}) {RUN_LABELS[run]}: {v['largest']:,} / {v['smallest']:,} claims = {v['ratio']:.2f} ({flat})"
            )
    notes = [f"- [{r.size:,}] ({r.run}) {r.note}" for r in results if r.note]
    if notes:
        out.append("")
        out.append("Notes:")
        out.append("")
        out.extend(notes)
    return "\n".join(out)


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N", help="claims per sample")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sample seed (default {DEFAULT_SEED})")
    p.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work", help="work directory (samples, outputs)")
    p.add_argument("--repeat", type=int, default=1, help="runs per command; the best wall time counts")
    p.add_argument(
        "--runs",
        default=DEFAULT_RUNS,
        help=f"which of a, b, c, d, e to measure (default {DEFAULT_RUNS}; ab skips pyx12; d = sendpro validate)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="write the raw results as JSON")
    p.add_argument(
        "--jobs", type=int, metavar="N", help="convert with --jobs N (default: sendpro's default, the cores available)"
    )
    p.add_argument("--bin", type=Path, help="directory holding sendpro, x12valid and python (default: the venv's)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if any(s < 1 for s in args.sizes):
        p.error("--sizes must be positive")
    if not args.runs or set(args.runs) - set(RUN_LABELS):
        p.error(f"--runs takes letters from {''.join(RUN_LABELS)!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        tools = Tools.locate(args.bin)
        versions = tools.versions()
        map_dir = tools.map_dir()
    except BenchError as exc:
        print(f"bench_convert: {exc}", file=sys.stderr)
        return 2
    info = machine_info(versions)
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(args.sizes))
    progress(f"tools: {tools.bin_dir}; pyx12 maps: {map_dir}; work: {work}")

    results: list[RunResult] = []
    failures: list[str] = []
    for size in sizes:
        res, fail = bench_size(
            tools, work, size, args.seed, args.runs, args.repeat, map_dir, versions["sendpro"], args.jobs
        )
        results += res
        failures += fail
        for f in fail:
            progress(f"FAILED {f}")

    summary = ratios(results)
    print()
    for r in sorted(results, key=lambda r: (r.size, r.run)):
        print(
            f"{r.size:>9,} claims  ({r.run}) {r.label:<32} {r.wall_s:9.2f} s  {_fmt(r.claims_per_s):>9} claims/s  "
            f"{_fmt(r.segments_per_s):>10} segments/s  {r.max_rss_mib:8.1f} MiB peak RSS"
        )
    print()
    if results:
        print(render(results, info, summary, args.repeat, args.seed))
    else:
        print("no run finished; nothing to tabulate")
    if args.json:
        payload = {
            "machine": info,
            "settings": {"sizes": sizes, "seed": args.seed, "repeat": args.repeat, "runs": args.runs},
            "map_dir": str(map_dir),
            "targets": {
                "a_over_c": TARGET_A_OVER_C,
                "e_over_c": TARGET_E_OVER_C,
                "e_wall_over_b_wall": TARGET_E_OVER_B,
                "e_wall_over_b_wall_at_size": TARGET_E_OVER_B_SIZE,
                "rss_flat_tolerance": RSS_FLAT_TOLERANCE,
            },
            "results": [r.to_json() for r in results],
            "summary": summary,
            "failures": failures,
        }
        write_json(args.json, payload)
    return report_failures(failures)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a benchmark's raw results as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    progress(f"raw results: {path}")


def report_failures(failures: Sequence[str]) -> int:
    """Print the failed commands to stderr; return the exit code (2 when any failed)."""
    if not failures:
        return 0
    print("\nFAILURES:", file=sys.stderr)
    for f in failures:
        print(f, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
