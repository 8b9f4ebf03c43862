"""The ``sendpro`` command line (click).

This module only maps options onto a :class:`RunConfig`, calls :mod:`sendpro.api`,
prints what happened and returns an exit code: 0 every claim accepted, 1 some
claims rejected (the rest still written), 2 a usage or program error, or an
unusable input file (then no output file is left).
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from sendpro import api
from sendpro.codesets.command import codesets
from sendpro.config import DEFAULT_MAX_ISSUES, DEFAULT_NCPDP_LAYOUT, RunConfig
from sendpro.dq import summary_lines as dq_summary_lines
from sendpro.errors import SendproError, UsageError
from sendpro.flatfile.describe import describe_layout
from sendpro.flatfile.layout import bundled_layouts, load_layout
from sendpro.ledger.acks import AckResult, collect_ack_files
from sendpro.ledger.db import ACCEPTED, ACKNOWLEDGED, REJECTED, SUBMITTED
from sendpro.ledger.reports import ENCOUNTER_STATUSES, LedgerReconciliation, StatusReport
from sendpro.ledger.trends import TrendsReport
from sendpro.ncpdp.describe import describe_ncpdp_layout
from sendpro.ncpdp.layout import bundled_ncpdp_layouts, load_ncpdp_layout
from sendpro.projectconfig import code_list_source, parse_severities, resolve_settings
from sendpro.report.issue import Issue
from sendpro.report.report import RunReport, money
from sendpro.transport.command import retrieve, submit
from sendpro.validate.pyx12_bridge import VALIDATORS
from sendpro.x12.envelope import SequentialControlNumbers

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


def _known_encoding(value: str | None) -> str | None:
    """Refuse an encoding Python does not know, as a usage error rather than at the first read."""
    if value is not None:
        try:
            codecs.lookup(value)
        except LookupError:
            raise click.BadParameter(f"unknown character encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from None
    return value


def _split_codes(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(v.strip().upper() for v in value.split(",") if v.strip())


def ledger_option(func: F) -> F:
    """The ``--ledger PATH`` option of every command that uses the submission ledger."""
    return click.option(
        "--ledger",
        "ledger_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Submission ledger database (default: $SENDPRO_LEDGER, else $XDG_STATE_HOME/sendpro/ledger.sqlite).",
    )(func)


def rule_options(func: F) -> F:
    """Options that choose rules, severities, code lists and reference files (over the project configuration)."""
    for option in reversed(
        (
            click.option(
                "--config",
                "config_path",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="sendpro.toml or pyproject.toml to read (default: found from the working directory).",
            ),
            click.option(
                "--severity",
                "severity_overrides",
                multiple=True,
                metavar="CODE=LEVEL",
                help="Override a rule's severity (error, warning, info); repeatable.",
            ),
            click.option(
                "--codeset",
                "codeset_files",
                multiple=True,
                metavar="NAME=PATH",
                help="A code list for a code set (icd10cm, cpt, hcpcs, cdt, ...); repeatable.",
            ),
            click.option(
                "--providers",
                "providers_file",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Provider reference file (CSV; enables MH040, MH140, MH160, MH170).",
            ),
            click.option(
                "--members",
                "members_file",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Member reference file (CSV; enables MH101, MH102).",
            ),
        )
    ):
        func = option(func)
    return func


def project_settings(
    config_path: Path | None,
    select: str | None,
    ignore: str | None,
    severity_overrides: Sequence[str],
    codeset_files: Sequence[str],
    providers_file: Path | None,
    members_file: Path | None,
) -> dict[str, Any]:
    """Merge the project configuration with command-line options (the command line wins, key by key).

    Returns the :class:`RunConfig` keyword arguments for rules, code sets and references.

    Raises:
        UsageError: a malformed option or configuration.
    """
    pairs = {}
    for item in severity_overrides:
        code, sep, level = item.partition("=")
        if not sep:
            raise UsageError(f"--severity {item!r}: expected CODE=LEVEL, e.g. SV010=warning")
        pairs[code] = level
    codesets = {}
    for item in codeset_files:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise UsageError(f"--codeset {item!r}: expected NAME=PATH, e.g. icd10cm=icd10cm_codes_2026.txt")
        codesets[name.strip()] = (code_list_source(path, Path.cwd(), f"--codeset {name}"),)
    # The merge itself is resolve_settings', which the Python API calls too (one way to configure a run).
    settings = resolve_settings(
        config_path,
        select=_split_codes(select) if select is not None else None,
        ignore=_split_codes(ignore) if ignore is not None else None,
        severities=parse_severities(pairs, "--severity"),
        codesets=codesets,
        providers=providers_file,
        members=members_file,
    )
    return {**settings.run_config_kwargs(), "config_file": settings.config_file}


def validator_option(func: F) -> F:
    """``--validator``: the compiled validator (the default) or pyx12 itself."""
    return click.option(
        "--validator",
        type=click.Choice(VALIDATORS),
        default="compiled",
        show_default=True,
        help="X12 validator: compiled (pyx12's findings, fast) or pyx12 itself (the reference, slow).",
    )(func)


def common_options(func: F) -> F:
    """Options every command that reads maps shares."""
    func = click.option(
        "--map-cache",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Directory for sendpro's derived pyx12 maps (default: the user cache).",
    )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(api.sendpro_version(), prog_name="sendpro")
def cli() -> None:
    """Turn MCE encounter extracts into MassHealth SENDPro 837 PACDR files, and say what is wrong first."""


cli.add_command(codesets)  # sendpro codesets import (sendpro/codesets/command.py)
# sendpro submit / retrieve: the transport and MassHealth's conduct rules (sendpro/transport/).
cli.add_command(submit)
cli.add_command(retrieve)


# -- convert --------------------------------------------------------------------------------------
@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the 837 files, rejects, errors and report.json.",
)
@click.option(
    "--layout",
    default=None,
    help="Layout name (see `sendpro layouts`) or path; default: from the header row.",
)
@click.option(
    "--profile",
    default="masshealth-sendpro",
    show_default=True,
    help="Submission profile name or path.",
)
@click.option(
    "--usage",
    type=click.Choice(["T", "P"], case_sensitive=False),
    default=None,
    help="ISA15: T test or P production (default: the profile's).",
)
@click.option("--no-validate-output", is_flag=True, help="Skip validating the 837 output (faster).")
@validator_option
@click.option(
    "--include-values",
    is_flag=True,
    help="Put raw values and unmasked member ids into errors.jsonl/csv (PHI: handle with care).",
)
@click.option(
    "--encoding",
    default=None,
    callback=lambda ctx, param, value: _known_encoding(value),
    help="Override the layout's character encoding (e.g. cp1252).",
)
@click.option(
    "--select",
    default=None,
    help="Run only rules whose codes start with these prefixes (comma-separated).",
)
@click.option(
    "--ignore",
    default=None,
    help="Skip rules whose codes start with these prefixes (comma-separated).",
)
@click.option(
    "--max-issues",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_ISSUES,
    show_default=True,
    help="Issues written to errors.jsonl/csv (0 = all); every issue is still counted.",
)
@click.option(
    "--control-number",
    type=click.IntRange(1, 999_999_999),
    default=None,
    help="First ISA13/GS06 control number (default: the ledger's next; without a ledger, from the clock).",
)
@click.option(
    "--batch-lines",
    type=click.IntRange(min=100),
    default=5_000,
    show_default=True,
    help="Input lines parsed per batch (bounds memory).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes checking batches [default: the cores available]; the output is the same for any "
    "number. Inputs under 20,000 rows and pharmacy runs are checked in-process.",
)
@click.option(
    "--ncpdp-profile",
    "ncpdp_layout",
    default=DEFAULT_NCPDP_LAYOUT,
    show_default=True,
    help="NCPDP layout for pharmacy extracts: post-adjudication, batch-d0, or a layout file path.",
)
@ledger_option
@click.option(
    "--no-ledger", is_flag=True, help="Run without a ledger (no duplicate guard; control numbers from the clock)."
)
@click.option("--resubmit", is_flag=True, help="Send claim versions the ledger already holds again, on purpose.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@rule_options
@common_options
def convert(
    inputs: tuple[Path, ...],
    out_dir: Path,
    layout: str | None,
    profile: str,
    usage: str | None,
    no_validate_output: bool,
    validator: str,
    include_values: bool,
    encoding: str | None,
    select: str | None,
    ignore: str | None,
    max_issues: int,
    control_number: int | None,
    batch_lines: int,
    jobs: int | None,
    ncpdp_layout: str,
    ledger_path: Path | None,
    no_ledger: bool,
    resubmit: bool,
    quiet: bool,
    config_path: Path | None,
    severity_overrides: tuple[str, ...],
    codeset_files: tuple[str, ...],
    providers_file: Path | None,
    members_file: Path | None,
    map_cache: Path | None,
) -> None:
    """Convert INPUT extract(s) into 837 PACDR files, rejects and reports in --out.

    Rules, severities, code lists and reference files come from sendpro.toml (or
    [tool.sendpro] in pyproject.toml) when there is one; the options override it.
    """
    if not str(out_dir).strip() or str(out_dir) == ".":
        # An empty --out would scatter the run's files over the working directory.
        raise click.BadParameter(
            "name a directory for the run's files (not empty, not the working directory)", param_hint="--out"
        )
    if no_ledger and ledger_path is not None:
        raise click.UsageError("--ledger and --no-ledger contradict each other; give one")
    progress = _Progress() if sys.stderr.isatty() and not quiet else None
    settings = project_settings(
        config_path, select, ignore, severity_overrides, codeset_files, providers_file, members_file
    )
    settings.pop("config_file")
    config = RunConfig(
        layout=layout,
        profile=profile,
        usage=usage.upper() if usage else None,
        validate_output=not no_validate_output,
        validator=validator,
        include_values=include_values,
        max_issues=max_issues,
        chunk_lines=batch_lines,
        jobs=jobs,
        encoding=encoding,
        control_numbers=SequentialControlNumbers(control_number) if control_number and no_ledger else None,
        control_start=control_number,
        map_cache=map_cache,
        progress=progress,
        stage=progress.stage if progress is not None else None,
        ncpdp_layout=ncpdp_layout,
        ledger=api.resolve_ledger(ledger_path, no_ledger=no_ledger),
        resubmit=resubmit,
        fault_point=os.environ.get("SENDPRO_FAULT_POINT") or None,
        **settings,
    )
    try:
        report = api.convert_files(list(inputs), out_dir, config)
    finally:
        if progress is not None:
            progress.close()
    if not quiet:
        click.echo(render_summary(report, out_dir))
    sys.exit(report.exit_code or EXIT_OK)


class _Progress:
    """Progress on stderr, shown only when stderr is a terminal: a bar while converting, then each stage."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._done = 0
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total < 50_000:
                return  # short runs finish before a bar helps
            self._bar = click.progressbar(
                length=total,
                label="reading and converting (rows)",
                file=sys.stderr,
                show_pos=True,
                show_percent=True,
                show_eta=True,
                item_show_func=self._rate,
            )
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def _rate(self, _item: object) -> str:
        elapsed = time.monotonic() - self._started
        return f"{self._done / elapsed:,.0f} rows/s" if elapsed > 0 else ""

    def stage(self, what: str) -> None:
        """Say which stage the run is in (after the conversion bar)."""
        self.close()
        click.echo(f"sendpro: {what} ...", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def render_summary(report: RunReport, out_dir: Path) -> str:
    """Return the human summary of a convert run."""
    lines = [
        f"sendpro {report.sendpro_version}: layout {report.layout}, profile {report.profile} (usage {report.usage})"
    ]
    for i in report.inputs:
        split = f", {i.split_claims} split claim(s) regrouped" if i.split_claims else ""
        lines.append(f"  read {i.file}: {i.rows} rows, {i.claims} claims{split}")
    lines.append("")
    lines.append(f"  {'':<10}{'claims':>9}{'lines':>9}{'rows':>9}{'total charge':>16}{'total paid':>16}")
    overall = report.overall
    sides = (
        ("input", "accepted", "rejected", "skipped") if overall.skipped.claims else ("input", "accepted", "rejected")
    )
    for side in sides:
        t = getattr(overall, side)
        lines.append(f"  {side:<10}{t.claims:>9}{t.lines:>9}{t.rows:>9}{money(t.charge):>16}{money(t.paid):>16}")
    verdict = "yes, to the cent" if report.balanced else "NO"
    formula = "accepted + rejected + skipped" if overall.skipped.claims else "accepted + rejected"
    lines.append(f"  reconciled (input = {formula}): {verdict}")
    if overall.skipped.claims:
        lines.append(f"  {overall.skipped.claims} claim(s) already submitted in this version were skipped (CL050)")
    if overall.input.unreadable:
        lines.append(
            f"  {overall.input.unreadable} amount(s) are no number at all and are in no money total "
            "(counted on both sides; their claims are rejected)"
        )
    if report.message and report.status == "complete":
        lines.append(f"  {report.message}")
    if report.ledger:
        lines.append(f"  ledger: {report.ledger} (run {report.ledger_run})")
    lines += _since_last_run_lines(report.since_last_run)
    for r in report.recovered:
        files = [Path(f).name for f in r["removed"] if not Path(f).name.startswith(".")]
        removed = f"; removed its unrecorded file(s): {', '.join(files)}" if files else ""
        lines.append(f"  ledger run {r['run']} was interrupted while {r['died_while']}{removed}")
    lines.append("")
    for o in report.outputs:
        where = out_dir / o.name
        if o.kind == "837":
            lines.append(
                f"  {where}: {o.claims} claims, {o.transactions} transaction set(s), {o.segments} "
                f"segments, ISA13 {o.interchange_control:09d} (X12 validation: {report.output_validation})"
                if o.interchange_control is not None
                else f"  {where}"
            )
        elif o.kind == "ncpdp":
            lines.append(
                f"  {where}: {o.claims} claims, {o.segments} records, layout {o.version}, batch "
                f"{o.interchange_control} (checks: {report.output_validation})"
            )
        elif o.kind == "xref":
            lines.append(f"  {where}: transaction reference -> MCE claim id")
        elif o.kind == "rejects":
            lines.append(f"  {where}: {o.claims} rejected claim(s) in the input layout; fix and run again")
        elif o.kind == "errors" and o.name.endswith(".jsonl"):
            c = report.issues
            lines.append(
                f"  {out_dir / 'errors.jsonl'} (and errors.csv): {c.total} issue(s): "
                f"{c.by_severity.get('error', 0)} error(s), {c.by_severity.get('warning', 0)} warning(s), "
                f"{c.by_severity.get('info', 0)} info" + (f"; first {c.written} written" if c.truncated else "")
            )
    lines.append(f"  {out_dir / 'report.json'}")
    if any(o.name == "report.html" for o in report.outputs):
        lines.append(f"  {out_dir / 'report.html'}: the run for analysts (open it in a browser; no network needed)")
    for codeset in report.codesets:
        if codeset.get("packaged"):  # a list no one configured: say which release judged the codes
            release = codeset["releases"][0]
            lines.append(f"  {codeset['name']} checked against {release['version']} ({release['source']})")
    fmt_only = [str(c["name"]) for c in report.codesets if c.get("mode") == "format only"]
    if fmt_only:
        lines.append(f"  code sets checked by format only (no list configured): {', '.join(fmt_only)}")
    for summary in report.inputs:
        for check in summary.unverified_checks:
            lines.append(f"  {summary.file}: trailer check not verified: {check}")
    if report.skipped_rules:
        codes = ", ".join(r["code"] for r in report.skipped_rules)
        lines.append(f"  rules skipped for want of a reference file (--providers / --members): {codes}")
    lines += dq_summary_lines(report.dq_measures)  # MassHealth DQ measures below threshold
    if report.issues.by_code:
        lines.append("")
        lines.append("  issues by rule:")
        shown = report.issues.by_code.most_common(_RULES_SHOWN)
        for code, n in shown:
            lines.append(f"    {code}  {n:>7}  {_rule_summary(code)}")
        more = len(report.issues.by_code) - len(shown)
        if more:
            lines.append(f"    ... and {more} more code(s): see report.json or report.html")
    lines.append("")
    if report.exit_code == EXIT_REJECTED:
        written = "the accepted claims were written" if overall.accepted.claims else "no claim was accepted"
        lines.append(f"exit 1: {overall.rejected.claims} claim(s) rejected; {written}")
    elif overall.accepted.claims == 0 and overall.skipped.claims:
        lines.append("exit 0: nothing new: every claim was already submitted")
    elif overall.input.claims == 0:
        lines.append("exit 0: nothing to send: the input holds no claims")
    else:
        lines.append("exit 0: every claim accepted")
    return "\n".join(lines)


#: Rule codes listed in the run summary (the most frequent first).
_RULES_SHOWN = 15


def _since_last_run_lines(since: Mapping[str, Any] | None) -> list[str]:
    """Return the summary's lines comparing the run with the previous one of its ledger (none without one)."""
    if not since:
        return []
    share = since["rejected_share"]
    first = f"  since run {since['previous_run']}: rejected {share['this']:.1%} (was {share['previous']:.1%})"
    if since["new_rules"]:
        first += f"; new rules fired: {', '.join(since['new_rules'])}"
    c = since["claims_vs_submitted"]
    return [
        first,
        f"  claims against earlier submissions: {c['new']} new, {c['replaced']} replaced, {c['voided']} voided, "
        f"{c['unchanged']} unchanged",
    ]


def _rule_summary(code: str) -> str:
    from sendpro.validate.catalog import describe_code

    return describe_code(code)


# -- validate -----------------------------------------------------------------------------------
@cli.command()
@click.argument("x12_file", type=click.Path(path_type=Path))
@click.option("--include-values", is_flag=True, help="Show the offending values (PHI: handle with care).")
@click.option("--ncpdp-layout", default=None, help="Check an NCPDP file against this layout (name or path).")
@click.option(
    "--ack",
    "ack_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a 999 acknowledgment for the X12 file here (bad values left out unless --include-values).",
)
@validator_option
@common_options
def validate(
    x12_file: Path,
    include_values: bool,
    ncpdp_layout: str | None,
    ack_file: Path | None,
    validator: str,
    map_cache: Path | None,
) -> None:
    """Validate an 837 (sendpro's PACDR maps) or an NCPDP file (its layout); print issues.

    X12 files are checked by the compiled validator, which reports what pyx12 reports
    (``--validator pyx12`` runs pyx12 itself).

    Nothing is written unless --ack asks for a 999. A file whose interchange cannot
    be read gets a TA1 rejecting it instead (in the default separators when its own
    cannot be used); one whose ISA names no interchange to reply to gets none.
    """
    if not x12_file.is_file():
        raise SendproError(f"{x12_file}: no such file")
    if ack_file is not None:
        if ncpdp_layout is not None:
            raise click.UsageError("--ack writes a 999, which acknowledges X12 files only")
        _refuse_to_overwrite(ack_file, x12_file)
        issues, summary = api.acknowledge_file(
            x12_file, ack_file, map_cache, include_values=include_values, validator=validator
        )
        if summary.unwritten is not None:
            click.echo(f"{ack_file}: not written: {summary.unwritten}")
        else:
            click.echo(
                f"{ack_file}: 999 for {summary.transactions} transaction set(s): {summary.accepted} accepted, "
                f"{summary.rejected} rejected"
                + (f"; TA1 {summary.interchange_code}" if summary.interchange_code else "")
            )
    else:
        issues = api.validate_file(x12_file, map_cache, ncpdp_layout, validator)
    for issue in issues:
        click.echo(format_issue(issue, include_values))
    if issues:
        click.echo(f"{x12_file}: {len(issues)} problem(s)")
        sys.exit(EXIT_REJECTED)
    click.echo(f"{x12_file}: valid")


def format_issue(issue: Issue, include_values: bool = False) -> str:
    """Return one readable line for an issue."""
    loc = issue.location
    where = [str(loc.file or "")]
    if loc.record_no:
        where.append(
            f"{'record' if loc.ncpdp_field is not None or issue.code.startswith('RX2') else 'line'} {loc.record_no}"
        )
    if loc.claim_id:
        where.append(f"claim {loc.claim_id}")
    if loc.x12_path:
        where.append(loc.x12_path)
    if loc.ncpdp_field:
        where.append(loc.ncpdp_field)
    text = f"{': '.join(where)}: {issue.code} {issue.severity.value}: {issue.message}"
    if include_values and issue.value is not None:
        text += f" [value: {issue.value}]"
    return text


# -- layouts --------------------------------------------------------------------------------------
#: Width of ``sendpro layouts NAME`` tables: fits a 100-column terminal, and is fixed
#: (not the terminal's) so that the output is the same everywhere, also in tests.
LAYOUT_WIDTH = 99

_USAGE_LEGEND = "R required, S situational, O optional, - not used"


def wrap_table(widths: Sequence[int], header: Sequence[str], rows: Sequence[Sequence[str]], indent: int) -> list[str]:
    """Lay out ``rows`` as columns of ``widths``; the last column takes the rest of the line.

    Each cell wraps within its column (long words are broken too), so no line is
    longer than :data:`LAYOUT_WIDTH`.
    """
    last = LAYOUT_WIDTH - indent - sum(widths) - len(widths)
    all_widths = [*widths, max(last, 10)]
    out: list[str] = []
    for row in [header, *rows]:
        cells = [textwrap.wrap(text, width) or [""] for text, width in zip(row, all_widths, strict=True)]
        for i in range(max(len(c) for c in cells)):
            parts = [(c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, all_widths, strict=True)]
            out.append((" " * indent + " ".join(parts)).rstrip())
    return out


def _usage_cell(doc: dict[str, Any], claim_types: Sequence[str]) -> str:
    return " ".join(doc["usage"].get(ct, " ") for ct in claim_types)


def _describe_cell(doc: dict[str, Any]) -> str:
    check = f"check {doc['check']}" if doc["check"] else ""
    return "; ".join(t for t in (check, doc["description"]) if t)


def render_layout(desc: dict[str, Any], claim_types: Sequence[str], type_names: Mapping[str, str]) -> str:
    """Render :func:`~sendpro.flatfile.describe.describe_layout` output as text tables."""
    lines = [f"{desc['name']}: {desc['title']}"]
    fmt = f"  format {desc['format']}, encoding {desc['encoding']}, claim types {', '.join(claim_types)}"
    if desc["format"] == "delimited":
        fmt += f", delimiter {desc['delimiter']!r}" + ("" if desc["header"] else ", no header row")
    lines.append(fmt)
    names = ", ".join(f"{ct} {type_names.get(ct, ct)}" for ct in claim_types)
    lines += textwrap.wrap(f"usage per claim type: {names}", LAYOUT_WIDTH - 2, initial_indent="  ")
    lines.append(f"  {_USAGE_LEGEND}")
    usage_width = max(len(" ".join(claim_types)), 5)
    usage_header = " ".join(claim_types)
    if desc["format"] == "delimited":
        rows = []
        for doc in desc["fields"]:
            col = doc["column"] if doc["column"] == doc["field"] else f"{doc['column']} -> {doc['field']}"
            if not desc["header"]:
                col = f"position {doc['position']}: {doc['field']}"
            rows.append([col, _usage_cell(doc, claim_types), doc["format"], _describe_cell(doc)])
        lines.append("")
        lines += wrap_table([28, usage_width, 26], ["column", usage_header, "format", "description"], rows, 2)
        return "\n".join(lines)
    rt = desc["record_type"]
    lines.append(
        f"  record type in positions {rt['start']}-{rt['start'] + rt['length'] - 1};"
        " (name): a header or trailer value, not a model field"
    )
    for rec in desc["records"]:
        lines.append("")
        length = f", length {rec['length']}" if rec["length"] else ""
        lines.append(f"  record {rec['type']} ({rec['role']}){length}")
        rows = [
            [
                str(doc["start"]),
                str(doc["length"]),
                doc["field"] if doc["model"] else f"({doc['field']})",
                _usage_cell(doc, claim_types),
                doc["format"],
                _describe_cell(doc),
            ]
            for doc in rec["fields"]
        ]
        header = ["start", "len", "field", usage_header, "picture"]
        lines += wrap_table([5, 4, 26, usage_width, 14], [*header, "description"], rows, 4)
    return "\n".join(lines)


def render_ncpdp_layout(desc: dict[str, Any]) -> str:
    """Render :func:`~sendpro.ncpdp.describe.describe_ncpdp_layout` output as text tables."""
    lines = [f"{desc['name']}: {desc['title']}"]
    if desc["provisional"]:
        lines += textwrap.wrap(desc["provisional"], LAYOUT_WIDTH - 2, initial_indent="  ", subsequent_indent="  ")
    lines.append("  R: required (a blank value is an error); values come from a pharmacy model field or the writer")

    def rows(fields: Sequence[dict[str, Any]], fixed: bool) -> list[list[str]]:
        out = []
        for f in fields:
            if fixed:
                place = f"{f['start']}-{f['start'] + f['length'] - 1}"
            else:
                place = f["code"] or ""
            fmt = f["format"] + (f" v{f['decimals']}" if f["decimals"] else "")
            if not fixed and f["max_length"]:
                fmt += f" {f['max_length']}"
            src = f"field {f['field']}" if f["field"] else f"value {f['value']!r}"
            if f["map"]:
                src += " (codes mapped: " + ", ".join(f"{k}={v}" for k, v in f["map"].items()) + ")"
            label = f"{f['id']} {f['name']}".strip()
            out.append([place, label, fmt, "R" if f["required"] else "", src])
        return out

    for rec in desc["records"]:
        lines.append(f"  record {rec['type']} ({rec['role']}), length {rec['length']}")
        lines += wrap_table([9, 44, 7, 1], ["position", "field", "format", "", "source"], rows(rec["fields"], True), 4)
    for seg in desc["segments"]:
        lines.append(f"  segment AM{seg['id']} {seg['name']} ({seg['level']} level)")
        lines += wrap_table([9, 44, 7, 1], ["code", "field", "format", "", "source"], rows(seg["fields"], False), 4)
    return "\n".join(lines)


def _layout_list() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for lname, path in bundled_layouts().items():
        lay = load_layout(path)
        out.append(
            {
                "name": lname,
                "kind": "input",
                "format": lay.format.value,
                "claim_types": list(lay.claim_types),
                "title": lay.title,
                "provisional": None,
            }
        )
    for lname, path in bundled_ncpdp_layouts().items():
        nlay = load_ncpdp_layout(path)
        out.append(
            {
                "name": lname,
                "kind": "ncpdp",
                "format": nlay.format,
                "claim_types": ["RX"],
                "title": nlay.title,
                "provisional": nlay.provisional,
            }
        )
    return out


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the layout (or the list of layouts) as JSON.")
def layouts(name: str | None, as_json: bool) -> None:
    """List the bundled layouts, or show each field of one layout (NAME or path).

    For each field: the column (or start and length, with the record type, for
    fixed-width layouts), the model field, its usage (R/S/O/-) per claim type, the
    format or picture, and what it means. NCPDP output layouts show their records
    or segments and where each value comes from.
    """
    if name and name in bundled_ncpdp_layouts():
        ndesc = describe_ncpdp_layout(load_ncpdp_layout(name))
        click.echo(json.dumps(ndesc, indent=2) if as_json else render_ncpdp_layout(ndesc))
        return
    if name:
        lay = load_layout(name)
        desc = describe_layout(lay)
        if as_json:
            click.echo(json.dumps(desc, indent=2))
        else:
            click.echo(render_layout(desc, lay.claim_types, lay.catalog.type_names))
        return
    listing = _layout_list()
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    click.echo("Input layouts:")
    for item in listing:
        if item["kind"] == "input":
            click.echo(f"  {item['name']:<18} {item['format']:<12} {','.join(item['claim_types']):<6} {item['title']}")
    click.echo("NCPDP output layouts (--ncpdp-profile):")
    for item in listing:
        if item["kind"] == "ncpdp":
            flag = "  [provisional]" if item["provisional"] else ""
            click.echo(f"  {item['name']:<18} {item['format']:<12} {'RX':<6} {item['title']}{flag}")


# -- rules --------------------------------------------------------------------------------------
@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="Show each rule's full documentation.")
@click.option("--brief", is_flag=True, help="One line per code (no source or examples).")
@click.option("--select", default=None, help="Only codes starting with these prefixes (comma-separated).")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
def rules(verbose: bool, brief: bool, select: str | None, as_json: bool) -> None:
    """List every code: severity, scope, name, summary, source, and a bad and a good example."""
    from sendpro.validate.catalog import catalog

    prefixes = _split_codes(select)
    chosen = [e for e in catalog() if not prefixes or any(e.code.startswith(p) for p in prefixes)]
    if not chosen:
        raise click.BadParameter(f"no rule code starts with {', '.join(prefixes)}", param_hint="--select")
    if as_json:
        docs = [{**dataclasses.asdict(e), "bad": e.example("Bad"), "good": e.example("Good")} for e in chosen]
        click.echo(json.dumps(docs, indent=2))
        return
    for entry in chosen:
        click.echo(f"{entry.code}  {entry.severity:<8} {entry.scope:<6} {entry.name:<36} {entry.summary}")
        if brief:
            continue
        types = f"   applies to: {' '.join(entry.applies_to)}" if entry.applies_to else ""
        needs = f"   needs: {' and '.join(entry.needs)} file" if entry.needs else ""
        click.echo(f"       source: {entry.source}{types}{needs}")
        if verbose and entry.doc:
            for line in entry.doc.splitlines():
                click.echo(f"       {line}")
        else:
            for kind in ("Bad", "Good"):
                if entry.example(kind):
                    click.echo(f"       {kind.lower()}: {entry.example(kind)}")


