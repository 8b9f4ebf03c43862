"""report.html: figures from a real run, escaping, the row cap, self-containment, odd reports, PHI."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from sendpro import api
from sendpro.report.html import iter_issues, render_html, write_html_report
from tests.helpers import claim_rows, test_config, write_mce

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "encounters.txt"
XSS = "<script>alert(1)</script>"
INLINE = {"a", "span", "strong", "b", "em", "code"}


class Page(HTMLParser):
    """The parts of a page the tests read: tables by id (cell texts), elements, attributes, scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._raw: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in INLINE:
            self.text.append(" ")
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or f"table-{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag in ("script", "style"):
            self._raw = []

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE:
            self.text.append(" ")
        if tag in ("td", "th") and self._cell is not None and self._table:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag in ("script", "style") and self._raw is not None:
            (self.scripts if tag == "script" else self.styles).append("".join(self._raw))
            self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw.append(data)
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self, table_id: str) -> list[list[str]]:
        return [row for row in self.tables[table_id] if row]

    def by_id(self, ident: str) -> dict[str, str | None] | None:
        return next((attrs for _, attrs in self.tags if attrs.get("id") == ident), None)

    def all_text(self) -> str:
        return " ".join("".join(self.text).split())


def render(report: Mapping[str, Any], issues: list[Mapping[str, Any]] | None = None, **kwargs: Any) -> str:
    out = io.StringIO()
    render_html(report, issues or [], out, **kwargs)
    return out.getvalue()


class DemoPage(NamedTuple):
    doc: dict[str, Any]
    issues: list[dict[str, Any]]
    html: str


def money_text(amount: str) -> str:
    """report.json's decimal string as the page shows it: thousands separators, two decimals."""
    return f"{Decimal(amount):,.2f}"


def rate_text(rule: Mapping[str, Any]) -> str:
    return f"{rule['rate'] * 100:.1f}%"


