"""HTML run report (``report.html``): one self-contained page an analyst opens in a browser.

The page is built from what a run already wrote, ``report.json``, ``errors.jsonl``
and the ``rejects_<type>.reasons.csv`` files beside its rejects files, so it can
be rendered again later for any output directory. It is rendered from Jinja2
templates (package files under ``sendpro/report/templates/``) with autoescaping
on, so every value read from those files (claim ids, messages, provider and file
names come from the user's extract) is escaped by default.

It opens with what to fix: the **fix list**, one row per rejected claim (type,
billing provider, charge, paid, input file and row, rejects file and row, every
reason with its code), then the **dollars at risk** per rule and per provider,
then the run summary, "since the last run" (when report.json has
``since_last_run``), reconciliation, rules, providers, MassHealth's
data-quality measures (when it has ``dq_measures`` / ``dq_not_computed``) and
the issue list, each issue of a rejected claim linking to its fix-list row.

The page loads nothing: the style and the script are the package files
``report.css`` and ``report.js``, inlined, the chart is inline SVG, and a
Content-Security-Policy with the hashes of that style and script makes the
browser refuse any other request, so the page works offline and leaks nothing
when opened from a mail attachment or a shared drive. The script embeds no data;
it reads the tables the page already shows (filters by severity, claim type,
rule and provider, a provider drill-down, sortable columns), so the page is
complete with JavaScript off.

Rows are streamed with a stated cap: at most ``max_fix_rows`` fix-list rows
(default :data:`DEFAULT_MAX_FIX_ROWS`) and ``max_rows`` issue rows (default
:data:`DEFAULT_MAX_ROWS`) are written, each as it is read, and the page says
how many more are only in the files. Memory does not grow with the files: the
dollars at risk are counters per rule and per provider (a run has few of
either), and only the ids of the claims shown in the fix list are kept, to link
issues to them. Raw ``value`` fields are never shown (they are protected health
information, and report.json does not say whether the run asked for them);
member ids are shown exactly as errors.jsonl holds them (masked unless the run
used ``--include-values``).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import jinja2
from markupsafe import Markup

#: Issue rows written to the page by default (errors.jsonl and errors.csv hold them all).
DEFAULT_MAX_ROWS = 5000

#: Fix-list rows (rejected claims) written to the page by default (the reasons files hold them all).
DEFAULT_MAX_FIX_ROWS = 2000

#: Bars drawn in the rule chart; the rules table below it lists every rule anyway.
MAX_CHART_BARS = 40

#: Providers listed under the dollars at risk (most charge at risk first); every one is counted.
MAX_RISK_PROVIDERS = 200

#: The reasons files beside the rejects files (contract of ``sendpro.convert.sinks``).
REASONS_GLOB = "rejects_*.reasons.csv"

_REASONS_SUFFIX = ".reasons.csv"
_SEVERITIES = ("error", "warning", "info")
_SIDES = ("input", "accepted", "rejected", "skipped")
_EXIT_CODES = {0: "every claim accepted", 1: "some claims rejected", 2: "the run failed"}
_TEMPLATES = "templates"
# claims_vs_submitted, in the contract's words (what each count means for the analyst).
_SUBMITTED = (
    ("new", "sent for the first time"),
    ("replaced", "replacements (frequency 7), or a claim id submitted before whose content changed"),
    ("voided", "voids (frequency 8)"),
    ("unchanged", "already submitted in this version: not sent again (the duplicate guard CL050 skipped them)"),
)
_CODE = re.compile(r"^[A-Z]{2}\d{3}$")

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
    ("rejects file", ("rejects_file",), ""),
    ("rejects row", ("rejects_row",), "num"),
)


# --- view objects (what the templates read) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell with more than text: a class, a tooltip, a link, or several lines."""

    text: str = ""
    cls: str = ""
    title: str = ""
    href: str = ""
    rule: str = ""
    provider: str = ""
    lines: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Row:
    """A table row: cells (text or :class:`Cell`), a class, and ``data-*`` attributes the script filters on."""

    cells: Sequence[str | Cell]
    cls: str = ""
    data: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True, slots=True)
class RejectedClaim:
    """One row of a ``rejects_<type>.reasons.csv`` file, as the page reads it (text, as the file holds it)."""

    reasons_file: str
    rejects_file: str
    rejects_row: str
    claim_id: str
    claim_type: str
    billing_npi: str
    billing_name: str
    charge: str
    paid: str
    input_file: str
    input_row: str
    codes: tuple[str, ...]
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FixRow:
    """A fix-list row as rendered."""

    number: int
    anchor: str
    claim_type: str
    claim_id: str
    billing_npi: str
    billing_name: str
    charge: str
    paid: str
    input_file: str
    input_row: str
    rejects_file: str
    rejects_row: str
    reasons: Sequence[tuple[str, str]]
    data: Sequence[tuple[str, str]]
    cls: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """A sentence of a note, with an optional part in bold before it."""

    text: str
    strong: str = ""


