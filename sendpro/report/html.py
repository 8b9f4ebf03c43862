"""HTML run report (``report.html``): one self-contained page an analyst opens in a browser.

The page is built from what a run already wrote, ``report.json`` and
``errors.jsonl``, so it can be rendered again later for any output directory.
It loads nothing: styles and a small script are inline, the chart is inline
SVG, and a Content-Security-Policy (with the hashes of that style and script)
makes the browser refuse any other request, so the page also works offline and
leaks nothing when opened from a mail attachment or a shared drive.

Everything read from the two files is escaped: claim ids, messages and file
names come from the user's extract. The script embeds no data at all; it only
reads the table the page already shows, so the page is complete with
JavaScript off (the script adds a filter box, a rule picker and sortable
columns to the issue list).

The issue list is streamed: each issue is written as it is read and at most
``max_rows`` rows are written, so memory does not grow with errors.jsonl.
Raw ``value`` fields are never shown (they are protected health information,
and report.json does not say whether the run asked for them); member ids are
shown exactly as errors.jsonl holds them (masked unless the run used
``--include-values``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

#: Issue rows written to the page by default (errors.jsonl and errors.csv hold them all).
DEFAULT_MAX_ROWS = 5000

#: Bars drawn in the rule chart; the rules table below it lists every rule anyway.
MAX_CHART_BARS = 40

_SEVERITIES = ("error", "warning", "info")
_SIDES = ("input", "accepted", "rejected", "skipped")
_EXIT_CODES = {0: "every claim accepted", 1: "some claims rejected", 2: "the run failed"}

_STYLE = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --line: #d1d9e0;
  --head: #f6f8fa; --error: #cf222e; --warning: #9a6700; --info: #0969da; --ok: #1a7f37; --bar: #8c959f; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1;
  --line: #3d444d; --head: #151b23; --error: #ff7b72; --warning: #d29922; --info: #58a6ff; --ok: #3fb950;
  --bar: #656c76; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1500px; padding: 1rem 1.5rem 3rem; color: var(--fg); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.5rem; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; padding-bottom: .2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
nav ul { list-style: none; padding: 0; margin: .5rem 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
a { color: var(--info); }
.muted, .note, caption { color: var(--muted); }
caption { text-align: left; caption-side: top; padding: .2rem 0; }
.banner { border: 2px solid var(--error); border-radius: 6px; padding: .6rem .9rem; margin: .8rem 0;
  font-weight: 600; }
.banner.ok { border-color: var(--ok); font-weight: normal; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .3rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: .22rem .55rem; text-align: left; vertical-align: top; }
thead th { background: var(--head); position: sticky; top: 0; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody.all th, tbody.all td { font-weight: 600; }
tbody.type { border-top: 2px solid var(--line); }
td.code, td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
td.msg { min-width: 22rem; }
.sev-error .sev, .no { color: var(--error); font-weight: 600; }
.sev-warning .sev { color: var(--warning); font-weight: 600; }
.sev-info .sev { color: var(--info); }
.yes { color: var(--ok); font-weight: 600; }
svg.chart { max-width: 100%; height: auto; }
svg.chart text { fill: var(--fg); font-size: 12px; }
svg.chart text.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg.chart rect { fill: var(--bar); }
svg.chart .sev-error rect { fill: var(--error); }
svg.chart .sev-warning rect { fill: var(--warning); }
svg.chart .sev-info rect { fill: var(--info); }
.tools { display: flex; flex-wrap: wrap; gap: .5rem 1.2rem; align-items: center; margin: .5rem 0; }
.tools input { min-width: 18rem; }
th button.sort { font: inherit; font-weight: 600; color: inherit; background: none; border: 0; padding: 0;
  cursor: pointer; }
th[aria-sort=ascending] button.sort::after { content: " \\25B2"; }
th[aria-sort=descending] button.sort::after { content: " \\25BC"; }
tr:target { outline: 2px solid var(--info); }
footer { margin-top: 2rem; color: var(--muted); font-size: .9em; }
@media print { .tools, nav { display: none; } thead th { position: static; } }
"""