# -- sample --------------------------------------------------------------------------------------
@cli.command()
@click.option("--claims", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--types", default="P", show_default=True, help="Claim types, e.g. P or P,I,D.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--defects",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of claims that get one seeded defect.",
)
@click.option(
    "--all-classes",
    is_flag=True,
    help="Seed defects of every rule class (code sets, MassHealth edits, situational and balancing rules), "
    "not only the basic ones; the classes that need a code list or a reference file show with --references.",
)
@click.option(
    "--references",
    "references_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write providers.csv, members.csv, code lists and a sendpro.toml wiring them into this directory, "
    "agreeing with every claim but the seeded ones (convert with --config DIR/sendpro.toml).",
)
@click.option(
    "--layout",
    default=None,
    help="Write a fixed-width layout (e.g. mce-fw-example) instead of mce-v1.",
)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
def sample(
    claims: int,
    types: str,
    seed: int,
    defects: float,
    all_classes: bool,
    references_dir: Path | None,
    layout: str | None,
    out_file: Path,
) -> None:
    """Write synthetic encounters (never real members, providers or claims), mce-v1 by default."""
    from sendpro.sample import SampleReferences, write_references, write_sample

    chosen = tuple(t.strip().upper() for t in types.split(",") if t.strip())
    if not chosen or any(t not in ("P", "I", "D", "RX") for t in chosen) or ("RX" in chosen and len(chosen) > 1):
        raise click.BadParameter("types must be P, I and D (comma-separated), or RX alone", param_hint="--types")
    lay = load_layout(layout) if layout else None
    if lay is not None:
        unsupported = [t for t in chosen if t not in lay.claim_types]
        if unsupported:
            raise click.BadParameter(
                f"layout {lay.name} carries claim types {', '.join(lay.claim_types)} only",
                param_hint="--types",
            )
        if defects and lay.format.value != "delimited":
            raise click.BadParameter(
                "seeded defects are only available for mce-v1 samples (a fixed-width record cannot carry many of "
                "them); leave out --defects for a clean fixed-width sample",
                param_hint="--defects",
            )
    refs = SampleReferences() if references_dir is not None else None
    out_file.parent.mkdir(parents=True, exist_ok=True)
    temp = out_file.with_name(f".{out_file.name}.tmp")
    with temp.open("w", encoding="utf-8", newline="\n") as handle:
        summary = write_sample(
            handle,
            claims,
            types=chosen,
            seed=seed,
            defect_rate=defects,
            layout=lay,
            all_classes=all_classes,
            references=refs,
        )
    os.replace(temp, out_file)
    click.echo(
        f"{out_file}: {summary.claims} claims, {summary.rows} rows, {len(summary.defects)} seeded defect(s)",
        err=True,
    )
    if references_dir is not None and refs is not None:
        written = write_references(references_dir, refs)
        click.echo(
            f"{written.directory}: {written.providers.name}, {written.members.name}, "
            f"{len(written.codesets)} code lists; convert with --config {written.config}",
            err=True,
        )