@dataclass(frozen=True, slots=True)
class SinceLastRun:
    """The "since the last run" section, from report.json ``since_last_run`` (``empty`` when there is none)."""

    empty: str = ""
    previous_run: str = ""
    previous_started: str = ""
    totals: Sequence[Row] = ()
    rules: Sequence[Row] = ()
    new_rules: Sequence[str] = ()
    submitted: Sequence[Row] = ()


@dataclass(frozen=True, slots=True)
class IssueRow:
    """An issue-list row as rendered."""

    number: int
    anchor: str
    cells: Sequence[str | Cell]
    cls: str
    data: Sequence[tuple[str, str]]


@dataclass(slots=True)
class _Money:
    """Counters for a group of rejected claims: how many, their charge and paid, how many had no amounts."""

    claims: int = 0
    charge: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    unreadable: int = 0

    def add(self, charge: Decimal | None, paid: Decimal | None) -> None:
        self.claims += 1
        if charge is None or paid is None:
            self.unreadable += 1
        self.charge += charge or 0
        self.paid += paid or 0


@dataclass(slots=True)
class _Provider:
    name: str
    money: _Money = field(default_factory=_Money)
    rules: dict[str, _Money] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the issue list needs of a claim shown in the fix list: its row's anchor, provider and claim type."""

    anchor: str
    provider: str
    claim_type: str


@dataclass(slots=True)
class _FixState:
    """The fix list while it streams: the cap, what was shown, and the counters for the dollars at risk."""

    cap: int
    expected: int | None
    shown: int = 0
    seen: int = 0
    #: Each claim shown, by (rejects file, claim id), the two things an issue of a rejected claim
    #: carries too: issue rows link only to rows that exist. At most ``cap`` entries.
    anchors: dict[tuple[str, str], _Shown] = field(default_factory=dict)
    total: _Money = field(default_factory=_Money)
    rules: dict[str, _Money] = field(default_factory=dict)
    providers: dict[str, _Provider] = field(default_factory=dict)

    @property
    def cap_text(self) -> str:
        return f"{self.cap:,}" if self.cap else "all"

    @property
    def empty_text(self) -> str:
        if self.expected:
            # report.json lists rejected claims, but this page was made without reading them.
            return (
                f"report.json lists {self.expected:,} rejected claim(s) in the rejects_*.reasons.csv files beside "
                "this page, but they were not read for it; open those files for the claims and their reasons."
            )
        return "No claim was rejected: no rejects_*.reasons.csv beside this page lists one."

    @property
    def notes(self) -> str:
        text = f"{self.shown:,} rejected claim(s) shown."
        if self.seen > self.shown:
            text += (
                f" {self.seen - self.shown:,} more rejected claim(s) are not shown (this page shows at most "
                f"{self.cap:,}); every one is in the rejects_*.reasons.csv files and counts in the dollars at risk."
            )
        return text


@dataclass(slots=True)
class _Risk:
    """The dollars at risk, read by the template after the fix list has streamed (the counters are final then)."""

    state: _FixState
    provider_cap: int = MAX_RISK_PROVIDERS

    @property
    def claims(self) -> int:
        return self.state.total.claims

    @property
    def charge(self) -> str:
        return _dollars(self.state.total.charge)

    @property
    def paid(self) -> str:
        return _dollars(self.state.total.paid)

    @property
    def unreadable(self) -> int:
        return self.state.total.unreadable

    @property
    def rules(self) -> list[Row]:
        ranked = sorted(self.state.rules.items(), key=lambda kv: (-kv[1].charge, -kv[1].claims, kv[0]))
        return [
            Row(
                (
                    _rule_link(code),
                    f"{m.claims:,}",
                    _dollars(m.charge),
                    _dollars(m.paid),
                    f"{m.unreadable:,}",
                ),
                data=(("severity", "error"), ("rules", code)),
            )
            for code, m in ranked
        ]

    def _ranked(self) -> list[tuple[str, _Provider]]:
        ranked = sorted(self.state.providers.items(), key=lambda kv: (-kv[1].money.charge, -kv[1].money.claims, kv[0]))
        return ranked[: self.provider_cap] if self.provider_cap else ranked

    @property
    def provider_count(self) -> int:
        return len(self.state.providers)

    @property
    def providers_cut(self) -> bool:
        return bool(self.provider_cap) and len(self.state.providers) > self.provider_cap

    @property
    def providers(self) -> list[Row]:
        rows = []
        for key, p in self._ranked():
            rules = sorted(p.rules.items(), key=lambda kv: (-kv[1].claims, kv[0]))
            rows.append(
                Row(
                    (
                        Cell(key, href="fix-list", provider=key),
                        p.name,
                        f"{p.money.claims:,}",
                        _dollars(p.money.charge),
                        _dollars(p.money.paid),
                        ", ".join(f"{code} ({m.claims:,})" for code, m in rules),
                    ),
                    data=(("severity", "error"), *_provider_data(key, p.name), ("rules", " ".join(sorted(p.rules)))),
                )
            )
        return rows

    @property
    def provider_rules(self) -> list[Row]:
        rows = []
        for key, p in self._ranked():
            for code, m in sorted(p.rules.items(), key=lambda kv: (-kv[1].charge, kv[0])):
                rows.append(
                    Row(
                        (key, p.name, code, f"{m.claims:,}", _dollars(m.charge), _dollars(m.paid)),
                        data=(("severity", "error"), *_provider_data(key, p.name), ("rules", code)),
                    )
                )
        return rows


