"""Library entry points: :func:`convert_files` and :func:`validate_file`.

``convert_files`` is the whole pipeline: read each input in bounded batches,
validate every claim, write accepted claims to one 837 per claim type and
rejected claims to a rejects file in the input's own layout, stream every issue
to ``errors.jsonl`` / ``errors.csv``, validate each 837 with pyx12, re-read every
output file to reconcile counts and money to the cent, and only then publish
everything atomically with ``report.json``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sendpro.codesets.catalog import CodeSets
from sendpro.config import RunConfig, system_clock
from sendpro.errors import (
    LedgerError,
    OutputValidationError,
    ReconciliationError,
    SendproError,
    UsageError,
)
from sendpro.flatfile.layout import Layout, bundled_layouts, load_layout
from sendpro.flatfile.problems import CLAIM_IN_TWO_FILES
from sendpro.flatfile.reader import FlatFileReader
from sendpro.flatfile.rejects import RejectsWriter, trailer_amount_fields
from sendpro.flatfile.tally import claim_type_bucket, tally_file
from sendpro.ledger.acks import AckResult, ingest_ack
from sendpro.ledger.control import LedgerControlNumbers
from sendpro.ledger.db import FileRecord, Ledger, RunRecord
from sendpro.ledger.history import History
from sendpro.ledger.journal import RunJournal
from sendpro.ledger.reports import LedgerReconciliation, StatusReport, reconcile, status
from sendpro.model.encounter import Encounter
from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.ncpdp.layout import NcpdpLayout, load_ncpdp_layout
from sendpro.ncpdp.reader import tally_ncpdp
from sendpro.ncpdp.validate import validate_detected, validate_ncpdp
from sendpro.ncpdp.writer import NcpdpSettings, NcpdpWriter
from sendpro.outputs import HTML_NAME, REPORT_NAME, OutputSet, previous_outputs
from sendpro.profiles import Profile, load_profile
from sendpro.references import Members, OrderedServices, Providers
from sendpro.report.formatters.csv import CsvFormatter
from sendpro.report.formatters.jsonl import JsonlFormatter
from sendpro.report.html import iter_issues, render_html
from sendpro.report.issue import Category, Issue, Location, Severity
from sendpro.report.report import (
    ClaimStats,
    InputSummary,
    IssueCounter,
    OutputFile,
    Reconciliation,
    RuleStat,
    RunReport,
    Totals,
)
from sendpro.resources import schemas_dir
from sendpro.validate.catalog import catalog
from sendpro.validate.engine import ClaimResult, ValidationEngine
from sendpro.validate.pyx12_bridge import check_x12, project_map_dir, validate_x12
from sendpro.validate.registry import RuleRegistry, RuleSet
from sendpro.x12.ack999 import Ack999Summary, Ack999Writer, read_envelopes, segment_lines
from sendpro.x12.claim_837d import Claim837D
from sendpro.x12.claim_837i import Claim837I
from sendpro.x12.claim_837p import Claim837P
from sendpro.x12.envelope import Clock, ClockControlNumbers, ControlNumbers
from sendpro.x12.scan import claims_at_segments, tally_837
from sendpro.x12.writer import ClaimWriter, PacdrSettings, PacdrWriter

#: The 837 claim writer of each claim type.
CLAIM_WRITERS: dict[str, type[ClaimWriter]] = {"P": Claim837P, "I": Claim837I, "D": Claim837D}

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2


def sendpro_version() -> str:
    """Return the installed sendpro version."""
    try:
        return importlib.metadata.version("sendpro")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def _read_first_line(path: Path) -> bytes:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                return line.lstrip(b"\xef\xbb\xbf").rstrip(b"\r\n")
    return b""


def detect_layout(path: Path, candidates: dict[str, Path] | None = None) -> Layout:
    """Choose the layout of ``path`` from its first line, when exactly one layout fits.

    A delimited layout fits when the header row has its claim id column and most
    (60 %) of its columns; the best fit wins when it covers clearly more than the
    next one. Missing required columns are then reported by the reader, naming
    them. A fixed-width layout fits when the first record carries its header (or
    claim) record type.

    Raises:
        UsageError: no layout fits, or several fit equally well.
    """
    first = _read_first_line(path).decode("utf-8", errors="replace")
    if not first:
        raise UsageError(f"{path}: the file is empty; nothing to choose a layout from")
    scored: list[tuple[float, Layout]] = []
    # A layout whose columns are there but its claim id column is not: worth naming.
    near: tuple[float, Layout] | None = None
    for lpath in (candidates or bundled_layouts()).values():
        lay = load_layout(lpath)
        if lay.format.value == "delimited":
            if not lay.header:
                continue
            names = {n.strip() for n in first.split(lay.delimiter)}
            columns = [s.column or s.field for s in lay.fields]
            coverage = sum(1 for c in columns if c in names) / len(columns)
            if lay.column_for("mce_claim_id") in names and coverage >= 0.6:
                scored.append((coverage, lay))
            elif coverage >= 0.6 and (near is None or coverage > near[0]):
                near = (coverage, lay)
        else:
            rt = first[lay.record_type_start - 1 : lay.record_type_start - 1 + lay.record_type_length]
            if rt in {r.type for r in lay.records if r.role.value in ("header", "claim")}:
                scored.append((1.0, lay))
    scored.sort(key=lambda item: -item[0])
    if len(scored) == 1 or (len(scored) > 1 and scored[0][0] - scored[1][0] >= 0.2):
        return scored[0][1]
    if not scored and near is not None:
        lay = near[1]
        raise UsageError(
            f"{path}: the header row looks like layout {lay.name} ({near[0]:.0%} of its columns) but has no "
            f"{lay.column_for('mce_claim_id')} column, which every claim needs"
        )
    if not scored:
        raise UsageError(f"{path}: the header row matches no known layout; pass --layout NAME or PATH")
    fitting = ", ".join(lay.name for _, lay in scored)
    raise UsageError(f"{path}: the header row fits several layouts ({fitting}); pass --layout to choose one")


class _Output:
    """One accepted-claims output file of a run (an 837 for a claim type, or the NCPDP file)."""

    kind: str

    def __init__(self, outputs: OutputSet, key: str, sender: str) -> None:
        self.outputs = outputs
        self.key = key
        self.sender = sender
        self.path: Path | None = None
        #: Claims of the written file that do not balance (a sendpro bug), as (claim id, what).
        self.unbalanced: list[tuple[str, str]] = []

    def write(self, enc: Encounter | PharmacyEncounter) -> str:
        """Write one accepted encounter; return where in the file it went (ST02, or a record reference)."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file and give it its final name."""
        raise NotImplementedError

    def validate(self, config: RunConfig) -> list[Issue]:
        """Validate the written file; problems are sendpro bugs."""
        raise NotImplementedError

    def accepted(self, rows: int) -> tuple[Totals, OutputFile]:
        """Re-read the file on disk: the accepted totals and the report entry."""
        raise NotImplementedError

    def keys(self) -> list[str]:
        """Return every output key this writes (for discarding on failure)."""
        return [self.key]