def top_rules(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fired rules in the page's order: most issues first, then by code."""
    return sorted(doc["rules"], key=lambda r: (-r["issues"], r["code"]))


def test_demo_reconciliation_figures(demo_page: DemoPage) -> None:
    doc = demo_page.doc
    rows = Page(demo_page.html).table("reconciliation-table")
    # What the demo file holds (the CLI prints the same), in dollars with two decimals, and balanced.
    assert ["all", "input", "60", "169", "169", "31,598.21", "20,593.82", "yes"] in rows
    # How it splits depends on the rules; report.json is the reference, and it adds up.
    everything = doc["reconciliation"]["all"]
    for side in ("accepted", "rejected", "skipped"):
        totals = everything[side]
        figures = [f"{totals[k]:,}" for k in ("claims", "lines", "rows")]
        money = [money_text(totals["total_charge"]), money_text(totals["total_paid"])]
        assert [side, *figures, *money] in rows
    assert everything["rejected"]["claims"] > 0
    assert sum(everything[s]["claims"] for s in ("accepted", "rejected", "skipped")) == 60
    # Every claim type has its rows, with its own figures and verdict.
    for kind, rec in doc["reconciliation"].items():
        row = next(r for r in rows if r[:2] == [kind, "input"])
        side = rec["input"]
        assert row[2:] == [
            f"{side['claims']:,}",
            f"{side['lines']:,}",
            f"{side['rows']:,}",
            money_text(side["total_charge"]),
            money_text(side["total_paid"]),
            "yes",
        ]
    assert {"P", "I", "D", "all"} <= {r[0] for r in rows if len(r) == 8}
    assert "NOT RECONCILED" not in demo_page.html


def test_demo_summary_rules_chart_providers(demo_page: DemoPage) -> None:
    doc, text = demo_page.doc, demo_page.html
    page = Page(text)
    words = page.all_text()
    assert "exit code 1 (some claims rejected)" in words
    assert str(DEMO) in words and "mce-v1" in words and "masshealth-sendpro" in words
    severities = doc["issues"]["by_severity"]
    assert f"{doc['issues']['total']} in all, {severities['error']} errors, {severities['warning']} warnings" in words
    inputs = page.table("inputs-table")
    assert inputs[1][:5] == [str(DEMO), "mce-v1", "169", "60", "1"]
    # Rules: most issues first; every rule with its counts and its rate as a percentage.
    rules = page.table("rules-table")[1:]
    expected = top_rules(doc)
    assert [r[0] for r in rules] == [r["code"] for r in expected]
    for row, rule in zip(rules, expected, strict=True):
        assert row[1:3] == [rule["severity"], rule["name"]]
        assert row[5:9] == [f"{rule['issues']:,}", f"{rule['claims']:,}", f"{rule['applies']:,}", rate_text(rule)]
    # The chart: one bar per rule, labelled with code and count, with a tooltip.
    chart = text[text.index('<svg class="chart"') : text.index("</svg>")]
    assert chart.count("<g ") == len(expected)
    top = expected[0]
    assert f"<title>{top['code']}: {top['issues']:,} issue(s) on {top['claims']:,} claim(s) ({top['name']})" in chart
    assert re.search(rf">{top['code']}</text><rect [^>]+></rect><text [^>]+>{top['issues']:,}</text>", chart)
    # Providers, in report order, with their counts.
    providers = page.table("providers-table")[1:]
    assert [r[0] for r in providers] == [p["npi"] for p in doc["providers"]]
    first = doc["providers"][0]
    counts = [f"{first[k]:,}" for k in ("claims", "claims_with_errors", "errors", "warnings")]
    assert providers[0] == [first["npi"], first["name"], *counts]
    assert [r[1] for r in providers] == [p["name"] for p in doc["providers"]]


def test_demo_issue_rows_trace_to_input_rows(demo_page: DemoPage) -> None:
    issues = demo_page.issues
    page = Page(demo_page.html)
    table = page.table("issue-table")
    assert table[0][:3] == ["#", "code", "severity"]
    assert len(table) - 1 == len(issues)
    for n, (row, issue) in enumerate(zip(table[1:], issues, strict=True), start=1):
        assert row[0] == str(n)
        assert row[1:4] == [issue["code"], issue["severity"], issue["message"]]
        assert row[4:7] == [issue["file"], str(issue["row"]), issue["claim_id"]]
        assert row[10] == issue["member_id"] and row[10].startswith("****")
    # The rules table links each code to its first issue row.
    for code in {issue["code"] for issue in issues}:
        assert page.by_id(f"issue-{code}") is not None
        assert f'href="#issue-{code}" data-rule="{code}"' in demo_page.html
    assert f"{len(issues)} issue row(s) shown." in page.all_text() and "not shown" not in page.all_text()


def test_sections_in_order_and_only_when_present(demo_page: DemoPage) -> None:
    text, doc = demo_page.html, demo_page.doc
    order = ["summary", "reconciliation", "rules", "chart", "providers", "skipped-rules", "codesets", "issues"]
    present = [s for s in order if f'<section id="{s}">' in text]
    assert [text.index(f'<section id="{s}">') for s in present] == sorted(
        text.index(f'<section id="{s}">') for s in present
    )
    assert ("skipped-rules" in present) == bool(doc["skipped_rules"])
    assert ("codesets" in present) == bool(doc["codesets"])
    bare = render({"skipped_rules": [], "codesets": []})
    assert 'id="skipped-rules"' not in bare and 'id="codesets"' not in bare
    page = render(
        {
            "skipped_rules": [{"code": "PV030", "reason": "no provider file"}],
            "codesets": [
                {
                    "name": "pos",
                    "title": "Place of service",
                    "mode": "membership",
                    "bundled": True,
                    "releases": [{"source": "CMS", "version": "2025-10", "effective_from": None, "codes": 52}],
                }
            ],
            "ledger": "/var/ledger.sqlite",
            "ledger_run": 7,
        }
    )
    parsed = Page(page)
    sections = [page.index(f'<section id="{s}">') for s in ("providers", "skipped-rules", "codesets", "issues")]
    assert sections == sorted(sections)
    cells = {c for rows in parsed.tables.values() for row in rows for c in row}
    assert {
        "PV030",
        "no provider file",
        "pos",
        "membership",
        "yes",
        "source: CMS; version: 2025-10; codes: 52",
    } <= cells
    assert "/var/ledger.sqlite, run 7" in parsed.all_text()


def test_data_is_escaped_everywhere() -> None:
    sneaky = {
        "status": XSS,
        "message": XSS,
        "layout": '"><img src=x onerror=alert(1)>',
        "inputs": [{"file": XSS, "claims_by_type": {XSS: 1}}],
        "outputs": [{"name": XSS, "sha256": XSS * 3}],
        "reconciliation": {XSS: {"input": {"claims": XSS, "total_charge": XSS}, "balanced": False}},
        "rules": [{"code": '" onmouseover="alert(1)', "severity": XSS, "name": XSS, "summary": XSS, "issues": 3}],
        "providers": [{"npi": XSS, "name": XSS}],
        "skipped_rules": [{"code": XSS, "reason": XSS, XSS: XSS}],
        "codesets": [{XSS: XSS}],
    }
    issues = [
        {"code": XSS, "severity": XSS, "message": XSS, "claim_id": XSS, "file": XSS, "member_id": XSS},
        {"code": '"><script>alert(2)</script>', "message": "</td></tr></table><script>alert(3)</script>"},
    ]
    text = render(sneaky, issues, title=XSS)
    page = Page(text)
    # Only the page's own script element exists; the payloads are text.
    assert [t for t, _ in page.tags].count("script") == 1
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert [t for t, _ in page.tags].count("img") == 0
    assert page.all_text().count(XSS) >= 10
    assert "</table><script>alert(3)</script>" in page.all_text()
    assert text.count("<script>") == 1
    table = page.table("issue-table")
    assert table[1][1:4] == [XSS, XSS, XSS]


def test_real_run_claim_id_with_script_is_text(tmp_path: Path) -> None:
    rows = claim_rows({"mce_claim_id": XSS, "contract_type": "07", "billing_org_name": "<b>EVIL</b> & CO"})
    src = write_mce(tmp_path / "in.txt", rows)
    out = tmp_path / "out"
    api.convert_files([src], out, test_config())
    write_html_report(out / "report.json", out / "errors.jsonl", out / "report.html")
    text = (out / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    assert text.count("<script>") == 1 and "<b>" not in text
    assert page.table("issue-table")[1][6] == XSS
    assert ["1234567893", "<b>EVIL</b> & CO", "1", "1", "1", "0"] in page.table("providers-table")


def test_row_cap_counts_and_points_to_the_files(demo: Path) -> None:
    doc = json.loads((demo / "report.json").read_text())
    written = doc["issues"]["written"]
    out = io.StringIO()
    assert render_html(doc, iter_issues(demo / "errors.jsonl"), out, max_rows=5) == 5
    page = Page(out.getvalue())
    words = page.all_text()
    assert len(page.table("issue-table")) == 1 + 5
    assert f"first 5 of the {written} issues in errors.jsonl" in words
    assert f"{written - 5} more issue(s) in errors.jsonl are not shown" in words
    assert "errors.csv and errors.jsonl" in words
    # 0 means every row, like --max-issues; a negative cap is a mistake.
    assert render_html(doc, iter_issues(demo / "errors.jsonl"), io.StringIO(), max_rows=0) == written
    with pytest.raises(ValueError):
        render_html(doc, [], io.StringIO(), max_rows=-1)


def test_run_issue_cap_is_reported() -> None:
    issues = [{"code": "CL015", "severity": "error", "message": f"m{n}", "row": n} for n in range(3)]
    text = render({"issues": {"total": 40, "written": 3, "truncated": True}}, issues)
    words = Page(text).all_text()
    assert "The run counted 40 issues but wrote only 3" in words and "the 37 others" in words
    assert "--max-issues" in words
    assert "are not shown" not in words


def test_issues_are_streamed_not_collected() -> None:
    out = io.StringIO()

    def issues() -> Iterator[dict[str, Any]]:
        for n in range(1, 2001):
            if 2 < n <= 11:
                # The previous issue's row is on the page before the next one is read.
                assert f">m{n - 1}</td>" in out.getvalue()
            yield {"code": "SV002", "severity": "error", "message": f"m{n}", "row": n}

    assert render_html({}, issues(), out, max_rows=10) == 10
    assert "1,990 more issue(s)" in Page(out.getvalue()).all_text()


def test_self_contained_and_csp_hashes_match(demo_page: DemoPage) -> None:
    text = demo_page.html
    page = Page(text)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "srcset", "xlink:href", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value or value.startswith("#"), (tag, name, value)
        assert tag not in ("link", "img", "iframe", "object", "embed", "base", "form")
    assert "http://" not in text and "https://" not in text and "//" not in "".join(page.styles)
    assert "@import" not in text and "url(" not in text
    assert len(page.scripts) == 1 and len(page.styles) == 1
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    for body in (*page.scripts, *page.styles):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert text.startswith("<!DOCTYPE html>\n") and text.rstrip().endswith("</html>")


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"status": None, "issues": None, "rules": None, "providers": None, "reconciliation": None},
        {"inputs": "x", "outputs": [None, 3, {"name": 5}], "rules": [None, {"code": 5}, {"issues": "many"}]},
        {"reconciliation": {"P": "bad", "all": {"input": {"claims": "n/a", "total_charge": "abc"}, "balanced": None}}},
        {"providers": [1, {"npi": None}], "issues": {"by_code": {"A": 1}, "by_severity": []}, "elapsed_s": True},
        {"codesets": [{}], "skipped_rules": [{"code": "X"}], "recovered": [{"run": 3, "removed": ["a", "b"]}]},
    ],
)
def test_odd_and_minimal_reports_render(report: dict[str, Any]) -> None:
    text = render(report, [{}, {"row": "seven", "line": 2}, {"code": None}])
    page = Page(text)
    assert text.rstrip().endswith("</html>")
    assert page.by_id("issues") is not None and page.by_id("summary") is not None
    assert len(page.table("issue-table")) == 1 + 3