# Vanilla JS, no data inside: it reads the issue table the page already shows.
# Any change here changes its CSP hash, which is computed below, never by hand.
_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("issue-table");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  var tools = document.createElement("div");
  tools.className = "tools";
  tools.id = "issue-tools";
  var label = document.createElement("label");
  label.textContent = "Filter ";
  var box = document.createElement("input");
  box.type = "search";
  box.id = "issue-filter";
  box.placeholder = "code, claim id, field, message";
  label.appendChild(box);
  var ruleLabel = document.createElement("label");
  ruleLabel.textContent = "Rule ";
  var select = document.createElement("select");
  select.id = "issue-rule";
  var codes = [];
  rows.forEach(function (row) {
    var code = row.getAttribute("data-code") || "";
    if (codes.indexOf(code) < 0) { codes.push(code); }
  });
  [""].concat(codes.sort()).forEach(function (code, i) {
    var option = document.createElement("option");
    option.value = code;
    option.textContent = i === 0 ? "all rules" : (code || "(no code)");
    select.appendChild(option);
  });
  ruleLabel.appendChild(select);
  var status = document.createElement("span");
  status.id = "issue-filter-status";
  status.setAttribute("aria-live", "polite");
  tools.appendChild(label);
  tools.appendChild(ruleLabel);
  tools.appendChild(status);
  var holder = table.parentNode;
  holder.parentNode.insertBefore(tools, holder);

  function apply() {
    var query = box.value.trim().toLowerCase();
    var code = select.value;
    var shown = 0;
    rows.forEach(function (row, i) {
      var hit = (!code || row.getAttribute("data-code") === code) && (!query || texts[i].indexOf(query) >= 0);
      row.hidden = !hit;
      if (hit) { shown += 1; }
    });
    status.textContent = shown + " of " + rows.length + " issue rows shown";
  }
  box.addEventListener("input", apply);
  select.addEventListener("change", apply);
  // A rule code elsewhere on the page links to its first issue row; following it narrows the list to that rule.
  Array.prototype.forEach.call(document.querySelectorAll("a[data-rule]"), function (link) {
    link.addEventListener("click", function () {
      var code = link.getAttribute("data-rule");
      if (codes.indexOf(code) >= 0) { select.value = code; box.value = ""; apply(); }
    });
  });

  var headers = table.tHead.rows[0].cells;
  var sortColumn = -1;
  var direction = 1;
  function sortBy(column, numeric) {
    direction = column === sortColumn ? -direction : 1;
    sortColumn = column;
    var keyed = rows.map(function (row, i) {
      var text = row.cells[column] ? row.cells[column].textContent : "";
      var key = text.toLowerCase();
      if (numeric) {
        key = text === "" ? Infinity : Number(text.replace(/,/g, ""));
        if (isNaN(key)) { key = Infinity; }
      }
      return { row: row, index: i, key: key };
    });
    keyed.sort(function (a, b) {
      if (a.key < b.key) { return -direction; }
      if (a.key > b.key) { return direction; }
      return a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
  }
  Array.prototype.forEach.call(headers, function (th, column) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.title = "Sort by this column";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    button.addEventListener("click", function () {
      sortBy(column, th.classList.contains("num"));
      Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
    });
  });
  apply();
}());
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Only this style and this script may run, and nothing may be fetched: the page is
# self-contained by construction, and injected markup could not run even if escaping failed.
_CSP = (
    f"default-src 'none'; style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)

# Issue table columns: (header, issue keys in order of preference, cell class).
_ISSUE_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("code", ("code",), "code"),
    ("severity", ("severity",), "sev"),
    ("message", ("message",), "msg"),
    ("file", ("file",), ""),
    ("row", ("row",), "num"),
    ("claim id", ("claim_id",), "mono"),
    ("line", ("line_number", "line"), "num"),
    ("field", ("field",), "mono"),
    ("X12 path / NCPDP field", ("x12_path", "ncpdp_field"), "mono"),
    ("member id", ("member_id",), "mono"),
)