class _X12Output(_Output):
    kind = "837"

    def __init__(
        self,
        outputs: OutputSet,
        bucket: str,
        settings: PacdrSettings,
        control: ControlNumbers,
        clock: Clock,
        file_name: Callable[[str, dt.date, int], str],
    ) -> None:
        env = settings.envelope
        super().__init__(outputs, f"837{bucket}", f"X12:{env.sender_qualifier}:{env.sender_id}")
        self.bucket = bucket
        self.clock = clock
        self.file_name = file_name
        self.writer = PacdrWriter(
            outputs.open(self.key, encoding="ascii"), CLAIM_WRITERS[bucket], settings, control, clock
        )

    def write(self, enc: Encounter | PharmacyEncounter) -> str:
        assert isinstance(enc, Encounter)
        return self.writer.write(enc)

    def close(self) -> None:
        summary = self.writer.close()
        self.outputs.rename(self.key, self.file_name(self.key, self.clock().date(), summary.interchange_control))
        self.path = self.outputs.close(self.key)

    def validate(self, config: RunConfig) -> list[Issue]:
        assert self.path is not None
        return _with_claim_ids(
            self.path,
            validate_x12(
                self.path, project_map_dir(config.map_cache), self.outputs.final_name(self.key), config.validator
            ),
        )

    def accepted(self, rows: int) -> tuple[Totals, OutputFile]:
        assert self.path is not None
        t = tally_837(self.path)
        self.unbalanced = t.unbalanced
        digest, size = self.outputs.sha256(self.key)
        ws = self.writer.summary
        entry = OutputFile(
            self.outputs.final_name(self.key),
            "837",
            self.bucket,
            t.claims,
            t.lines,
            0,
            t.segments,
            t.transactions,
            ws.interchange_control,
            ws.group_control,
            ws.version,
            digest,
            size,
        )
        return Totals(rows, t.claims, t.lines, t.charge, t.paid, t.line_charge, t.line_paid), entry