def test_empty_run_says_so() -> None:
    text = render({})
    page = Page(text)
    words = page.all_text()
    assert "report.json holds no reconciliation" in words
    assert "No rule found an issue" in words and "No issues are listed in errors.jsonl" in words
    assert page.by_id("issue-table") is None and "<svg" not in text


def test_older_report_without_rules_charts_counts_by_code() -> None:
    text = render({"issues": {"total": 5, "by_code": {"CL015": 1, "SV002": 4}}})
    rules = Page(text).table("rules-table")
    assert [r[0] for r in rules[1:]] == ["SV002", "CL015"] and rules[1][5] == "4"
    assert "<title>SV002: 4 issue(s)</title>" in text


def test_amounts_cents_and_decimal_strings() -> None:
    rec = {
        "P": {
            "input": {"claims": 1234, "charge": 123456, "paid": -525},
            "accepted": {"claims": 1, "total_charge": "1000000.5", "total_paid": "0"},
            "balanced": False,
        }
    }
    page = Page(render({"reconciliation": rec}))
    rows = page.table("reconciliation-table")
    assert ["P", "input", "1,234", "", "", "1,234.56", "-5.25", "NO"] in rows
    assert ["accepted", "1", "", "", "1,000,000.50", "0.00"] in rows
    assert "NOT RECONCILED" in page.all_text() and "for P;" in page.all_text()


