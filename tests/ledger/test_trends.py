"""Trends across runs (issue 13, item 4): the ledger's per-run rule and provider counts, `sendpro trends`,
and report.json's `since_last_run`.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro.cli import cli, render_summary
from sendpro.errors import LedgerError
from sendpro.ledger.db import MIGRATIONS, TOP_PROVIDERS, Ledger, ProviderRecord, RuleRecord, RunTrends
from sendpro.report.report import RunReport
from tests.helpers import claim_rows, write_mce
from tests.ledger.acks_builder import ClaimStatus, build_277
from tests.ledger.conftest import SENDER, Convert

A = "1234567893"  # the base claim's billing NPI
B = "1245319599"  # another valid NPI, billing some claims below

#: Run 1: three clean claims and one with a bad member gender (MB002), all billed by A.
RUN1 = (
    {"mce_claim_id": "C1"},
    {"mce_claim_id": "C2"},
    {"mce_claim_id": "C3"},
    {"mce_claim_id": "C4", "member_gender": "X"},
)
#: Run 2: C1 unchanged (skipped, CL050), C2 replaced, C3 voided, C4 fixed (held before: new), C5 new,
#: and two claims of provider B with a bad diagnosis code (CL002, a rule that never fired before).
RUN2 = (
    {"mce_claim_id": "C1"},
    {"mce_claim_id": "C2R", "claim_frequency": "7", "original_claim_id": "C2"},
    {"mce_claim_id": "C3V", "claim_frequency": "8", "original_claim_id": "C3"},
    {"mce_claim_id": "C4"},
    {"mce_claim_id": "C5", "billing_npi": B},
    {"mce_claim_id": "C6", "billing_npi": B, "dx_1": "ZZZZ"},
    {"mce_claim_id": "C7", "billing_npi": B, "dx_1": "ZZZZ"},
)


def _report_json(out: Path) -> dict[str, object]:
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _rule(
    code: str, claims: int, rate: float, previous_claims: int, previous_rate: float, change: float
) -> dict[str, object]:
    """Return a rule entry of since_last_run, as the contract spells it."""
    return {
        "code": code,
        "claims": claims,
        "rate": rate,
        "previous_claims": previous_claims,
        "previous_rate": previous_rate,
        "change": change,
    }


@pytest.fixture
def three_runs(convert: Convert, tmp_path: Path) -> list[RunReport]:
    """Run 1, run 2, then run 2's extract again (an unchanged re-run), through one ledger."""
    return [convert(*RUN1), convert(*RUN2), convert(*RUN2)]


def test_the_first_run_has_nothing_to_compare_with(three_runs: list[RunReport], tmp_path: Path) -> None:
    assert three_runs[0].since_last_run is None
    assert _report_json(tmp_path / "out1")["since_last_run"] is None


def test_since_last_run_compares_with_the_previous_run(three_runs: list[RunReport], tmp_path: Path) -> None:
    second = three_runs[1]
    assert (second.overall.input.claims, second.overall.rejected.claims, second.overall.skipped.claims) == (7, 2, 1)
    assert second.since_last_run == {
        "previous_run": 1,
        "previous_started": "2026-11-23T10:30:00-05:00",
        "claims": {"this": 7, "previous": 4},
        "rejected_share": {"this": 0.285714, "previous": 0.25},
        "rules": [  # biggest |change| first
            _rule("CL002", 2, 0.285714, 0, 0.0, 0.285714),
            _rule("MB002", 0, 0.0, 1, 0.25, -0.25),
            _rule("CL050", 1, 0.142857, 0, 0.0, 0.142857),
        ],
        "new_rules": ["CL002", "CL050"],
        # C4 and C5 new; C2R replaces C2; C3V voids C3; C1 skipped; C6, C7 rejected (in none).
        "claims_vs_submitted": {"new": 2, "replaced": 1, "voided": 1, "unchanged": 1},
    }
    assert _report_json(tmp_path / "out2")["since_last_run"] == second.since_last_run