@dataclass(slots=True)
class _IssueState:
    cap: int
    expected: int | None
    counts: Mapping[str, Any]
    shown: int = 0
    seen: int = 0

    @property
    def cap_text(self) -> str:
        return f"{self.cap:,}" if self.cap else "all"

    @property
    def notes(self) -> list[Note]:
        notes = [Note(f"{self.shown:,} issue row(s) shown.")]
        not_shown = self.seen - self.shown
        if not_shown:
            notes.append(
                Note(
                    strong=f"{not_shown:,} more issue(s) in errors.jsonl are not shown",
                    text=f" (this page shows at most {self.cap:,}); every issue is in errors.csv and errors.jsonl.",
                )
            )
        total, written = self.counts.get("total"), self.counts.get("written")
        capped = isinstance(total, int) and isinstance(written, int) and total > written
        if self.counts.get("truncated") is True or capped:
            if isinstance(total, int) and isinstance(written, int):
                notes.append(
                    Note(
                        strong=f"The run counted {total:,} issues but wrote only {written:,}",
                        text=f" to errors.jsonl and errors.csv (its issue cap); the {total - written:,} others are "
                        "in the counts above only. Run again with a higher --max-issues (0: all) to list them.",
                    )
                )
            else:
                notes.append(
                    Note(
                        strong="The run wrote only part of its issues",
                        text=" to errors.jsonl and errors.csv (its issue cap); run again with a higher "
                        "--max-issues (0: all) to list them.",
                    )
                )
        return notes


# --- entry points ---------------------------------------------------------------------------------


def render_html(
    report: Mapping[str, Any],
    issues: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    rejected: Iterable[RejectedClaim] = (),
    max_rows: int = DEFAULT_MAX_ROWS,
    max_fix_rows: int = DEFAULT_MAX_FIX_ROWS,
    title: str = "sendpro run report",
) -> int:
    """Write the HTML run report, one complete self-contained page, to ``out``.

    Every key of ``report`` and of each issue is optional, so reports of older
    versions and failed runs render too. Rejected claims and issues are written
    as they are read (the template is streamed with ``Template.generate``).

    Args:
        report: the parsed ``report.json`` of a run.
        issues: the issues of ``errors.jsonl`` in file order (read lazily).
        out: where the page is written (text, UTF-8 when it is a file).
        rejected: the rows of the run's reasons files (:func:`iter_rejected`), read lazily.
        max_rows: issue rows written at most (0: all); the rest are counted and
            the page says how many are only in errors.jsonl / errors.csv.
        max_fix_rows: fix-list rows written at most (0: all); every row still
            counts in the dollars at risk.
        title: the page title.

    Returns:
        The number of issue rows written.

    Raises:
        ValueError: ``max_rows`` or ``max_fix_rows`` is negative.
    """
    if max_rows < 0:
        raise ValueError(f"max_rows must be 0 (all) or more, not {max_rows}")
    if max_fix_rows < 0:
        raise ValueError(f"max_fix_rows must be 0 (all) or more, not {max_fix_rows}")
    env = _environment()
    style, script = _asset("report.css"), _asset("report.js")
    counts = _mapping(report.get("issues"))
    written = counts.get("written")
    fix = _FixState(max_fix_rows, _expected_rejected(report))
    issue_state = _IssueState(max_rows, written if isinstance(written, int) else None, counts)
    rules = _rules(report)
    since, dq, extras = _since(report), _dq(report), _extras(report)
    context: dict[str, Any] = {
        "title": title,
        "csp": _csp(style, script),
        "style": Markup(style),  # noqa: S704 - our own package file, hashed into the CSP as is
        "script": Markup(script),  # noqa: S704 - our own package file, hashed into the CSP as is
        "nav": _nav(since, dq, extras),
        "banners": _banners(report),
        "fix": fix,
        "fix_rows": _iter_fix_rows(rejected, fix),
        "risk": _Risk(fix),
        "facts": _facts(report),
        "inputs": _inputs(report),
        "outputs": _outputs(report),
        "recovered": _generic(_records(report.get("recovered")), ("run", "died_while", "removed")),
        "since": since,
        "reconciliation": _reconciliation(_mapping(report.get("reconciliation"))),
        "rules": _rule_rows(rules),
        "chart": _chart(rules),
        "providers": _providers(_records(report.get("providers"))),
        "dq": dq,
        "extras": extras,
        "issues": issue_state,
        "issue_headers": [(label, cls) for label, _, cls in _ISSUE_COLUMNS],
        "issue_rows": _iter_issue_rows(issues, issue_state, fix),
        "made_by": f"sendpro {_text(report['sendpro_version'])}" if report.get("sendpro_version") else "sendpro",
    }
    for chunk in env.get_template("report.html.j2").generate(context):
        out.write(chunk)
    return issue_state.shown