class _NcpdpOutput(_Output):
    kind = "ncpdp"

    def __init__(
        self,
        outputs: OutputSet,
        layout: NcpdpLayout,
        settings: NcpdpSettings,
        batch_number: int,
        clock: Clock,
        file_name: str,
    ) -> None:
        super().__init__(outputs, "RX.ncpdp", f"NCPDP:{settings.sender_id}")
        self.layout = layout
        handle = outputs.open(self.key, encoding="ascii", final_name=file_name)
        xref = None
        if layout.batch:
            xref = outputs.open("RX.xref.csv", final_name=Path(file_name).stem + ".xref.csv")
        self.writer = NcpdpWriter(handle, layout, settings, batch_number, clock, xref)

    def write(self, enc: Encounter | PharmacyEncounter) -> str:
        assert isinstance(enc, PharmacyEncounter)
        return self.writer.write(enc)

    def close(self) -> None:
        self.writer.close()
        self.path = self.outputs.close(self.key)
        if self.layout.batch:
            self.outputs.close("RX.xref.csv")

    def keys(self) -> list[str]:
        return [self.key, "RX.xref.csv"] if self.layout.batch else [self.key]

    def validate(self, config: RunConfig) -> list[Issue]:
        assert self.path is not None
        return validate_ncpdp(self.path, self.layout, self.outputs.final_name(self.key))

    def accepted(self, rows: int) -> tuple[Totals, OutputFile]:
        assert self.path is not None
        t = tally_ncpdp(self.path, self.layout)
        digest, size = self.outputs.sha256(self.key)
        entry = OutputFile(
            self.outputs.final_name(self.key),
            "ncpdp",
            "RX",
            t.details,
            0,
            0,
            t.records,
            version=self.layout.name,
            interchange_control=self.writer.summary.batch_number,
            sha256=digest,
            bytes=size,
        )
        return Totals(rows, t.details, 0, t.charge, t.paid, 0, 0), entry


