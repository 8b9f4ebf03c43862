"""End to end: a sample seeded with defects of every rule class reports each defect under its code.

A sample of P, I and D claims (and one of pharmacy claims, whose model has its
own rules) is written with the all-classes pool and its reference files, then
converted with those code lists and reference files. Every seeded defect must be
reported on its claim under its code (warning-level classes as warnings); a
clean claim must get nothing; a seeded claim nothing else, but for the
combinations listed in TOLERATED, each with its reason.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sendpro import api, cli
from sendpro.codesets.catalog import CodeSets
from sendpro.projectconfig import CodeListSource, load_config
from sendpro.report.report import RunReport
from sendpro.sample import _ODD_NAMES, SampleReferences, write_references, write_sample
from tests.helpers import claim_rows, run_engine, test_config, write_mce

pytestmark = pytest.mark.integration

#: The classes the all-classes pool adds, per model (the rule codes of the issue).
NEW_MEDICAL = {
    *(f"CS00{n}" for n in range(1, 10)),
    "CS010",
    *("MH040", "MH060", "MH070", "MH100", "MH101", "MH102", "MH103", "MH110", "MH140", "MH150", "MH160", "MH170"),
    *("CL047", "CL048", "CL049", "CL060"),
}
NEW_PHARMACY = {"CS005", "MH060", "MH070", "MH100", "MH101", "MH102", "MH160"}
#: The basic pools' classes, which an all-classes sample seeds too.
BASIC_MEDICAL = {
    *("PV010", "CL015", "SV003", "MB001", "SV010", "CL012", "CL011", "CL002", "FF010"),
    *("CL040", "SV002", "SV020", "SV021", "SV022"),
}
BASIC_PHARMACY = {"RX001", "RX002", "RX010", "RX011", "RX012", "RX013", "RX014", "RX020"}
#: Classes whose rule is a warning: the claim is still sent.
WARNINGS = {"MH100", "MH140", "MH150", "MH160", "MH170", "CL048"}

#: Codes a claim seeded with the key's class may show besides its own, and why. All come from
#: the basic pools, which must stay as they are (the golden fixtures are generated from them).
TOLERATED: dict[str, dict[str, str]] = {
    "CL002": {
        "CS001": "with an ICD-10-CM list, CS001 also reports the dotted code CL002 reports "
        "(see test_cs001_leaves_a_malformed_diagnosis_to_cl002)",
    },
    "CL012": {
        "CL040": "the basic CL012 defect sets claim_frequency 7 on an institutional claim without "
        "changing the type of bill's third digit",
    },
    "SV003": {
        "CL047": "an outpatient line whose date is not a real date (20260230) has no usable service date either",
    },
    "SV010": {
        "CL017": "the basic SV010 defect drops a line's adjustments, which a denied claim's line needs",
    },
    "FF010": {
        "CL017": "a truncated row loses its line adjustments (a denied claim's line needs one)",
        "CL047": "a truncated row loses its line dates (an outpatient line needs one)",
    },
}
#: FF020 (a warning): about 1% of members get a name from _ODD_NAMES on purpose (non-ASCII
#: letters, an X12 separator), which is cleaned and sent; it is expected on those claims only.
ODD_NAME_CODE = "FF020"


@dataclass
class Converted:
    """A converted sample: what was seeded, what was reported, and the run's report."""

    defects: dict[str, str]  # claim id -> seeded code
    claims: set[str]
    odd_names: set[str]  # claims whose member name is one of _ODD_NAMES
    found: dict[str, dict[str, set[str]]]  # claim id -> code -> severities
    report: RunReport
    report_json: dict[str, Any]
    sample: str
    #: Pharmacy rows repeating a claim id: claims of their own in the control totals (RX020 rejects them).
    repeats: int = 0


def _convert(tmp: Path, types: tuple[str, ...], claims: int, seed: int, rate: float) -> Converted:
    src = tmp / "sample.txt"
    refs = SampleReferences()
    with src.open("w", encoding="utf-8", newline="\n") as handle:
        summary = write_sample(
            handle, claims, types=types, seed=seed, defect_rate=rate, all_classes=True, references=refs
        )
    files = write_references(tmp / "refs", refs)
    project = load_config(files.config)
    config = test_config(
        codesets=project.codesets,
        providers=project.references["providers"],
        members=project.references["members"],
    )
    report = api.convert_files([src], tmp / "out", config)
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in (tmp / "out" / "errors.jsonl").read_text(encoding="utf-8").splitlines():
        issue = json.loads(line)
        found[issue["claim_id"]][issue["code"]].add(issue["severity"])
    text = src.read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    columns = header.split("|")
    ids, odd = set(), set()
    for row in rows:
        values = dict(zip(columns, row.split("|"), strict=False))
        ids.add(values["mce_claim_id"])
        if values.get("member_last_name") in _ODD_NAMES:
            odd.add(values["mce_claim_id"])
    return Converted(
        dict(summary.defects),
        ids,
        odd,
        found,
        report,
        json.loads((tmp / "out" / "report.json").read_text(encoding="utf-8")),
        text,
        len(rows) - len(ids) if "RX" in types else 0,
    )