def write_html_report(
    report_json: Path,
    errors_jsonl: Path,
    out_path: Path,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_fix_rows: int = DEFAULT_MAX_FIX_ROWS,
) -> int:
    """Write ``report.html`` for a run from its ``report.json``, ``errors.jsonl`` and reasons files.

    errors.jsonl and the ``rejects_*.reasons.csv`` files beside report.json are
    read line by line, never whole; a missing errors.jsonl gives a page without
    issue rows, no reasons file an empty fix list. The page is written to a
    temporary file next to ``out_path`` and renamed, so a reader never sees half a page.

    Args:
        report_json: the run's report.json.
        errors_jsonl: the run's errors.jsonl.
        out_path: the page to write (usually ``report.html`` in the output directory).
        max_rows: issue rows written at most (0: all).
        max_fix_rows: fix-list rows written at most (0: all).

    Returns:
        The number of issue rows written.

    Raises:
        OSError: report.json cannot be read or the page cannot be written.
        ValueError: report.json is not a JSON object.
    """
    report = json.loads(report_json.read_text(encoding="utf-8"))
    if not isinstance(report, dict):
        raise ValueError(f"{report_json} does not hold a JSON object")
    reasons = find_reasons_files(report_json.parent)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name follows sendpro.outputs, so a run cleans up what a killed writer left behind.
    temp = out_path.with_name(f".{out_path.name}.sendpro-{os.getpid()}.tmp")
    try:
        with temp.open("x", encoding="utf-8", newline="\n") as handle:
            shown = render_html(
                report,
                iter_issues(errors_jsonl),
                handle,
                rejected=iter_rejected(reasons),
                max_rows=max_rows,
                max_fix_rows=max_fix_rows,
            )
        os.replace(temp, out_path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return shown


def find_reasons_files(directory: Path) -> dict[str, Path]:
    """Return the ``rejects_*.reasons.csv`` files of an output directory, by file name, in name order."""
    return {p.name: p for p in sorted(directory.glob(REASONS_GLOB)) if p.is_file()}


def iter_rejected(files: Mapping[str, Path]) -> Iterator[RejectedClaim]:
    """Yield the rejected claims of reasons files one row at a time, file by file.

    Args:
        files: reasons file name (``rejects_P.reasons.csv``: it names the
            rejects file, ``rejects_P.txt``) to the path to read it from (a
            run renders its page from temporary files, named otherwise).

    A missing file yields nothing; a row with missing cells gets empty ones
    (the page shows the gap rather than failing).
    """
    for name, path in files.items():
        rejects_file = name.removesuffix(_REASONS_SUFFIX) + ".txt"
        try:
            handle = path.open(encoding="utf-8", errors="replace", newline="")
        except FileNotFoundError:
            continue
        with handle:
            for record in csv.DictReader(handle):
                cell = {k: (v if isinstance(v, str) else "") for k, v in record.items() if isinstance(k, str)}
                messages = tuple(m.strip() for m in cell.get("messages", "").split(" | ") if m.strip())
                yield RejectedClaim(
                    reasons_file=name,
                    rejects_file=rejects_file,
                    rejects_row=cell.get("rejects_row", ""),
                    claim_id=cell.get("claim_id", ""),
                    claim_type=cell.get("claim_type", ""),
                    billing_npi=cell.get("billing_npi", ""),
                    billing_name=cell.get("billing_name", ""),
                    charge=cell.get("charge", ""),
                    paid=cell.get("paid", ""),
                    input_file=cell.get("input_file", ""),
                    input_row=cell.get("input_row", ""),
                    codes=tuple(cell.get("codes", "").split()),
                    messages=messages,
                )


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


def page_csp() -> str:
    """Return the page's Content-Security-Policy: nothing may load, only its own style and script may run."""
    return _csp(_asset("report.css"), _asset("report.js"))


# --- templates and assets ---------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    # One environment per page (no module state); autoescape is on for everything it renders.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sendpro.report", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _asset(name: str) -> str:
    return resources.files("sendpro.report").joinpath(_TEMPLATES, name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _csp(style: str, script: str) -> str:
    # Only this style and this script may run, and nothing may be fetched: the page is
    # self-contained by construction, and injected markup could not run even if escaping failed.
    return (
        f"default-src 'none'; style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


# --- the streamed parts -----------------------------------------------------------------------------


def _iter_fix_rows(rejected: Iterable[RejectedClaim], state: _FixState) -> Iterator[FixRow]:
    """Yield the fix-list rows up to the cap; count every claim (past the cap too) for the dollars at risk."""
    for claim in rejected:
        state.seen += 1
        charge, paid = _decimal(claim.charge), _decimal(claim.paid)
        codes = claim.codes or tuple(sorted({c for c, _ in _split_reasons(claim)} - {""}))
        key = _provider_key(claim.billing_npi, claim.billing_name)
        state.total.add(charge, paid)
        provider = state.providers.get(key)
        if provider is None:
            provider = state.providers[key] = _Provider(claim.billing_name)
        provider.money.add(charge, paid)
        for code in codes:
            state.rules.setdefault(code, _Money()).add(charge, paid)
            provider.rules.setdefault(code, _Money()).add(charge, paid)
        if state.cap and state.shown >= state.cap:
            continue  # keep counting: the dollars at risk cover every rejected claim
        state.shown += 1
        # The filter value is the type the rejects file is named for (rejects_P.txt: P), the same for
        # the claim's issues, which carry the rejects file but not the claim type.
        claim_type = _type_of(claim.rejects_file) or claim.claim_type
        anchor = ""
        ident = (claim.rejects_file, claim.claim_id)
        if claim.claim_id and ident not in state.anchors:
            anchor = _claim_anchor(claim_type, claim.claim_id)
            state.anchors[ident] = _Shown(anchor, key, claim_type)
        yield FixRow(
            number=state.seen,
            anchor=anchor,
            claim_type=claim.claim_type or claim_type,
            claim_id=claim.claim_id,
            billing_npi=claim.billing_npi,
            billing_name=claim.billing_name,
            charge=_dollars(charge) if charge is not None else claim.charge,
            paid=_dollars(paid) if paid is not None else claim.paid,
            input_file=claim.input_file,
            input_row=claim.input_row,
            rejects_file=claim.rejects_file,
            rejects_row=claim.rejects_row,
            reasons=_split_reasons(claim),
            # Every reason of a rejected claim is an error (the reasons files list errors only).
            data=(
                ("severity", "error"),
                ("type", claim_type),
                *_provider_data(key, claim.billing_name),
                ("rules", " ".join(codes)),
            ),
        )


def _iter_issue_rows(issues: Iterable[Mapping[str, Any]], state: _IssueState, fix: _FixState) -> Iterator[IssueRow]:
    anchored: set[str] = set()
    for issue in issues:
        state.seen += 1
        if state.cap and state.shown >= state.cap:
            continue  # keep counting: the page says how many are not shown
        state.shown += 1
        code = _text(issue.get("code"))
        # The first row of each rule is the target of that rule's link in the rules table.
        anchor = ""
        if code not in anchored:
            anchored.add(code)
            anchor = _anchor(code)
        claim_id = _text(issue.get("claim_id"))
        rejects_file = _text(issue.get("rejects_file"))
        target = fix.anchors.get((rejects_file, claim_id)) if rejects_file and claim_id else None
        cells: list[str | Cell] = []
        for _, keys, _cls in _ISSUE_COLUMNS:
            value = _text(_first(issue, keys))
            if keys == ("claim_id",) and target is not None:
                cells.append(Cell(value, href=target.anchor, title="this claim in the fix list"))
            else:
                cells.append(value)
        yield IssueRow(
            number=state.seen,
            anchor=anchor,
            cells=cells,
            cls=_severity_class(issue.get("severity")),
            data=(
                ("severity", _text(issue.get("severity"))),
                ("rules", code),
                # The claim type is known for every issue of a rejected claim (its rejects file
                # says it), the provider only for claims in the fix list (an issue does not carry
                # its billing provider); elsewhere they are empty and the filters hide the row.
                ("type", target.claim_type if target is not None else _type_of(rejects_file)),
                ("provider", target.provider if target is not None else ""),
            ),
        )


# --- the small parts (read from report.json, a few rows each) --------------------------------------


def _nav(
    since: SinceLastRun | None, dq: Mapping[str, Any] | None, extras: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """Return the section links, in page order, for the sections this page has."""
    links = [("fix-list", "Fix list"), ("risk", "Dollars at risk"), ("summary", "Run summary")]
    if since is not None:
        links.append(("since-last-run", "Since the last run"))
    links += [("reconciliation", "Reconciliation"), ("rules", "Errors by rule"), ("chart", "Chart")]
    links.append(("providers", "Providers"))
    if dq is not None:
        links.append(("dq-measures", "Data-quality measures"))
    links += [(extra["anchor"], extra["heading"]) for extra in extras]
    links.append(("issues", "Issues"))
    return links


def _banners(report: Mapping[str, Any]) -> list[str]:
    banners = []
    status = report.get("status")
    if status is not None and status != "complete":
        message = report.get("message")
        banners.append(f"Run {_text(status)}" + (f": {_text(message)}" if message else ""))
    unbalanced = _unbalanced(_mapping(report.get("reconciliation")))
    if unbalanced:
        banners.append(
            f"NOT RECONCILED: input is not accepted + rejected + skipped for {', '.join(unbalanced)}; the outputs do "
            "not account for every input claim (see the reconciliation table)."
        )
    return banners


def _facts(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    status = report.get("status")
    if status is not None:
        facts.append(("status", _text(status)))
    exit_code = report.get("exit_code")
    if exit_code is not None:
        meaning = _EXIT_CODES.get(exit_code) if isinstance(exit_code, int) else None
        facts.append(("exit code", _text(exit_code) + (f" ({meaning})" if meaning else "")))
    if report.get("message") and status == "complete":
        facts.append(("message", _text(report["message"])))
    for key, label in (("started_at", "started"), ("finished_at", "finished")):
        if report.get(key) is not None:
            facts.append((label, _text(report[key])))
    elapsed = report.get("elapsed_s")
    if isinstance(elapsed, int | float) and not isinstance(elapsed, bool):
        facts.append(("elapsed", f"{elapsed:,.3f} s"))
    for key, label in (
        ("layout", "layout"),
        ("ncpdp_layout", "NCPDP layout"),
        ("profile", "profile"),
        ("usage", "usage (ISA15)"),
        ("output_validation", "output validation"),
        ("sendpro_version", "sendpro version"),
    ):
        if report.get(key) is not None:
            facts.append((label, _text(report[key])))
    if report.get("ledger") is not None:
        run = report.get("ledger_run")
        facts.append(("ledger", _text(report["ledger"]) + (f", run {_text(run)}" if run is not None else "")))
    counts = _mapping(report.get("issues"))
    if counts:
        facts.append(("issues", _issue_counts(counts)))
    if isinstance(report.get("rules_run"), int):
        fired = len(_records(report.get("rules")))
        facts.append(("rules", f"{report['rules_run']:,} ran, {fired:,} found issues"))
    below = [m for m in _records(report.get("dq_measures")) if m.get("met") is False]
    if below:
        facts.append(("data quality", f"{len(below):,} measure(s) below threshold (see the data-quality measures)"))
    return facts


def _inputs(report: Mapping[str, Any]) -> list[Row]:
    return [
        Row(
            (
                _text(i.get("file")),
                _text(i.get("layout")),
                _plain(i.get("rows")),
                _plain(i.get("claims")),
                _plain(i.get("split_claims")),
                ", ".join(f"{k} {_plain(v)}" for k, v in _mapping(i.get("claims_by_type")).items()),
            )
        )
        for i in _records(report.get("inputs"))
    ]


def _outputs(report: Mapping[str, Any]) -> list[Row]:
    return [
        Row(
            (
                _text(o.get("name")),
                _text(o.get("kind")),
                _text(o.get("claim_type")),
                _plain(o.get("claims")),
                _plain(o.get("lines")),
                _plain(o.get("segments")),
                _text(o.get("interchange_control")),
                _text(o.get("version")),
                _plain(o.get("bytes")),
                _short_hash(o.get("sha256")),
            )
        )
        for o in _records(report.get("outputs"))
    ]


def _expected_rejected(report: Mapping[str, Any]) -> int | None:
    """Return the rejected claims the reasons files hold, as report.json's outputs say (None: not listed)."""
    listed = [o for o in _records(report.get("outputs")) if o.get("kind") == "reasons"]
    if not listed:
        return None
    return sum(_int(o.get("claims")) for o in listed)


def _since(report: Mapping[str, Any]) -> SinceLastRun | None:
    """Return the "since the last run" section, or None when report.json has no ``since_last_run`` key.

    The key is null when the run has no ledger or the ledger has no earlier
    completed run: the section then says so instead of comparing.
    """
    if "since_last_run" not in report:
        return None  # a report of an older sendpro: nothing to say, no section
    since = report["since_last_run"]
    if not isinstance(since, Mapping):
        if report.get("ledger") is None:
            return SinceLastRun(empty="This run used no ledger, so there is no earlier run to compare it with.")
        return SinceLastRun(empty="No earlier run in this ledger: nothing to compare this run with yet.")
    claims, share = _mapping(since.get("claims")), _mapping(since.get("rejected_share"))
    totals = [
        Row(("claims read", _plain(claims.get("this")), _plain(claims.get("previous")), _change(claims))),
        Row(
            (
                "rejected share",
                _percent(share.get("this"), 2),
                _percent(share.get("previous"), 2),
                _points(_difference(share)),
            )
        ),
    ]
    listed = since.get("new_rules")
    new_rules = [_text(c) for c in listed if c] if isinstance(listed, list) else []
    rules = []
    for r in _records(since.get("rules")):
        code = _text(r.get("code"))
        rules.append(
            Row(
                (
                    # A rule that fired only in the previous run has no issue on this page to link to.
                    _rule_link(code) if _int(r.get("claims")) else Cell(code, cls="code"),
                    _plain(r.get("claims")),
                    _percent(r.get("rate"), 2),
                    _plain(r.get("previous_claims")),
                    _percent(r.get("previous_rate"), 2),
                    _points(r.get("change")),
                    Cell("first time", cls="no") if code in new_rules else "",
                ),
                data=(("rules", code),),
            )
        )
    submitted = _mapping(since.get("claims_vs_submitted"))
    return SinceLastRun(
        previous_run=_text(since.get("previous_run")),
        previous_started=_text(since.get("previous_started")),
        totals=totals,
        rules=rules,
        new_rules=new_rules,
        submitted=[
            Row((kind, _plain(submitted[kind]), meaning))
            for kind, meaning in _SUBMITTED
            if submitted.get(kind) is not None
        ],
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _difference(pair: Mapping[str, Any]) -> float | None:
    """Return this run's value less the previous run's, None when either is missing."""
    this, previous = _number(pair.get("this")), _number(pair.get("previous"))
    return None if this is None or previous is None else this - previous


def _change(pair: Mapping[str, Any]) -> str:
    """Return the signed change of a count from the previous run (``+50``), empty when either is missing."""
    this, previous = pair.get("this"), pair.get("previous")
    if (
        isinstance(this, bool)
        or isinstance(previous, bool)
        or not isinstance(this, int)
        or not isinstance(previous, int)
    ):
        return ""
    return f"{this - previous:+,}" if this != previous else "0"


def _reconciliation(rec: Mapping[str, Any]) -> list[dict[str, Any]]:
    kinds = [k for k in rec if k != "all" and isinstance(rec[k], Mapping)]
    if "all" in rec and isinstance(rec["all"], Mapping):
        kinds.append("all")
    groups = []
    for kind in kinds:
        entry = _mapping(rec[kind])
        sides = []
        for side in _SIDES:
            totals = entry.get(side)
            if not isinstance(totals, Mapping):
                continue
            sides.append(
                {
                    "name": side,
                    "claims": _plain(totals.get("claims")),
                    "lines": _plain(totals.get("lines")),
                    "rows": _plain(totals.get("rows")),
                    "charge": _amount(totals, "charge"),
                    "paid": _amount(totals, "paid"),
                }
            )
        balanced = entry.get("balanced")
        groups.append(
            {
                "kind": _text(kind),
                "sides": sides,
                "balanced": "yes" if balanced is True else "NO" if balanced is False else "",
                "balanced_cls": "yes" if balanced is True else "no" if balanced is False else "",
            }
        )
    return groups


def _rules(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the rules that fired, most issues first; older reports only have counts by code."""
    rules = _records(report.get("rules"))
    if not rules:
        by_code = _mapping(_mapping(report.get("issues")).get("by_code"))
        rules = [{"code": code, "issues": n} for code, n in by_code.items()]
    return sorted(rules, key=lambda r: (-_int(r.get("issues")), str(r.get("code", ""))))


def _rule_rows(rules: Sequence[Mapping[str, Any]]) -> list[Row]:
    return [
        Row(
            (
                _rule_link(_text(r.get("code"))),
                _text(r.get("severity")),
                _text(r.get("name")),
                _text(r.get("summary")),
                _text(r.get("source")),
                _plain(r.get("issues")),
                _plain(r.get("claims")),
                _plain(r.get("applies")),
                _rate(r),
            ),
            cls=_severity_class(r.get("severity")),
            data=(("severity", _text(r.get("severity"))), ("rules", _text(r.get("code")))),
        )
        for r in rules
    ]


def _chart(rules: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    bars = [r for r in rules if _int(r.get("issues")) > 0][:MAX_CHART_BARS]
    if not bars:
        return None
    label_w, bar_w, count_w, row_h, top = 78, 560, 70, 22, 6
    most = max(_int(r.get("issues")) for r in bars)
    drawn = []
    for n, rule in enumerate(bars):
        issues = _int(rule.get("issues"))
        y = top + n * row_h
        w = max(2, round(issues / most * bar_w))
        tip = f"{_text(rule.get('code'))}: {issues:,} issue(s)"
        if rule.get("claims") is not None:
            tip += f" on {_int(rule.get('claims')):,} claim(s)"
        if rule.get("name"):
            tip += f" ({_text(rule['name'])})"
        if rule.get("summary"):
            tip += f". {_text(rule['summary'])}"
        drawn.append(
            {
                "cls": _severity_class(rule.get("severity")),
                "tip": tip,
                "code": _text(rule.get("code")),
                "y": y + 3,
                "text_y": y + 15,
                "w": w,
                "count_x": label_w + w + 6,
                "count": f"{issues:,}",
            }
        )
    return {
        "width": label_w + bar_w + count_w,
        "height": top * 2 + row_h * len(bars),
        "label_w": label_w,
        "bar_h": row_h - 6,
        "bars": drawn,
        "cut": len(rules) > len(bars),
        "cap": MAX_CHART_BARS,
    }


def _providers(providers: Sequence[Mapping[str, Any]]) -> list[Row]:
    rows = []
    for p in providers:
        key = _provider_key(_text(p.get("npi")), _text(p.get("name")))
        rows.append(
            Row(
                (
                    _text(p.get("npi")),
                    _text(p.get("name")),
                    _plain(p.get("claims")),
                    _plain(p.get("claims_with_errors")),
                    _plain(p.get("errors")),
                    _plain(p.get("warnings")),
                ),
                data=_provider_data(key, _text(p.get("name"))),
            )
        )
    return rows


def _dq(report: Mapping[str, Any]) -> dict[str, Any] | None:
    measures = _records(report.get("dq_measures"))
    not_computed = _records(report.get("dq_not_computed"))
    if not measures and not not_computed:
        return None
    rows = []
    for m in measures:
        met = m.get("met")
        rows.append(
            Row(
                (
                    _text(m.get("measure")),
                    _text(m.get("name")),
                    _text(m.get("claim_group")),
                    _text(m.get("record_type")),
                    _text(m.get("file")),
                    _plain(m.get("numerator")),
                    _plain(m.get("denominator")),
                    _percent(m.get("rate"), 2),
                    _percent(m.get("threshold"), 2),
                    Cell("yes", cls="yes") if met is True else Cell("NO", cls="no") if met is False else "",
                    _text(m.get("source")),
                ),
                cls="below" if met is False else "",
            )
        )
    return {
        "measures": rows,
        "not_computed": [
            Row((_text(m.get("measure")), _text(m.get("name")), _text(m.get("reason")))) for m in not_computed
        ],
    }


def _extras(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Shown only when present: most runs skip no rule, and code sets vary by profile.
    extras = []
    for anchor, heading, key, first in (
        ("skipped-rules", "Skipped rules", "skipped_rules", ("code", "name", "reason")),
        ("codesets", "Code sets", "codesets", ("name", "title", "mode")),
    ):
        table = _generic(_records(report.get(key)), first)
        if table is not None:
            extras.append({"anchor": anchor, "heading": heading, **table})
    return extras


def _generic(records: Sequence[Mapping[str, Any]], first: Sequence[str]) -> dict[str, Any] | None:
    """Return a table of records whose keys are not fixed: the usual keys first, then any other."""
    if not records:
        return None
    keys = [k for k in first if any(k in r for r in records)]
    for record in records:
        keys.extend(str(k) for k in record if str(k) not in keys)
    return {
        "headers": [(k, "") for k in keys],
        "rows": [Row([_nested(r.get(k)) for k in keys]) for r in records],
    }


# --- helpers ----------------------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _plain(value: object) -> str:
    """Return a count with thousands separators, anything else as text."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _text(value)


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


def _severity_class(severity: object) -> str:
    # Only known words become class names: a severity comes from the file like everything else.
    return f"sev-{severity}" if severity in _SEVERITIES else "sev-other"


def _safe_id(text: str) -> str:
    """Return ``text`` as an id fragment of letters, digits and ``-``, one-to-one (``_xx_`` for anything else)."""
    return "".join(c if c.isascii() and (c.isalnum() or c == "-") else f"_{ord(c):x}_" for c in text)


def _anchor(code: str) -> str:
    return "issue-" + (re.sub(r"[^A-Za-z0-9_-]", "_", code) or "none")


def _claim_anchor(claim_type: str, claim_id: str) -> str:
    return f"claim-{_safe_id(claim_type)}-{_safe_id(claim_id)}"


def _rule_link(code: str) -> str | Cell:
    if not code:
        return ""
    return Cell(code, cls="code", href=_anchor(code), rule=code)


def _type_of(rejects_file: str) -> str:
    """Return the claim type a rejects file name says (``rejects_P.txt`` -> ``P``)."""
    stem = rejects_file.removeprefix("rejects_").removesuffix(".txt")
    return stem if stem != rejects_file else ""


def _provider_key(npi: str, name: str) -> str:
    # The NPI identifies a provider; a claim without one is grouped under its name.
    return npi or (f"(no NPI) {name}" if name else "(no NPI)")


def _provider_data(key: str, name: str) -> tuple[tuple[str, str], ...]:
    label = f"{key} {name}".strip() if key != name else key
    return (("provider", key), ("provider-label", label))


def _split_reasons(claim: RejectedClaim) -> list[tuple[str, str]]:
    """Return each reason as (code, message): ``"CL015: text"`` -> ``("CL015", "text")``."""
    reasons = []
    for message in claim.messages:
        code, sep, text = message.partition(": ")
        reasons.append((code, text) if sep and _CODE.match(code) else ("", message))
    if not reasons:
        reasons = [(code, "") for code in claim.codes]
    return reasons


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _dollars(value: Decimal) -> str:
    return f"{value:,.2f}"


def _percent(value: object, places: int = 1) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return f"{value * 100:.{places}f}%"


def _points(value: object) -> str:
    """Return a change of a rate in percentage points, signed."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return f"{value * 100:+.2f} pts"


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
        return _text(value)
    return _dollars(dollars)


def _unbalanced(rec: Mapping[str, Any]) -> list[str]:
    return [str(kind) for kind, entry in rec.items() if isinstance(entry, Mapping) and entry.get("balanced") is False]


def _issue_counts(counts: Mapping[str, Any]) -> str:
    total = counts.get("total")
    parts = [f"{_plain(total)} in all"] if total is not None else []
    by_severity = _mapping(counts.get("by_severity"))
    parts.extend(f"{_plain(v)} {_text(k)}{_plural(k, v)}" for k, v in by_severity.items())
    return ", ".join(parts)


def _plural(word: object, count: object) -> str:
    return "s" if word in ("error", "warning") and count != 1 else ""


def _short_hash(value: object) -> str | Cell:
    text = _text(value)
    if len(text) <= 16:
        return text
    return Cell(f"{text[:12]}…", title=text)


def _nested(value: object) -> str | Cell:
    """Return a value of a free-form record: lists one item a line, mappings as ``key: value``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return Cell(lines=[_flat(v) for v in value]) if value else ""
    return _plain(value)


def _flat(value: object) -> str:
    nested = _nested(value)
    return nested if isinstance(nested, str) else " ".join(nested.lines) or nested.text