def test_an_unchanged_rerun(three_runs: list[RunReport], tmp_path: Path) -> None:
    since = _report_json(tmp_path / "out3")["since_last_run"]
    assert isinstance(since, dict)
    assert since["previous_run"] == 2
    assert since["rejected_share"] == {"this": 0.285714, "previous": 0.285714}
    assert since["rules"] == [
        _rule("CL050", 5, 0.714286, 1, 0.142857, 0.571429),
        _rule("CL002", 2, 0.285714, 2, 0.285714, 0.0),
    ]
    assert since["new_rules"] == []  # CL002 and CL050 fired in run 2
    assert since["claims_vs_submitted"] == {"new": 0, "replaced": 0, "voided": 0, "unchanged": 5}


def test_the_run_summary_says_what_changed(three_runs: list[RunReport], tmp_path: Path) -> None:
    lines = render_summary(three_runs[1], tmp_path / "out2").splitlines()
    at = lines.index("  since run 1: rejected 28.6% (was 25.0%); new rules fired: CL002, CL050")
    assert lines[at + 1] == "  claims against earlier submissions: 2 new, 1 replaced, 1 voided, 1 unchanged"
    assert "since run" not in render_summary(three_runs[0], tmp_path / "out1")
    third = render_summary(three_runs[2], tmp_path / "out3")
    assert "  since run 2: rejected 28.6% (was 28.6%)\n" in third  # no new rule: nothing more said


def test_the_ledger_keeps_rule_and_provider_counts(three_runs: list[RunReport], ledger_path: Path) -> None:
    db = sqlite3.connect(ledger_path)
    fired = db.execute(
        "SELECT run_id, code, applies, claims, issues FROM run_rules WHERE issues > 0 ORDER BY run_id, code"
    ).fetchall()
    assert fired == [
        (1, "MB002", 4, 1, 1),
        (2, "CL002", 7, 2, 2),
        (2, "CL050", 7, 1, 1),
        (3, "CL002", 7, 2, 2),
        (3, "CL050", 7, 5, 5),
    ]
    # Every rule that ran is kept with its denominator, fired or not.
    rules_run = [r for (r,) in db.execute("SELECT rules_run FROM runs ORDER BY id")]
    assert rules_run == [len(three_runs[0].rules)] * 3
    assert db.execute("SELECT COUNT(*) FROM run_rules WHERE run_id = 1").fetchone()[0] == rules_run[0]
    providers = db.execute(
        "SELECT run_id, npi, claims, rejected, rejected_charge, rejected_paid FROM run_providers ORDER BY run_id, npi"
    ).fetchall()
    assert providers == [(1, A, 4, 1, 25000, 17500), (2, B, 3, 2, 50000, 35000), (3, B, 3, 2, 50000, 35000)]


def test_trends_are_recorded_in_the_transaction_that_records_the_run(convert: Convert, ledger_path: Path) -> None:
    convert(*RUN1)
    with pytest.raises(LedgerError, match="nothing was published"):
        convert(*RUN2, fault_point="commit-fails")  # the closing COMMIT fails: nothing of the run is kept
    db = sqlite3.connect(ledger_path)
    ran = db.execute("SELECT COUNT(*) FROM run_rules WHERE run_id = 1").fetchone()[0]
    assert ran > 0
    assert db.execute("SELECT id, status, rules_run FROM runs ORDER BY id").fetchall() == [
        (1, "complete", ran),
        (2, "failed", None),
    ]
    assert db.execute("SELECT DISTINCT run_id FROM run_rules").fetchall() == [(1,)]
    assert db.execute("SELECT DISTINCT run_id FROM run_providers").fetchall() == [(1,)]


def _reject_by_277(tmp_path: Path, ledger_path: Path, *claim_ids: str) -> None:
    ack = tmp_path / "claims.277"
    charge = Decimal("250.00")
    ack.write_text(build_277([ClaimStatus(c, "A7", "21", charge, entity="85") for c in claim_ids], SENDER, "X"))
    result = CliRunner().invoke(cli, ["ack", str(ack), "--ledger", str(ledger_path)])
    assert result.exit_code == 0, result.output


