"""Run configuration: one frozen object holding every choice of a run.

The clock and the control-number source live here too, so nothing in sendpro
reads the time or invents a control number on its own; tests inject fixed ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sendpro.projectconfig import CodeListSource
from sendpro.report.issue import Severity
from sendpro.x12.envelope import Clock, ControlNumbers

#: The NCPDP layout (``--ncpdp-profile``) of a run that names none.
DEFAULT_NCPDP_LAYOUT = "post-adjudication"

#: Default number of issues written per run (all are still counted).
DEFAULT_MAX_ISSUES = 10_000


def system_clock() -> dt.datetime:
    """Return the local time (the default clock)."""
    return dt.datetime.now().astimezone()


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one ``convert`` run.

    Attributes:
        layout: layout name or path; None chooses it from the header row.
        profile: submission profile name or path.
        usage: ISA15 ``T`` or ``P``; None takes the profile's.
        validate_output: validate every 837 written (see ``validator``).
        validator: ``compiled`` (sendpro's compiled validator, pyx12's findings at a
            fraction of its time) or ``pyx12`` (pyx12 itself, the reference).
        include_values: write raw values and unmasked member ids into error reports.
        max_issues: issues written to errors.jsonl/csv (0 = all); all are counted.
        chunk_lines: physical lines parsed per batch (bounds memory).
        encoding: overrides the layout's character encoding.
        select / ignore: rule code prefixes to run or skip.
        severities: severity overrides by rule code.
        clock: the time source for envelopes and the report.
        control_numbers: ISA13/GS06/ST02 source for runs without a ledger; None
            derives them from the clock. With a ledger the ledger allocates them.
        control_start: with a ledger, the lowest control number to allocate
            (refused when the ledger already went past it).
        map_cache: where derived pyx12 maps are cached (None: the user cache).
        temp_dir: where the on-disk claim index lives (None: the system default).
        progress: called with (rows processed so far, rows in all inputs).
        stage: called with what the run does next once the inputs are converted
            (``validating 837P.x12``, ``reconciling``, ``publishing``).
        ncpdp_layout: NCPDP layout name or path for pharmacy output
            (``post-adjudication`` or ``batch-d0``).
        ledger: the submission ledger database (None: no ledger).
        resubmit: send versions the ledger already holds again, on purpose.
        fault_point: a named point where the run kills itself (crash-safety tests only).
        codesets: configured code lists by code set name (see :mod:`sendpro.codesets`).
        providers / members: the optional reference files (see :mod:`sendpro.references`).
        ordered_services: replaces the bundled ordered-services ranges (edit 1200).
        jobs: worker processes that check and prepare batches (None: the cores
            available; 1: none). Inputs under 20,000 rows and pharmacy runs are
            checked in-process. The output is the same for every value.
    """

    layout: str | None = None
    profile: str = "masshealth-sendpro"
    usage: str | None = None
    validate_output: bool = True
    validator: str = "compiled"
    include_values: bool = False
    max_issues: int = DEFAULT_MAX_ISSUES
    chunk_lines: int = 5_000
    encoding: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severities: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    clock: Clock = system_clock
    control_numbers: ControlNumbers | None = None
    control_start: int | None = None
    map_cache: Path | None = None
    temp_dir: Path | None = None
    progress: Callable[[int, int], None] | None = None
    stage: Callable[[str], None] | None = None
    ncpdp_layout: str = DEFAULT_NCPDP_LAYOUT
    ledger: Path | None = None
    resubmit: bool = False
    fault_point: str | None = None
    codesets: Mapping[str, tuple[CodeListSource, ...]] = field(default_factory=lambda: MappingProxyType({}))
    providers: Path | None = None
    members: Path | None = None
    ordered_services: Path | None = None
    jobs: int | None = None
