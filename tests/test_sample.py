from __future__ import annotations

import copy
import hashlib
import io
import re
from collections import Counter
from pathlib import Path

from sendpro import api
from sendpro.codesets.catalog import CodeSets
from sendpro.flatfile.layout import load_layout
from sendpro.projectconfig import load_config
from sendpro.references import Members, Providers
from sendpro.sample import (
    CLASS_DEFECTS,
    CODE_LISTS,
    RX_CLASS_DEFECTS,
    UNLISTED,
    SampleReferences,
    iter_sample_claims,
    npi_with_check_digit,
    write_references,
    write_sample,
)
from sendpro.validate.rules.provider import npi_check_digit_ok
from tests.helpers import test_config


def test_sample_is_deterministic_and_balanced() -> None:
    a, b = io.StringIO(), io.StringIO()
    sa = write_sample(a, 40, seed=3)
    write_sample(b, 40, seed=3)
    assert a.getvalue() == b.getvalue()
    assert sa.claims == 40 and sa.rows == len(a.getvalue().splitlines()) - 1
    for rows, code in iter_sample_claims(40, seed=3):
        assert code is None
        charge = sum(round(float(r["line_charge"]) * 100) for r in rows)
        assert charge == round(float(rows[0]["total_charge"]) * 100)


def test_defects_are_seeded_at_the_requested_rate() -> None:
    summary = write_sample(io.StringIO(), 400, seed=5, defect_rate=0.25)
    assert 60 <= len(summary.defects) <= 140
    assert len(Counter(code for _, code in summary.defects)) >= 6


def test_sample_npis_are_valid() -> None:
    for nine in ("123456789", "100000000", "999999999"):
        assert npi_check_digit_ok(npi_with_check_digit(nine))


# -- all-classes defects and reference files ------------------------------------------------------------
def test_basic_samples_are_byte_for_byte_unchanged() -> None:
    """The all-classes pool is opt-in: samples without it are what they were before it existed.

    The digests were computed with sendpro/sample.py as it was before the all-classes
    defects (fixtures/x12/make_inputs.py and the demo extract are generated from it);
    a deliberate change to the generator or the basic pools updates them. Changed on
    purpose since: pharmacy samples reverse each original at most once, and never a
    seeded one; the low back pain diagnosis is M54.50 (M54.5 was split in FY2022 and is
    not a code ICD-10-CM claims may carry).
    """
    expected = {
        ("P", "I", "D"): "a2be07c1e68d64a52cdec70ebe42e65e7212b2dfc4054178634a0f71cb5069e3",
        ("RX",): "324f2e9a9a951e99caede9c2c4151a224e3b9b11d53d14a1f6f83c22f617148c",
    }
    for types, digest in expected.items():
        buf = io.StringIO()
        write_sample(buf, 300, types=types, seed=9, defect_rate=0.3)
        assert hashlib.sha256(buf.getvalue().encode()).hexdigest() == digest, types


def test_class_defects_change_only_claims_they_fit() -> None:
    """A defect that does not apply returns None and leaves the claim as it was; one that applies changes it."""
    medical = [rows for rows, _ in iter_sample_claims(120, types=("P", "I", "D"), seed=8)]
    pharmacy = [rows for rows, _ in iter_sample_claims(60, types=("RX",), seed=8)]
    applied: Counter[str] = Counter()
    for pool, claims in ((CLASS_DEFECTS, medical + pharmacy), (RX_CLASS_DEFECTS, pharmacy + medical)):
        for defect in pool:
            for rows in claims:
                before = copy.deepcopy(rows)
                mutated = copy.deepcopy(rows)
                code = defect(mutated)
                if code is None:
                    assert mutated == before, defect.__name__
                else:
                    assert mutated != before and re.fullmatch(r"(CS|MH|CL)[0-9]{3}", code), defect.__name__
                    applied[defect.__name__] += 1
    assert set(applied) == {d.__name__ for d in (*CLASS_DEFECTS, *RX_CLASS_DEFECTS)}


def test_all_classes_samples_are_deterministic() -> None:
    outputs = []
    for _ in range(2):
        buf, refs = io.StringIO(), SampleReferences()
        summary = write_sample(
            buf, 150, types=("P", "I", "D"), seed=4, defect_rate=0.4, all_classes=True, references=refs
        )
        outputs.append((buf.getvalue(), summary.defects, refs))
    assert outputs[0] == outputs[1]
    assert 40 <= len(outputs[0][1]) <= 80