@pytest.fixture(scope="module")
def medical(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    return _convert(tmp_path_factory.mktemp("medical"), ("P", "I", "D"), 300, 3, 0.4)


@pytest.fixture(scope="module")
def pharmacy(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    return _convert(tmp_path_factory.mktemp("pharmacy"), ("RX",), 150, 4, 0.3)


@pytest.fixture(params=["medical", "pharmacy"])
def run(request: pytest.FixtureRequest) -> Converted:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_every_class_is_seeded(medical: Converted, pharmacy: Converted) -> None:
    assert set(medical.defects.values()) == NEW_MEDICAL | BASIC_MEDICAL
    assert set(pharmacy.defects.values()) == NEW_PHARMACY | BASIC_PHARMACY
    # CS003 has two defects: a code of no HCPCS/CPT shape, and a CPT code the CPT list leaves out.
    assert "|9921A|" in medical.sample and "|99499|" in medical.sample


def test_every_seeded_defect_is_reported_under_its_code(run: Converted) -> None:
    missing = [(claim, code) for claim, code in sorted(run.defects.items()) if code not in run.found.get(claim, {})]
    assert not missing
    for claim, code in run.defects.items():
        expected = "warning" if code in WARNINGS else "error"
        assert run.found[claim][code] == {expected}, (claim, code)


def test_nothing_else_is_reported(run: Converted) -> None:
    unexpected = []
    for claim in sorted(run.claims):
        seeded = run.defects.get(claim)
        allowed = {seeded, *TOLERATED.get(seeded or "", {})}
        if claim in run.odd_names:
            allowed.add(ODD_NAME_CODE)
        unexpected += [(claim, seeded, code) for code in run.found.get(claim, {}) if code not in allowed]
    assert not unexpected
    assert set(run.found) <= run.claims  # no file-level issue


def test_warnings_are_sent_errors_rejected(run: Converted) -> None:
    rejected = {claim for claim, code in run.defects.items() if code not in WARNINGS}
    assert run.report.status == "complete" and run.report.balanced
    assert run.report.overall.rejected.claims == len(rejected) + run.repeats
    assert run.report.overall.accepted.claims == len(run.claims) - len(rejected)
    assert run.report.output_validation == "passed"


def test_no_rule_is_skipped_with_the_references(run: Converted) -> None:
    assert run.report_json["skipped_rules"] == []
    modes = {c["name"]: c["mode"] for c in run.report_json["codesets"]}
    assert all(mode == "membership" for mode in modes.values()), modes


def test_cli_sample_with_all_classes_and_references(tmp_path: Path) -> None:
    runner = CliRunner()
    out, refs = tmp_path / "sample.txt", tmp_path / "refs"
    args = ["sample", "--claims", "120", "--types", "P,I,D", "--seed", "5", "--defects", "0.3"]
    result = runner.invoke(cli.cli, [*args, "--all-classes", "--references", str(refs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"convert with --config {refs / 'sendpro.toml'}" in result.output
    # The command writes what the API writes.
    api_refs = SampleReferences()
    with (tmp_path / "api.txt").open("w", encoding="utf-8", newline="\n") as handle:
        summary = write_sample(
            handle, 120, types=("P", "I", "D"), seed=5, defect_rate=0.3, all_classes=True, references=api_refs
        )
    assert f"{len(summary.defects)} seeded defect(s)" in result.output
    assert out.read_bytes() == (tmp_path / "api.txt").read_bytes()
    written = write_references(tmp_path / "api-refs", api_refs)
    names = sorted(p.name for p in refs.iterdir())
    assert names == sorted(p.name for p in written.directory.iterdir())
    for name in names:
        if name != "sendpro.toml":  # its comment names its own directory
            assert (refs / name).read_bytes() == (written.directory / name).read_bytes(), name
    # Without --all-classes the sample is the basic one.
    basic = runner.invoke(cli.cli, [*args, "--out", str(tmp_path / "basic.txt")])
    assert basic.exit_code == 0 and (tmp_path / "basic.txt").read_bytes() != out.read_bytes()
    # convert picks up the code lists and reference files from the written sendpro.toml.
    converted = runner.invoke(
        cli.cli, ["convert", str(out), "--out", str(tmp_path / "out"), "--config", str(refs / "sendpro.toml")]
    )
    assert converted.exit_code == 1, converted.output  # the seeded errors are rejected
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["skipped_rules"] == []
    assert {c["mode"] for c in report["codesets"]} == {"membership"}


def test_cs001_leaves_a_malformed_diagnosis_to_cl002(tmp_path: Path) -> None:
    codes = tmp_path / "icd10cm.txt"
    codes.write_text("J069\nE119\n", encoding="utf-8")
    src = write_mce(tmp_path / "in.txt", claim_rows({"dx_1": "J06.9"}))
    claims, _ = run_engine(src, extra={"codesets": CodeSets.load({"icd10cm": (CodeListSource(codes),)})})
    found = {i.code for c in claims for i in c.issues}
    assert "CL002" in found
    assert "CS001" not in found