def test_a_changed_claim_id_is_replaced_and_a_resubmission_unchanged(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert({"mce_claim_id": "C1"}, {"mce_claim_id": "C5"})
    _reject_by_277(tmp_path, ledger_path, "C5")  # MassHealth rejected C5: a corrected original may go out
    again = convert(
        {"mce_claim_id": "C1"},  # the same version, sent again on purpose (--resubmit)
        {"mce_claim_id": "C5", "member_last_name": "ALDERSON"},  # a submitted claim id, other content
        {"mce_claim_id": "C9"},
        resubmit=True,
    )
    assert again.overall.accepted.claims == 3 and again.overall.skipped.claims == 0
    assert again.since_last_run is not None
    assert again.since_last_run["claims_vs_submitted"] == {"new": 1, "replaced": 1, "voided": 0, "unchanged": 1}
    assert again.since_last_run["rules"] == [] and again.since_last_run["new_rules"] == []


# -- sendpro trends ------------------------------------------------------------------------------------
def _trends(ledger_path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["trends", "--ledger", str(ledger_path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_trends_text_one_block_per_run_newest_first(three_runs: list[RunReport], ledger_path: Path) -> None:
    out = _trends(ledger_path)
    blocks = out.split("\n\n")
    assert blocks[0] == f"ledger {ledger_path}: trends of the last 3 completed run(s), newest first"
    assert [b.splitlines()[0] for b in blocks[1:]] == [
        "run 3  started 2026-11-23T10:30:00  7 claims, 2 rejected (28.6%)",
        "run 2  started 2026-11-23T10:30:00  7 claims, 2 rejected (28.6%)",
        "run 1  started 2026-11-23T10:30:00  4 claims, 1 rejected (25.0%)",
    ]
    run3 = blocks[1].splitlines()
    assert run3[1] == "  top rules by rate:"
    assert run3[2].startswith("    CL050   71.43%  5 of 7 claim(s)  ")
    assert run3[3].startswith("    CL002   28.57%  2 of 7 claim(s)  ")
    assert run3[4:] == [
        "  top providers by rejected claims:",
        f"    {B}  2 of 3 claim(s) rejected, charge 500.00, paid 350.00",
    ]
    assert f"    {A}  1 of 4 claim(s) rejected, charge 250.00, paid 175.00" in blocks[3]
    assert _trends(ledger_path, "--runs", "1").count("\nrun ") == 1


def test_trends_json_carries_the_same_data(three_runs: list[RunReport], ledger_path: Path) -> None:
    doc = json.loads(_trends(ledger_path, "--json", "--runs", "2"))
    assert doc["ledger"] == str(ledger_path)
    assert [r["run"] for r in doc["runs"]] == [3, 2]
    second = doc["runs"][1]
    assert {k: second[k] for k in ("claims", "rejected", "rejected_share", "recorded")} == {
        "claims": 7,
        "rejected": 2,
        "rejected_share": 0.285714,
        "recorded": True,
    }
    assert second["rules"] == [
        {"code": "CL002", "claims": 2, "applies": 7, "issues": 2, "rate": 0.285714},
        {"code": "CL050", "claims": 1, "applies": 7, "issues": 1, "rate": 0.142857},
    ]
    assert second["providers"] == [
        {"npi": B, "claims": 3, "rejected": 2, "rejected_charge": "500.00", "rejected_paid": "350.00"}
    ]


def test_trends_of_a_ledger_without_runs(ledger_path: Path) -> None:
    Ledger(ledger_path).close()
    assert "no completed runs yet" in _trends(ledger_path)
    assert json.loads(_trends(ledger_path, "--json"))["runs"] == []


def test_top_rules_are_capped_at_five_and_providers_at_three(convert: Convert, ledger_path: Path) -> None:
    defects = [
        {"member_gender": "X"},  # MB002
        {"dx_1": "ZZZZ"},  # CL002
        {"total_paid": "999.00"},  # CL016
        {"member_gender": "X", "member_dob": "2099AB01"},  # MB002, MB003
        {"member_gender": "X", "adjudication_date": "20261301"},  # MB002, CL003
    ]
    npis = [A, B, "1679576722", "1386786524", "1013914901"]
    claims = [{"mce_claim_id": f"C{i}", "billing_npi": npis[i % 5], **defects[i % 5]} for i in range(10)]
    fired = sorted((-r.rate, r.code) for r in convert(*claims).rules if r.issues)
    assert len(fired) > 5
    run = json.loads(_trends(ledger_path, "--json"))["runs"][0]
    assert [r["code"] for r in run["rules"]] == [code for _, code in fired[:5]]  # by rate, then code
    assert [(p["npi"], p["rejected"]) for p in run["providers"]] == [(n, 2) for n in sorted(npis)[:3]]


def test_the_ledger_keeps_the_providers_with_the_most_rejected_claims(ledger_path: Path, tmp_path: Path) -> None:
    providers = tuple(ProviderRecord(f"{n:010d}", 100, n, n * 100, n * 50) for n in range(TOP_PROVIDERS + 10))
    with Ledger(ledger_path) as ledger:
        run = ledger.start_run("2026-11-23T10:30:00", "0", "[]", str(tmp_path))
        with ledger.transaction():
            ledger.record_trends(run, RunTrends((RuleRecord("CL002", 100, 3, 4),), providers))
        kept = ledger.query("SELECT rejected FROM run_providers ORDER BY rejected DESC")
    # The top 50 by rejected claims; a provider with none rejected (n = 0) is never kept.
    assert [r for (r,) in kept] == list(range(TOP_PROVIDERS + 9, 9, -1))


# -- the schema ----------------------------------------------------------------------------------------
def _downgrade_to_schema_2(path: Path) -> None:
    """Make a ledger what sendpro with schema 2 left: no trend tables, no runs.rules_run, nothing newer."""
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE IF EXISTS transmissions; DROP TABLE IF EXISTS login_attempts; DROP TABLE IF EXISTS retrievals; "
        "DROP TABLE run_rules; DROP TABLE run_providers; ALTER TABLE runs DROP COLUMN rules_run; "
        "PRAGMA user_version = 2;"
    )
    db.close()


def _schema(path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").fetchall()
    finally:
        db.close()


def test_a_schema_2_ledger_is_migrated_and_its_old_runs_are_never_compared(
    convert: Convert, ledger_path: Path, tmp_path: Path
) -> None:
    convert(*RUN1)
    _downgrade_to_schema_2(ledger_path)
    old = sqlite3.connect(ledger_path)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "run_rules" not in {n for n, _ in _schema(ledger_path)}
    old.close()
    with Ledger(ledger_path) as ledger:
        assert ledger.schema_version == len(MIGRATIONS)
        assert ledger.query("SELECT id, rules_run FROM runs") == [(1, None)]
        assert ledger.query("SELECT COUNT(*) FROM encounters") == [(4,)]  # the history is kept
    fresh = tmp_path / "fresh.sqlite"
    Ledger(fresh).close()
    assert _schema(ledger_path) == _schema(fresh)
    # The run from before trends is listed, its rules unknown; it is never compared with.
    text = _trends(ledger_path)
    assert "run 1  started 2026-11-23T10:30:00  4 claims, 1 rejected (25.0%)" in text
    assert "rules and providers not recorded" in text
    second = convert(*RUN2)
    assert second.since_last_run is None
    third = convert(*RUN2)
    assert third.since_last_run is not None and third.since_last_run["previous_run"] == 2


def test_no_member_data_in_the_trend_tables(three_runs: list[RunReport], ledger_path: Path, tmp_path: Path) -> None:
    member = {"member_id": "100000000077", "member_last_name": "QUILLFEATHER", "member_first_name": "ZENOBIA"}
    rows = []
    for claim in ({"mce_claim_id": "M1", **member}, {"mce_claim_id": "M2", "member_gender": "X", **member}):
        rows += claim_rows(claim)
    src = write_mce(tmp_path / "members.txt", rows)
    result = CliRunner().invoke(cli, ["convert", str(src), "--out", str(tmp_path / "m"), "--ledger", str(ledger_path)])
    assert result.exit_code == 1, result.output  # M2 rejected (MB002)
    db = sqlite3.connect(ledger_path)
    columns = {
        table: [c[1] for c in db.execute(f"PRAGMA table_info({table})")] for table in ("run_rules", "run_providers")
    }
    assert columns == {
        "run_rules": ["run_id", "code", "applies", "claims", "issues"],
        "run_providers": ["run_id", "npi", "claims", "rejected", "rejected_charge", "rejected_paid"],
    }
    cells = {str(v) for table in columns for row in db.execute(f"SELECT * FROM {table}") for v in row}
    assert db.execute("SELECT COUNT(*) FROM run_rules WHERE run_id = 4 AND issues > 0").fetchone()[0] > 0
    for value in (*member.values(), *(r["member_id"] for r in claim_rows())):
        assert not any(value in cell for cell in cells)
