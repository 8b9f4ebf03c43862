"""The data-quality measures over small synthetic claims (cases in ``tests/dq/cases.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sendpro.codesets.catalog import CodeSets
from sendpro.dq import DqAccumulator, Lists, load_measures
from sendpro.flatfile.layout import load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.model.typing import type_frame
from sendpro.projectconfig import CodeListSource
from sendpro.references import Members
from tests.helpers import mce_text, rx_text, typed_rows

CASES = tomllib.loads((Path(__file__).parent / "cases.toml").read_text(encoding="utf-8"))["case"]
FILES = {"P": "837P.x12", "I": "837I.x12", "D": "837D.x12", "RX": "RX.ncpdp"}


def _lists(case: dict[str, Any], tmp_path: Path) -> Lists:
    sources: dict[str, tuple[CodeListSource, ...]] = {}
    for name, codes in case.get("codesets", {}).items():
        path = tmp_path / f"{name}.txt"
        path.write_text("\n".join(codes) + "\n", encoding="utf-8")
        sources[name] = (CodeListSource(path),)
    members = None
    if "members" in case:
        members = Members(tmp_path / "members.csv", pl.DataFrame({"member_id": case["members"]}))
    return Lists(CodeSets.load(sources), members)


def measure_rows(case: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    """Return the dq_measures rows of the case's one claim, read as a convert run reads it."""
    claim_type = case["claim_type"]
    pharmacy = claim_type == "RX"
    rows = typed_rows(claim_type, case.get("claim"), case.get("lines"))
    layout = load_layout("mce-rx-v1" if pharmacy else "mce-v1")
    path = tmp_path / "in.txt"
    path.write_text(rx_text(rows) if pharmacy else mce_text(rows), encoding="utf-8")
    acc = DqAccumulator(load_measures(), _lists(case, tmp_path), pharmacy)
    with FlatFileReader(path, layout) as reader:
        for batch in reader.iter_batches():
            acc.add(type_frame(batch.frame, layout.catalog.fields), None)
    return acc.results(FILES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_measure_case(case: dict[str, Any], tmp_path: Path) -> None:
    """Each measure's numerator and denominator are what the case says."""
    found = measure_rows(case, tmp_path)
    here = {
        r["measure"]: r for r in found if r["claim_group"] == case["group"] and r["record_type"] == case["record_type"]
    }
    assert here, f"no measure reported for {case['group']}/{case['record_type']}: {found}"
    for measure, (num, den) in case["expect"].items():
        assert measure in here, f"{measure} not reported"
        row = here[measure]
        assert (row["numerator"], row["denominator"]) == (num, den), measure
        assert row["file"] == FILES[case["claim_type"]]
        if den:
            assert row["rate"] == pytest.approx(num / den)
            assert row["met"] is (num / den >= row["threshold"])
        else:
            assert row["rate"] is None and row["met"] is None
    for measure in case.get("absent", []):
        assert measure not in here, f"{measure} should not apply to {case['group']}/{case['record_type']}"


def test_only_the_claims_given_are_counted(tmp_path: Path) -> None:
    """A batch's claims not being sent (rejected, skipped) are left out."""
    rows = typed_rows("P") + typed_rows("P", {"mce_claim_id": "C101", "billing_npi": "1234567890"})
    path = tmp_path / "in.txt"
    path.write_text(mce_text(rows), encoding="utf-8")
    layout = load_layout("mce-v1")
    acc = DqAccumulator(load_measures(), Lists(CodeSets.load()), False)
    with FlatFileReader(path, layout) as reader:
        for batch in reader.iter_batches():
            typed = type_frame(batch.frame, layout.catalog.fields)
            first = typed["_claim_seq"].unique(maintain_order=True).to_list()[:1]
            acc.add(typed, first)
    npi = next(r for r in acc.results(FILES) if r["measure"] == "billing_npi")
    assert (npi["numerator"], npi["denominator"]) == (1, 1)


def test_state_is_bounded(tmp_path: Path) -> None:
    """The accumulator keeps sums per group key only: more batches add no state."""
    rows = typed_rows("P")
    path = tmp_path / "in.txt"
    path.write_text(mce_text(rows), encoding="utf-8")
    layout = load_layout("mce-v1")
    acc = DqAccumulator(load_measures(), Lists(CodeSets.load()), False)
    with FlatFileReader(path, layout) as reader:
        typed = type_frame(next(iter(reader.iter_batches())).frame, layout.catalog.fields)
    acc.add(typed, None)
    keys = set(acc.sums)
    for _ in range(50):
        acc.add(typed, None)
    assert set(acc.sums) == keys
    frequency = next(r for r in acc.results(FILES) if r["measure"] == "claim_frequency")
    assert frequency["denominator"] == 51
