"""Library entry points: converting, validating, acknowledging, and the ledger's reports.

:func:`convert_files` runs the convert pipeline (its stages live in :mod:`sendpro.convert`);
:func:`validate_file` checks an 837 or NCPDP file; :func:`acknowledge_file` writes its 999;
:func:`ingest_acks`, :func:`ledger_status` and :func:`reconcile_ledger` read and feed the ledger.

A run is configured one way for the command line and for Python callers (a
scheduler such as Airflow): :func:`run_config` applies the defaults ``sendpro
convert`` applies (the default ledger, the project's ``sendpro.toml``), through
the same :func:`sendpro.projectconfig.resolve_settings` and :func:`resolve_ledger`
the command line calls; :func:`convert_files` without a configuration uses it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sendpro.config import RunConfig, system_clock
from sendpro.convert import pipeline
from sendpro.convert.pipeline import EXIT_ERROR, EXIT_OK, EXIT_REJECTED
from sendpro.convert.plan import detect_layout
from sendpro.errors import LedgerError, UsageError
from sendpro.flatfile.layout import load_layout
from sendpro.ledger.acks import AckResult, ingest_ack
from sendpro.ledger.db import Ledger, default_ledger_path
from sendpro.ledger.rejected import RejectedResult, find_rejected, write_rejected
from sendpro.ledger.reports import LedgerReconciliation, StatusReport, reconcile, status
from sendpro.ledger.trends import TrendsReport, trends
from sendpro.ncpdp.layout import load_ncpdp_layout
from sendpro.ncpdp.validate import validate_detected, validate_ncpdp
from sendpro.projectconfig import CodeListSource, resolve_settings
from sendpro.report.issue import Issue, Severity
from sendpro.report.report import RunReport
from sendpro.validate.pyx12_bridge import check_x12, project_map_dir, validate_x12
from sendpro.version import sendpro_version
from sendpro.x12.ack999 import Ack999Summary, Ack999Writer, ack_problem, read_envelopes, segment_lines
from sendpro.x12.envelope import Clock, ClockControlNumbers, ControlNumbers
from sendpro.x12.scan import claims_at_segments, name_claims

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_REJECTED",
    "acknowledge_file",
    "convert_files",
    "default_ledger",
    "detect_layout",
    "ingest_acks",
    "ledger_status",
    "ledger_trends",
    "open_ledger",
    "reconcile_ledger",
    "resolve_ledger",
    "run_config",
    "sendpro_version",
    "validate_file",
]


def default_ledger(ledger: Path | None = None) -> Path:
    """Return ``ledger``, else ``$SENDPRO_LEDGER``, else ``$XDG_STATE_HOME/sendpro/ledger.sqlite``."""
    return ledger if ledger is not None else default_ledger_path()


def resolve_ledger(ledger: Path | None = None, *, no_ledger: bool = False) -> Path | None:
    """Return the ledger a conversion uses: None with ``no_ledger``, else :func:`default_ledger`."""
    return None if no_ledger else default_ledger(ledger)


def run_config(
    *,
    config_file: Path | None = None,
    start: Path | None = None,
    ledger: Path | None = None,
    no_ledger: bool = False,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    severities: Mapping[str, Severity] | None = None,
    codesets: Mapping[str, tuple[CodeListSource, ...]] | None = None,
    providers: Path | None = None,
    members: Path | None = None,
    **options: Any,
) -> RunConfig:
    """Return a :class:`RunConfig` with the defaults ``sendpro convert`` applies.

    Those are the ledger (``ledger``, else :func:`default_ledger`; none with
    ``no_ledger``) and the project configuration (``config_file``, else the
    ``sendpro.toml`` or ``[tool.sendpro]`` found from ``start``, default the
    working directory), merged under the rule, code-list and reference choices
    given here exactly as the command line's options are
    (:func:`sendpro.projectconfig.resolve_settings`). ``options`` are the other
    :class:`RunConfig` fields (``layout``, ``profile``, ``usage``...).

    Raises:
        UsageError: the configuration cannot be read or holds a bad value.
    """
    settings = resolve_settings(
        config_file,
        start=start,
        select=select,
        ignore=ignore,
        severities=severities,
        codesets=codesets,
        providers=providers,
        members=members,
    )
    return RunConfig(ledger=resolve_ledger(ledger, no_ledger=no_ledger), **settings.run_config_kwargs(), **options)


def convert_files(inputs: Sequence[Path], out_dir: Path, config: RunConfig | None = None) -> RunReport:
    """Convert flat-file extracts into 837 PACDR (or NCPDP) files in ``out_dir``; return the run report.

    Without ``config`` the run gets the defaults of ``sendpro convert`` (:func:`run_config`):
    the default ledger and the project's ``sendpro.toml``. A ``config`` given is used as
    it is (build it with :func:`run_config` to keep those defaults). See
    :func:`sendpro.convert.pipeline.convert_files` for what a run writes.

    Raises:
        SendproError: a usage, layout, profile or input-file problem (nothing is
            written), or a failed self-check (reconciliation, output validation).
    """
    return pipeline.convert_files(inputs, out_dir, config if config is not None else run_config())


def acknowledge_file(
    path: Path,
    ack_path: Path,
    map_cache: Path | None = None,
    clock: Clock = system_clock,
    control: ControlNumbers | None = None,
    include_values: bool = False,
    validator: str = "compiled",
) -> tuple[list[Issue], Ack999Summary]:
    """Validate an X12 file and write its 999 to ``ack_path`` (atomically); return the issues and the 999's totals.

    When the file holds no interchange a reply can be addressed to (it is not X12,
    or its ISA cannot be read), nothing is written: the summary's ``unwritten``
    says why, and the issues say what is wrong with the file.
    """
    issues, doc = check_x12(path, project_map_dir(map_cache), str(path), validator)
    issues = name_claims(path, issues)
    if doc is None or not doc.get("interchanges"):
        return issues, Ack999Summary(unwritten=issues[0].message if issues else "no interchange found")
    delimiters, sources = read_envelopes(path)
    unwritten = ack_problem(doc, delimiters, sources)
    if unwritten is not None:
        return issues, Ack999Summary(unwritten=unwritten)
    claims = claims_at_segments(path, segment_lines(doc))
    temp = ack_path.with_name(f".{ack_path.name}.sendpro-{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="ascii", newline="\n") as handle:
            writer = Ack999Writer(
                handle, delimiters, control or ClockControlNumbers(clock), clock(), claims, include_values
            )
            summary = writer.write(doc, sources)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, ack_path)
    finally:
        temp.unlink(missing_ok=True)
    return issues, summary


def validate_file(
    path: Path, map_cache: Path | None = None, ncpdp_layout: str | None = None, validator: str = "compiled"
) -> list[Issue]:
    """Validate an X12 837 (sendpro's PACDR maps) or an NCPDP file (its layout); return the issues.

    ``validator`` picks the X12 validator: ``compiled`` (the default) or ``pyx12``.

    The kind of file is recognised from its first record: ``ISA`` is X12; an STX
    batch header or a fixed header record of a bundled NCPDP layout is NCPDP.
    An empty list means the file is valid.
    """
    with path.open("rb") as handle:
        head = handle.read(3)
    if ncpdp_layout is not None:
        return validate_ncpdp(path, load_ncpdp_layout(ncpdp_layout), str(path))
    if head != b"ISA":
        # NCPDP by its header, or by its other records when the header is damaged; a file meant
        # to be NCPDP (*.ncpdp, STX framing) that fits no layout is reported as NCPDP, not X12.
        ncpdp_issues = validate_detected(path, str(path))
        if ncpdp_issues is not None:
            return ncpdp_issues
    return name_claims(path, validate_x12(path, project_map_dir(map_cache), str(path), validator))


def open_ledger(path: Path) -> Ledger:
    """Open an existing ledger (reading commands never create one).

    Raises:
        LedgerError: there is no ledger at ``path``.
    """
    if not path.is_file():
        raise LedgerError(f"no ledger at {path}: convert creates it (pass --ledger or set SENDPRO_LEDGER to choose it)")
    return Ledger(path)


def ingest_acks(paths: Sequence[Path], ledger_path: Path | None = None) -> list[AckResult]:
    """Ingest TA1, 999 and 277 acknowledgment files into the ledger, each in its own transaction.

    A file that is missing (e.g. a shell glob that matched nothing on a quiet
    night) or cannot be read as X12 is refused with its reason; the others are
    still ingested, so one bad file never holds back the night's acknowledgments.

    ``ledger_path`` defaults to :func:`default_ledger`, as for ``sendpro ack``.

    Raises:
        LedgerError: there is no ledger.
    """
    results: list[AckResult] = []
    with open_ledger(default_ledger(ledger_path)) as ledger:
        for p in paths:
            if not p.is_file():
                results.append(AckResult(str(p), status="refused", message="no such file"))
                continue
            try:
                results.append(ingest_ack(ledger, p))
            except LedgerError as exc:
                results.append(AckResult(str(p), status="refused", message=str(exc)))
    return results


def ledger_status(ledger_path: Path | None = None, runs: int = 10, limit: int = 50) -> StatusReport:
    """Return the ledger's runs, files and encounters by status, and the rejected encounters to fix.

    ``ledger_path`` defaults to :func:`default_ledger`, as for ``sendpro status``.
    """
    with open_ledger(default_ledger(ledger_path)) as ledger:
        return status(ledger, runs, limit)


def ledger_trends(ledger_path: Path | None = None, runs: int = 10) -> TrendsReport:
    """Return the last ``runs`` completed runs: claims, rejected share, top 5 rules by rate, top 3 providers.

    ``ledger_path`` defaults to :func:`default_ledger`, as for ``sendpro trends``.
    """
    with open_ledger(default_ledger(ledger_path)) as ledger:
        return trends(ledger, runs)


def reconcile_ledger(ledger_path: Path | None = None, run: int | None = None) -> LedgerReconciliation:
    """Return control totals submitted vs acknowledged, per file (and per 277).

    ``ledger_path`` defaults to :func:`default_ledger`, as for ``sendpro reconcile``.
    """
    with open_ledger(default_ledger(ledger_path)) as ledger:
        return reconcile(ledger, run)


def rejected_claims(
    ledger_path: Path | None, extracts: Sequence[Path], out: Path, layout: str | None = None
) -> RejectedResult:
    """Write the rows of every claim MassHealth rejected (not sent again since) from ``extracts`` to ``out``.

    The rows are copied in the extracts' own layout (``layout``: a name or path;
    by default detected from the first extract), with a reasons CSV beside
    ``out`` (:func:`sendpro.ledger.rejected.reasons_path`). Nothing is written
    when there is nothing to fix; claims whose extract was not given are listed
    in the result's ``not_found``. ``ledger_path`` None is :func:`default_ledger`.

    Raises:
        UsageError: no extract given, or the extracts are of different layouts.
        LedgerError: the ledger cannot be opened.
    """
    if not extracts:
        raise UsageError("give the extract(s) the rejected claims were converted from")
    chosen = load_layout(layout) if layout else detect_layout(extracts[0])
    if layout is None:
        for path in extracts[1:]:
            other = detect_layout(path)
            if other.name != chosen.name:
                raise UsageError(
                    f"{path} is a {other.name} extract and {extracts[0]} a {chosen.name} one: "
                    "run sendpro rejected once per layout"
                )
    with open_ledger(default_ledger(ledger_path)) as ledger:
        claims = find_rejected(ledger)
    return write_rejected(claims, extracts, chosen, out)
