"""report.html in a real headless browser: no console errors, the figures in the rendered DOM, with and without JS.

The filters (severity, claim type, rule, provider) and the provider drill-down
are driven by a small script the test adds after the page's own (its hash added
to the page's Content-Security-Policy): it sets the pickers, follows links and
writes what each table shows into the DOM that ``--dump-dom`` prints.

Chromium is driven from the command line (no extra Python package): ``--dump-dom``
prints the DOM after the page loaded and its scripts ran, and
``--enable-logging=stderr --v=0`` prints every console message on stderr. The
installed Chromium (156, Debian 12) prints them all at INFO level, whatever
their kind::

    [pid:tid:1123/171610.881529:INFO:CONSOLE:2] "deliberate console error", source: file:///…/page.html (2)
    [pid:tid:1123/171610.882891:INFO:CONSOLE:3] "Uncaught TypeError: Cannot read properties of null …", source: …

(older builds write ``INFO:CONSOLE(2)]``), so console.error cannot be told
from console.log there. The page logs nothing by design, so any console line
fails the test: errors, uncaught exceptions, unhandled rejections and
Content-Security-Policy violations all arrive this way.
:func:`test_detector_catches_a_broken_page` proves it on a deliberately broken page.

Without a browser on PATH these tests are skipped, unless
``SENDPRO_REQUIRE_BROWSER=1`` (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sendpro import api
from sendpro.report.html import render_html, write_html_report
from tests.helpers import test_config
from tests.report.test_html import DEMO, Page, money_text

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 60
# Both spellings: "INFO:CONSOLE:2]" (current Chromium) and "INFO:CONSOLE(2)]" (older builds).
CONSOLE_LINE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\]\s*(?P<message>.*)$")


@dataclass
class Loaded:
    """What the browser made of a page."""

    returncode: int
    dom: str
    console: list[str]
    seconds: float


def find_browser() -> str | None:
    """Return the first Chromium-family browser on PATH."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_browser() -> str:
    """Return the browser; skip without one, or fail when CI requires it (SENDPRO_REQUIRE_BROWSER=1)."""
    found = find_browser()
    if found is not None:
        return found
    if os.environ.get("SENDPRO_REQUIRE_BROWSER", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(
            f"SENDPRO_REQUIRE_BROWSER=1 but none of {', '.join(BROWSERS)} is on PATH: "
            "run `make browser` (installs Debian's chromium) or unset SENDPRO_REQUIRE_BROWSER",
            pytrace=False,
        )
    pytest.skip(f"no headless browser on PATH ({', '.join(BROWSERS)}); `make browser` installs Debian's chromium")


def console_messages(stderr: str) -> list[str]:
    """Return the console messages Chromium logged on stderr (each one a failure for our page)."""
    found = []
    for line in stderr.splitlines():
        match = CONSOLE_LINE.search(line)
        if match:
            found.append(match.group("message"))
    return found


def load(browser: str, page: Path, profile: Path) -> Loaded:
    """Open ``page`` headless; return the exit code, the DOM after load and the console messages."""
    args = [
        browser,
        "--headless=new",
        # Root in a container has no usable sandbox; the page is our own, from a temporary directory.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--disable-background-networking",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    args += ["--dump-dom", page.as_uri()]
    started = time.monotonic()
    # Its own process group, so a hung browser is killed with all its helper processes.
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{browser} did not finish loading {page.name} within {TIMEOUT_S} s", pytrace=False)
    stderr = err.decode("utf-8", "replace")
    return Loaded(proc.returncode, out.decode("utf-8", "replace"), console_messages(stderr), time.monotonic() - started)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], tuple[dict[str, Any], Path]]:
    """The demo converted once, with its report.html: made on first use, so a skip costs no conversion."""
    made: list[tuple[dict[str, Any], Path]] = []

    def make() -> tuple[dict[str, Any], Path]:
        if not made:
            out = tmp_path_factory.mktemp("demo-browser") / "out"
            api.convert_files([DEMO], out, test_config())
            write_html_report(out / "report.json", out / "errors.jsonl", out / "report.html")
            made.append((json.loads((out / "report.json").read_text()), out / "report.html"))
        return made[0]

    return make