class _Run:
    """State of one convert run (kept off module level: no global state)."""

    def __init__(self, inputs: Sequence[Path], out_dir: Path, config: RunConfig) -> None:
        self.inputs = list(inputs)
        self.out_dir = out_dir
        self.config = config
        self.started = time.monotonic()
        self.now = config.clock()
        self.report = RunReport(sendpro_version(), self.now.isoformat(timespec="seconds"))
        self.report.issues = IssueCounter(config.max_issues)
        self.control: ControlNumbers = config.control_numbers or ClockControlNumbers(config.clock)
        self.totals_in: dict[str, Totals] = {}
        self.accepted_rows: dict[str, int] = {}
        self.writers: dict[str, _Output] = {}
        self.rejects: dict[str, RejectsWriter] = {}
        #: The NCPDP layout of a pharmacy run (set when its output factory is made).
        self.ncpdp_layout: NcpdpLayout | None = None
        self.rejected_claims = 0
        self.skipped: dict[str, Totals] = {}
        self._open_output: Callable[[str], _Output] | None = None
        self.ledger: Ledger | None = None
        self.journal: RunJournal | None = None
        self.token = uuid.uuid4().hex
        self.run_id: int | None = None
        self.history: History | None = None
        self.stats = ClaimStats()
        self.rules: RuleSet | None = None

    # -- setup ---------------------------------------------------------------------------
    def resolve_layout(self) -> Layout:
        if self.config.layout:
            return load_layout(self.config.layout)
        chosen = [detect_layout(p) for p in self.inputs]
        names = {lay.name for lay in chosen}
        if len(names) > 1:
            detail = ", ".join(f"{p.name}: {lay.name}" for p, lay in zip(self.inputs, chosen, strict=True))
            raise UsageError(f"the inputs use different layouts ({detail}); convert them in separate runs")
        return chosen[0]

    def _output_factory(self, layout: Layout, profile: Profile, outputs: OutputSet) -> Callable[[str], _Output]:
        """Return how to open the output of a claim type: an 837 writer, or the NCPDP writer."""
        cfg = self.config
        if layout.model == "pharmacy":
            ncpdp_layout = load_ncpdp_layout(cfg.ncpdp_layout)
            self.ncpdp_layout = ncpdp_layout
            settings = profile.ncpdp_settings(cfg.usage)
            self.report.ncpdp_layout = ncpdp_layout.name
            name = profile.ncpdp_file_name(self.now.date())

            control = self._control_for(f"NCPDP:{settings.sender_id}")

            def open_ncpdp(bucket: str) -> _Output:
                return _NcpdpOutput(outputs, ncpdp_layout, settings, control.next_interchange(), cfg.clock, name)

            return open_ncpdp
        pacdr = profile.pacdr_settings(cfg.usage)
        env = pacdr.envelope
        control = self._control_for(f"X12:{env.sender_qualifier}:{env.sender_id}")

        def open_x12(bucket: str) -> _Output:
            return _X12Output(outputs, bucket, pacdr, control, cfg.clock, profile.file_name)

        return open_x12

    def _control_for(self, sender: str) -> ControlNumbers:
        """Control numbers: from the ledger when there is one (per sender), else the run's source."""
        if self.ledger is not None:
            return LedgerControlNumbers(self.ledger, sender, self.token, self.config.control_start)
        return self.control

    def _references(self) -> dict[str, object]:
        """Load the code lists and reference files the rules use (before reading any input)."""
        cfg = self.config
        codesets = CodeSets.load(cfg.codesets)
        self.report.codesets = codesets.describe()
        found: dict[str, object] = {
            "codesets": codesets,
            "ordered_services": OrderedServices.read(
                cfg.ordered_services or schemas_dir() / "references" / "ordered-services.toml"
            ),
        }
        if cfg.providers is not None:
            found["providers"] = Providers.read(cfg.providers)
        if cfg.members is not None:
            found["members"] = Members.read(cfg.members)
        return found

    def _drop_unmet(self, rules: RuleSet, references: Mapping[str, object]) -> RuleSet:
        """Leave out rules whose reference file was not given; the report lists them."""
        kept, unmet = rules.runnable(references.keys())
        for rule in unmet:
            missing = sorted(rule.needs - set(references))
            options = ", ".join(f"--{m}" for m in missing)
            reason = f"needs the {' and '.join(missing)} reference file ({options} or [references])"
            self.report.skipped_rules.append({"code": rule.code, "name": rule.name, "reason": reason})
        return kept

    def _guard_out_dir(self, ledger: Ledger) -> None:
        """Refuse to replace files in --out that the ledger recorded as submitted.

        A new run removes the previous run's outputs from its directory; a
        submitted file must be moved away by the team (after sending it), never
        deleted by sendpro.
        """
        for name in previous_outputs(self.out_dir):
            found = ledger.submitted_file(self.out_dir / name)
            if found is not None:
                ledger.close()
                raise UsageError(
                    f"{self.out_dir / name} is a submission file of ledger run {found[0]} ({found[1]}); a new run "
                    f"in {self.out_dir} would remove it. Use a new --out directory for each run "
                    "(e.g. --out out/$(date +%F)), or move the submitted files away first"
                )

    def _fault(self, point: str) -> None:
        """Die here if the run was asked to (crash-safety tests kill the process at named points)."""
        if self.config.fault_point == point:
            os.kill(os.getpid(), signal.SIGKILL)

    # -- main ------------------------------------------------------------------------------
    def run(self) -> RunReport:
        cfg = self.config
        for p in self.inputs:
            if p.is_dir():
                raise UsageError(f"{p}: is a directory, not an input file")
            if not p.is_file():
                raise UsageError(f"{p}: no such input file")
        _refuse_unknown_prefixes(cfg.select, cfg.ignore)
        layout = self.resolve_layout()
        profile = load_profile(cfg.profile)
        pacdr = profile.pacdr_settings(cfg.usage)
        if layout.model == "pharmacy":
            profile.ncpdp_settings(cfg.usage)  # refuse production with placeholders before reading
            load_ncpdp_layout(cfg.ncpdp_layout)
        registry = RuleRegistry()
        rules = registry.select(cfg.select, cfg.ignore, cfg.severities, model=layout.model)
        references = self._references()
        rules = self.rules = self._drop_unmet(rules, references)
        # Only the code sets of rules this run has (a pharmacy run checks no ICD-10 codes).
        running = {r.code for r in rules.all}
        self.report.codesets = [c for c in self.report.codesets if c.get("rule") in running]
        history: History | None = None
        if cfg.ledger is not None:
            if cfg.control_numbers is not None:
                raise UsageError("with a ledger, control numbers come from the ledger (use control_start to set one)")
            self.ledger = Ledger(cfg.ledger)
            self._guard_out_dir(self.ledger)
            self.run_id = self.ledger.start_run(
                self.report.started_at,
                self.report.sendpro_version,
                json.dumps([str(p) for p in self.inputs]),
                str(self.out_dir.resolve()),
            )
            self.report.ledger_run = self.run_id
            self.report.recovered = [
                {"run": r.run_id, "died_while": r.state, "removed": list(r.removed)} for r in self.ledger.recovered
            ]
            self.journal = RunJournal(cfg.temp_dir)
            history = self.history = History(self.ledger, self.journal)
            self.report.ledger = str(cfg.ledger)
        engine = ValidationEngine(rules, forbidden=pacdr.envelope.delimiters.chars + "|")
        self.report.layout = layout.name
        self.report.profile = profile.name
        self.report.usage = pacdr.envelope.usage
        readers = [
            FlatFileReader(
                p,
                layout,
                encoding=cfg.encoding,
                chunk_lines=cfg.chunk_lines,
                display_name=str(p),
                temp_dir=cfg.temp_dir,
            )
            for p in self.inputs
        ]
        outputs: OutputSet | None = None
        try:
            # Pass 1 over every input before anything is written: an unusable
            # file stops the run with no output at all.
            for reader in readers:
                scan = reader.scan()
                claims = scan.data_rows if layout.catalog.rows_are_claims else scan.claims
                self.report.inputs.append(
                    InputSummary(
                        reader.name,
                        layout.name,
                        scan.data_rows,
                        claims,
                        scan.split_claims,
                        unverified_checks=list(scan.unverified_checks),
                    )
                )
            _refuse_claims_in_two_files(readers)
            outputs = OutputSet(self.out_dir)
            self._open_output = self._output_factory(layout, profile, outputs)
            jsonl = JsonlFormatter(outputs.open("errors.jsonl"), cfg.include_values)
            csvf = CsvFormatter(outputs.open("errors.csv"), cfg.include_values)
            jsonl.start()
            csvf.start()
            self._sinks = (jsonl, csvf)
            rows_done = 0
            rows_total = sum(i.rows for i in self.report.inputs)
            writable = frozenset(CLAIM_WRITERS) | {"RX"}
            extra: dict[str, object] = {
                "writable_types": writable,
                "history": history,
                "resubmit": cfg.resubmit,
                "today": self.now.strftime("%Y%m%d"),
                # RX021 checks each claim's values against the fields they will be written to.
                "ncpdp_layout": self.ncpdp_layout,
                **references,
            }
            self._fault("after-scan")
            for reader, summary in zip(readers, self.report.inputs, strict=True):
                header = reader.header_text()
                trailer = reader.scan().trailer_record
                sums = trailer_amount_fields(layout)
                for item in engine.run(reader, extra):
                    if isinstance(item, Issue):
                        self.emit(item)
                        continue
                    self.route(item, outputs, layout, header, trailer, sums)
                    bucket = claim_type_bucket(item.encounter.claim_type)
                    summary.claims_by_type[bucket] = summary.claims_by_type.get(bucket, 0) + 1
                    rows_done += item.raw_line_count
                    if cfg.progress is not None:
                        cfg.progress(rows_done, rows_total)
                    if rows_done >= rows_total // 2:
                        self._fault("mid-run")
            self.finish(outputs, layout)
            self._fault("before-publish")
            outputs.commit()
            self._fault("after-publish")
            self._finish_publish()
            return self.report
        except BaseException as exc:
            if outputs is not None:
                outputs.abort()
            if self.ledger is not None and self.run_id is not None:
                # Nothing of this run is believed sent; its reserved control numbers stay burnt.
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                self.ledger.end_run(self.run_id, status, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise
        finally:
            for reader in readers:
                reader.close()
            if self.journal is not None:
                self.journal.close()
            if self.ledger is not None:
                self.ledger.close()

    def _balancing_enforced(self) -> bool:
        """Return True when the claim balancing rules (CL015, CL016) run as errors."""
        assert self.rules is not None
        active = {r.code for r in self.rules.all if r.effective_severity is Severity.ERROR}
        return {"CL015", "CL016"} <= active

    def _rule_stats(self) -> None:
        """Fill the report's per-rule counts and rates, and its top providers."""
        assert self.rules is not None
        by_type = self.stats.claims_by_type
        everything = sum(by_type.values())
        counts = self.report.issues.by_code
        for rule in sorted(self.rules.all, key=lambda r: r.code):
            # Structure rules look at every claim; the others at their claim types (RX for pharmacy).
            types = rule.claim_types | ({"RX"} if "pharmacy" in rule.models else set())
            applies = everything if rule.code.startswith("FF") else sum(by_type[t] for t in types)
            self.report.rules.append(
                RuleStat(
                    rule.code,
                    rule.name,
                    rule.effective_severity.value,
                    rule.summary(),
                    rule.source,
                    applies,
                    self.stats.claims_by_code.get(rule.code, 0),
                    counts.get(rule.code, 0),
                )
            )
        self.report.providers = self.stats.top_providers()

    def _begin_publish(self, outputs: OutputSet) -> None:
        """Record the run and the files it is about to publish (``pending``) in the ledger."""
        if self.ledger is None:
            return
        report = self.report
        overall = report.overall
        files = []
        for out in self.writers.values():
            entry = next(o for o in report.outputs if o.name == outputs.final_name(out.key))
            accepted = report.reconciliation[entry.claim_type or "?"].accepted
            files.append(
                FileRecord(
                    key=out.key,
                    name=entry.name,
                    path=str((self.out_dir / entry.name).resolve()),
                    kind=entry.kind,
                    claim_type=entry.claim_type,
                    sha256=entry.sha256 or "",
                    bytes=entry.bytes,
                    sender=out.sender,
                    isa13=entry.interchange_control,
                    gs06=entry.group_control,
                    claims=entry.claims,
                    charge=accepted.charge,
                    paid=accepted.paid,
                )
            )
        run = RunRecord(
            started_at=report.started_at,
            sendpro_version=report.sendpro_version,
            layout=report.layout,
            profile=report.profile,
            usage=report.usage,
            inputs=json.dumps([i.file for i in report.inputs]),
            out_dir=str(self.out_dir.resolve()),
            status=report.status,
            claims_in=overall.input.claims,
            accepted=overall.accepted.claims,
            rejected=overall.rejected.claims,
            skipped=overall.skipped.claims,
        )
        assert self.run_id is not None
        self.ledger.begin_publish(self.run_id, run, files)

    def _finish_publish(self) -> None:
        """The files are in place: record their encounters and mark them submitted, in one transaction."""
        if self.ledger is None or self.journal is None or self.run_id is None:
            return
        self.journal.flush()
        self.ledger.finish_publish(self.run_id, self.report.status, self.journal.path, lambda: self._fault("in-ledger"))

    def emit(self, issue: Issue) -> None:
        if self.report.issues.count(issue):
            for sink in self._sinks:
                sink.handle(issue)

    def route(
        self,
        result: ClaimResult,
        outputs: OutputSet,
        layout: Layout,
        header: str | None,
        trailer: str | None,
        sums: tuple[str, ...],
    ) -> None:
        enc = result.encounter
        bucket = claim_type_bucket(enc.claim_type)
        if isinstance(enc, Encounter):
            self.stats.record(bucket, enc.billing.npi, enc.billing.last_name, result.issues)
        else:
            self.stats.record(bucket, enc.pharmacy_npi, None, result.issues)
        totals = _encounter_totals(enc, result.raw_line_count)
        self.totals_in.setdefault(bucket, Totals()).add(totals)
        for issue in result.issues:
            self.emit(issue)
        if result.skipped:
            self.skipped.setdefault(bucket, Totals()).add(totals)
            return
        if result.rejected:
            self.rejected_claims += 1
            writer = self.rejects.get(bucket)
            if writer is None:
                name = f"rejects_{bucket if bucket != '?' else 'unknown'}.txt"
                writer = RejectsWriter(outputs.open(name, encoding=layout.encoding), layout, header, trailer)
                self.rejects[bucket] = writer
            amounts = {name: getattr(enc.header, name) for name in sums} if isinstance(enc, Encounter) else {}
            writer.write(result.raw, amounts)
            self._journal(
                enc,
                totals,
                None,
                None,
                ",".join(sorted({i.code for i in result.issues if i.severity is Severity.ERROR})),
            )
            return
        out = self.writers.get(bucket)
        if out is None:
            assert self._open_output is not None
            out = self._open_output(bucket)
            self.writers[bucket] = out
        position = out.write(enc)
        self.accepted_rows[bucket] = self.accepted_rows.get(bucket, 0) + result.raw_line_count
        self._journal(enc, totals, out.key, position, None)

    def _journal(
        self,
        enc: Encounter | PharmacyEncounter,
        totals: Totals,
        output: str | None,
        position: str | None,
        detail: str | None,
    ) -> None:
        if self.journal is None or self.history is None or enc.claim_id is None:
            return
        self.journal.add(
            enc.claim_id,
            enc.claim_type or "?",
            enc.frequency,
            enc.original_claim_id,
            self.history.hash_of(enc),
            totals.charge,
            totals.paid,
            output,
            position,
            detail,
        )

    def finish(self, outputs: OutputSet, layout: Layout) -> None:
        cfg = self.config
        report = self.report
        for out in self.writers.values():
            out.close()
        for rej in self.rejects.values():
            rej.close()
        reject_keys = {b: f"rejects_{b if b != '?' else 'unknown'}.txt" for b in self.rejects}
        # Validate every output: pyx12 for 837s, the layout checks for NCPDP.
        bugs: list[Issue] = []
        if cfg.validate_output and self.writers:
            for out in self.writers.values():
                bugs.extend(out.validate(cfg))
            report.output_validation = "failed" if bugs else "passed"
            report.output_validator = cfg.validator
        elif not cfg.validate_output:
            report.output_validation = "skipped"
        for issue in bugs:
            self.emit(issue)
        # Reconcile from the files on disk.
        for bucket in sorted(set(self.totals_in) | set(self.writers) | set(reject_keys) | set(self.skipped)):
            rec = Reconciliation(input=self.totals_in.get(bucket, Totals()), skipped=self.skipped.get(bucket, Totals()))
            if bucket in self.writers:
                rec.accepted, entry = self.writers[bucket].accepted(self.accepted_rows.get(bucket, 0))
                report.outputs.append(entry)
                # With the balancing rules on as errors an unbalanced claim cannot reach the
                # 837, so one that does is a bug; with them turned off it is the user's choice.
                guarded = self._balancing_enforced()
                for claim_id, what in self.writers[bucket].unbalanced:
                    issue = Issue(
                        code="OB001",
                        severity=Severity.ERROR if guarded else Severity.WARNING,
                        message=f"the written 837 does not balance: {what}"
                        + ("" if guarded else " (balancing rules CL015/CL016 are off or downgraded in this run)"),
                        location=Location(file=entry.name, claim_id=claim_id),
                        rule_name="output.balance",
                        category=Category.X12,
                    )
                    if guarded:
                        bugs.append(issue)
                    self.emit(issue)
                if isinstance(self.writers[bucket], _NcpdpOutput) and layout.model == "pharmacy":
                    ncpdp = self.writers[bucket]
                    assert isinstance(ncpdp, _NcpdpOutput)
                    if ncpdp.layout.batch:
                        report.outputs.append(OutputFile(outputs.final_name("RX.xref.csv"), "xref", "RX"))
            if bucket in reject_keys:
                key = reject_keys[bucket]
                path = outputs.close(key)
                found = tally_file(path, layout, encoding=cfg.encoding, temp_dir=cfg.temp_dir)
                side = Totals()
                for t2 in found.values():
                    side.add(t2)
                rec.rejected = side
                digest, size = outputs.sha256(key)
                report.outputs.append(
                    OutputFile(key, "rejects", bucket, side.claims, side.lines, side.rows, sha256=digest, bytes=size)
                )
            report.reconciliation[bucket] = rec
        overall = report.overall
        scanned_rows = sum(i.rows for i in report.inputs)
        scanned_claims = sum(i.claims for i in report.inputs)
        problems = [f"{b}: {r.differences()}" for b, r in report.reconciliation.items() if not r.balanced]
        if overall.input.rows != scanned_rows or overall.input.claims != scanned_claims:
            problems.append(
                f"read {overall.input.rows} rows / {overall.input.claims} claims, "
                f"but the first pass counted {scanned_rows} / {scanned_claims}"
            )
        for sink in self._sinks:
            sink.stop(report)
        for key in ("errors.jsonl", "errors.csv"):
            outputs.close(key)
            digest, size = outputs.sha256(key)
            report.outputs.append(OutputFile(key, "errors", sha256=digest, bytes=size))
        exit_code = EXIT_REJECTED if self.rejected_claims else EXIT_OK
        failure: SendproError | None = None
        if problems:
            failure = ReconciliationError(
                "counts or totals do not reconcile (a sendpro bug; nothing was published): " + "; ".join(problems)
            )
        elif bugs:
            kinds = sorted({out.kind for out in self.writers.values()})
            failure = OutputValidationError(
                f"output validation found {len(bugs)} problem(s) in the {' and '.join(kinds)} output (a sendpro bug); "
                f"those files were not published; see errors.jsonl (codes PX.../RX2..)"
            )
        if failure is not None:
            for out in self.writers.values():
                for key in out.keys():
                    outputs.discard(key)
            report.outputs = [o for o in report.outputs if o.kind not in ("837", "ncpdp", "xref")]
            report.status = "failed"
            report.message = str(failure)
            exit_code = EXIT_ERROR
        else:
            report.status = "complete"
        report.exit_code = exit_code
        report.finished_at = cfg.clock().isoformat(timespec="seconds")
        report.elapsed_s = time.monotonic() - self.started
        report.outputs.append(OutputFile(REPORT_NAME, "report"))
        report.outputs.append(OutputFile(HTML_NAME, "html"))
        self._rule_stats()
        if failure is None:
            self._begin_publish(outputs)
        doc = report.to_dict()
        doc["include_values"] = cfg.include_values
        # The analyst's page, from the same document and the errors.jsonl just written.
        with outputs.open(HTML_NAME) as handle:
            render_html(doc, iter_issues(outputs.temp_path("errors.jsonl")), handle, max_rows=cfg.max_issues)
        with outputs.open(REPORT_NAME) as handle:
            json.dump(doc, handle, indent=2)
            handle.write("\n")
        if failure is not None:
            if isinstance(failure, ReconciliationError):
                raise failure
            outputs.commit()
            raise failure


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

    Raises:
        UsageError: the file is not X12 that pyx12 can read, so no 999 can be written.
    """
    issues, doc = check_x12(path, project_map_dir(map_cache), str(path), validator)
    if doc is None or not doc.get("interchanges"):
        raise UsageError(f"{path}: no 999 can be written: " + (issues[0].message if issues else "no interchange found"))
    issues = _with_claim_ids(path, issues)
    claims = claims_at_segments(path, segment_lines(doc))
    delimiters, sources = read_envelopes(path)
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


def _with_claim_ids(path: Path, issues: list[Issue]) -> list[Issue]:
    """Name the claim (CLM01) each pyx12 finding sits in, so an analyst can find it."""
    if not issues:
        return issues
    try:
        claims = claims_at_segments(path, [i.location.record_no for i in issues if i.location.record_no])
    except ValueError:  # not an X12 file: nothing to map
        return issues
    out = []
    for i in issues:
        claim = claims.get(i.location.record_no or -1)
        if claim is not None:
            i = dataclasses.replace(i, location=dataclasses.replace(i.location, claim_id=claim))
        out.append(i)
    return out


def _refuse_unknown_prefixes(select: Sequence[str], ignore: Sequence[str]) -> None:
    """Refuse a select/ignore prefix no code starts with: a typo must not silently turn rules off."""
    codes = [entry.code for entry in catalog()]
    for option, prefixes in (("select", select), ("ignore", ignore)):
        for prefix in prefixes:
            if not any(code.startswith(prefix) for code in codes):
                raise UsageError(f"{option} {prefix!r} matches no rule code (`sendpro rules` lists them)")


def _refuse_claims_in_two_files(readers: Sequence[FlatFileReader]) -> None:
    """Stop the run, before anything is written, when a claim id is in more than one input.

    Claims are grouped within a file: rows of one claim in two files would be two
    claims (a split claim cut by the extract), and the same claim in two files
    (a file given twice) would be sent twice. Either way the inputs need joining
    or separate runs. The check reads the files' on-disk claim indexes in chunks.
    """
    for k, reader in enumerate(readers):
        index = reader.claim_index
        if index is None or k == 0:
            continue
        count = 0
        example: tuple[str, str, int, int] | None = None
        for keys in index.iter_keys():
            keys = [key for key in keys if key]
            for earlier in readers[:k]:
                if earlier.claim_index is None:
                    continue
                found = earlier.claim_index.first_rows(keys)
                count += len(found)
                if found and example is None:
                    key = min(found)
                    mine = index.first_rows([key])[key]
                    example = (key, earlier.name, found[key], mine)
        if example is not None:
            key, other, other_row, row = example
            raise CLAIM_IN_TWO_FILES.error(
                reader.name,
                f"{count} claim id(s) are also in {other}, e.g. claim {key} (line {row}; line {other_row} there): "
                "a claim's rows must be in one input; join the files or convert them in separate runs",
            )


def _encounter_totals(enc: Encounter | PharmacyEncounter, rows: int) -> Totals:
    if isinstance(enc, PharmacyEncounter):
        # Each pharmacy row is a claim, also when it repeats a claim id (RX020).
        return Totals(
            rows=rows,
            claims=len(enc.rows),
            charge=(enc.gross_amount_due or 0) + enc.repeated_charge,
            paid=(enc.total_amount_paid or 0) + enc.repeated_paid,
        )
    lines = enc.lines
    return Totals(
        rows=rows,
        claims=1,
        lines=len(lines),
        charge=enc.header.total_charge or 0,
        paid=enc.header.total_paid or 0,
        line_charge=sum(ln.charge or 0 for ln in lines),
        line_paid=sum(ln.paid or 0 for ln in lines),
    )


def convert_files(inputs: Sequence[Path], out_dir: Path, config: RunConfig | None = None) -> RunReport:
    """Convert flat-file extracts into 837 PACDR files in ``out_dir`` (see the module docstring).

    Returns the run report; ``report.exit_code`` is 0 when every claim was
    accepted and 1 when some were rejected.

    Raises:
        SendproError: a usage, layout, profile or input-file problem (nothing is
            written), or a failed self-check (reconciliation, pyx12 validation).
    """
    return _Run(inputs, out_dir, config or RunConfig()).run()


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
    return _with_claim_ids(path, validate_x12(path, project_map_dir(map_cache), str(path), validator))


def open_ledger(path: Path) -> Ledger:
    """Open an existing ledger (reading commands never create one).

    Raises:
        LedgerError: there is no ledger at ``path``.
    """
    if not path.is_file():
        raise LedgerError(f"no ledger at {path}: convert creates it (pass --ledger or set SENDPRO_LEDGER to choose it)")
    return Ledger(path)


def ingest_acks(paths: Sequence[Path], ledger_path: Path) -> list[AckResult]:
    """Ingest TA1, 999 and 277 acknowledgment files into the ledger, each in its own transaction.

    A file that is missing (e.g. a shell glob that matched nothing on a quiet
    night) or cannot be read as X12 is refused with its reason; the others are
    still ingested, so one bad file never holds back the night's acknowledgments.

    Raises:
        LedgerError: there is no ledger.
    """
    results: list[AckResult] = []
    with open_ledger(ledger_path) as ledger:
        for p in paths:
            if not p.is_file():
                results.append(AckResult(str(p), status="refused", message="no such file"))
                continue
            try:
                results.append(ingest_ack(ledger, p))
            except LedgerError as exc:
                results.append(AckResult(str(p), status="refused", message=str(exc)))
    return results


def ledger_status(ledger_path: Path, runs: int = 10, limit: int = 50) -> StatusReport:
    """Return the ledger's runs, files and encounters by status, and the rejected encounters to fix."""
    with open_ledger(ledger_path) as ledger:
        return status(ledger, runs, limit)


def reconcile_ledger(ledger_path: Path, run: int | None = None) -> LedgerReconciliation:
    """Return control totals submitted vs acknowledged, per file (and per 277)."""
    with open_ledger(ledger_path) as ledger:
        return reconcile(ledger, run)