def render_html(
    report: Mapping[str, Any],
    issues: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    title: str = "sendpro run report",
) -> int:
    """Write the HTML run report, one complete self-contained page, to ``out``.

    Every key of ``report`` and of each issue is optional, so reports of older
    versions and failed runs render too. Issues are written as they are read.

    Args:
        report: the parsed ``report.json`` of a run.
        issues: the issues of ``errors.jsonl`` in file order (read lazily).
        out: where the page is written (text, UTF-8 when it is a file).
        max_rows: issue rows written at most (0: all); the rest are counted and
            the page says how many are only in errors.jsonl / errors.csv.
        title: the page title.

    Returns:
        The number of issue rows written.

    Raises:
        ValueError: ``max_rows`` is negative.
    """
    if max_rows < 0:
        raise ValueError(f"max_rows must be 0 (all) or more, not {max_rows}")
    _head(out, title)
    out.write(f"<header>\n<h1>{_e(title)}</h1>\n")
    out.write(_nav(report))
    out.write("</header>\n<main>\n")
    _summary(out, report)
    _reconciliation(out, _mapping(report.get("reconciliation")))
    rules = _rules(report)
    _rules_table(out, rules)
    _chart(out, rules)
    _providers(out, _records(report.get("providers")))
    _generic_section(
        out, "skipped-rules", "Skipped rules", _records(report.get("skipped_rules")), ("code", "name", "reason")
    )
    _generic_section(out, "codesets", "Code sets", _records(report.get("codesets")), ("name", "title", "mode"))
    shown = _issue_list(out, report, issues, max_rows)
    out.write("</main>\n")
    _footer(out, report)
    out.write(f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")
    return shown


def write_html_report(report_json: Path, errors_jsonl: Path, out_path: Path, max_rows: int = DEFAULT_MAX_ROWS) -> int:
    """Write ``report.html`` for a run from its ``report.json`` and ``errors.jsonl``.

    errors.jsonl is read line by line, never whole; a missing errors.jsonl
    gives a page without issue rows. The page is written to a temporary file
    next to ``out_path`` and renamed, so a reader never sees half a page.

    Args:
        report_json: the run's report.json.
        errors_jsonl: the run's errors.jsonl.
        out_path: the page to write (usually ``report.html`` in the output directory).
        max_rows: issue rows written at most (0: all).

    Returns:
        The number of issue rows written.

    Raises:
        OSError: report.json cannot be read or the page cannot be written.
        ValueError: report.json is not a JSON object.
    """
    report = json.loads(report_json.read_text(encoding="utf-8"))
    if not isinstance(report, dict):
        raise ValueError(f"{report_json} does not hold a JSON object")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name follows sendpro.outputs, so a run cleans up what a killed writer left behind.
    temp = out_path.with_name(f".{out_path.name}.sendpro-{os.getpid()}.tmp")
    try:
        with temp.open("x", encoding="utf-8", newline="\n") as handle:
            shown = render_html(report, iter_issues(errors_jsonl), handle, max_rows=max_rows)
        os.replace(temp, out_path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return shown


def iter_issues(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the issues of an errors.jsonl file one line at a time.

    A line that is not a JSON object (a file cut short) becomes an issue that
    names it, so the page shows the damage instead of failing. A missing file
    yields nothing.
    """
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                yield record
            else:
                yield {
                    "severity": "error",
                    "message": f"line {number} of {path.name} is not a JSON object; it was left out",
                    "file": path.name,
                    "row": number,
                }


# --- page parts ---------------------------------------------------------------------------------


def _head(out: TextIO, title: str) -> None:
    out.write(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="generator" content="sendpro">\n'
        f"<title>{_e(title)}</title>\n"
        f"<style>{_STYLE}</style>\n"
        "</head>\n<body>\n"
    )


def _nav(report: Mapping[str, Any]) -> str:
    links = [
        ("summary", "Run summary"),
        ("reconciliation", "Reconciliation"),
        ("rules", "Errors by rule"),
        ("chart", "Chart"),
        ("providers", "Providers"),
    ]
    if _records(report.get("skipped_rules")):
        links.append(("skipped-rules", "Skipped rules"))
    if _records(report.get("codesets")):
        links.append(("codesets", "Code sets"))
    links.append(("issues", "Issues"))
    items = "".join(f'<li><a href="#{anchor}">{text}</a></li>' for anchor, text in links)
    return f'<nav aria-label="Sections"><ul>{items}</ul></nav>\n'


def _summary(out: TextIO, report: Mapping[str, Any]) -> None:
    out.write('<section id="summary">\n<h2>Run summary</h2>\n')
    status = report.get("status")
    if status is not None and status != "complete":
        message = report.get("message")
        why = f": {_e(message)}" if message else ""
        out.write(f'<p class="banner" role="alert">Run {_e(status)}{why}</p>\n')
    unbalanced = _unbalanced(_mapping(report.get("reconciliation")))
    if unbalanced:
        out.write(
            '<p class="banner" role="alert">NOT RECONCILED: input is not accepted + rejected + skipped for '
            f"{_e(', '.join(unbalanced))}; the outputs do not account for every input claim "
            "(see the reconciliation table).</p>\n"
        )
    facts: list[tuple[str, str]] = []
    if status is not None:
        facts.append(("status", _e(status)))
    exit_code = report.get("exit_code")
    if exit_code is not None:
        meaning = _EXIT_CODES.get(exit_code) if isinstance(exit_code, int) else None
        facts.append(("exit code", _e(exit_code) + (f" ({meaning})" if meaning else "")))
    if report.get("message") and status == "complete":
        facts.append(("message", _e(report["message"])))
    for key, label in (("started_at", "started"), ("finished_at", "finished")):
        if report.get(key) is not None:
            facts.append((label, _e(report[key])))
    if isinstance(report.get("elapsed_s"), int | float) and not isinstance(report.get("elapsed_s"), bool):
        facts.append(("elapsed", f"{report['elapsed_s']:,.3f} s"))
    for key, label in (
        ("layout", "layout"),
        ("ncpdp_layout", "NCPDP layout"),
        ("profile", "profile"),
        ("usage", "usage (ISA15)"),
        ("output_validation", "output validation"),
        ("sendpro_version", "sendpro version"),
    ):
        if report.get(key) is not None:
            facts.append((label, _e(report[key])))
    if report.get("ledger") is not None:
        run = report.get("ledger_run")
        facts.append(("ledger", _e(report["ledger"]) + (f", run {_e(run)}" if run is not None else "")))
    counts = _mapping(report.get("issues"))
    if counts:
        facts.append(("issues", _issue_counts(counts)))
    if isinstance(report.get("rules_run"), int):
        fired = len(_records(report.get("rules")))
        facts.append(("rules", f"{report['rules_run']:,} ran, {fired:,} found issues"))
    if facts:
        out.write('<dl class="facts">\n')
        out.writelines(f"<dt>{label}</dt><dd>{value}</dd>\n" for label, value in facts)
        out.write("</dl>\n")
    inputs = _records(report.get("inputs"))
    if inputs:
        out.write("<h3>Inputs</h3>\n")
        _table(
            out,
            (
                ("file", ""),
                ("layout", ""),
                ("rows", "num"),
                ("claims", "num"),
                ("split claims", "num"),
                ("by type", ""),
            ),
            (
                (
                    _e(i.get("file")),
                    _e(i.get("layout")),
                    _count(i.get("rows")),
                    _count(i.get("claims")),
                    _count(i.get("split_claims")),
                    _e(", ".join(f"{k} {_plain(v)}" for k, v in _mapping(i.get("claims_by_type")).items())),
                )
                for i in inputs
            ),
        )
    outputs = _records(report.get("outputs"))
    if outputs:
        out.write("<h3>Outputs</h3>\n")
        _table(
            out,
            (
                ("name", ""),
                ("kind", ""),
                ("claim type", ""),
                ("claims", "num"),
                ("lines", "num"),
                ("segments", "num"),
                ("ISA13", "num"),
                ("version", ""),
                ("bytes", "num"),
                ("sha256", "mono"),
            ),
            (
                (
                    _e(o.get("name")),
                    _e(o.get("kind")),
                    _e(o.get("claim_type")),
                    _count(o.get("claims")),
                    _count(o.get("lines")),
                    _count(o.get("segments")),
                    _e(o.get("interchange_control")),
                    _e(o.get("version")),
                    _count(o.get("bytes")),
                    _short_hash(o.get("sha256")),
                )
                for o in outputs
            ),
        )
    recovered = _records(report.get("recovered"))
    if recovered:
        out.write("<h3>Recovered runs</h3>\n<p>Runs that died while publishing, closed by this run:</p>\n")
        _generic_table(out, recovered, ("run", "died_while", "removed"))
    out.write("</section>\n")


def _reconciliation(out: TextIO, rec: Mapping[str, Any]) -> None:
    out.write('<section id="reconciliation">\n<h2>Reconciliation</h2>\n')
    kinds = [k for k in rec if k != "all" and isinstance(rec[k], Mapping)]
    if "all" in rec and isinstance(rec["all"], Mapping):
        kinds.append("all")
    if not kinds:
        out.write('<p class="note">report.json holds no reconciliation.</p>\n</section>\n')
        return
    out.write(
        '<p class="note">Input = accepted + rejected + skipped, per claim type and overall; '
        "amounts in dollars (claim total charge and paid).</p>\n"
        '<div class="scroll"><table id="reconciliation-table">\n<thead><tr><th>claim type</th><th>side</th>'
        '<th class="num">claims</th><th class="num">lines</th><th class="num">rows</th>'
        '<th class="num">charge ($)</th><th class="num">paid ($)</th><th>balanced</th></tr></thead>\n'
    )
    for kind in kinds:
        entry = _mapping(rec[kind])
        sides = [s for s in _SIDES if isinstance(entry.get(s), Mapping)]
        label = kind
        out.write(f'<tbody class="{"all" if kind == "all" else "type"}">\n')
        if not sides:
            out.write(f'<tr><th scope="row">{_e(label)}</th><td colspan="6"></td>{_balanced(entry)}</tr>\n')
        for n, side in enumerate(sides):
            totals = _mapping(entry[side])
            lead = f'<th scope="rowgroup" rowspan="{len(sides)}">{_e(label)}</th>' if n == 0 else ""
            tail = _balanced(entry, len(sides)) if n == 0 else ""
            out.write(
                f"<tr>{lead}<td>{side}</td>"
                f'<td class="num">{_count(totals.get("claims"))}</td>'
                f'<td class="num">{_count(totals.get("lines"))}</td>'
                f'<td class="num">{_count(totals.get("rows"))}</td>'
                f'<td class="num">{_amount(totals, "charge")}</td>'
                f'<td class="num">{_amount(totals, "paid")}</td>{tail}</tr>\n'
            )
        out.write("</tbody>\n")
    out.write("</table></div>\n</section>\n")


def _rules(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the rules that fired, most issues first; older reports only have counts by code."""
    rules = _records(report.get("rules"))
    if not rules:
        by_code = _mapping(_mapping(report.get("issues")).get("by_code"))
        rules = [{"code": code, "issues": n} for code, n in by_code.items()]
    return sorted(rules, key=lambda r: (-_int(r.get("issues")), str(r.get("code", ""))))


def _rules_table(out: TextIO, rules: Sequence[Mapping[str, Any]]) -> None:
    out.write('<section id="rules">\n<h2>Errors by rule</h2>\n')
    if not rules:
        out.write('<p class="note">No rule found an issue.</p>\n</section>\n')
        return
    out.write(
        '<p class="note">Rate = claims with an issue of the rule / claims the rule applies to. '
        "A rule code links to its first issue below.</p>\n"
    )
    _table(
        out,
        (
            ("code", "code"),
            ("severity", ""),
            ("name", "mono"),
            ("summary", ""),
            ("source", ""),
            ("issues", "num"),
            ("claims", "num"),
            ("applies", "num"),
            ("rate", "num"),
        ),
        (
            (
                _rule_link(r.get("code")),
                f'<span class="sev">{_e(r.get("severity"))}</span>',
                _e(r.get("name")),
                _e(r.get("summary")),
                _e(r.get("source")),
                _count(r.get("issues")),
                _count(r.get("claims")),
                _count(r.get("applies")),
                _rate(r),
            )
            for r in rules
        ),
        row_class=lambda i: _severity_class(rules[i].get("severity")),
        table_id="rules-table",
    )
    out.write("</section>\n")


def _chart(out: TextIO, rules: Sequence[Mapping[str, Any]]) -> None:
    out.write('<section id="chart">\n<h2>Chart of errors by rule</h2>\n')
    bars = [r for r in rules if _int(r.get("issues")) > 0][:MAX_CHART_BARS]
    if not bars:
        out.write('<p class="note">Nothing to chart: no rule found an issue.</p>\n</section>\n')
        return
    label_w, bar_w, count_w, row_h, top = 78, 560, 70, 22, 6
    width = label_w + bar_w + count_w
    height = top * 2 + row_h * len(bars)
    most = max(_int(r.get("issues")) for r in bars)
    out.write(
        f'<svg class="chart" id="rule-chart" role="img" aria-labelledby="rule-chart-title" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">\n'
        '<title id="rule-chart-title">Issues by rule code, most first</title>\n'
    )
    for n, rule in enumerate(bars):
        issues = _int(rule.get("issues"))
        y = top + n * row_h
        w = max(2, round(issues / most * bar_w))
        tip = f"{rule.get('code', '')}: {issues:,} issue(s)"
        if rule.get("claims") is not None:
            tip += f" on {_int(rule.get('claims')):,} claim(s)"
        if rule.get("name"):
            tip += f" ({rule['name']})"
        if rule.get("summary"):
            tip += f". {rule['summary']}"
        out.write(
            f'<g class="{_severity_class(rule.get("severity"))}"><title>{_e(tip)}</title>'
            f'<text class="code" x="0" y="{y + 15}">{_e(rule.get("code"))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row_h - 6}" rx="2"></rect>'
            f'<text class="count" x="{label_w + w + 6}" y="{y + 15}">{issues:,}</text></g>\n'
        )
    out.write("</svg>\n")
    out.write('<p class="note">Bars: red error, amber warning, blue info; hover a bar for the rule.</p>\n')
    if len(rules) > len(bars):
        out.write(f'<p class="note">The {MAX_CHART_BARS} rules with the most issues; the table lists all.</p>\n')
    out.write("</section>\n")


def _providers(out: TextIO, providers: Sequence[Mapping[str, Any]]) -> None:
    out.write('<section id="providers">\n<h2>Top providers by errors</h2>\n')
    if not providers:
        out.write('<p class="note">No provider had an issue (or report.json does not list providers).</p>\n')
        out.write("</section>\n")
        return
    out.write('<p class="note">Billing providers (pharmacies for pharmacy claims) with the most errors.</p>\n')
    _table(
        out,
        (
            ("NPI", "mono"),
            ("name", ""),
            ("claims", "num"),
            ("claims with errors", "num"),
            ("errors", "num"),
            ("warnings", "num"),
        ),
        (
            (
                _e(p.get("npi")),
                _e(p.get("name")),
                _count(p.get("claims")),
                _count(p.get("claims_with_errors")),
                _count(p.get("errors")),
                _count(p.get("warnings")),
            )
            for p in providers
        ),
        table_id="providers-table",
    )
    out.write("</section>\n")


def _generic_section(
    out: TextIO, anchor: str, heading: str, records: Sequence[Mapping[str, Any]], first: Sequence[str]
) -> None:
    # Shown only when present: most runs skip no rule, and code sets vary by profile.
    if not records:
        return
    out.write(f'<section id="{anchor}">\n<h2>{heading}</h2>\n')
    _generic_table(out, records, first)
    out.write("</section>\n")


def _issue_list(out: TextIO, report: Mapping[str, Any], issues: Iterable[Mapping[str, Any]], max_rows: int) -> int:
    out.write('<section id="issues">\n<h2>Issues</h2>\n')
    counts = _mapping(report.get("issues"))
    written = counts.get("written")
    # The exact count of rows left out is known only at the end; report.json says in advance whether there will be any.
    if max_rows and isinstance(written, int) and written > max_rows:
        out.write(
            f'<p class="banner">This page lists the first {max_rows:,} of the {written:,} issues in errors.jsonl; '
            'the rest are in errors.csv and errors.jsonl (see <a href="#issues-not-shown">below</a>).</p>\n'
        )
    out.write(
        '<p class="note">In errors.jsonl order (input row order): # is the position in errors.jsonl, row the '
        "physical line of the input file (the header row is line 1). Raw values are never shown here.</p>\n"
    )
    shown = 0
    seen = 0
    anchored: set[str] = set()
    for issue in issues:
        seen += 1
        if max_rows and shown >= max_rows:
            continue  # keep counting: the page says how many are not shown
        if shown == 0:
            header = "".join(
                f'<th scope="col"{_class(cls if cls == "num" else "")}>{_e(label)}</th>'
                for label, _, cls in _ISSUE_COLUMNS
            )
            out.write(
                '<div class="scroll"><table id="issue-table">\n'
                f'<thead><tr><th scope="col" class="num">#</th>{header}</tr></thead>\n<tbody>\n'
            )
        shown += 1
        code = _text(issue.get("code"))
        # The first row of each rule is the target of that rule's link in the rules table.
        row_id = ""
        if code not in anchored:
            anchored.add(code)
            row_id = f' id="{_e(_anchor(code))}"'
        cells = "".join(f"<td{_class(cls)}>{_e(_first(issue, keys))}</td>" for _, keys, cls in _ISSUE_COLUMNS)
        out.write(
            f'<tr{row_id} class="{_severity_class(issue.get("severity"))}" data-code="{_e(code)}">'
            f'<td class="num">{seen:,}</td>{cells}</tr>\n'
        )
    if shown:
        out.write("</tbody>\n</table></div>\n")
    else:
        out.write('<p id="no-issues">No issues are listed in errors.jsonl.</p>\n')
    _issue_notes(out, counts, shown, seen - shown)
    out.write("</section>\n")
    return shown


def _issue_notes(out: TextIO, counts: Mapping[str, Any], shown: int, not_shown: int) -> None:
    notes = [f"{shown:,} issue row(s) shown."]
    if not_shown:
        notes.append(
            f"<strong>{not_shown:,} more issue(s) in errors.jsonl are not shown</strong> (this page shows at most "
            f"{shown:,}); every issue is in errors.csv and errors.jsonl."
        )
    total, written = counts.get("total"), counts.get("written")
    if counts.get("truncated") is True or (isinstance(total, int) and isinstance(written, int) and total > written):
        if isinstance(total, int) and isinstance(written, int):
            notes.append(
                f"<strong>The run counted {total:,} issues but wrote only {written:,}</strong> to errors.jsonl and "
                f"errors.csv (its issue cap); the {total - written:,} others are in the counts above only. "
                "Run again with a higher --max-issues (0: all) to list them."
            )
        else:
            notes.append(
                "<strong>The run wrote only part of its issues</strong> to errors.jsonl and errors.csv (its issue "
                "cap); run again with a higher --max-issues (0: all) to list them."
            )
    out.write(f'<p id="issues-not-shown" class="note">{" ".join(notes)}</p>\n')


def _footer(out: TextIO, report: Mapping[str, Any]) -> None:
    version = report.get("sendpro_version")
    made = f"sendpro {_e(version)}" if version else "sendpro"
    out.write(
        f"<footer>\n<p>Made by {made} from report.json and errors.jsonl. This page loads nothing from the network; "
        "it works offline and with JavaScript off (JavaScript adds filtering and sorting to the issue list).</p>\n"
        "<p>Protected health information: member ids are shown as errors.jsonl holds them (masked to the last "
        "four characters unless the run used --include-values). Raw field values are never shown on this page, "
        "because report.json does not record whether the run asked for them; a run with --include-values has "
        "them in errors.jsonl and errors.csv.</p>\n</footer>\n"
    )


# --- helpers ------------------------------------------------------------------------------------


def _e(value: object) -> str:
    """Return ``value`` as escaped text for an element or a double-quoted attribute (None is empty)."""
    return html.escape(_text(value), quote=True)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _plain(value: object) -> str:
    """Return a count with thousands separators, anything else as text (unescaped)."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _text(value)


def _count(value: object) -> str:
    return _e(_plain(value))


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _first(issue: Mapping[str, Any], keys: Sequence[str]) -> object:
    for key in keys:
        if issue.get(key) not in (None, ""):
            return issue[key]
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _records(value: object) -> list[Mapping[str, Any]]:
    """Return the mappings of a list (anything else in report.json is ignored, not fatal)."""
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def _class(name: str) -> str:
    return f' class="{name}"' if name else ""


def _severity_class(severity: object) -> str:
    # Only known words become class names: a severity comes from the file like everything else.
    return f"sev-{severity}" if severity in _SEVERITIES else "sev-other"


def _anchor(code: str) -> str:
    return "issue-" + (re.sub(r"[^A-Za-z0-9_-]", "_", code) or "none")


def _rule_link(code: object) -> str:
    text = _text(code)
    if not text:
        return ""
    return f'<a href="#{_e(_anchor(text))}" data-rule="{_e(text)}">{_e(text)}</a>'


def _rate(rule: Mapping[str, Any]) -> str:
    rate = rule.get("rate")
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        applies = _int(rule.get("applies"))
        if not applies or rule.get("claims") is None:
            return ""
        rate = _int(rule.get("claims")) / applies
    return f"{rate * 100:.1f}%"


def _amount(totals: Mapping[str, Any], name: str) -> str:
    """Return an amount in dollars with two decimals.

    report.json writes ``total_charge`` / ``total_paid`` as decimal strings
    (``"1234.50"``); an integer ``charge`` / ``paid`` is taken as cents (the
    in-memory totals), a float as dollars.
    """
    value = totals.get(f"total_{name}", totals.get(name))
    dollars: Decimal | None = None
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        dollars = Decimal(value) / 100
    else:
        with contextlib.suppress(InvalidOperation, ValueError):
            dollars = Decimal(str(value))
    if dollars is None or not dollars.is_finite():
        return _e(value)
    return f"{dollars:,.2f}"


def _balanced(entry: Mapping[str, Any], rows: int = 1) -> str:
    span = f' rowspan="{rows}"' if rows > 1 else ""
    balanced = entry.get("balanced")
    if balanced is True:
        return f'<td{span} class="yes">yes</td>'
    if balanced is False:
        return f'<td{span} class="no">NO</td>'
    return f"<td{span}></td>"


def _unbalanced(rec: Mapping[str, Any]) -> list[str]:
    return [str(kind) for kind, entry in rec.items() if isinstance(entry, Mapping) and entry.get("balanced") is False]


def _issue_counts(counts: Mapping[str, Any]) -> str:
    total = counts.get("total")
    parts = [f"{_count(total)} in all"] if total is not None else []
    by_severity = _mapping(counts.get("by_severity"))
    parts.extend(
        f'<span class="{_severity_class(k)}"><span class="sev">{_count(v)} {_e(k)}{_plural(k, v)}</span></span>'
        for k, v in by_severity.items()
    )
    return ", ".join(parts)


def _plural(word: object, count: object) -> str:
    return "s" if word in ("error", "warning") and count != 1 else ""


def _short_hash(value: object) -> str:
    text = _text(value)
    if len(text) <= 16:
        return _e(text)
    return f'<span title="{_e(text)}">{_e(text[:12])}…</span>'


def _table(
    out: TextIO,
    headers: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[str]],
    *,
    row_class: Callable[[int], str] | None = None,
    table_id: str = "",
) -> None:
    """Write a table; ``rows`` hold cells already escaped, ``headers`` are (label, cell class)."""
    ident = f' id="{table_id}"' if table_id else ""
    head = "".join(f'<th scope="col"{_class("num" if cls == "num" else "")}>{label}</th>' for label, cls in headers)
    out.write(f'<div class="scroll"><table{ident}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n')
    for n, row in enumerate(rows):
        cls = _class(row_class(n)) if row_class else ""
        cells = "".join(f"<td{_class(c)}>{cell}</td>" for (_, c), cell in zip(headers, row, strict=True))
        out.write(f"<tr{cls}>{cells}</tr>\n")
    out.write("</tbody>\n</table></div>\n")


def _generic_table(out: TextIO, records: Sequence[Mapping[str, Any]], first: Sequence[str]) -> None:
    """Write records whose keys are not fixed: the usual keys first, then any other in order of appearance."""
    keys = [k for k in first if any(k in r for r in records)]
    for record in records:
        keys.extend(str(k) for k in record if str(k) not in keys)
    _table(
        out,
        [(_e(k), "") for k in keys],
        ([_nested(r.get(k)) for k in keys] for r in records),
    )


def _nested(value: object) -> str:
    """Return a value of a free-form record as escaped HTML: lists one item a line, mappings as ``key: value``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return _e("; ".join(f"{k}: {_plain(v)}" for k, v in value.items() if v is not None))
    if isinstance(value, list):
        return "<br>".join(_nested(v) for v in value)
    return _count(value)