def test_demo_page_loads_cleanly_and_shows_the_figures(
    demo: Callable[[], tuple[dict[str, Any], Path]], tmp_path: Path
) -> None:
    browser = require_browser()
    doc, page = demo()
    loaded = load(browser, page, tmp_path / "profile")
    assert loaded.returncode == 0
    assert loaded.console == [], "the page logged to the console (errors, exceptions or CSP violations)"
    assert loaded.seconds < TIMEOUT_S
    dom = Page(loaded.dom)
    rec = dom.table("reconciliation-table")
    # The overall rows: input as the demo file holds it, the split as report.json says.
    start = rec.index(["all", "input", "60", "169", "169", "31,598.21", "20,593.82", "yes"])
    everything = doc["reconciliation"]["all"]
    for offset, side in enumerate(("accepted", "rejected", "skipped"), start=1):
        totals = everything[side]
        assert rec[start + offset][:2] == [side, f"{totals['claims']:,}"]
        assert rec[start + offset][4:6] == [money_text(totals["total_charge"]), money_text(totals["total_paid"])]
    assert everything["rejected"]["claims"] > 0
    rules = sorted(doc["rules"], key=lambda r: (-r["issues"], r["code"]))
    top = rules[0]
    first = dom.table("rules-table")[1]
    assert first[0] == top["code"] and first[5] == f"{top['issues']:,}"
    assert f"{top['code']}: {top['issues']:,} issue(s)" in loaded.dom  # the chart's tooltip
    # The script ran: it added the filter box and counted the issue rows.
    written = doc["issues"]["written"]
    assert dom.by_id("issue-filter") is not None and dom.by_id("filter-rule") is not None
    assert f"{written} of {written} issue rows shown" in dom.all_text()
    assert 'class="sort"' in loaded.dom
    assert len(dom.table("issue-table")) == 1 + written
    # The page opens with the fix list: one row per rejected claim, with every reason's code and message.
    claims = reasons_rows(page.parent)
    sections = [attrs.get("id") for tag, attrs in dom.tags if tag == "section"]
    assert sections[:2] == ["fix-list", "risk"]
    fix = dom.table("fix-table")
    assert len(fix) == 1 + len(claims) == 1 + everything["rejected"]["claims"]
    for row, claim in zip(fix[1:], claims, strict=True):
        assert row[2] == claim["claim_id"] and row[4] == claim["billing_name"]
        for message in claim["messages"].split(" | "):
            code, _, reason = message.partition(": ")
            assert f"<li><code>{code}</code> {html.escape(reason, quote=False)}</li>" in loaded.dom
    assert f"{len(claims)} of {len(claims)} claims shown" in dom.all_text()


def test_page_is_complete_without_its_script(demo: Callable[[], tuple[dict[str, Any], Path]], tmp_path: Path) -> None:
    # --blink-settings=scriptEnabled=false also stops --dump-dom (it prints nothing), so
    # JavaScript off is the same page with its one script element removed.
    browser = require_browser()
    doc, page = demo()
    text = page.read_text(encoding="utf-8")
    start = text.rindex("<script>")
    static = tmp_path / "static.html"
    static.write_text(text[:start] + text[text.index("</script>", start) + len("</script>") :], encoding="utf-8")
    loaded = load(browser, static, tmp_path / "profile")
    assert loaded.returncode == 0 and loaded.console == []
    dom = Page(loaded.dom)
    assert dom.by_id("issue-filter") is None and "<script" not in loaded.dom
    assert ["all", "input", "60", "169", "169", "31,598.21", "20,593.82", "yes"] in dom.table("reconciliation-table")
    assert len(dom.table("rules-table")) == 1 + len(doc["rules"])
    assert len(dom.table("issue-table")) == 1 + doc["issues"]["written"]
    assert dom.by_id("rule-chart") is not None
    # The fix list and the dollars at risk need no script either; only the pickers are missing.
    assert len(dom.table("fix-table")) == 1 + len(reasons_rows(page.parent))
    assert dom.by_id("risk-table") is not None and dom.by_id("filter-provider") is None


