"""End-to-end runs of convert_files: reconciliation, rejects, malformed inputs, atomic outputs."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from sendpro import api
from sendpro.convert import prepare, sinks
from sendpro.errors import InputFileError, OutputValidationError, ProfileError, ReconciliationError, UsageError
from sendpro.flatfile.layout import load_layout
from sendpro.flatfile.tally import tally_file
from sendpro.model.typing import clean_text
from sendpro.sample import COLUMNS, write_sample
from sendpro.x12.scan import X12Tally, iter_segments, tally_837
from tests.helpers import claim_rows, mce_text, test_config, write_mce

pytestmark = pytest.mark.integration


def _sample(path: Path, claims: int, seed: int = 7, defects: float = 0.0):
    with path.open("w", encoding="utf-8") as handle:
        return write_sample(handle, claims, seed=seed, defect_rate=defects)


def _clm_ids(path: Path) -> list[str]:
    return [el[1] for _, el in iter_segments(path) if el[0] == "CLM"]


def _reject_ids(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    col = lines[0].split("|").index("mce_claim_id")
    return {ln.split("|")[col] for ln in lines[1:] if len(ln.split("|")) > col}


def _files(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()} if out.exists() else set()


def test_seeded_defects_reconcile_to_the_cent(tmp_path: Path) -> None:
    src = tmp_path / "claims.txt"
    summary = _sample(src, 300, seed=11, defects=0.12)
    defective = {claim for claim, _ in summary.defects}
    assert len(defective) > 20

    report = api.convert_files([src], tmp_path / "out", test_config())

    assert report.exit_code == 1
    assert report.status == "complete"
    assert report.balanced
    overall = report.overall
    # Independent totals: what the sample generator wrote.
    assert overall.input.claims == summary.claims == 300
    assert overall.input.rows == summary.rows
    assert overall.input.charge == summary.charge_cents
    assert overall.input.paid == summary.paid_cents
    assert overall.accepted.claims + overall.rejected.claims == 300
    assert overall.accepted.charge + overall.rejected.charge == summary.charge_cents
    # Exactly the seeded claims are rejected, each once, the rest are in the 837 once.
    out = tmp_path / "out"
    written = _clm_ids(out / "837P.x12")
    assert len(written) == len(set(written))
    assert set(written).isdisjoint(defective)
    assert _reject_ids(out / "rejects_P.txt") == defective
    assert len(written) + len(defective) == 300
    # Every seeded defect is reported under its code, on its claim.
    found = {(r["claim_id"], r["code"]) for r in map(json.loads, (out / "errors.jsonl").read_text().splitlines())}
    for claim, code in summary.defects:
        assert (claim, code) in found, (claim, code)
    # report.json says the same and lists the files.
    doc = json.loads((out / "report.json").read_text())
    assert doc["reconciliation"]["all"]["balanced"] is True
    assert doc["reconciliation"]["P"]["input"]["total_charge"] == f"{summary.charge_cents / 100:.2f}"
    assert set(doc["files"]) == _files(out)


def test_rejects_file_is_a_valid_input_that_rejects_the_same_claims(tmp_path: Path) -> None:
    src = tmp_path / "claims.txt"
    _sample(src, 120, seed=3, defects=0.2)
    first = api.convert_files([src], tmp_path / "out1", test_config())
    rejects = tmp_path / "out1" / "rejects_P.txt"
    second = api.convert_files([rejects], tmp_path / "out2", test_config())
    assert second.overall.input == first.overall.rejected
    assert second.overall.accepted.claims == 0
    assert _reject_ids(tmp_path / "out2" / "rejects_P.txt") == _reject_ids(rejects)


def test_fixing_a_rejected_row_lets_it_through(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows({"contract_type": "07"}))
    report = api.convert_files([src], tmp_path / "out", test_config())
    assert report.overall.rejected.claims == 1
    fixed = (tmp_path / "out" / "rejects_P.txt").read_text().replace("|07|", "|01|")
    (tmp_path / "fixed.txt").write_text(fixed)
    again = api.convert_files([tmp_path / "fixed.txt"], tmp_path / "out2", test_config())
    assert again.exit_code == 0
    assert again.overall.accepted.claims == 1


def test_clean_input_exits_zero_and_passes_pyx12(tmp_path: Path) -> None:
    src = tmp_path / "claims.txt"
    _sample(src, 60, seed=5)
    report = api.convert_files([src], tmp_path / "out", test_config())
    assert report.exit_code == 0
    assert report.output_validation == "passed"
    assert _files(tmp_path / "out") == {"837P.x12", "errors.jsonl", "errors.csv", "report.json", "report.html"}
    tally = tally_837(tmp_path / "out" / "837P.x12")
    assert tally.claims == 60
    assert report.overall.accepted.line_paid == tally.line_paid


def test_split_claims_are_grouped_once_across_batches(tmp_path: Path) -> None:
    rows_a = claim_rows({"mce_claim_id": "A1"})
    rows_b = claim_rows({"mce_claim_id": "B1"})
    # A1's second line comes after B1; with 3-line chunks the parts fall in different batches.
    rows = [rows_a[0], *rows_b, rows_a[1]]
    src = write_mce(tmp_path / "in.txt", rows)
    report = api.convert_files([src], tmp_path / "out", test_config(chunk_lines=16))
    assert report.exit_code == 0
    assert sorted(_clm_ids(tmp_path / "out" / "837P.x12")) == ["A1", "B1"]
    assert report.inputs[0].split_claims == 1
    codes = [json.loads(x)["code"] for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert codes == ["FF014"]


def test_member_ids_masked_unless_values_are_included(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows({"member_id": "MEMBER98765", "member_dob": "19800231"}))
    api.convert_files([src], tmp_path / "masked", test_config())
    masked = (tmp_path / "masked" / "errors.jsonl").read_text() + (tmp_path / "masked" / "errors.csv").read_text()
    assert "MEMBER98765" not in masked and "19800231" not in masked
    assert "*******8765" in masked
    api.convert_files([src], tmp_path / "values", test_config(include_values=True))
    shown = (tmp_path / "values" / "errors.jsonl").read_text()
    assert "MEMBER98765" in shown and "19800231" in shown


def test_fixed_width_and_delimited_give_the_same_837(tmp_path: Path) -> None:
    case = Path(__file__).resolve().parent.parent / "fixtures" / "x12" / "fw-equivalence"
    a = api.convert_files([case / "input.txt"], tmp_path / "a", test_config())
    b = api.convert_files([case / "input.dat"], tmp_path / "b", test_config())
    assert a.layout == "mce-v1" and b.layout == "mce-fw-example"
    assert (tmp_path / "a" / "837P.x12").read_bytes() == (tmp_path / "b" / "837P.x12").read_bytes()


def test_fixed_width_rejects_keep_header_and_recomputed_trailer(tmp_path: Path) -> None:
    from tests.helpers import fw_text

    text = fw_text([claim_rows({"mce_claim_id": "OK1"}), claim_rows({"mce_claim_id": "BAD1", "contract_type": "07"})])
    src = tmp_path / "in.dat"
    src.write_text(text)
    report = api.convert_files([src], tmp_path / "out", test_config())
    rejects = tmp_path / "out" / "rejects_P.txt"
    lines = rejects.read_text().splitlines()
    assert lines[0].startswith("HD") and lines[1].startswith("CL") and lines[-1].startswith("TR")
    assert int(lines[-1][2:11]) == len(lines)
    totals = tally_file(rejects, load_layout("mce-fw-example"))
    assert totals["P"] == report.overall.rejected


# -- malformed inputs: each gives one clear error and leaves no output -------------------------------


def _fails(tmp_path: Path, src: Path, code: str, *fragments: str, **config: object) -> None:
    out = tmp_path / "out"
    with pytest.raises(InputFileError) as info:
        api.convert_files([src], out, test_config(**config))
    assert info.value.code == code
    message = str(info.value)
    assert str(src) in message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message
    assert _files(out) == set()


def test_empty_file(tmp_path: Path) -> None:
    src = tmp_path / "empty.txt"
    src.write_bytes(b"")
    _fails(tmp_path, src, "FF001", "empty", layout="mce-v1")


def test_a_header_only_extract_is_a_quiet_fortnight_not_an_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sendpro import cli

    src = tmp_path / "header.txt"
    src.write_text("|".join(COLUMNS) + "\n")
    report = api.convert_files([src], tmp_path / "out", test_config(ledger=tmp_path / "ledger.sqlite"))
    assert (report.status, report.exit_code, report.overall.input.claims) == ("complete", 0, 0)
    assert _files(tmp_path / "out") == {"errors.jsonl", "errors.csv", "report.json", "report.html"}
    shown = CliRunner().invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "cli"), "--no-ledger"])
    assert shown.exit_code == 0, shown.output
    assert "exit 0: nothing to send: the input holds no claims" in shown.output


def test_wrong_delimiter(tmp_path: Path) -> None:
    src = tmp_path / "comma.txt"
    src.write_text(mce_text(claim_rows()).replace("|", ","))
    _fails(tmp_path, src, "FF004", "','", layout="mce-v1")


def test_missing_column(tmp_path: Path) -> None:
    src = tmp_path / "missing.txt"
    src.write_text(mce_text(claim_rows(), columns=[c for c in COLUMNS if c != "member_dob"]))
    _fails(tmp_path, src, "FF003", "member_dob", "professional")


def test_non_utf8_bytes(tmp_path: Path) -> None:
    src = tmp_path / "latin.txt"
    src.write_bytes(mce_text(claim_rows({"member_last_name": "MUNOZ"})).replace("MUNOZ", "MU\xd1OZ").encode("cp1252"))
    _fails(tmp_path, src, "FF005", "line 2", "0xD1", "cp1252")
    report = api.convert_files([src], tmp_path / "ok", test_config(encoding="cp1252"))
    assert report.exit_code == 0  # transliterated with an FF020 warning
    assert "NM1*IL*1*MUNOZ*" in (tmp_path / "ok" / "837P.x12").read_text()


def test_truncated_row_rejects_only_its_claim(tmp_path: Path) -> None:
    text = mce_text([*claim_rows({"mce_claim_id": "T1"}), *claim_rows({"mce_claim_id": "T2"})])
    lines = text.splitlines()
    lines[-1] = lines[-1][:80]  # the extract was cut off mid-row
    src = tmp_path / "cut.txt"
    src.write_text("\n".join(lines))
    report = api.convert_files([src], tmp_path / "out", test_config())
    assert report.exit_code == 1
    assert _clm_ids(tmp_path / "out" / "837P.x12") == ["T1"]
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert [(e["code"], e["row"]) for e in errors] == [("FF010", 5)]
    assert report.balanced


def test_bom_and_crlf_give_the_same_output(tmp_path: Path) -> None:
    text = mce_text(claim_rows())
    plain = tmp_path / "plain.txt"
    plain.write_text(text)
    windows = tmp_path / "windows.txt"
    windows.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    api.convert_files([plain], tmp_path / "a", test_config())
    report = api.convert_files([windows], tmp_path / "b", test_config())
    assert report.exit_code == 0
    assert (tmp_path / "a" / "837P.x12").read_bytes() == (tmp_path / "b" / "837P.x12").read_bytes()


def test_100_kb_field_is_a_clear_claim_error(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "big.txt", claim_rows({"member_last_name": "X" * 100_000}))
    report = api.convert_files([src], tmp_path / "out", test_config())
    assert report.exit_code == 1
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert errors[0]["code"] == "MB002"
    assert "has 100000 characters; at most 60 fit" in errors[0]["message"]
    assert len((tmp_path / "out" / "errors.jsonl").read_text()) < 2000  # the value is not copied into reports


def test_binary_file_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "archive.zip"
    src.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises((InputFileError, UsageError)):
        api.convert_files([src], tmp_path / "out", test_config())
    assert _files(tmp_path / "out") == set()


def test_missing_input_and_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such input file"):
        api.convert_files([tmp_path / "nope.txt"], tmp_path / "out", test_config())
    src = write_mce(tmp_path / "in.txt", claim_rows())
    from sendpro.errors import LayoutError

    with pytest.raises(LayoutError, match="did you mean 'mce-v1'"):
        api.convert_files([src], tmp_path / "out", test_config(layout="mce-v2"))


def test_layout_detection(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    assert api.detect_layout(src).name == "mce-v1"
    other = tmp_path / "other.txt"
    other.write_text("a|b|c\n1|2|3\n")
    with pytest.raises(UsageError, match="matches no known layout"):
        api.detect_layout(other)
    # mce-v1 but for its claim id column: say which column is missing.
    header, *rows = src.read_text(encoding="utf-8").splitlines()
    keep = [i for i, name in enumerate(header.split("|")) if name != "mce_claim_id"]
    no_id = tmp_path / "no-id.txt"
    no_id.write_text("\n".join("|".join(line.split("|")[i] for i in keep) for line in [header, *rows]) + "\n")
    with pytest.raises(UsageError, match="looks like layout mce-v1 .* but has no mce_claim_id column"):
        api.detect_layout(no_id)


def test_inputs_with_different_layouts_are_refused(tmp_path: Path) -> None:
    case = Path(__file__).resolve().parent.parent / "fixtures" / "x12" / "fw-equivalence"
    with pytest.raises(UsageError, match="different layouts"):
        api.convert_files([case / "input.txt", case / "input.dat"], tmp_path / "out", test_config())


def test_several_inputs_make_one_submission(tmp_path: Path) -> None:
    a = write_mce(tmp_path / "a.txt", claim_rows({"mce_claim_id": "A1"}))
    b = write_mce(tmp_path / "b.txt", claim_rows({"mce_claim_id": "B1", "contract_type": "07"}))
    report = api.convert_files([a, b], tmp_path / "out", test_config())
    assert [i.file for i in report.inputs] == [str(a), str(b)]
    assert _clm_ids(tmp_path / "out" / "837P.x12") == ["A1"]
    assert _reject_ids(tmp_path / "out" / "rejects_P.txt") == {"B1"}
    assert report.balanced


def test_production_usage_refused_with_placeholders(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    with pytest.raises(ProfileError, match="placeholder"):
        api.convert_files([src], tmp_path / "out", test_config(usage="P"))
    assert _files(tmp_path / "out") == set()


# -- outputs are atomic and never mix runs ------------------------------------------------------------


def test_a_failing_run_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "claims.txt"
    _sample(src, 50)
    original = sinks.Router.route

    def explode(self, prepared, start, end):  # type: ignore[no-untyped-def]
        original(self, prepared, start, start + (end - start) // 2)  # half the claims are written ...
        raise RuntimeError("disk full")  # ... then the disk fills

    monkeypatch.setattr(sinks.Router, "route", explode)
    with pytest.raises(RuntimeError):
        api.convert_files([src], tmp_path / "out", test_config())
    assert _files(tmp_path / "out") == set()


def test_stale_outputs_of_a_previous_run_are_removed(tmp_path: Path) -> None:
    bad = write_mce(tmp_path / "bad.txt", claim_rows({"contract_type": "07"}))
    good = write_mce(tmp_path / "good.txt", claim_rows())
    out = tmp_path / "out"
    api.convert_files([bad], out, test_config())
    assert "rejects_P.txt" in _files(out)
    (out / "notes.txt").write_text("the analyst's own file")
    api.convert_files([good], out, test_config())
    assert _files(out) == {"837P.x12", "errors.jsonl", "errors.csv", "report.json", "report.html", "notes.txt"}


def _break_claims(monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """Make the 837 writer append a segment its map forbids to every claim whose CLM01 starts ``which``."""
    original = prepare.claim_blocks

    def broken(typed, claim_type, settings):  # type: ignore[no-untyped-def]
        found = original(typed, claim_type, settings)
        bad = [f"CLM*{which}" in text for text in found.claim]
        return dataclasses.replace(
            found,
            claim=[text + ("DMG*D8*20261399*F~\n" if b else "") for text, b in zip(found.claim, bad, strict=True)],
            claim_segments=[n + b for n, b in zip(found.claim_segments, bad, strict=True)],
        )

    monkeypatch.setattr(prepare, "claim_blocks", broken)


def _three_claims(tmp_path: Path) -> Path:
    rows = [r for cid in ("C1", "C2", "C3") for r in claim_rows({"mce_claim_id": cid})]
    return write_mce(tmp_path / "in.txt", rows)


def test_a_claim_whose_837_fails_validation_is_held_back_and_the_rest_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _three_claims(tmp_path)
    _break_claims(monkeypatch, "C2")
    out = tmp_path / "out"
    report = api.convert_files([src], out, test_config())
    assert (report.status, report.exit_code, report.output_validation) == ("complete", 1, "passed")
    assert report.message is not None and "1 claim(s) held back" in report.message
    clms = [p[1] for _, p in iter_segments(out / "837P.x12") if p[0] == "CLM"]
    assert clms == ["C1", "C3"]
    rejected = (out / "rejects_P.txt").read_text().splitlines()
    assert rejected[1:] and all("|C2|" in line for line in rejected[1:])
    issues = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
    assert [(i["code"], i["claim_id"], i["file"], i["row"]) for i in issues] == [("OB002", "C2", "in.txt", 4)]
    assert "PX" in issues[0]["message"] and "sendpro bug" in issues[0]["message"]
    assert report.balanced


def test_every_claim_failing_validation_leaves_no_837_and_every_claim_in_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _three_claims(tmp_path)
    _break_claims(monkeypatch, "C")
    report = api.convert_files([src], tmp_path / "out", test_config())
    files = _files(tmp_path / "out")
    assert "837P.x12" not in files and "rejects_P.txt" in files
    assert (report.exit_code, report.overall.rejected.claims, report.issues.by_code) == (1, 3, {"OB002": 3})


def test_held_back_claims_with_a_ledger_the_discarded_attempt_is_a_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    src = _three_claims(tmp_path)
    _break_claims(monkeypatch, "C3")
    ledger = tmp_path / "ledger.sqlite"
    report = api.convert_files([src], tmp_path / "out", test_config(ledger=ledger))
    assert report.exit_code == 1
    with sqlite3.connect(ledger) as db:
        runs = db.execute("SELECT status, message FROM runs ORDER BY id").fetchall()
    assert [r[0] for r in runs] == ["failed", "complete"]
    assert "converted again" in runs[0][1]
    # The published claims are the ledger's: a second run skips them and sends only the held one.
    monkeypatch.undo()
    again = api.convert_files([src], tmp_path / "out2", test_config(ledger=ledger))
    clms = [p[1] for _, p in iter_segments(next((tmp_path / "out2").glob("837P.*.x12"))) if p[0] == "CLM"]
    assert clms == ["C3"] and again.overall.skipped.claims == 2


def test_an_envelope_failure_still_publishes_no_837(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sendpro.report.issue import Category, Issue, Location, Severity

    src = _three_claims(tmp_path)

    def outside_every_claim(path, map_dir, label, validator):  # type: ignore[no-untyped-def]
        where = Location(file=label, record_no=2, x12_path="GS")
        return [Issue("PX101", Severity.ERROR, "pyx12: a GS element is wrong", where, "x12.seg", Category.X12)]

    monkeypatch.setattr(sinks, "validate_x12", outside_every_claim)
    with pytest.raises(OutputValidationError, match="not published"):
        api.convert_files([src], tmp_path / "out", test_config())
    files = _files(tmp_path / "out")
    assert "837P.x12" not in files and "report.json" in files
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc["status"] == "failed" and doc["exit_code"] == 2


def test_reconciliation_failure_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    real = sinks.tally_837

    def lying(path: Path):  # type: ignore[no-untyped-def]
        t = real(path)
        t.charge += 1
        return t

    monkeypatch.setattr(sinks, "tally_837", lying)
    with pytest.raises(ReconciliationError, match="do not reconcile"):
        api.convert_files([src], tmp_path / "out", test_config())
    assert _files(tmp_path / "out") == set()


def test_no_validate_output_skips_pyx12(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    report = api.convert_files([src], tmp_path / "out", test_config(validate_output=False))
    assert report.output_validation == "skipped"
    assert report.exit_code == 0


def test_issue_cap_keeps_counting(tmp_path: Path) -> None:
    src = tmp_path / "claims.txt"
    _sample(src, 100, seed=9, defects=0.5)
    report = api.convert_files([src], tmp_path / "out", test_config(max_issues=5))
    lines = (tmp_path / "out" / "errors.jsonl").read_text().splitlines()
    assert len(lines) == 5
    assert report.issues.total > 5 and report.issues.truncated


# -- institutional and dental -------------------------------------------------------------------------


def _per_type_totals(path: Path) -> dict[str, tuple[int, int, int]]:
    """Claims, total charge and total paid (cents) per claim type, read with plain string handling."""
    lines = path.read_text(encoding="utf-8").splitlines()
    cols = lines[0].split("|")
    ix = {c: cols.index(c) for c in ("claim_type", "mce_claim_id", "total_charge", "total_paid")}
    seen: dict[str, tuple[str, int, int]] = {}
    for line in lines[1:]:
        f = line.split("|")
        if len(f) != len(cols) or f[ix["mce_claim_id"]] in seen:
            continue
        cents = [round(float(f[ix[k]]) * 100) for k in ("total_charge", "total_paid")]
        seen[f[ix["mce_claim_id"]]] = (f[ix["claim_type"]], cents[0], cents[1])
    out: dict[str, tuple[int, int, int]] = {}
    for claim_type, charge, paid in seen.values():
        n, c, p = out.get(claim_type, (0, 0, 0))
        out[claim_type] = (n + 1, c + charge, p + paid)
    return out


@pytest.mark.parametrize("types", [("I",), ("D",), ("P", "I", "D")], ids=lambda t: "".join(t))
def test_seeded_defects_reconcile_per_type(tmp_path: Path, types: tuple[str, ...]) -> None:
    src = tmp_path / "claims.txt"
    with src.open("w", encoding="utf-8") as handle:
        summary = write_sample(handle, 240, types=types, seed=21, defect_rate=0.15)
    defective = {claim for claim, _ in summary.defects}
    report = api.convert_files([src], tmp_path / "out", test_config())
    out = tmp_path / "out"
    assert report.balanced and report.status == "complete"
    assert report.output_validation == "passed"
    # Per type, input totals equal what the file says (truncated rows aside, which only seeded claims have).
    expected = _per_type_totals(src)
    for claim_type in types:
        rec = report.reconciliation[claim_type]
        assert rec.accepted.claims + rec.rejected.claims == rec.input.claims
        assert rec.accepted.charge + rec.rejected.charge == rec.input.charge
        if not any(code == "FF010" for _, code in summary.defects):
            assert (rec.input.claims, rec.input.charge, rec.input.paid) == expected[claim_type]
        x12 = out / f"837{claim_type}.x12"
        ids = _clm_ids(x12)
        assert len(ids) == len(set(ids)) == rec.accepted.claims
        assert set(ids).isdisjoint(defective)
        versions = tally_837(x12).versions
        assert versions == {{"P": "005010X298A1", "I": "005010X299A1", "D": "005010X300A1"}[claim_type]}
    rejected = set().union(*(_reject_ids(p) for p in out.glob("rejects_*.txt")))
    assert rejected == defective
    found = {(r["claim_id"], r["code"]) for r in map(json.loads, (out / "errors.jsonl").read_text().splitlines())}
    for claim, code in summary.defects:
        assert (claim, code) in found, (claim, code)
    assert {o.claim_type for o in report.outputs if o.kind == "837"} == set(types)


# -- pharmacy ---------------------------------------------------------------------------------------------


def _rx_rows(path: Path) -> dict[str, dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    cols = lines[0].split("|")
    return {line.split("|")[0]: dict(zip(cols, line.split("|"), strict=True)) for line in lines[1:]}


def _same(expected: str, got: object) -> bool:
    if got is None:
        return expected == ""
    if hasattr(got, "strftime"):
        return got.strftime("%Y%m%d") == expected  # type: ignore[union-attr]
    if isinstance(got, int | Decimal):
        return Decimal(expected) == Decimal(got)
    return str(got) == expected


@pytest.mark.parametrize("profile", ["post-adjudication", "batch-d0"])
def test_pharmacy_seeded_defects_reconcile_and_read_back(tmp_path: Path, profile: str) -> None:
    from sendpro.ncpdp.layout import load_ncpdp_layout
    from sendpro.ncpdp.reader import read_details

    src = tmp_path / "rx.txt"
    with src.open("w", encoding="utf-8") as handle:
        summary = write_sample(handle, 200, types=("RX",), seed=31, defect_rate=0.15)
    defective = {claim for claim, _ in summary.defects}
    report = api.convert_files([src], tmp_path / "out", test_config(ncpdp_layout=profile))
    out = tmp_path / "out"
    assert report.status == "complete" and report.balanced
    assert report.output_validation == "passed"
    rec = report.reconciliation["RX"]
    # Seeded repeats of a claim id (RX020) are claims of their own: every row counts.
    assert summary.claims == summary.rows > 200
    assert (rec.input.claims, rec.input.charge, rec.input.paid) == (
        summary.claims,
        summary.charge_cents,
        summary.paid_cents,
    )
    assert rec.accepted.claims + rec.rejected.claims == summary.claims
    assert _reject_ids(out / "rejects_RX.txt") == defective
    found = {(r["claim_id"], r["code"]) for r in map(json.loads, (out / "errors.jsonl").read_text().splitlines())}
    for claim, code in summary.defects:
        assert (claim, code) in found, (claim, code)
    # Reading the NCPDP file back with its layout returns the input values.
    layout = load_ncpdp_layout(profile)
    inputs = _rx_rows(src)
    details = list(read_details(out / "RX.ncpdp", layout))
    assert len(details) == rec.accepted.claims
    gender = {"M": "1", "F": "2", "U": "0"}
    for values in details:
        row = inputs[str(values["mce_claim_id"])] if "mce_claim_id" in values else None
        if row is None:  # batch-d0 carries the claim id in the cross-reference, not the transaction
            continue
        for key, got in values.items():
            if key not in row:
                continue
            expected = gender[row[key]] if key == "member_gender" else row[key]
            if key in ("member_last_name", "member_first_name"):
                expected = clean_text(expected)[0]  # names are sent X12/NCPDP-safe
            assert _same(expected, got), (key, expected, got)
    if layout.batch:
        xref = (out / "RX.xref.csv").read_text().splitlines()
        assert len(xref) == rec.accepted.claims + 1
        by_ref = {line.split(",")[0]: line.split(",")[1] for line in xref[1:]}
        for values in details:
            row = inputs[by_ref[str(values["transaction_reference"])]]
            for key in ("ndc", "rx_number", "member_id", "total_amount_paid", "date_of_service", "quantity_dispensed"):
                assert _same(row[key], values[key]), (key, row[key], values[key])


def test_an_unbalanced_837_is_a_bug_and_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows({"mce_claim_id": "C1"}))
    real = sinks.tally_837

    def off_by_a_cent(path: Path) -> X12Tally:
        found = real(path)
        found.unbalanced = [("C1", "AMT*D 174.99 is not the sum of SVD02 175.00")]
        return found

    monkeypatch.setattr(sinks, "tally_837", off_by_a_cent)
    # The unbalanced claim is held back (rejected under OB001); it was the only claim, so no 837.
    held = api.convert_files([src], tmp_path / "out", test_config())
    assert (held.exit_code, held.overall.rejected.claims) == (1, 1)
    assert not list((tmp_path / "out").glob("*.x12"))
    issue = json.loads((tmp_path / "out" / "errors.jsonl").read_text().splitlines()[0])
    assert (issue["code"], issue["severity"], issue["claim_id"]) == ("OB001", "error", "C1")
    # With the balancing rules turned off the user chose to send it: a warning, and the file goes out.
    report = api.convert_files([src], tmp_path / "out2", test_config(ignore=("CL016",)))
    assert report.exit_code == 0 and list((tmp_path / "out2").glob("*.x12"))
    assert report.issues.by_code == {"OB001": 1}


def _rx_sample(tmp_path: Path, claims: int) -> tuple[Path, str, list[str], list[str]]:
    """Write a clean pharmacy sample; return its path, header row, data rows and column names."""
    src = tmp_path / "rx.txt"
    with src.open("w", encoding="utf-8") as handle:
        write_sample(handle, claims, types=("RX",), seed=2)
    header, *rows = src.read_text(encoding="utf-8").splitlines()
    return src, header, rows, header.split("|")


def test_pharmacy_rows_repeating_a_claim_id_count_in_the_control_totals(tmp_path: Path) -> None:
    """Each pharmacy row is a claim: a repeated claim id (RX020) is rejected with all its rows and money."""
    src, header, rows, cols = _rx_sample(tmp_path, 6)
    repeat = rows[1].split("|")
    repeat[cols.index("total_amount_paid")] = "100.00"
    repeat[cols.index("gross_amount_due")] = "100.00"
    src.write_text("\n".join([header, *rows, "|".join(repeat)]) + "\n", encoding="utf-8")
    file_paid = sum(
        round(float(r.split("|")[cols.index("total_amount_paid")]) * 100) for r in [*rows, "|".join(repeat)]
    )
    report = api.convert_files([src], tmp_path / "out", test_config())
    rec = report.reconciliation["RX"]
    assert report.balanced
    assert (rec.input.rows, rec.input.claims, rec.input.paid) == (7, 7, file_paid)
    first_paid = round(float(rows[1].split("|")[cols.index("total_amount_paid")]) * 100)
    assert (rec.rejected.rows, rec.rejected.claims, rec.rejected.paid) == (2, 2, first_paid + 10000)
    assert rec.accepted.claims == 5


@pytest.mark.parametrize("profile", ["post-adjudication", "batch-d0"])
def test_a_value_too_large_for_its_ncpdp_field_rejects_only_its_claim(tmp_path: Path, profile: str) -> None:
    """RX021: the claim goes to the rejects file; the run carries on (it used to stop with an internal error)."""
    src, header, rows, cols = _rx_sample(tmp_path, 5)
    big = rows[0].split("|")
    big[cols.index("ingredient_cost_paid")] = "123456789.00"
    src.write_text("\n".join([header, "|".join(big), *rows[1:]]) + "\n", encoding="utf-8")
    report = api.convert_files([src], tmp_path / "out", test_config(ncpdp_layout=profile))
    assert report.exit_code == 1 and report.balanced and report.output_validation == "passed"
    rec = report.reconciliation["RX"]
    assert (rec.accepted.claims, rec.rejected.claims) == (4, 1)
    issues = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    fit = [i for i in issues if i["code"] == "RX021"]
    assert [(i["row"], i["field"]) for i in fit] == [(2, "ingredient_cost_paid")]
    assert "123456789" not in fit[0]["message"]
    assert [c["name"] for c in report.codesets] == ["ndc"]  # no medical code sets in a pharmacy run


def test_a_reversal_of_an_original_rejected_in_the_same_run_is_held_back(tmp_path: Path) -> None:
    """CL054: the reversal goes to the rejects file with its original, not to MassHealth."""
    src, header, rows, cols = _rx_sample(tmp_path, 4)
    original = rows[0].split("|")
    original[cols.index("ndc")] = "0002-1433"  # RX002: the original is rejected
    reversal = list(original)
    reversal[cols.index("ndc")] = rows[0].split("|")[cols.index("ndc")]
    reversal[cols.index("mce_claim_id")] = original[cols.index("mce_claim_id")] + "B"
    reversal[cols.index("claim_frequency")] = "8"
    reversal[cols.index("original_claim_id")] = original[cols.index("mce_claim_id")]
    adjudicated = original[cols.index("adjudication_date")]
    reversal[cols.index("adjudication_date")] = str(int(adjudicated) + 1)
    src.write_text("\n".join([header, "|".join(original), *rows[1:], "|".join(reversal)]) + "\n", encoding="utf-8")
    report = api.convert_files([src], tmp_path / "out", test_config(ledger=tmp_path / "ledger.sqlite"))
    assert report.balanced and report.reconciliation["RX"].rejected.claims == 2
    codes = {
        (i["claim_id"], i["code"])
        for i in map(json.loads, (tmp_path / "out" / "errors.jsonl").read_text().splitlines())
    }
    assert (reversal[cols.index("mce_claim_id")], "CL054") in codes
    assert (reversal[cols.index("mce_claim_id")], "CL052") not in codes
    assert _reject_ids(tmp_path / "out" / "rejects_RX.txt") == {
        original[cols.index("mce_claim_id")],
        reversal[cols.index("mce_claim_id")],
    }


@pytest.mark.parametrize("case", ["claim cut in two", "file given twice"])
def test_a_claim_id_in_two_inputs_stops_the_run_before_anything_is_written(tmp_path: Path, case: str) -> None:
    """FF009: grouping is per file, so a claim in two inputs would be two claims (or sent twice)."""
    src = tmp_path / "claims.txt"
    with src.open("w", encoding="utf-8") as handle:
        write_sample(handle, 12, types=("P", "I", "D"), seed=7)
    header, *rows = src.read_text(encoding="utf-8").splitlines()
    if case == "claim cut in two":
        first, second = tmp_path / "a.txt", tmp_path / "b.txt"
        first.write_text("\n".join([header, rows[0]]) + "\n", encoding="utf-8")
        second.write_text("\n".join([header, *rows[1:]]) + "\n", encoding="utf-8")
        inputs = [first, second]
    else:
        inputs = [src, src]
    with pytest.raises(InputFileError) as failure:
        api.convert_files(inputs, tmp_path / "out", test_config())
    assert failure.value.code == "FF009"
    assert "also in" in str(failure.value) and "SP007000000001" in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_the_run_says_its_stages_in_order(tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    said: list[str] = []
    progress: list[tuple[int, int]] = []
    config = test_config(stage=said.append, progress=lambda done, total: progress.append((done, total)))
    api.convert_files([src], tmp_path / "out", config)
    assert said == ["validating 837P.x12", "reconciling the files with the input", "writing the reports and publishing"]
    assert progress and progress[-1][0] == progress[-1][1]


def test_an_input_written_to_during_the_run_is_named_not_called_a_bug(tmp_path: Path) -> None:
    src = _three_claims(tmp_path)
    extra = "".join(mce_text(claim_rows({"mce_claim_id": "C9"})).splitlines(keepends=True)[1:])

    def warehouse_still_writing(done: int, total: int) -> None:
        with src.open("a", encoding="utf-8") as handle:
            handle.write(extra)

    with pytest.raises(InputFileError, match="in.txt: the input changed during the run") as caught:
        api.convert_files([src], tmp_path / "out", test_config(progress=warehouse_still_writing))
    assert caught.value.code == "FF018" and "bug" not in str(caught.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.x12"))


def test_control_totals_count_every_amount_as_read(tmp_path: Path) -> None:
    """An amount the rules reject (too large, a currency sign) is still money read and money rejected."""
    rows = [
        *claim_rows({"mce_claim_id": "C1"}),
        *claim_rows({"mce_claim_id": "C2", "total_charge": "123456789012.00"}),
        *claim_rows({"mce_claim_id": "C3"}, [{"line_paid": "$1,000.00"}]),
        *claim_rows({"mce_claim_id": "C4", "total_paid": "12.3.4"}),
    ]
    src = write_mce(tmp_path / "in.txt", rows)
    report = api.convert_files([src], tmp_path / "out", test_config())
    rec = report.reconciliation["P"]
    assert rec.balanced and (rec.rejected.claims, rec.accepted.claims) == (3, 1)
    good = tally_file(write_mce(tmp_path / "c1.txt", claim_rows({"mce_claim_id": "C1"})), load_layout("mce-v1"))["P"]
    assert rec.input.charge == 3 * good.charge + 12_345_678_901_200
    assert rec.rejected.charge == 2 * good.charge + 12_345_678_901_200
    first_line_paid = int(Decimal(claim_rows()[0]["line_paid"]) * 100)
    assert rec.input.line_paid == 4 * good.line_paid - first_line_paid + 100_000
    assert (rec.input.unreadable, rec.rejected.unreadable, rec.accepted.unreadable) == (1, 1, 0)
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc["reconciliation"]["P"]["input"]["unreadable_amounts"] == 1
