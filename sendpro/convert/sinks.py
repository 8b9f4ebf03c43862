"""The sinks of a convert run, each one thing: outputs, rejects, issues, the ledger journal, the tallies.

The engine hands over settled batches (:class:`~sendpro.validate.engine.CheckedBatch`);
:class:`Router` reads each claim's disposition once and sends the claim to
exactly one place: the output of its claim type (accepted), the rejects file of
its claim type (rejected), or nowhere (skipped: a duplicate); every claim is
tallied and journaled. Claim-level values come from the batch's typed frame
(:func:`~sendpro.convert.prepare.claim_table`), so accepted claims need no objects. Medical vs pharmacy is
decided once, when the outputs are made (:func:`make_outputs`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sendpro.config import RunConfig
from sendpro.convert.fragments import Fragment, FragmentChecks, FragmentResult
from sendpro.convert.plan import RunPlan
from sendpro.convert.prepare import ClaimTable, Prepared
from sendpro.flatfile.layout import Layout
from sendpro.flatfile.rejects import RejectsWriter, trailer_amount_fields
from sendpro.flatfile.tally import UNKNOWN_TYPE
from sendpro.ledger.journal import RunJournal
from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.ncpdp.layout import NcpdpLayout
from sendpro.ncpdp.reader import tally_ncpdp
from sendpro.ncpdp.validate import validate_ncpdp
from sendpro.ncpdp.writer import NcpdpSettings, NcpdpWriter
from sendpro.outputs import OutputSet
from sendpro.report.formatters.csv import CsvFormatter
from sendpro.report.formatters.jsonl import JsonlFormatter
from sendpro.report.issue import Issue, Severity
from sendpro.report.report import ClaimStats, IssueCounter, OutputFile, RunReport, Totals, money
from sendpro.validate.engine import CheckedBatch, Disposition
from sendpro.validate.pyx12_bridge import project_map_dir, validate_x12
from sendpro.x12.envelope import Clock, ControlNumbers
from sendpro.x12.frame_writer import FramePacdrWriter
from sendpro.x12.scan import name_claims, tally_837
from sendpro.x12.writer import PacdrSettings


class Output:
    """One accepted-claims output file of a run (an 837 for a claim type, or the NCPDP file)."""

    kind: str

    def __init__(self, outputs: OutputSet, key: str, sender: str) -> None:
        self.outputs = outputs
        self.key = key
        self.sender = sender
        self.path: Path | None = None
        #: Claims of the written file that do not balance (a sendpro bug), as (claim id, what).
        self.unbalanced: list[tuple[str, str]] = []

    def write(self, prepared: Prepared, ks: Sequence[int]) -> list[str]:
        """Write the batch's claims ``ks`` (indexes into its ``seqs``, in order); return where each went."""
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


