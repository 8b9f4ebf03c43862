"""report.html for the analyst (issue 13, item 3): fix list first, dollars at risk, links, new sections, the cap.

The fix list is checked against the reasons files a real run wrote (and against
hand-made ones for the odd cases); "since the last run" against hand-made
report.json dicts in the shape of the shared contract, since another part of
sendpro writes that key.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sendpro.convert.sinks import REASON_COLUMNS
from sendpro.report.html import (
    DEFAULT_MAX_FIX_ROWS,
    RejectedClaim,
    find_reasons_files,
    iter_issues,
    iter_rejected,
    render_html,
    write_html_report,
)
from tests.report.test_html import XSS, DemoPage, Page, render

FIX_COLUMNS = [
    "#",
    "type",
    "claim id",
    "billing NPI",
    "billing provider",
    "charge ($)",
    "paid ($)",
    "input file",
    "input row",
    "rejects file",
    "rejects row",
    "reasons",
]


def reasons_rows(directory: Path) -> list[dict[str, str]]:
    """Every row of the reasons files of a run, file by file in name order, with the rejects file it is about."""
    rows = []
    for path in sorted(directory.glob("rejects_*.reasons.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for record in csv.DictReader(handle):
                rows.append({**record, "rejects_file": path.name.removesuffix(".reasons.csv") + ".txt"})
    return rows


def write_reasons(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    """Write a reasons file in sendpro's columns (``sendpro.convert.sinks.REASON_COLUMNS``)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, REASON_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in REASON_COLUMNS})
    return path


def claim(n: int, **cells: str) -> dict[str, str]:
    """A reasons row of rejected professional claim ``n`` (one CL015 reason unless told otherwise)."""
    row = {
        "rejects_row": str(n + 1),
        "claim_id": f"C{n:06d}",
        "claim_type": "P",
        "billing_npi": "1234567893",
        "billing_name": "ACME CLINIC",
        "charge": "100.00",
        "paid": "40.00",
        "input_file": "in.txt",
        "input_row": str(2 * n),
        "codes": "CL015",
        "messages": "CL015: total_charge is not the sum of the line charges",
    }
    row.update(cells)
    return row


