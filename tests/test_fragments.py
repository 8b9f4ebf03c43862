"""Output validation per transaction set (sendpro.convert.fragments) against validating the whole file.

The per-set verdict may only say "clean" when validating the whole file finds
nothing: checked on 837P/I/D outputs split into many transaction sets and on
generated mutants of them (the validator differential tests' mutations), with
the sets located where the writer put them. A run with workers uses it and
writes what one process writes.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from pathlib import Path

import pytest

from sendpro.api import convert_files
from sendpro.convert import check, fragments
from sendpro.convert.fragments import Fragment, FragmentChecks, FragmentResult, check_fragment
from sendpro.sample import write_sample
from sendpro.validate.pyx12_bridge import project_map_dir, validate_x12
from tests.helpers import test_config
from tests.x12 import validator_mutations as vm

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
SPLIT_PROFILE = REPO / "fixtures" / "x12" / "transaction-split" / "profile.toml"
#: Mutants per mutation kind and claim type.
PER_KIND = 1


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """837P, 837I and 837D of 12 claims each, three claims per transaction set."""
    root = tmp_path_factory.mktemp("fragments")
    src = root / "in.txt"
    with src.open("w", encoding="utf-8") as handle:
        write_sample(handle, 36, types=("P", "I", "D"), seed=11)
    convert_files([src], root / "out", test_config(validate_output=False, profile=str(SPLIT_PROFILE)))
    return {p.name[:4]: p for p in sorted((root / "out").glob("837?*.x12"))}


def _structure(text: str) -> tuple[int, list[tuple[int, int]], int] | None:
    """Return (end of the GS, each set's byte span, start of the trailer), as the writer reports them."""
    x = vm.X12.parse(text)
    term = x.seps.segment
    offsets: list[tuple[str, int, int]] = []
    at = 0
    for piece in text.split(term)[:-1]:
        start = at + len(piece) - len(piece.lstrip("\r\n"))
        at += len(piece) + len(term)
        end = at + (1 if text[at : at + 1] == "\n" else 0)
        offsets.append((piece.lstrip("\r\n").split(x.seps.element, 1)[0], start, end))
    if len(offsets) < 3 or offsets[1][0] != "GS":
        return None
    head_end = offsets[1][2]
    starts = [start for seg, start, _ in offsets if seg == "ST"]
    trailer = next((start for seg, start, _ in offsets[2:] if seg in ("GE", "IEA")), len(text))
    if not starts:
        return None
    ends = [*starts[1:], trailer]
    return head_end, list(zip(starts, ends, strict=True)), trailer


def _now(fragment: Fragment) -> Future[FragmentResult]:
    done: Future[FragmentResult] = Future()
    done.set_result(check_fragment(fragment))
    return done


def _verdict(path: Path, good_trailer: str, one_set_trailer: str, version: str) -> bool | None:
    text = path.read_bytes().decode("latin-1")
    found = _structure(text)
    if found is None:
        return None
    head_end, spans, _ = found
    checks = FragmentChecks(_now, limit=4)
    for start, end in spans:
        checks.add(Fragment(path, head_end, start, end, one_set_trailer, project_map_dir(None), path.name))
    return checks.clean(path, head_end, good_trailer, version)


def _trailers(text: str) -> tuple[str, str, str]:
    """Return the file's GE+IEA, the GE+IEA for one set, as the writer writes them, and its guide (GS08)."""
    x = vm.X12.parse(text)
    found = _structure(text)
    assert found is not None
    trailer = text[found[2] :]
    ge = next(s for s in x.segments if s.startswith("GE" + x.seps.element)).split(x.seps.element)
    one = trailer.replace(f"GE{x.seps.element}{ge[1]}{x.seps.element}", f"GE{x.seps.element}1{x.seps.element}", 1)
    gs = next(s for s in x.segments if s.startswith("GS" + x.seps.element)).split(x.seps.element)
    return trailer, one, gs[8]


@pytest.mark.parametrize("claim_type", ["837P", "837I", "837D"])
def test_clean_outputs_are_clean_per_set(claim_type: str, written: dict[str, Path]) -> None:
    path = written[claim_type]
    text = path.read_text(encoding="ascii")
    found = _structure(text)
    assert found is not None and len(found[1]) == 4  # 12 claims, three per set
    assert validate_x12(path) == []
    assert _verdict(path, *_trailers(text)) is True


@pytest.mark.parametrize("claim_type", ["837P", "837I", "837D"])
def test_a_clean_per_set_verdict_is_the_whole_files(claim_type: str, written: dict[str, Path], tmp_path: Path) -> None:
    text = written[claim_type].read_text(encoding="ascii")
    good, one, version = _trailers(text)
    path = tmp_path / "mutant.x12"
    unsound, passed, total = [], 0, 0
    with vm.cached_pyx12_maps():  # pyx12 diagnoses the dirty sets: its maps loaded once
        for name, mutant in vm.mutants(text, "837", PER_KIND, seed=f"fragments/{claim_type}"):
            path.write_text(mutant, encoding="latin-1", newline="")
            total += 1
            # A "not clean" answer only costs time (the whole file is validated then); a
            # "clean" one must be the whole file's.
            if _verdict(path, good, one, version):
                passed += 1
                if validate_x12(path):
                    unsound.append(name)
    assert total > 25
    assert not unsound, f"per-set checks passed {len(unsound)} mutant(s) the whole file fails: {unsound}"


def test_a_duplicate_st02_is_not_clean(written: dict[str, Path], tmp_path: Path) -> None:
    text = written["837P"].read_text(encoding="ascii")
    good, one, version = _trailers(text)
    x = vm.X12.parse(text)
    segs = list(x.segments)
    sts = x.indexes("ST")
    se = [i for i in x.indexes("SE") if i > sts[1]][0]
    segs[sts[1]] = segs[sts[0]]
    segs[se] = segs[se].rsplit(x.seps.element, 1)[0] + x.seps.element + segs[sts[0]].split(x.seps.element)[2]
    path = tmp_path / "dup.x12"
    path.write_text(x.render(segs), encoding="ascii", newline="")
    assert validate_x12(path) != []
    assert _verdict(path, good, one, version) is False


def test_a_run_with_workers_checks_each_set_in_a_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "MIN_ROWS_FOR_WORKERS", 0)
    verdicts: list[bool] = []
    real = FragmentChecks.clean

    def recording(self: FragmentChecks, path: Path, head_end: int, trailer: str, version: str) -> bool:
        verdict = real(self, path, head_end, trailer, version)
        verdicts.append(verdict and len(self.results) == len(self.spans) > 1)
        return verdict

    monkeypatch.setattr(fragments.FragmentChecks, "clean", recording)
    src = tmp_path / "in.txt"
    with src.open("w", encoding="utf-8") as handle:
        write_sample(handle, 60, types=("P", "I", "D"), seed=3, defect_rate=0.2)
    files = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        config = test_config(jobs=jobs, chunk_lines=40, profile=str(SPLIT_PROFILE))
        report = convert_files([src], out, config)
        assert report.output_validation == "passed" and report.balanced
        files[jobs] = {p.name: p.read_bytes() for p in out.glob("837?*.x12")}
    assert verdicts == [True, True, True]  # with --jobs 2 only: one per 837
    assert files[1] == files[2]
    assert json.loads((tmp_path / "out2" / "report.json").read_text())["output_validation"] == "passed"


def test_a_set_naming_another_transaction_is_not_clean(written: dict[str, Path], tmp_path: Path) -> None:
    """Alone in a file, a set with an unknown ST01 passes; in its file it does not (found by the mutants)."""
    text = written["837I"].read_text(encoding="ascii")
    good, one, version = _trailers(text)
    x = vm.X12.parse(text)
    segs = list(x.segments)
    second = x.indexes("ST")[1]
    segs[second] = segs[second].replace("ST*837*", "ST*AAAA*", 1)
    path = tmp_path / "st01.x12"
    path.write_text(x.render(segs), encoding="ascii", newline="")
    assert validate_x12(path) != []
    assert _verdict(path, good, one, version) is False