# -- ledger: ack, status, reconcile -------------------------------------------------------------------
def _ledger(path: Path | None) -> Path:
    return api.default_ledger(path)


@cli.command()
@click.argument("ack_files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="ACK_FILE_OR_DIR...")
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (notes go to stderr).")
def ack(ack_files: tuple[Path, ...], ledger_path: Path | None, as_json: bool) -> None:
    """Ingest acknowledgments (TA1, 999, 277CA X214, 277 X364) into the ledger.

    A directory means every file in it, in name order (hidden files skipped); an
    empty directory, or a shell pattern that matched nothing, is nothing to do.
    Each file updates the files and encounters it names; one that names nothing
    the ledger submitted, or is cut short, is refused and changes nothing. Exit 1
    when a file was refused.
    """
    inputs = collect_ack_files(ack_files)
    for note in inputs.notes:
        click.echo(note, err=as_json)  # stdout stays one JSON document
    results = api.ingest_acks(inputs.files, _ledger(ledger_path)) if inputs.files else []
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            click.echo(render_ack(r))
    sys.exit(EXIT_REJECTED if any(r.status == "refused" for r in results) else EXIT_OK)


def render_ack(result: AckResult) -> str:
    """Return what ingesting one acknowledgment did, for people: the file named once, then what happened."""
    if result.status == "refused":
        return f"{result.path}: refused: {result.message}"
    if result.status != "ingested":  # already ingested: the message says so, and when
        return f"{result.path}: {result.message}"
    kinds = ", ".join(result.kinds)
    moved = ", ".join(f"{n} {s}" for s, n in sorted(result.encounters.items()) if n) or "none changed"
    lines = [f"{result.path}: {kinds}: {result.files} file(s); encounters: {moved}"]
    if result.unmatched:
        more = f" (+{len(result.unmatched) - 5} more)" if len(result.unmatched) > 5 else ""
        lines.append(f"  not in the ledger: {'; '.join(result.unmatched[:5])}{more}")
    return "\n".join(lines)


@cli.command()
@click.argument("extracts", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ledger_option
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File for the rejected claims' rows (a reasons CSV is written beside it).",
)
@click.option("--layout", default=None, help="The extracts' layout (name or path; default: detected).")
def rejected(extracts: tuple[Path, ...], ledger_path: Path | None, out_file: Path, layout: str | None) -> None:
    """Write the claims MassHealth rejected, not sent again since, back out of their extracts.

    The rows are copied from the EXTRACTS they were converted from (found by
    content, wherever they are kept now) in the extracts' own layout, ready to fix
    and convert again; OUT.reasons.csv says which file and acknowledgment
    rejected each claim, and why. Exit 0 when there is nothing to fix, 1 when
    claims were written or could not be found.
    """
    if any(out_file.resolve() == e.resolve() for e in extracts):
        raise click.BadParameter("the output cannot replace an extract", param_hint="--out")
    result = api.rejected_claims(_ledger(ledger_path), extracts, out_file, layout)
    if result.claims == 0:
        click.echo("nothing to fix: no claim MassHealth rejected is waiting for a new version")
        return
    if result.written:
        click.echo(
            f"{result.out}: {result.written} claim(s) MassHealth rejected, in the extract's layout; "
            f"reasons in {result.reasons}"
        )
    for line in result.not_found[:20]:
        click.echo(f"  not found: {line}")
    if len(result.not_found) > 20:
        click.echo(f"  ... and {len(result.not_found) - 20} more not found")
    sys.exit(EXIT_REJECTED)


@cli.command()
@ledger_option
@click.option("--runs", type=click.IntRange(min=0), default=10, show_default=True, help="Recent runs to list.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="Rejected encounters to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(ledger_path: Path | None, runs: int, limit: int, as_json: bool) -> None:
    """Show the ledger: recent runs, files and encounters by status, and the rejected encounters to fix."""
    report = api.ledger_status(_ledger(ledger_path), runs, limit)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(render_status(report))


def render_status(report: StatusReport) -> str:
    """Return the ledger status for people."""
    lines = [f"ledger {report.path} (schema {report.schema_version})", "", "recent runs:"]
    for r in report.runs:
        lines.append(
            f"  run {r['run']:>5}  {str(r['started_at'])[:19]}  {r['status']:<12} {r['claims_in']:>8} in "
            f"{r['accepted']:>8} sent {r['rejected']:>6} held {r['skipped']:>6} skipped  {r['files']} file(s)"
        )
    if not report.runs:
        lines.append("  (none)")
    lines += ["", "files: " + (", ".join(f"{n} {s}" for s, n in report.files.items()) or "none"), "", "encounters:"]
    lines.append(f"  {'type':<6}" + "".join(f"{s:>14}" for s in ENCOUNTER_STATUSES))
    for claim_type, by in sorted(report.encounters.items()):
        lines.append(f"  {claim_type:<6}" + "".join(f"{by.get(s, (0, 0))[0]:>14}" for s in ENCOUNTER_STATUSES))
    if report.oldest_unacknowledged:
        lines.append(f"  oldest encounter still awaiting an acknowledgment: {report.oldest_unacknowledged[:10]}")
    lines += ["", f"rejected by MassHealth, to fix and send again: {report.to_fix_total}"]
    if report.correction_held:
        lines.append(
            f"  {report.correction_held} sent claim(s) have a newer version sendpro held: fix it in the rejects "
            "file of its run and convert again"
        )
    for t in report.to_fix:
        where = t.file or "?"
        if t.run is not None:
            isa13 = f", ISA13 {t.isa13:09d}" if t.isa13 is not None else ""
            where = f"{where}, run {t.run}{isa13}"
        lines.append(f"  {t.claim_type} {t.claim_id} ({where}): {t.reason_text}")
    if report.to_fix_total > len(report.to_fix):
        lines.append(f"  ... {report.to_fix_total - len(report.to_fix)} more (--limit, or --json)")
    return "\n".join(lines)


@cli.command()
@ledger_option
@click.option("--runs", type=click.IntRange(min=0), default=10, show_default=True, help="Recent runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the trends as JSON.")
def trends(ledger_path: Path | None, runs: int, as_json: bool) -> None:
    """Show recent completed runs: claims, rejected share, the top rules by rate, the top providers."""
    report = api.ledger_trends(_ledger(ledger_path), runs)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    click.echo(render_trends(report))


def render_trends(report: TrendsReport) -> str:
    """Return the trends for people: one block per run, newest first."""
    lines = [f"ledger {report.path}: trends of the last {len(report.runs)} completed run(s), newest first"]
    if not report.runs:
        lines.append("  no completed runs yet: convert with this ledger first")
    for r in report.runs:
        lines += [
            "",
            f"run {r.run_id}  started {r.started_at[:19]}  {r.claims} claims, {r.rejected} rejected "
            f"({r.rejected_share:.1%})",
        ]
        if not r.recorded:
            lines.append("  rules and providers not recorded (a run from before the ledger kept trends)")
            continue
        if not r.rules:
            lines.append("  no rule fired")
        else:
            lines.append("  top rules by rate:")
            for rule in r.rules:
                share = rule.claims / rule.applies if rule.applies else 0.0
                lines.append(
                    f"    {rule.code}  {share:>7.2%}  {rule.claims} of {rule.applies} claim(s)  "
                    f"{_rule_summary(rule.code)}"
                )
        if r.providers:
            lines.append("  top providers by rejected claims:")
            for p in r.providers:
                lines.append(
                    f"    {p.npi or '(no NPI)':<10}  {p.rejected} of {p.claims} claim(s) rejected, "
                    f"charge {money(p.rejected_charge)}, paid {money(p.rejected_paid)}"
                )
    return "\n".join(lines)


@cli.command()
@ledger_option
@click.option("--run", "run_id", type=int, default=None, help="Only the files of this run.")
@click.option("--json", "as_json", is_flag=True, help="Print the reconciliation as JSON.")
def reconcile(ledger_path: Path | None, run_id: int | None, as_json: bool) -> None:
    """Control totals: what each file carried vs what its acknowledgments account for.

    Exit 1 when something does not add up (a 277 whose totals disagree with its
    claims, a 999 acknowledging another number of transaction sets).
    """
    result = api.reconcile_ledger(_ledger(ledger_path), run_id)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(render_reconciliation(result))
    sys.exit(EXIT_REJECTED if result.problems else EXIT_OK)


def render_reconciliation(result: LedgerReconciliation) -> str:
    """Return the reconciliation for people (amounts in dollars)."""
    head = (
        f"  {'run':>5} {'ISA13':<10}{'file':<20}{'claims':>8}{'charge':>14}{'accepted':>10}{'rejected':>10}"
        f"{'awaiting':>10}{'awaiting $':>14}"
    )
    lines = ["submitted vs acknowledged, per file:", head]
    for f in result.files:
        accepted = f.side(ACCEPTED)[0]
        rejected = f.side(REJECTED)[0]
        waiting_n, waiting_c = f.side(SUBMITTED, ACKNOWLEDGED)
        isa13 = f"{f.isa13:09d}" if f.isa13 is not None else "-"
        lines.append(
            f"  {f.run_id:>5} {isa13:<10}{f.name[:19]:<20}{f.claims:>8}{money(f.charge):>14}{accepted:>10}"
            f"{rejected:>10}{waiting_n:>10}{money(waiting_c):>14}"
        )
        if f.path:
            lines.append(f"      in {Path(f.path).parent}")
        for a in f.acks:
            lines.append(f"      {a}")
    if not result.files:
        lines.append("  (no files)")
    for ack_entry in result.acks:
        stated = ack_entry["stated"]
        if stated is not None:
            lines.append(
                f"  277 {ack_entry['name']}: states {stated['accepted']} accepted / {stated['rejected']} rejected; "
                f"its claims: {ack_entry['matched']['accepted']} / {ack_entry['matched']['rejected']}"
            )
    problems = result.problems
    lines.append("")
    lines.append("reconciled: yes" if not problems else f"reconciled: NO ({len(problems)} problem(s))")
    lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


# -- entry point ------------------------------------------------------------------------------------
def _refuse_to_overwrite(ack_file: Path, x12_file: Path) -> None:
    """Refuse an --ack path that is the input or an existing file other than a 999 (re-running may replace that)."""
    if not ack_file.exists():
        return
    if ack_file.resolve() == x12_file.resolve():
        raise click.BadParameter("the 999 cannot replace the file it acknowledges", param_hint="--ack")
    with ack_file.open("r", encoding="ascii", errors="replace") as handle:
        head = handle.read(2048)
    element = head[3:4]
    if not (
        head.startswith("ISA") and element and f"~ST{element}999{element}" in head.replace("\n", "").replace("\r", "")
    ):
        raise click.BadParameter(
            f"{ack_file} exists and is not a 999 acknowledgment; name a new file", param_hint="--ack"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (errors are one readable line, never a traceback)."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="sendpro",
            standalone_mode=False,
        )
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("sendpro: interrupted; nothing was published", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except SendproError as exc:
        click.echo(f"sendpro: error: {exc}", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("sendpro: interrupted; nothing was published", err=True)
        return EXIT_ERROR
    except OSError as exc:  # the system refused a path we were given: the user's to fix, not a bug
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"sendpro: error: {exc.strerror or type(exc).__name__}{where}; nothing was published", err=True)
        return EXIT_ERROR
    except Exception as exc:  # a bug: one readable line, the traceback only on request
        if os.environ.get("SENDPRO_DEBUG"):
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(
            f"sendpro: internal error: {type(exc).__name__}: {first} (set SENDPRO_DEBUG=1 for a traceback)",
            err=True,
        )
        return EXIT_ERROR
    return EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