def test_markup_in_the_data_does_not_run(tmp_path: Path) -> None:
    browser = require_browser()
    evil = '<script>console.error("injected")</script><img src=x onerror="console.error(1)">'
    report = {
        "status": "complete",
        "inputs": [{"file": evil, "rows": 1, "claims": 1}],
        "rules": [{"code": "CL015", "severity": "error", "name": evil, "summary": evil, "issues": 1}],
        "providers": [{"npi": "1234567893", "name": evil, "errors": 1}],
    }
    issues = [{"code": "CL015", "severity": "error", "message": evil, "claim_id": evil, "row": 2}]
    out = io.StringIO()
    render_html(report, issues, out, title=evil)
    page = tmp_path / "report.html"
    page.write_text(out.getvalue(), encoding="utf-8")
    loaded = load(browser, page, tmp_path / "profile")
    assert loaded.returncode == 0
    assert loaded.console == []
    dom = Page(loaded.dom)
    assert [t for t, _ in dom.tags].count("script") == 1 and [t for t, _ in dom.tags].count("img") == 0
    assert dom.table("issue-table")[1][3] == evil and dom.table("issue-table")[1][6] == evil


def test_detector_catches_a_broken_page(tmp_path: Path) -> None:
    """Negative self-check: what the tests above would report if the page were broken."""
    browser = require_browser()
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">"
        '<title>broken</title></head><body><p id="x">static</p>\n'
        '<img src="https://example.invalid/tracker.png" alt="">\n'
        '<script>console.error("deliberate console error");</script>\n'
        "<script>null.boom();</script>\n"
        '<script>Promise.reject(new Error("deliberate rejection"));</script>\n'
        '<script>document.getElementById("x").textContent = "ran";</script>\n'
        "</body></html>\n",
        encoding="utf-8",
    )
    loaded = load(browser, page, tmp_path / "profile")
    assert loaded.returncode == 0
    assert "ran" in loaded.dom
    joined = "\n".join(loaded.console)
    assert "deliberate console error" in joined
    assert "Uncaught TypeError" in joined
    assert "Uncaught (in promise) Error: deliberate rejection" in joined
    assert "Content Security Policy" in joined and "example.invalid" in joined  # blocked, never fetched
    assert len(loaded.console) == 4, loaded.console


# --- the filters and the provider drill-down, driven in the browser ------------------------------------------

#: Run after the page's own script: applies each step's filters (or clicks), then records which rows of each
#: filterable table are visible, the provider drill-down and the location hash, into <pre id="driver-results">.
DRIVER = """(function () {
  "use strict";
  var TABLES = ["fix-table", "risk-table", "provider-risk-table", "provider-rules-table", "rules-table", "issue-table"];
  var STEPS = %s;
  function visible() {
    var seen = {};
    TABLES.forEach(function (id) {
      var rows = [];
      Array.prototype.forEach.call(document.getElementById(id).tBodies[0].rows, function (row, i) {
        if (!row.hidden) { rows.push(i); }
      });
      seen[id] = rows;
    });
    return seen;
  }
  var out = { options: {}, steps: [] };
  ["severity", "type", "rule", "provider"].forEach(function (key) {
    out.options[key] = Array.prototype.map.call(document.getElementById("filter-" + key).options, function (o) {
      return o.value;
    });
  });
  STEPS.forEach(function (step) {
    document.getElementById("filter-clear").click();
    Object.keys(step.filters || {}).forEach(function (key) {
      var select = document.getElementById("filter-" + key);
      select.value = step.filters[key];
      select.dispatchEvent(new Event("change"));
    });
    if (step.click) { document.querySelector(step.click).click(); }
    var detail = document.getElementById("provider-detail");
    out.steps.push({
      rows: visible(),
      provider: document.getElementById("filter-provider").value,
      detail: detail.hidden ? null : detail.textContent,
      status: document.getElementById("fix-filter-status").textContent,
      hash: location.hash
    });
  });
  var pre = document.createElement("pre");
  pre.id = "driver-results";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}());"""