def test_failed_run_banner() -> None:
    words = Page(render({"status": "failed", "message": "pyx12 rejected 837P.x12", "exit_code": 2})).all_text()
    assert "Run failed: pyx12 rejected 837P.x12" in words
    assert "exit code 2 (the run failed)" in words


def test_member_ids_masked_and_values_never_shown(tmp_path: Path) -> None:
    rows = claim_rows({"member_id": "MEMBER98765", "member_dob": "19800231"})
    src = write_mce(tmp_path / "in.txt", rows)
    api.convert_files([src], tmp_path / "masked", test_config())
    masked = tmp_path / "masked"
    write_html_report(masked / "report.json", masked / "errors.jsonl", masked / "report.html")
    text = (masked / "report.html").read_text(encoding="utf-8")
    assert "*******8765" in text
    assert "MEMBER98765" not in text and "19800231" not in text
    # A run with values puts the raw value in errors.jsonl; the page still leaves it out.
    api.convert_files([src], tmp_path / "values", test_config(include_values=True))
    values = tmp_path / "values"
    assert '"value": "19800231"' in (values / "errors.jsonl").read_text()
    write_html_report(values / "report.json", values / "errors.jsonl", values / "report.html")
    text = (values / "report.html").read_text(encoding="utf-8")
    assert "19800231" not in text
    assert "Raw field values are never shown" in Page(text).all_text()


def test_write_html_report_files(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({"status": "complete"}))
    lines = [json.dumps({"code": "CL015", "message": "one"}), "", "{not json", json.dumps({"code": "SV002"})]
    (tmp_path / "errors.jsonl").write_text("\n".join(lines) + "\n")
    target = tmp_path / "html" / "report.html"
    assert write_html_report(tmp_path / "report.json", tmp_path / "errors.jsonl", target) == 3
    table = Page(target.read_text(encoding="utf-8")).table("issue-table")
    assert "line 3 of errors.jsonl is not a JSON object" in table[2][3]
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary file left
    # No errors.jsonl (nothing was written): a page without rows.
    assert write_html_report(tmp_path / "report.json", tmp_path / "missing.jsonl", target) == 0
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ValueError):
        write_html_report(tmp_path / "list.json", tmp_path / "errors.jsonl", target)