def section_order(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', html)


def reasons_html(html: str, anchor: str) -> list[str]:
    """The reasons list items of the fix-list row with id ``anchor``, as written (markup and all)."""
    match = re.search(rf'<tr id="{re.escape(anchor)}"[^>]*>.*?<td class="reasons"><ul>(.*?)</ul></td></tr>', html)
    assert match, anchor
    return re.findall(r"<li>(.*?)</li>", match.group(1))


# --- the demo run -------------------------------------------------------------------------------


def test_fix_list_comes_first_with_every_rejected_claim_and_its_reasons(demo: Path, demo_page: DemoPage) -> None:
    html = demo_page.html
    # The page opens with the fix list: it is the first section and the first link.
    assert section_order(html)[:2] == ["fix-list", "risk"]
    assert re.search(r'<nav aria-label="Sections"><ul><li><a href="#fix-list">Fix list</a>', html)
    page = Page(html)
    expected = reasons_rows(demo)
    assert len(expected) == demo_page.doc["reconciliation"]["all"]["rejected"]["claims"] > 5
    table = page.table("fix-table")
    assert table[0] == FIX_COLUMNS
    assert len(table) - 1 == len(expected)
    for n, (row, want) in enumerate(zip(table[1:], expected, strict=True), start=1):
        assert row[:11] == [
            str(n),
            want["claim_type"],
            want["claim_id"],
            want["billing_npi"],
            want["billing_name"],
            f"{Decimal(want['charge']):,.2f}",
            f"{Decimal(want['paid']):,.2f}",
            want["input_file"],
            want["input_row"],
            want["rejects_file"],
            want["rejects_row"],
        ]
        # Every reason, code and message, as the reasons file gives them.
        anchor = f"claim-{want['claim_type']}-{want['claim_id']}"
        items = reasons_html(html, anchor)
        messages = want["messages"].split(" | ")
        assert len(items) == len(messages) == len(want["codes"].split())
        for item, message in zip(items, messages, strict=True):
            code, _, text = message.partition(": ")
            assert item == f"<code>{code}</code> {text}"
    assert f"{len(expected)} rejected claim(s) shown." in page.all_text()
    assert "more rejected claim(s) are not shown" not in page.all_text()


def test_the_page_convert_writes_has_the_same_fix_list(demo: Path, demo_page: DemoPage) -> None:
    # convert renders the page while the reasons files are still staged; it must read them there
    written = Page((demo / "report.convert.html").read_text(encoding="utf-8"))
    again = Page(demo_page.html)
    assert written.table("fix-table") == again.table("fix-table")
    assert len(written.table("fix-table")) - 1 == len(reasons_rows(demo)) > 5


def test_dollars_at_risk_per_rule_and_provider(demo: Path, demo_page: DemoPage) -> None:
    page = Page(demo_page.html)
    expected = reasons_rows(demo)
    by_rule: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    by_npi: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    for row in expected:
        for code in row["codes"].split():
            by_rule[code][0] += 1
            by_rule[code][1] += Decimal(row["charge"])
            by_rule[code][2] += Decimal(row["paid"])
        by_npi[row["billing_npi"]][0] += 1
        by_npi[row["billing_npi"]][1] += Decimal(row["charge"])
        by_npi[row["billing_npi"]][2] += Decimal(row["paid"])
    rules = page.table("risk-table")
    assert rules[0] == ["rule", "rejected claims", "charge ($)", "paid ($)", "claims without readable amounts"]
    shown = {r[0]: r[1:4] for r in rules[1:]}
    assert shown == {code: [f"{n:,}", f"{c:,.2f}", f"{p:,.2f}"] for code, (n, c, p) in by_rule.items()}
    # Most charge at risk first.
    charges = [Decimal(r[2].replace(",", "")) for r in rules[1:]]
    assert charges == sorted(charges, reverse=True)
    total_charge = sum(Decimal(r["charge"]) for r in expected)
    total_paid = sum(Decimal(r["paid"]) for r in expected)
    assert f"All rejected claims: {len(expected)}, charge ${total_charge:,.2f}, paid ${total_paid:,.2f}." in (
        page.all_text()
    )
    providers = page.table("provider-risk-table")
    assert {r[0]: r[2:5] for r in providers[1:]} == {
        npi: [f"{n:,}", f"{c:,.2f}", f"{p:,.2f}"] for npi, (n, c, p) in by_npi.items()
    }
    # The drill-down table: one row per provider and rule.
    pairs = Counter((r["billing_npi"], code) for r in expected for code in r["codes"].split())
    assert Counter((r[0], r[2]) for r in page.table("provider-rules-table")[1:]) == Counter(dict.fromkeys(pairs, 1))


def test_each_issue_of_a_rejected_claim_links_to_its_fix_list_row(demo_page: DemoPage) -> None:
    html, issues = demo_page.html, demo_page.issues
    page = Page(html)
    fix_ids = {attrs["id"] for tag, attrs in page.tags if tag == "tr" and (attrs.get("id") or "").startswith("claim-")}
    rejected = [i for i in issues if i.get("rejects_file")]
    assert rejected and len(rejected) < len(issues)
    for issue in rejected:
        kind = issue["rejects_file"].removeprefix("rejects_").removesuffix(".txt")
        anchor = f"claim-{kind}-{issue['claim_id']}"
        assert anchor in fix_ids
        assert f'<a href="#{anchor}">{issue["claim_id"]}</a>' in html
    # Issues of claims that were not rejected link nowhere.
    links = re.findall(r'<a href="#(claim-[^"]+)">', html)
    assert len(links) == len(rejected)
    assert set(links) <= fix_ids


def test_filter_data_on_the_rows(demo_page: DemoPage) -> None:
    """The filters read data-* attributes; check them on the static page (the browser test drives the filters)."""
    rows = [attrs for tag, attrs in Page(demo_page.html).tags if tag == "tr"]
    fix = [a for a in rows if (a.get("id") or "").startswith("claim-")]
    assert fix and all(a["data-severity"] == "error" and a["data-type"] in ("P", "I", "D") for a in fix)
    assert all(a["data-provider"] and a["data-rules"] for a in fix)
    issue_rows = [a for a in rows if "data-severity" in a and a.get("data-severity") in ("warning",)]
    assert issue_rows, "the demo has warnings to filter on"


# --- hand-made reasons files --------------------------------------------------------------------


def test_reasons_file_contract_and_odd_rows(tmp_path: Path) -> None:
    write_reasons(
        tmp_path / "rejects_P.reasons.csv",
        [
            claim(1, codes="CL015 SV002", messages="CL015: first reason | SV002: second reason"),
            claim(2, charge="", paid="", codes="MB001", messages=""),  # no readable money, a code and no message
            claim(3, billing_npi="", billing_name="NO NPI CLINIC", messages="free text without a code"),
        ],
    )
    (tmp_path / "rejects_D.reasons.csv").write_text("rejects_row,claim_id\n", encoding="utf-8")  # header only
    files = find_reasons_files(tmp_path)
    assert list(files) == ["rejects_D.reasons.csv", "rejects_P.reasons.csv"]
    claims = list(iter_rejected(files))
    assert [c.claim_id for c in claims] == ["C000001", "C000002", "C000003"]
    assert claims[0] == RejectedClaim(
        reasons_file="rejects_P.reasons.csv",
        rejects_file="rejects_P.txt",
        rejects_row="2",
        claim_id="C000001",
        claim_type="P",
        billing_npi="1234567893",
        billing_name="ACME CLINIC",
        charge="100.00",
        paid="40.00",
        input_file="in.txt",
        input_row="2",
        codes=("CL015", "SV002"),
        messages=("CL015: first reason", "SV002: second reason"),
    )
    html = render({}, [], rejected=iter_rejected(files))
    page = Page(html)
    assert reasons_html(html, "claim-P-C000001") == [
        "<code>CL015</code> first reason",
        "<code>SV002</code> second reason",
    ]
    assert reasons_html(html, "claim-P-C000002") == ["<code>MB001</code> "]
    assert reasons_html(html, "claim-P-C000003") == ["free text without a code"]
    assert page.table("fix-table")[2][5:7] == ["", ""]
    # A claim rejected by two rules counts under both; one without amounts is counted as such.
    risk = {r[0]: r[1:] for r in page.table("risk-table")[1:]}
    assert risk["CL015"] == ["2", "200.00", "80.00", "0"] and risk["SV002"] == ["1", "100.00", "40.00", "0"]
    assert risk["MB001"] == ["1", "0.00", "0.00", "1"]
    assert "All rejected claims: 3, charge $200.00, paid $80.00 (1 without readable amounts)." in page.all_text()
    # A provider without an NPI is grouped under its name.
    assert "(no NPI) NO NPI CLINIC" in [r[0] for r in page.table("provider-risk-table")]


def test_reasons_are_escaped(tmp_path: Path) -> None:
    write_reasons(
        tmp_path / "rejects_P.reasons.csv",
        [claim(1, claim_id=XSS, billing_name=XSS, billing_npi='"><b>x', messages=f"CL015: {XSS}", input_file=XSS)],
    )
    issues = [{"code": "CL015", "severity": "error", "claim_id": XSS, "rejects_file": "rejects_P.txt"}]
    html = render({}, issues, rejected=iter_rejected(find_reasons_files(tmp_path)))
    page = Page(html)
    assert html.count("<script>") == 1 and "<b>" not in html
    row = page.table("fix-table")[1]
    assert row[2] == row[4] == row[7] == XSS and row[3] == '"><b>x'
    assert XSS in row[11]
    # The issue still links to its claim (the anchor is made of safe characters only).
    anchor = next(a["id"] for t, a in page.tags if t == "tr" and (a.get("id") or "").startswith("claim-"))
    assert re.fullmatch(r"claim-P-[A-Za-z0-9_-]+", anchor or "")
    assert f'href="#{anchor}"' in html


def test_fix_rows_are_streamed(tmp_path: Path) -> None:
    out = io.StringIO()

    def rejected() -> Iterator[RejectedClaim]:
        for n in range(1, 50):
            if 2 < n <= 11:
                # The previous claim's row is on the page before the next one is read.
                assert f">C{n - 1:06d}</td>" in out.getvalue()
            yield RejectedClaim(
                "rejects_P.reasons.csv", "rejects_P.txt", str(n + 1), f"C{n:06d}", "P", "1234567893", "ACME", "1.00",
                "0.00", "in.txt", str(n), ("CL015",), ("CL015: m",),
            )  # fmt: skip

    render_html({}, [], out, rejected=rejected(), max_fix_rows=10)
    words = Page(out.getvalue()).all_text()
    assert "10 rejected claim(s) shown. 39 more rejected claim(s) are not shown (this page shows at most 10)" in words
    assert "All rejected claims: 49, charge $49.00" in words
    with pytest.raises(ValueError):
        render_html({}, [], io.StringIO(), max_fix_rows=-1)


def test_page_made_without_its_reasons_files_says_so() -> None:
    report = {"outputs": [{"name": "rejects_P.reasons.csv", "kind": "reasons", "claim_type": "P", "claims": 4}]}
    words = Page(render(report)).all_text()
    assert "report.json lists 4 rejected claim(s) in the rejects_*.reasons.csv files beside this page" in words
    assert "No claim was rejected" not in words
    assert "No claim was rejected: no rejects_*.reasons.csv beside this page lists one." in Page(render({})).all_text()


def test_large_reasons_files_write_at_most_the_cap(tmp_path: Path) -> None:
    """50,000 rejected claims: the page holds the cap, says how many more the files hold, counts every dollar."""
    total, providers = 50_000, 250
    with (tmp_path / "rejects_P.reasons.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REASON_COLUMNS)
        for n in range(total):
            code = ("CL015", "SV002", "MB001", "PV010")[n % 4]
            writer.writerow(
                [n + 2, f"C{n:07d}", "P", f"{1000000000 + n % providers}", f"PROVIDER {n % providers}", "12.50",
                 "2.25", "in.txt", n + 2, code, f"{code}: reason {n}"]
            )  # fmt: skip
    with (tmp_path / "errors.jsonl").open("w", encoding="utf-8") as handle:
        for n in range(total):
            issue = {"code": "CL015", "severity": "error", "message": f"reason {n}", "claim_id": f"C{n:07d}"}
            handle.write(json.dumps({**issue, "rejects_file": "rejects_P.txt", "rejects_row": n + 2}) + "\n")
    report = {
        "issues": {"total": total, "written": total},
        "outputs": [{"name": "rejects_P.reasons.csv", "kind": "reasons", "claims": total}],
    }
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    target = tmp_path / "report.html"
    tracemalloc.start()
    try:
        assert write_html_report(tmp_path / "report.json", tmp_path / "errors.jsonl", target, max_rows=1000) == 1000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Nothing is collected: the reasons rows alone would take well over 50 MB as objects.
    assert peak < 25_000_000, f"peak {peak:,} bytes"
    html = target.read_text(encoding="utf-8")
    page = Page(html)
    assert len(page.table("fix-table")) == 1 + DEFAULT_MAX_FIX_ROWS
    assert len(page.table("issue-table")) == 1 + 1000
    words = page.all_text()
    more = total - DEFAULT_MAX_FIX_ROWS
    assert f"This page lists the first {DEFAULT_MAX_FIX_ROWS:,} of the {total:,} rejected claims" in words
    assert f"{more:,} more rejected claim(s) are not shown (this page shows at most {DEFAULT_MAX_FIX_ROWS:,})" in words
    assert "every one is in the rejects_*.reasons.csv files" in words
    assert f"{total - 1000:,} more issue(s) in errors.jsonl are not shown" in words
    # The dollars at risk count every claim, past the cap too.
    charge, paid = total * Decimal("12.50"), total * Decimal("2.25")
    assert f"All rejected claims: {total:,}, charge ${charge:,.2f}, paid ${paid:,.2f}." in words
    assert {r[0]: r[1] for r in page.table("risk-table")[1:]} == dict.fromkeys(
        ("CL015", "SV002", "MB001", "PV010"), f"{total // 4:,}"
    )
    assert len(page.table("provider-risk-table")) == 1 + 200  # MAX_RISK_PROVIDERS, and it says so
    assert f"of {providers:,}" in words
    # Issues link to shown claims only: the first 1,000 issues are of the first 1,000 claims, all shown.
    assert len(re.findall(r'<a href="#claim-P-C\d+">', html)) == 1000


# --- report.json sections -----------------------------------------------------------------------

SINCE = {
    "previous_run": 12,
    "previous_started": "2026-11-18T02:00:00+00:00",
    "claims": {"this": 1000, "previous": 950},
    "rejected_share": {"this": 0.031, "previous": 0.042},
    "rules": [
        {"code": "CL016", "claims": 12, "rate": 0.012, "previous_claims": 30, "previous_rate": 0.031579,
         "change": -0.019579},
        {"code": "SV031", "claims": 5, "rate": 0.005, "previous_claims": 0, "previous_rate": 0, "change": 0.005},
        {"code": "MB002", "claims": 0, "rate": 0, "previous_claims": 3, "previous_rate": 0.003158,
         "change": -0.003158},
    ],
    "new_rules": ["SV031"],
    "claims_vs_submitted": {"new": 900, "replaced": 40, "voided": 10, "unchanged": 50},
}  # fmt: skip


def test_since_the_last_run(tmp_path: Path) -> None:
    issues = [{"code": "CL016", "severity": "error"}, {"code": "SV031", "severity": "warning"}]
    html = render({"ledger": "/l.sqlite", "since_last_run": SINCE}, issues)
    page = Page(html)
    order = section_order(html)
    assert order.index("summary") < order.index("since-last-run") < order.index("reconciliation")
    assert '<a href="#since-last-run">Since the last run</a>' in html
    words = page.all_text()
    assert "Against run 12 of the same ledger (started 2026-11-18T02:00:00+00:00)" in words
    assert page.table("since-totals-table")[1:] == [
        ["claims read", "1,000", "950", "+50"],
        ["rejected share", "3.10%", "4.20%", "-1.10 pts"],
    ]
    assert page.table("since-rules-table")[1:] == [
        ["CL016", "12", "1.20%", "30", "3.16%", "-1.96 pts", ""],
        ["SV031", "5", "0.50%", "0", "0.00%", "+0.50 pts", "first time"],
        ["MB002", "0", "0.00%", "3", "0.32%", "-0.32 pts", ""],
    ]
    assert "Rules that fired for the first time in this ledger: SV031." in words
    # A rule that fired only before has no issue here to link to.
    assert 'href="#issue-CL016"' in html and 'href="#issue-MB002"' not in html
    submitted = {r[0]: r[1] for r in page.table("since-submitted-table")[1:]}
    assert submitted == {"new": "900", "replaced": "40", "voided": "10", "unchanged": "50"}


@pytest.mark.parametrize(
    ("report", "says"),
    [
        ({"ledger": "/l.sqlite", "since_last_run": None}, "No earlier run in this ledger"),
        ({"ledger": None, "since_last_run": None}, "This run used no ledger"),
    ],
)
def test_since_the_last_run_without_an_earlier_run(report: dict[str, Any], says: str) -> None:
    html = render(report)
    assert "since-last-run" in section_order(html)
    assert says in Page(html).all_text()
    assert 'id="since-rules-table"' not in html


def test_since_the_last_run_absent_or_odd() -> None:
    html = render({})
    assert "since-last-run" not in html  # an older report.json: no section, no link
    odd = render({"since_last_run": {"claims": "x", "rules": [None, {"code": 5}], "new_rules": "SV031"}})
    assert "since-last-run" in section_order(odd)
    assert Page(odd).table("since-totals-table")[1] == ["claims read", "", "", ""]
    same = render({"since_last_run": {**SINCE, "claims": {"this": 7, "previous": 7}}})
    assert Page(same).table("since-totals-table")[1] == ["claims read", "7", "7", "0"]


def test_data_quality_measures() -> None:
    measures = [
        {"measure": "claim_frequency", "name": "Claim frequency code is 1-5, 7 or 8", "claim_group": "professional",
         "record_type": "original", "file": "837P.x12", "numerator": 24, "denominator": 24, "rate": 1.0,
         "threshold": 0.99, "met": True, "source": "DQ_SENDPRO ClaimFrequencyCode1"},
        {"measure": "billing_npi", "name": "Billing NPI check digit", "claim_group": "professional",
         "record_type": "original", "file": "837P.x12", "numerator": 20, "denominator": 24, "rate": 0.833333,
         "threshold": 0.99, "met": False, "source": "DQ_SENDPRO BillingProvNPI"},
        {"measure": "admission_date", "name": "Admission date present", "claim_group": "inpatient",
         "record_type": "void", "file": "837I.x12", "numerator": 0, "denominator": 0, "rate": None,
         "threshold": 0.99, "met": None, "source": "DQ_SENDPRO"},
    ]  # fmt: skip
    not_computed = [{"measure": "principal_diagnosis", "name": "Principal diagnosis", "reason": "needs ICD-10-CM"}]
    html = render({"dq_measures": measures, "dq_not_computed": not_computed})
    page = Page(html)
    assert "dq-measures" in section_order(html)
    rows = page.table("dq-table")[1:]
    first = ["claim_frequency", "Claim frequency code is 1-5, 7 or 8", "professional", "original", "837P.x12"]
    assert rows[0] == [*first, "24", "24", "100.00%", "99.00%", "yes", "DQ_SENDPRO ClaimFrequencyCode1"]
    assert rows[1][7:10] == ["83.33%", "99.00%", "NO"]
    assert rows[2][7:10] == ["", "99.00%", ""]  # no row scored: no rate, no verdict
    assert '<tr class="below">' in html
    assert page.table("dq-not-computed-table")[1:] == [
        ["principal_diagnosis", "Principal diagnosis", "needs ICD-10-CM"]
    ]
    assert "1 measure(s) below threshold" in page.all_text()
    # No measures at all: no section.
    assert "dq-measures" not in render({"dq_measures": [], "dq_not_computed": []})


def test_demo_dq_section(demo_page: DemoPage) -> None:
    doc = demo_page.doc
    page = Page(demo_page.html)
    assert len(page.table("dq-table")) == 1 + len(doc["dq_measures"])
    assert len(page.table("dq-not-computed-table")) == 1 + len(doc["dq_not_computed"])


def test_raw_values_never_shown() -> None:
    issues = [{"code": "MB003", "severity": "error", "message": "member_dob is not a date", "value": "19800231"}]
    assert "19800231" not in render({}, issues)


def test_issue_rows_carry_the_rejected_claims_type_and_provider(tmp_path: Path) -> None:
    write_reasons(tmp_path / "rejects_D.reasons.csv", [claim(1, claim_type="D", billing_npi="1111111112")])
    issues = [
        {"code": "CL015", "severity": "error", "claim_id": "C000001", "rejects_file": "rejects_D.txt"},
        {"code": "FF020", "severity": "warning", "claim_id": "C000009"},
    ]
    page = Page(render({}, issues, rejected=iter_rejected(find_reasons_files(tmp_path))))
    rejected, accepted = page.by_id("issue-CL015"), page.by_id("issue-FF020")  # each rule's first issue row
    assert rejected is not None and accepted is not None
    assert rejected["data-type"] == "D" and rejected["data-provider"] == "1111111112"
    assert rejected["data-severity"] == "error" and rejected["data-rules"] == "CL015"
    # An issue of a claim that was not rejected: no claim type or provider to filter on.
    assert accepted["data-type"] == "" and accepted["data-provider"] == ""


def test_iter_issues_and_reasons_missing_files(tmp_path: Path) -> None:
    assert list(iter_issues(tmp_path / "none.jsonl")) == []
    assert list(iter_rejected({"rejects_P.reasons.csv": tmp_path / "gone.csv"})) == []