def with_driver(text: str, steps: list[dict[str, Any]]) -> str:
    """Return the page with the driver script added after its own, and the driver's hash added to the CSP."""
    driver = DRIVER % json.dumps(steps)
    digest = base64.b64encode(hashlib.sha256(driver.encode("utf-8")).digest()).decode("ascii")
    # The page writes the policy's quotes as &#39; (autoescaped attribute): the browser reads them as quotes.
    text, n = re.subn(
        r"script-src (&#39;sha256-[^&]+&#39;)", rf"script-src \1 &#39;sha256-{digest}&#39;", text, count=1
    )
    assert n == 1
    end = text.rindex("</body>")
    return text[:end] + f"<script>{driver}</script>\n" + text[end:]


def reasons_rows(directory: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(directory.glob("rejects_*.reasons.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows += [
                {**r, "rejects_file": path.name.removesuffix(".reasons.csv") + ".txt"} for r in csv.DictReader(handle)
            ]
    return rows


def indices(items: list[Any], keep: Callable[[Any], bool]) -> list[int]:
    return [n for n, item in enumerate(items) if keep(item)]


def test_filters_and_provider_drill_down(demo: Callable[[], tuple[dict[str, Any], Path]], tmp_path: Path) -> None:
    browser = require_browser()
    doc, page = demo()
    claims = reasons_rows(page.parent)
    issues = [json.loads(line) for line in (page.parent / "errors.jsonl").read_text().splitlines()]
    text = page.read_text(encoding="utf-8")
    static = Page(text)
    risk = [r[0] for r in static.table("risk-table")[1:]]
    provider_risk = [r[0] for r in static.table("provider-risk-table")[1:]]
    provider_rules = [(r[0], r[2]) for r in static.table("provider-rules-table")[1:]]
    rules = [r[0] for r in static.table("rules-table")[1:]]
    severity = {r["code"]: r["severity"] for r in doc["rules"]}
    # The rule that rejected most claims, the provider with most rejected claims, a professional-claim rule.
    rule = Counter(c for row in claims for c in row["codes"].split()).most_common(1)[0][0]
    npi, count = Counter(row["billing_npi"] for row in claims).most_common(1)[0]
    assert count >= 2, "the demo has a provider with several rejected claims"
    name = next(row["billing_name"] for row in claims if row["billing_npi"] == npi)
    p_rule = next(row["codes"].split()[0] for row in claims if row["claim_type"] == "P")
    of_provider = {(row["rejects_file"], row["claim_id"]) for row in claims if row["billing_npi"] == npi}
    steps: list[dict[str, Any]] = [
        {},
        {"filters": {"severity": "warning"}},
        {"filters": {"type": "D"}},
        {"filters": {"rule": rule}},
        {"filters": {"provider": npi}},
        {"filters": {"type": "P", "rule": p_rule}},
        {"click": f'#provider-risk-table a[data-pick-provider="{npi}"]'},
        {"click": '#issue-table a[href^="#claim-"]'},
    ]
    driven = tmp_path / "driven.html"
    driven.write_text(with_driver(text, steps), encoding="utf-8")
    loaded = load(browser, driven, tmp_path / "profile")
    assert loaded.returncode == 0
    assert loaded.console == [], "the page or the driver logged to the console"
    pre = re.search(r'<pre id="driver-results">(.*?)</pre>', loaded.dom, re.S)
    assert pre, "the driver did not run"
    result = json.loads(html.unescape(pre.group(1)))
    # The pickers offer what the tables hold.
    options = result["options"]
    assert options["severity"][0] == "" and {"error", "warning"} <= set(options["severity"])
    assert options["type"] == ["", "D", "I", "P"]
    assert {c for row in claims for c in row["codes"].split()} | set(rules) <= set(options["rule"])
    assert {row["billing_npi"] for row in claims} <= set(options["provider"])
    everything, warning, dental, by_rule, by_provider, combined, drill, link = result["steps"]

    # No filter: every row.
    assert everything["rows"]["fix-table"] == list(range(len(claims)))
    assert everything["rows"]["issue-table"] == list(range(len(issues)))
    assert everything["status"] == f"{len(claims)} of {len(claims)} claims shown" and everything["detail"] is None
    # Severity: rejected claims are rejected for errors, so a warning shows none of them.
    assert warning["rows"]["fix-table"] == [] and warning["rows"]["risk-table"] == []
    assert warning["rows"]["issue-table"] == indices(issues, lambda i: i["severity"] == "warning") != []
    assert warning["rows"]["rules-table"] == indices(rules, lambda code: severity[code] == "warning")
    assert warning["status"] == f"0 of {len(claims)} claims shown"
    # Claim type: the claims of that rejects file and their issues.
    assert dental["rows"]["fix-table"] == indices(claims, lambda c: c["claim_type"] == "D") != []
    assert dental["rows"]["issue-table"] == indices(issues, lambda i: i.get("rejects_file") == "rejects_D.txt")
    # Rule: the claims it rejected, its issues, its rows in the rule tables.
    assert by_rule["rows"]["fix-table"] == indices(claims, lambda c: rule in c["codes"].split())
    assert by_rule["rows"]["issue-table"] == indices(issues, lambda i: i["code"] == rule)
    assert by_rule["rows"]["risk-table"] == [risk.index(rule)]
    assert by_rule["rows"]["rules-table"] == [rules.index(rule)]
    assert by_rule["rows"]["provider-rules-table"] == indices(provider_rules, lambda pr: pr[1] == rule)
    # Provider: its claims, their issues, its rows.
    assert by_provider["rows"]["fix-table"] == indices(claims, lambda c: c["billing_npi"] == npi)
    assert (
        by_provider["rows"]["issue-table"]
        == indices(issues, lambda i: (i.get("rejects_file"), i.get("claim_id")) in of_provider)
        != []
    )
    assert by_provider["rows"]["provider-risk-table"] == [provider_risk.index(npi)]
    assert by_provider["rows"]["provider-rules-table"] == indices(provider_rules, lambda pr: pr[0] == npi)
    # Filters combine.
    assert (
        combined["rows"]["fix-table"]
        == indices(claims, lambda c: c["claim_type"] == "P" and p_rule in c["codes"].split())
        != []
    )
    assert combined["rows"]["issue-table"] == indices(
        issues, lambda i: i["code"] == p_rule and i.get("rejects_file") == "rejects_P.txt"
    )
    # The drill-down: following a provider's NPI picks it and says what is at risk there.
    assert drill["provider"] == npi and drill["rows"] == by_provider["rows"]
    mine = [c for c in claims if c["billing_npi"] == npi]
    charge = sum(Decimal(c["charge"]) for c in mine)
    paid = sum(Decimal(c["paid"]) for c in mine)
    assert drill["detail"].startswith(f"Provider {npi} {name}")
    assert f"{len(mine)} rejected claim(s), charge ${charge:,.2f}, paid ${paid:,.2f}; rules: " in drill["detail"]
    assert drill["hash"] == "#fix-list"
    # An issue's claim id leads to its claim's row in the fix list.
    first = next(i for i in issues if i.get("rejects_file"))
    kind = first["rejects_file"].removeprefix("rejects_").removesuffix(".txt")
    assert link["hash"] == f"#claim-{kind}-{first['claim_id']}"
    assert link["detail"] is None and link["rows"] == everything["rows"]