class _X12Output(Output):
    """The 837 of one claim type, built from the batches' frames."""

    kind = "837"

    def __init__(
        self,
        outputs: OutputSet,
        bucket: str,
        settings: PacdrSettings,
        control: ControlNumbers,
        clock: Clock,
        file_name: Callable[[str, dt.datetime, int], str],
        checks: FragmentChecks | None = None,
        fragment: Callable[[Path, int, int, int, str], Fragment] | None = None,
    ) -> None:
        env = settings.envelope
        super().__init__(outputs, f"837{bucket}", f"X12:{env.sender_qualifier}:{env.sender_id}")
        self.bucket = bucket
        self.clock = clock
        self.file_name = file_name
        self.settings = settings
        #: The transaction sets' checks in workers, while the file is written (see sendpro.convert.fragments).
        self.checks = checks
        self._fragment = fragment
        stream = outputs.open(self.key, encoding="ascii")
        self.writer = FramePacdrWriter(
            stream, bucket, settings, control, clock, self._transaction if checks is not None else None
        )

    def _transaction(self, start: int, end: int) -> None:
        """Hand a written transaction set to a worker for validation."""
        assert self.checks is not None and self._fragment is not None
        temp = self.outputs.temp_path(self.key)
        self.checks.add(self._fragment(temp, self.writer.head_end, start, end, self.writer.trailer(1)))

    def write(self, prepared: Prepared, ks: Sequence[int]) -> list[str]:
        blocks = prepared.blocks[self.bucket]
        at = prepared.block_index(self.bucket)
        return self.writer.write(blocks, indices=[at[prepared.batch.seqs[k]] for k in ks])

    def close(self) -> None:
        summary = self.writer.close()
        self.outputs.rename(self.key, self.file_name(self.key, self.clock(), summary.interchange_control))
        self.path = self.outputs.close(self.key)

    def validate(self, config: RunConfig) -> list[Issue]:
        assert self.path is not None
        summary = self.writer.summary
        if self.checks is not None and self.checks.clean(
            self.path, self.writer.head_end, self.writer.trailer(summary.transactions), self.writer.version
        ):
            return []
        return name_claims(
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


class _NcpdpOutput(Output):
    """The NCPDP file of a pharmacy run (and its cross-reference file for batch layouts)."""

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

    def write(self, prepared: Prepared, ks: Sequence[int]) -> list[str]:
        out = []
        batch = prepared.batch
        for k in ks:
            enc = batch.encounters[batch.seqs[k]]
            assert isinstance(enc, PharmacyEncounter)
            out.append(self.writer.write(enc))
        return out

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


def make_outputs(
    plan: RunPlan,
    outputs: OutputSet,
    control: ControlNumbers,
    submit: Callable[[Fragment], Future[FragmentResult]] | None = None,
    limit: int = 4,
) -> Callable[[str], Output]:
    """Return how to open the output of a claim type: an 837 writer, or the NCPDP writer (decided here, once).

    ``submit``, given with worker processes, validates each 837 transaction set in
    a worker as it is written (the compiled validator only; at most ``limit`` waiting).
    """
    cfg = plan.config
    if plan.ncpdp is not None:
        layout, settings = plan.ncpdp
        name = plan.profile.ncpdp_file_name(plan.now.date())

        def open_ncpdp(bucket: str) -> Output:
            return _NcpdpOutput(outputs, layout, settings, control.next_interchange(), cfg.clock, name)

        return open_ncpdp

    overlap = submit is not None and cfg.validate_output and cfg.validator == "compiled"
    map_dir = project_map_dir(cfg.map_cache)

    def open_x12(bucket: str) -> Output:
        checks = FragmentChecks(submit, limit) if overlap and submit is not None else None

        def fragment(path: Path, head_end: int, start: int, end: int, trailer: str) -> Fragment:
            label = outputs.final_name(f"837{bucket}")
            return Fragment(path, head_end, start, end, trailer, map_dir, label, cfg.temp_dir)

        return _X12Output(outputs, bucket, plan.pacdr, control, cfg.clock, file_name, checks, fragment)

    def file_name(kind: str, when: dt.datetime, icn: int) -> str:
        usage = plan.pacdr.envelope.usage
        return plan.profile.file_name(kind, when, icn, usage=usage, ledger=cfg.ledger is not None)

    return open_x12


class IssueSink:
    """Counts every issue and streams those within the cap to ``errors.jsonl`` and ``errors.csv``."""

    def __init__(self, outputs: OutputSet, counter: IssueCounter, include_values: bool) -> None:
        self.counter = counter
        self.formatters = (
            JsonlFormatter(outputs.open("errors.jsonl"), include_values),
            CsvFormatter(outputs.open("errors.csv"), include_values),
        )
        for f in self.formatters:
            f.start()

    def emit(self, issue: Issue) -> None:
        """Count one issue; write it unless the cap is reached."""
        if self.counter.count(issue):
            for f in self.formatters:
                f.handle(issue)

    def stop(self, report: RunReport) -> None:
        """Finish both files (the CSV/JSONL trailers say how many were left out)."""
        for f in self.formatters:
            f.stop(report)


#: The columns of ``rejects_<type>.reasons.csv``, one row per rejected claim.
REASON_COLUMNS = (
    "rejects_row",
    "claim_id",
    "claim_type",
    "billing_npi",
    "billing_name",
    "charge",
    "paid",
    "input_file",
    "input_row",
    "codes",
    "messages",
)


@dataclass(frozen=True, slots=True)
class RejectedClaim:
    """One row of a reasons file: a rejected claim, where it is in both files, and why."""

    rejects_row: int
    claim_id: str | None
    claim_type: str | None
    billing_npi: str | None
    billing_name: str | None
    totals: Totals
    input_file: str
    input_row: int | None
    reasons: Sequence[Issue]

    def cells(self) -> list[str]:
        """Return the CSV cells in :data:`REASON_COLUMNS` order (messages quote no values)."""
        errors = [i for i in self.reasons if i.severity is Severity.ERROR]
        # Money the claim holds no number for is left empty rather than shown as 0.00.
        unreadable = self.totals.unreadable > 0
        return [
            str(self.rejects_row),
            self.claim_id or "",
            self.claim_type or "",
            self.billing_npi or "",
            self.billing_name or "",
            "" if unreadable else money(self.totals.charge),
            "" if unreadable else money(self.totals.paid),
            self.input_file,
            "" if self.input_row is None else str(self.input_row),
            " ".join(sorted({i.code for i in errors})),
            " | ".join(f"{i.code}: {i.message}" for i in errors),
        ]


class RejectsSink:
    """The rejects files, one per claim type, in the input's own layout (a valid input to re-run).

    Beside each, ``rejects_<type>.reasons.csv`` holds one row per rejected claim:
    its line in the rejects file, claim id, billing provider, money, where it was
    in the input, and every error with its code. The reasons are a file of their
    own, not columns of the rejects file, so that file stays a valid input.
    """

    def __init__(self, outputs: OutputSet, layout: Layout) -> None:
        self.outputs = outputs
        self.layout = layout
        self.sums = trailer_amount_fields(layout)
        self.writers: dict[str, RejectsWriter] = {}
        self.reasons: dict[str, Any] = {}  # bucket -> csv writer of its reasons file
        #: Rows written per reasons file: one per rejected claim as grouped (two pharmacy
        #: rows sharing a claim id are one claim here, two records in the rejects tally).
        self.reason_rows: dict[str, int] = {}
        self._header: str | None = None
        self._trailer: str | None = None

    @staticmethod
    def key(bucket: str) -> str:
        """Return the rejects file name of a claim type bucket."""
        return f"rejects_{bucket if bucket != UNKNOWN_TYPE else 'unknown'}.txt"

    @staticmethod
    def reasons_key(bucket: str) -> str:
        """Return the reasons file name of a claim type bucket (beside its rejects file)."""
        return RejectsSink.key(bucket).removesuffix(".txt") + ".reasons.csv"

    def begin_file(self, header: str | None, trailer: str | None) -> None:
        """Take the header and trailer records of the input now being read (a new rejects file copies them)."""
        self._header, self._trailer = header, trailer

    def write(self, bucket: str, raw: str, amounts: dict[str, int | None]) -> int:
        """Write one rejected claim's raw records; return the physical line of its first record there."""
        writer = self.writers.get(bucket)
        if writer is None:
            handle = self.outputs.open(self.key(bucket), encoding=self.layout.encoding)
            writer = self.writers[bucket] = RejectsWriter(handle, self.layout, self._header, self._trailer)
        first = writer.records + 1
        writer.write(raw, amounts)
        return first

    def reason(self, bucket: str, claim: RejectedClaim) -> None:
        """Write a rejected claim's row of the reasons file of ``bucket``."""
        writer = self.reasons.get(bucket)
        if writer is None:
            writer = self.reasons[bucket] = csv.writer(self.outputs.open(self.reasons_key(bucket)), lineterminator="\n")
            writer.writerow(REASON_COLUMNS)
        writer.writerow(claim.cells())
        self.reason_rows[bucket] = self.reason_rows.get(bucket, 0) + 1

    def close(self) -> None:
        """Write the trailers."""
        for writer in self.writers.values():
            writer.close()


@dataclass
class Tallies:
    """Per claim type: input, skipped and accepted totals, the rejected count and the report's statistics."""

    totals_in: dict[str, Totals] = field(default_factory=dict)
    skipped: dict[str, Totals] = field(default_factory=dict)
    accepted_rows: dict[str, int] = field(default_factory=dict)
    rejected_claims: int = 0
    rows_done: int = 0
    stats: ClaimStats = field(default_factory=ClaimStats)

    def add(self, table: ClaimTable, k: int, issues: list[Issue], disposition: Disposition) -> Totals:
        """Count claim ``k`` of a batch; return its totals."""
        bucket = table.buckets[k]
        self.stats.record(bucket, table.npis[k], table.names[k], issues)
        totals = table.totals(k)
        self.totals_in.setdefault(bucket, Totals()).add(totals)
        self.rows_done += totals.rows
        if disposition is Disposition.SKIPPED:
            self.skipped.setdefault(bucket, Totals()).add(totals)
        elif disposition is Disposition.REJECTED:
            self.rejected_claims += 1
        else:
            self.accepted_rows[bucket] = self.accepted_rows.get(bucket, 0) + totals.rows
        return totals


class Router:
    """Sends every settled claim to exactly one place and records it (see the module docstring)."""

    def __init__(
        self,
        issues: IssueSink,
        rejects: RejectsSink,
        open_output: Callable[[str], Output],
        journal: RunJournal | None,
        tallies: Tallies,
        held: Mapping[str, Issue] | None = None,
    ) -> None:
        self.issues = issues
        #: Claims an earlier attempt of this run wrote into invalid output (a sendpro
        #: defect), by claim id: rejected with that finding instead of written again.
        self.held = dict(held or {})
        self.rejects = rejects
        self.open_output = open_output
        self.journal = journal
        self.tallies = tallies
        self.outputs: dict[str, Output] = {}
        #: The position of the input now being read in the run's inputs (journaled per encounter).
        self.input_no = 0

    def route(self, prepared: Prepared, start: int, end: int) -> None:
        """Route the settled claims ``seqs[start:end]`` of a prepared batch."""
        batch, table = prepared.batch, prepared.table
        by_bucket: dict[str, list[int]] = {}
        records: list[tuple[int, Totals, str | None]] = []
        for k in range(start, end):
            seq = batch.seqs[k]
            found = batch.issues.get(seq, [])
            disposition = batch.dispositions[k]
            if self.held and disposition is Disposition.ACCEPTED and table.claim_ids[k] in self.held:
                found = [*found, self._held_issue(batch, seq, self.held[table.claim_ids[k] or ""])]
                disposition = Disposition.REJECTED
            totals = self.tallies.add(table, k, found, disposition)
            if disposition is Disposition.REJECTED:
                found = self._reject(prepared, k, totals, found)
            for issue in found:
                self.issues.emit(issue)
            if disposition is Disposition.SKIPPED:
                continue
            if disposition is Disposition.REJECTED:
                records.append((k, totals, ",".join(sorted({i.code for i in found if i.severity is Severity.ERROR}))))
                continue
            by_bucket.setdefault(table.buckets[k], []).append(k)
            records.append((k, totals, None))
        where: dict[int, tuple[str, str]] = {}
        for bucket, ks in by_bucket.items():
            out = self.outputs.get(bucket)
            if out is None:
                out = self.outputs[bucket] = self.open_output(bucket)
            for k, st02 in zip(ks, out.write(prepared, ks), strict=True):
                where[k] = (out.key, st02)
        if self.journal is None:
            return
        # In claim order, as the claims were read: later claims' history lookups see them so.
        for k, totals, detail in records:
            claim_id = table.claim_ids[k]
            if claim_id is None:
                continue
            output: str | None = None
            position: str | None = None
            if k in where:
                output, position = where[k]
            self.journal.add(
                claim_id,
                table.claim_types[k] or "?",
                table.frequencies[k],
                table.originals[k],
                table.hashes[k],
                totals.charge,
                totals.paid,
                output,
                position,
                detail,
                self.input_no,
                table.input_rows[k] if table.input_rows else None,
            )

    def _reject(self, prepared: Prepared, k: int, totals: Totals, found: list[Issue]) -> list[Issue]:
        """Write claim ``k`` to its rejects file and its reasons row; return its issues placed in the rejects file.

        Each issue gets the rejects file and the line there of the record it is
        about (the claim's first record when it names no row of the claim).
        """
        batch, table = prepared.batch, prepared.table
        seq, bucket = batch.seqs[k], table.buckets[k]
        records = prepared.records(seq)
        first = self.rejects.write(bucket, "\n".join(raw for _, raw in records), self._amounts(batch, seq))
        name = self.rejects.key(bucket)
        at = {row: first + i for i, (row, _) in enumerate(records)}
        input_file = Path(batch.file).name
        placed = [
            dataclasses.replace(
                issue,
                location=dataclasses.replace(
                    issue.location,
                    rejects_file=name,
                    rejects_row=at.get(issue.location.record_no or 0, first)
                    if issue.location.file in (None, input_file, batch.file)
                    else first,
                ),
            )
            for issue in found
        ]
        self.rejects.reason(
            bucket,
            RejectedClaim(
                rejects_row=first,
                claim_id=table.claim_ids[k],
                claim_type=table.claim_types[k],
                billing_npi=table.npis[k],
                billing_name=table.names[k],
                totals=totals,
                input_file=input_file,
                input_row=min((row for row, _ in records), default=None),
                reasons=placed,
            ),
        )
        return placed

    @staticmethod
    def _held_issue(batch: CheckedBatch, seq: int, finding: Issue) -> Issue:
        """Return a held claim's finding, placed at the claim's first input row."""
        rows = batch.typed.filter(pl.col("_claim_seq") == seq)["_claim_row"]
        where = dataclasses.replace(
            finding.location, file=Path(batch.file).name, record_no=int(rows[0]) if len(rows) else None
        )
        return dataclasses.replace(finding, location=where)

    def _amounts(self, batch: CheckedBatch, seq: int) -> dict[str, int | None]:
        """Return the claim-level amounts a fixed-width trailer sums (medical claims only)."""
        if not self.rejects.sums or batch.model == "pharmacy":
            return {}
        first = batch.typed.filter(pl.col("_claim_seq") == seq).head(1)
        return {name: first[name][0] for name in self.rejects.sums}

    def close(self) -> None:
        """Close every output and rejects file."""
        for out in self.outputs.values():
            out.close()
        self.rejects.close()
