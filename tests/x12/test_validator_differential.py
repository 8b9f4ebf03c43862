"""Differential tests: the compiled validator gives exactly pyx12's verdict, issues and findings document.

Two parts:

- clean files (the golden ``fixtures/x12/*/expected.x12``, the demo's 837P/I/D and
  two 999s, one accepting and one rejecting): the same ``(ok, doc)``;
- a corpus of mutants (:mod:`tests.x12.validator_mutations`) of small generated
  837P, 837I and 837D files and of the two 999s, one test per source file and
  mutation kind: the same verdict, the same set of ``(line, x12 path, code)`` of
  the issues ``check_x12`` derives, and the same document.

pyx12 loads its XML maps on every file, which is nearly all of its time on a
small file; the tests load each map once (:func:`cached_pyx12_maps`, checked
against fresh loads by ``test_cached_maps_give_pyx12s_own_findings``). Set
``SENDPRO_DIFF_FRESH_MAPS=1`` to run pyx12 exactly as the bridge does (slower).
A failing mutant test lists every mismatch: the mutation (kind, seed and what
changed, reproducible with ``validator_mutations.mutate(source_text, kind, seed)``),
the lines that changed and how the two outcomes differ.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyx12.map_if import load_map_file as fresh_load_map_file  # imported before any test caches maps

from sendpro.api import acknowledge_file, convert_files
from sendpro.sample import write_sample
from sendpro.validate.pyx12_bridge import project_map_dir, x12_findings
from sendpro.x12.envelope import SequentialControlNumbers
from tests.helpers import FIXED_NOW, test_config
from tests.x12 import validator_mutations as vm
from tests.x12.validator_mutations import Differential, Mutant, Outcome

REPO = Path(__file__).resolve().parents[2]
GOLDEN = sorted((REPO / "fixtures" / "x12").glob("*/expected.x12"))
DEMO = REPO / "fixtures" / "demo" / "encounters.txt"

#: The files mutated: name -> file kind (which mutations apply).
SOURCES = {"837P": "837", "837I": "837", "837D": "837", "999-accepted": "999", "999-rejected": "999"}
#: Mutants per mutation kind and source file.
PER_KIND = {"837": 7, "999": 6}
#: The corpus must hold at least this many mutants.
MIN_CORPUS = 1000
SEED = 20261202
#: The sample the 837s are converted from: claims taken P, I, D in turn, so two of each.
SAMPLE_CLAIMS, SAMPLE_SEED = 6, 5


_STOPPED = re.compile(r"pyx12 cannot check the file from segment (?P<line>\d+) on \(it stops there with (?P<exc>\w+)\)")


def stopped_on(mutant: Mutant, reference: Outcome) -> tuple[str, list[str], str] | None:
    """Return (exception name, the segment's elements, component separator) when pyx12 stopped on the file."""
    for isa in (reference.doc or {}).get("interchanges", []):
        for err in isa.get("errors", []):
            found = _STOPPED.search(str(err.get("err_str"))) if err.get("err_cde") == "000" else None
            if found:
                line = int(found.group("line"))
                x = vm.X12.parse(mutant.text)
                seg = x.segments[line - 1] if 0 < line <= len(x.segments) else ""
                return found.group("exc"), seg.split(x.seps.element), x.seps.component
    return None


def pyx12_stops_on_a_date_range(mutant: Mutant, reference: Outcome) -> bool:
    """pyx12 stopped with a ValueError on a DTP whose RD8 date range has more than one dash."""
    stop = stopped_on(mutant, reference)
    if stop is None or stop[0] != "ValueError":
        return False
    parts = stop[1]
    return parts[0] == "DTP" and len(parts) > 3 and parts[2] == "RD8" and parts[3].count("-") > 1


def pyx12_stops_on_extra_components(mutant: Mutant, reference: Outcome) -> bool:
    """pyx12 stopped with an IndexError on a segment with a composite (more components than its map has)."""
    stop = stopped_on(mutant, reference)
    return stop is not None and stop[0] == "IndexError" and any(stop[2] in e for e in stop[1][1:])


#: Mutants whose findings may differ from pyx12's, with the reason: they are left out of the strict
#: comparison, but the compiled validator must still report at least one finding and must not raise.
#: An entry is a mutation kind or a predicate on (mutant, pyx12's outcome). Every other file pyx12
#: stops on (a GE01 that is not a number, an empty segment, SE/GE/IEA out of order, ...) is compared
#: strictly: the compiled validator leaves those to pyx12's crash guard too.
INTENDED_DIFFERENCES: tuple[tuple[str | Callable[[Mutant, Outcome], bool], str], ...] = (
    (
        pyx12_stops_on_a_date_range,
        "pyx12 4.0 stops with a ValueError (validation.py: start, end = str_val.split('-')) on an RD8 DTP03 "
        "with two dashes; the bridge reports one PX001 'pyx12 cannot check the file' finding, the compiled "
        "validator cuts the range for pyx12's diagnosis and reports the transaction set's findings plus an "
        "IK3 code 8 on the DTP (engine._Run._sanitize)",
    ),
    (
        pyx12_stops_on_extra_components,
        "pyx12 4.0 stops with an IndexError (_segment.py: child_node.children[subele_count + 1]) on a "
        "composite with more components than its map defines (CLM05 11:B:1:Z); the compiled validator cuts "
        "the extra components for the diagnosis and adds an IK3 code 8 (engine._Run._sanitize)",
    ),
)


def intended(mutant: Mutant, reference: Outcome) -> str | None:
    """Return the reason a mutant may differ from pyx12, or None."""
    for what, reason in INTENDED_DIFFERENCES:
        if (what == mutant.kind) if isinstance(what, str) else what(mutant, reference):
            return reason
    return None


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _pyx12_maps_once() -> Iterator[None]:
    if os.environ.get("SENDPRO_DIFF_FRESH_MAPS"):
        yield
        return
    with vm.cached_pyx12_maps():
        yield


@pytest.fixture(scope="session")
def maps() -> Path:
    return project_map_dir()


@pytest.fixture(scope="module")
def differential(maps: Path) -> Differential:
    return Differential(maps)


def _convert(src: Path, out: Path) -> dict[str, Path]:
    convert_files([src], out, test_config(validate_output=False))
    return {p.stem: p for p in sorted(out.glob("837?.x12"))}


def _ack(x12: Path, ack: Path) -> Path:
    acknowledge_file(x12, ack, clock=lambda: FIXED_NOW, control=SequentialControlNumbers(1), validator="pyx12")
    return ack


#: Edits of the generated 837P for the rejecting 999 (with a ZZZ segment after the first CLM): a service
#: date and a birth date pyx12 refuses, a state code that is not one.
_REJECTED_EDITS = (
    ("DTP*472*D8*2026", "DTP*472*D8*1626"),
    ("*MA*", "*ZZ*"),
    ("DMG*D8*19", "DMG*D8*17"),
)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated files: 837P, 837I, 837D (two claims each) and the two 999s."""
    root = tmp_path_factory.mktemp("differential-sources")
    sample = root / "sample.txt"
    with sample.open("w", encoding="utf-8") as handle:
        write_sample(handle, SAMPLE_CLAIMS, types=("P", "I", "D"), seed=SAMPLE_SEED)
    files = _convert(sample, root / "out")
    assert sorted(files) == ["837D", "837I", "837P"]
    files["999-accepted"] = _ack(files["837P"], root / "accepted.999")
    text = files["837P"].read_text(encoding="ascii")
    for old, new in _REJECTED_EDITS:
        assert old in text
        text = text.replace(old, new, 1)
    x = vm.X12.parse(text)
    segs = list(x.segments)
    segs.insert(x.indexes("CLM")[0] + 1, "ZZZ*1")
    rejected = root / "rejected.x12"
    rejected.write_text(x.render(vm.recount(x, segs)), encoding="ascii")
    files["999-rejected"] = _ack(rejected, root / "rejected.999")
    assert "IK3*" in files["999-rejected"].read_text(encoding="ascii")
    return files


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's outputs (what ``make run`` writes)."""
    return _convert(DEMO, tmp_path_factory.mktemp("differential-demo") / "out")


# -- clean files -------------------------------------------------------------------------------------

CLEAN = [f"golden-{p.parent.name}" for p in GOLDEN] + ["demo-837P", "demo-837I", "demo-837D"]
CLEAN += ["999-accepted", "999-rejected"]


@pytest.mark.parametrize("name", CLEAN)
def test_clean_files_get_pyx12s_verdict_and_findings(
    name: str, differential: Differential, generated: dict[str, Path], demo: dict[str, Path]
) -> None:
    if name.startswith("golden-"):
        path = REPO / "fixtures" / "x12" / name.removeprefix("golden-") / "expected.x12"
    elif name.startswith("demo-"):
        path = demo[name.removeprefix("demo-")]
    else:
        path = generated[name]
    compiled, reference = differential.run(path)
    assert reference.raised is None
    assert vm.compare(compiled, reference) == []
    assert reference.ok is True  # a 999 that rejects a transaction set is itself a valid 999


# -- mutants -----------------------------------------------------------------------------------------

BATCHES = [(source, m.name) for source, kind in SOURCES.items() for m in vm.MUTATIONS if m.applies(kind)]


def _changed_lines(before: str, after: str, limit: int = 8) -> str:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    lines = [repr(line) for line in diff if not line.startswith(("---", "+++"))]
    more = f" ... ({len(lines) - limit} more)" if len(lines) > limit else ""
    return "\n        ".join(lines[:limit]) + more


def _report(source: str, text: str, mutant: Mutant, problems: list[str]) -> str:
    body = "\n      ".join(problems)
    return (
        f"  {source} {mutant.name}\n      reproduce: mutate(text of {source}, {mutant.kind!r}, {mutant.seed!r})\n"
        f"      changed lines:\n        {_changed_lines(text, mutant.text)}\n      {body}"
    )


@pytest.mark.parametrize(("source", "kind"), BATCHES, ids=[f"{s}-{k}" for s, k in BATCHES])
def test_mutants_get_pyx12s_verdict_and_findings(
    source: str, kind: str, differential: Differential, generated: dict[str, Path], tmp_path: Path
) -> None:
    text = generated[source].read_text(encoding="ascii")
    batch = vm.batch(text, kind, PER_KIND[SOURCES[source]], f"{SEED}/{source}")
    assert batch, f"{kind} made no mutant of {source}"
    path = tmp_path / f"{source}-{kind}.x12"
    mismatches = []
    for mutant in batch:
        path.write_text(mutant.text, encoding="latin-1", newline="")
        compiled, reference = differential.run(path)
        reason = intended(mutant, reference)
        if reason is not None:
            problems = []
            if compiled.raised is not None:
                problems.append(f"intended difference ({reason[:60]}...), but the compiled validator raised")
            elif not compiled.issues:
                problems.append(f"intended difference ({reason[:60]}...), but the compiled validator found nothing")
        else:
            problems = vm.compare(compiled, reference)
        if problems:
            mismatches.append(_report(source, text, mutant, problems))
    assert not mismatches, f"{len(mismatches)} of {len(batch)} mutants differ from pyx12:\n" + "\n".join(mismatches)


# -- cases the fuzz run found (benchmarks/fuzz_validator.py), minimal ---------------------------------


def _edit(case: str, old: str, new: str) -> str:
    text = (REPO / "fixtures" / "x12" / case / "expected.x12").read_text(encoding="ascii")
    assert old in text
    return text.replace(old, new, 1)


def _insert(case: str, before: int, seg: str | None = None, delete: str | None = None) -> str:
    """The golden file with ``seg`` inserted before segment number ``before`` or ``delete`` removed; SE01 recounted."""
    x = vm.X12.parse((REPO / "fixtures" / "x12" / case / "expected.x12").read_text(encoding="ascii"))
    segs = list(x.segments)
    if seg is not None:
        segs.insert(before - 1, seg)
    if delete is not None:
        assert segs[before - 1] == delete
        del segs[before - 1]
    return x.render(vm.recount(x, segs))


#: name -> the file. Mismatches the fuzz run once found, kept as regressions. HI: components the
#: 837 guides mark "Not Used" (HIxx-03 to -09 of a diagnosis code, -05 on of a procedure code) held
#: a value: pyx12 reports it (IK403 10) and the fast check used to accept it. LX: pyx12's reader
#: counts LX from the last CLM, across transaction sets, so a transaction set whose LX numbering
#: carries over is diagnosed with the whole file, not in an envelope of its own.
FOUND_BY_FUZZ: dict[str, Callable[[], str]] = {
    "HI02-03-value": lambda: _edit("basic-professional", "HI*ABK:J069*ABF:E119~", "HI*ABK:J069*ABF:E119:ZZ~"),
    "HI02-05-amount": lambda: _edit("basic-professional", "HI*ABK:J069*ABF:E119~", "HI*ABK:J069*ABF:E119:::1~"),
    "HI01-03-04-date": lambda: _edit(
        "basic-professional", "HI*ABK:J069*ABF:E119~", "HI*ABK:J069:D8:20260101*ABF:E119~"
    ),
    "LX-count-CLM-deleted-in-3rd-ST": lambda: _insert("transaction-split", 231, delete="CLM*PRO-0008*250***11:B:1"),
    "LX-count-LX1-in-3rd-ST-header": lambda: _insert("transaction-split", 217, "LX*1"),
    "LX-count-LX3-in-3rd-ST-header": lambda: _insert("transaction-split", 217, "LX*3"),
}


@pytest.mark.parametrize("name", list(FOUND_BY_FUZZ))
def test_cases_found_by_the_fuzz_get_pyx12s_findings(name: str, differential: Differential, tmp_path: Path) -> None:
    path = tmp_path / "case.x12"
    path.write_text(FOUND_BY_FUZZ[name](), encoding="ascii", newline="")
    compiled, reference = differential.run(path)
    assert reference.ok is False
    problems = vm.compare(compiled, reference)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def test_the_corpus_holds_enough_mutants(generated: dict[str, Path]) -> None:
    texts = {s: generated[s].read_text(encoding="ascii") for s in SOURCES}
    total = sum(len(vm.batch(texts[s], k, PER_KIND[SOURCES[s]], f"{SEED}/{s}")) for s, k in BATCHES)
    assert total >= MIN_CORPUS


def test_cached_maps_give_pyx12s_own_findings(
    maps: Path, generated: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyx12 with each map loaded once says what pyx12 loading its maps for every file says."""
    text = generated["837I"].read_text(encoding="ascii")
    kinds = ("set_element", "hl_numbering", "extra_claim")
    paths = []
    for n, kind in enumerate(kinds):
        (mutant,) = vm.batch(text, kind, 1, SEED)
        paths.append(tmp_path / f"{n}.x12")
        paths[-1].write_text(mutant.text, encoding="latin-1", newline="")
    cached = [x12_findings(p, maps) for p in paths]
    monkeypatch.setattr("pyx12.map_if.load_map_file", fresh_load_map_file)
    assert [x12_findings(p, maps) for p in paths] == cached
    assert not all(ok for ok, _ in cached)
