from __future__ import annotations

import csv
import io
import json

from sendpro.report.formatters.csv import CsvFormatter
from sendpro.report.formatters.jsonl import JsonlFormatter
from sendpro.report.issue import Issue, Location, Severity, mask_member_id
from sendpro.report.report import ClaimStats, IssueCounter, Reconciliation, RuleStat, RunReport, Totals, money


def _issue(code: str = "CL015", severity: Severity = Severity.ERROR) -> Issue:
    return Issue(
        code,
        severity,
        "total_charge is off",
        Location("in.txt", 7, "total_charge", "C1", 2),
        "claim.total_charge_balance",
        value="260.00",
        member_id="100000000001",
    )


def test_money_and_mask() -> None:
    assert [money(c) for c in (0, 5, 150, -525, 123456)] == ["0.00", "0.05", "1.50", "-5.25", "1234.56"]
    assert mask_member_id("100000000001") == "********0001"
    assert mask_member_id("ABC123") == "******"
    assert mask_member_id(None) is None


def test_reconciliation_balances_and_names_differences() -> None:
    rec = Reconciliation(
        Totals(10, 3, 9, 1000, 800, 1000, 800), Totals(7, 2, 6, 700, 500, 700, 500), Totals(3, 1, 3, 300, 300, 300, 300)
    )
    assert rec.balanced and rec.differences() == {}
    rec.rejected.paid -= 1
    assert not rec.balanced and rec.differences() == {"paid": 1}
    doc = rec.to_dict()
    assert doc["input"]["total_charge"] == "10.00" and doc["balanced"] is False


def test_issue_counter_caps_writing_not_counting() -> None:
    counter = IssueCounter(2)
    written = [counter.count(_issue()) for _ in range(3)] + [counter.count(_issue("FF020", Severity.WARNING))]
    assert written == [True, True, False, False]
    assert counter.total == 4 and counter.written == 2 and counter.truncated and counter.errors == 3


def test_run_report_overall_and_records() -> None:
    report = RunReport("0.1.0", "2026-11-23T10:00:00")
    report.reconciliation["P"] = Reconciliation(
        Totals(1, 1, 1, 100, 100, 100, 100), Totals(1, 1, 1, 100, 100, 100, 100)
    )
    report.reconciliation["?"] = Reconciliation(Totals(2, 1, 2, 0, 0, 0, 0), rejected=Totals(2, 1, 2, 0, 0, 0, 0))
    assert report.overall.input.claims == 2 and report.balanced
    doc = report.to_dict()
    assert doc["reconciliation"]["all"]["input"]["rows"] == 3
    assert len(report.as_records()) == 12  # 3 claim types × input, accepted, rejected, skipped


def test_formatters_mask_values_unless_asked() -> None:
    out = io.StringIO()
    f = JsonlFormatter(out)
    f.start()
    f.handle(_issue())
    record = json.loads(out.getvalue())
    assert record["member_id"] == "********0001" and "value" not in record
    assert (record["row"], record["claim_id"], record["line_number"]) == (7, "C1", 2)
    out = io.StringIO()
    c = CsvFormatter(out, include_values=True)
    c.start()
    c.handle(_issue())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["member_id"] == "100000000001" and rows[0]["value"] == "260.00"
    assert rows[0]["code"] == "CL015" and rows[0]["row"] == "7"


def test_claim_stats_count_claims_per_rule_and_rank_providers() -> None:
    def issue(code: str, severity: Severity = Severity.ERROR) -> Issue:
        return Issue(code=code, severity=severity, message="m", location=Location(file="f"), rule_name="r")

    stats = ClaimStats()
    stats.record("P", "111", "A CLINIC", [issue("CL015"), issue("CL015"), issue("SV010")])
    stats.record("P", "111", "A CLINIC", [])
    stats.record("I", "222", "B HOSPITAL", [issue("FF020", Severity.WARNING)])
    stats.record("I", "333", "C HOSPITAL", [])
    assert stats.claims_by_type == {"P": 2, "I": 2}
    assert stats.claims_by_code == {"CL015": 1, "SV010": 1, "FF020": 1}  # distinct claims, not issues
    top = stats.top_providers()
    assert [(p.npi, p.claims, p.claims_with_errors, p.errors, p.warnings) for p in top] == [
        ("111", 2, 1, 3, 0),
        ("222", 1, 0, 0, 1),
    ]  # providers without findings are left out
    stat = RuleStat("CL015", "claim.total_charge_balance", "error", "s", "sendpro", applies=4, claims=1, issues=2)
    assert stat.to_dict()["rate"] == 0.25 and RuleStat("X", "x", "error", "", "", 0, 0, 0).rate == 0.0


def test_errors_csv_has_every_field_errors_jsonl_has() -> None:
    issue = Issue(
        code="RX101",
        severity=Severity.ERROR,
        message="m",
        location=Location(file="f", record_no=3, claim_id="C1", x12_path="2300/CLM", ncpdp_field="D7"),
        rule_name="r",
        detail={"k": "v"},
        value="v",
        member_id="100000000001",
    )
    for include in (False, True):
        j, c = io.StringIO(), io.StringIO()
        jf, cf = JsonlFormatter(j, include_values=include), CsvFormatter(c, include_values=include)
        jf.start()
        cf.start()
        jf.handle(issue)
        cf.handle(issue)
        record = json.loads(j.getvalue())
        (row,) = csv.DictReader(io.StringIO(c.getvalue()))
        assert set(record) <= set(row), set(record) - set(row)
        assert row["ncpdp_field"] == "D7"