def test_references_describe_every_clean_claim(tmp_path: Path) -> None:
    refs = SampleReferences()
    write_sample(io.StringIO(), 90, types=("P", "I", "D"), seed=6, all_classes=True, references=refs)
    files = write_references(tmp_path, refs)
    project = load_config(files.config)
    assert set(project.codesets) == set(CODE_LISTS) and set(project.references) == {"providers", "members"}
    assert project.references["providers"] == files.providers.resolve()
    CodeSets.load(project.codesets)  # every list reads, none is empty
    for name, path in files.codesets.items():
        codes = path.read_text(encoding="utf-8").split()
        assert codes == sorted(set(codes)) and UNLISTED.get(name) not in codes, name
    providers = Providers.read(files.providers).providers
    members = Members.read(files.members).spans
    people = {r["npi"]: r for r in providers.iter_rows(named=True)}
    links = {(r["npi"], r["group_npi"]) for r in Providers.read(files.providers).affiliations.iter_rows(named=True)}
    for rows, _ in iter_sample_claims(90, types=("P", "I", "D"), seed=6, all_classes=True):
        first = rows[0]
        assert first["member_id"] in set(members["member_id"])
        billing = people[first["billing_npi"]]
        assert (billing["entity_type"], billing["category"]) == ("2", "group_practice")
        for role in ("rendering", "referring", "attending"):
            if first.get(f"{role}_npi"):
                assert people[first[f"{role}_npi"]]["provider_type"] == "01"
        if first.get("rendering_npi"):
            assert (first["rendering_npi"], first["billing_npi"]) in links
    assert members["eligible_to"].null_count() == members.height  # nobody's eligibility ends


def test_seeded_references_disagree_with_that_claim_only(tmp_path: Path) -> None:
    refs = SampleReferences()
    summary = write_sample(
        io.StringIO(), 300, types=("P", "I", "D"), seed=3, defect_rate=0.4, all_classes=True, references=refs
    )
    seeded = {code: claim for claim, code in summary.defects}
    claims = {
        rows[0]["mce_claim_id"]: rows[0]
        for rows, _ in iter_sample_claims(300, types=("P", "I", "D"), seed=3, defect_rate=0.4, all_classes=True)
    }
    write_references(tmp_path, refs)
    spans = {r["member_id"]: r for r in Members.read(tmp_path / "members.csv").spans.iter_rows(named=True)}
    people = {r["npi"]: r for r in Providers.read(tmp_path / "providers.csv").providers.iter_rows(named=True)}
    assert claims[seeded["MH101"]]["member_id"] not in spans
    assert spans[claims[seeded["MH102"]]["member_id"]]["eligible_to"] < claims[seeded["MH102"]]["line_from_date"]
    assert people[claims[seeded["MH040"]]["billing_npi"]]["entity_type"] == "1"
    assert people[claims[seeded["MH170"]]["billing_npi"]]["category"] == "urgent_care"
    assert people[claims[seeded["MH160"]]["referring_npi"]]["provider_type"] == "20"


def test_fixed_width_samples_fill_references_too(tmp_path: Path) -> None:
    refs = SampleReferences()
    summary = write_sample(io.StringIO(), 10, layout=load_layout("mce-fw-example"), references=refs)
    assert summary.claims == 10 and len(refs.members) == 10 and refs.organizations


def test_a_sample_without_defects_converts_without_rejects(tmp_path: Path) -> None:
    """Only seeded claims are rejected: seed 1 once adjudicated an inpatient stay before it ended (MH070)."""
    src = tmp_path / "clean.txt"
    with src.open("w", encoding="utf-8") as handle:
        write_sample(handle, 90, types=("P", "I", "D"), seed=1)
    out = tmp_path / "out"
    report = api.convert_files([src], out, test_config(validate_output=False))
    errors = (out / "errors.jsonl").read_text(encoding="utf-8")
    assert report.exit_code == 0, errors
    assert report.overall.rejected.claims == 0 and report.overall.accepted.claims == 90


def test_a_pharmacy_sample_without_defects_converts_cleanly_with_a_ledger(tmp_path: Path) -> None:
    """Each fill is reversed at most once: a second reversal would be a void of a voided claim (CL053)."""
    src = tmp_path / "rx.txt"
    with src.open("w", encoding="utf-8") as handle:
        write_sample(handle, 2000, types=("RX",), seed=5)
    out = tmp_path / "out"
    report = api.convert_files([src], out, test_config(ledger=tmp_path / "ledger.sqlite"))
    assert report.exit_code == 0, (out / "errors.jsonl").read_text(encoding="utf-8")[:2000]
    assert report.overall.accepted.claims == 2000


def test_a_fixed_width_sample_counts_rows_as_convert_does_and_avoids_edit_1200(tmp_path: Path) -> None:
    """Its rows are the CL and LN records; it bills no ordered service, as its layout cannot name who ordered it."""
    src = tmp_path / "fw.dat"
    with src.open("w", encoding="utf-8") as handle:
        summary = write_sample(handle, 300, layout=load_layout("mce-fw-example"), seed=3)
    report = api.convert_files([src], tmp_path / "out", test_config(validate_output=False))
    assert (report.inputs[0].rows, report.inputs[0].claims) == (summary.rows, summary.claims)
    assert "MH150" not in report.issues.by_code and report.exit_code == 0
