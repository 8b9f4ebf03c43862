"""The ``publish`` stage: the run's ledger records, ``report.json`` / ``report.html``, and the atomic publish.

:class:`LedgerRun` is the run's side of the ledger: it starts the run (recovering
killed ones), lends control numbers, journals routed claims, records the files
``pending`` before they are renamed into place and marks them submitted after,
in one transaction, with the run's trends (its rules' counts and its providers
with the most rejected claims, :class:`~sendpro.ledger.db.RunTrends`). Before the
reports are written it compares the run with the previous one of the ledger
(:meth:`LedgerRun.compare`: ``report.json``'s ``since_last_run``).
:func:`write_reports` writes the two report files last.
:class:`Faults` names the points where a crash-safety test may kill the run or make
its ledger fail.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sendpro.convert.plan import RunPlan
from sendpro.convert.sinks import Output, RejectedClaim, RejectsSink, Tallies
from sendpro.errors import LedgerError, UsageError
from sendpro.flatfile.layout import Layout
from sendpro.ledger.control import LedgerControlNumbers
from sendpro.ledger.db import (
    PUBLISHING,
    FileRecord,
    InputRecord,
    Ledger,
    ProviderRecord,
    RuleRecord,
    RunRecord,
    RunTrends,
    file_sha256,
)
from sendpro.ledger.history import History
from sendpro.ledger.journal import RunJournal
from sendpro.ledger.trends import claims_vs_submitted, since_last_run
from sendpro.outputs import HTML_NAME, REPORT_NAME, OutputSet, previous_outputs
from sendpro.report.html import iter_issues, iter_rejected, render_html
from sendpro.report.report import RuleStat, RunReport
from sendpro.x12.envelope import ClockControlNumbers, ControlNumbers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Faults:
    """Where this run kills itself or fails, if anywhere (crash-safety tests only; None in real runs).

    Kill points (SIGKILL): ``after-scan``, ``mid-run``, ``before-publish``,
    ``after-publish``, ``in-ledger`` (inside the ledger's closing transaction).
    Failure points, once the files are in place: ``ledger-full`` makes the ledger
    full for real (no page may be added to it, so SQLite itself reports
    "database or disk is full" while recording the run); ``commit-fails`` does
    what SQLite does when the closing COMMIT fails on a full disk: the
    transaction is rolled back and SQLITE_FULL raised.
    """

    point: str | None = None

    def at(self, point: str) -> None:
        """Die here with SIGKILL if the run was asked to."""
        if self.point == point:
            os.kill(os.getpid(), signal.SIGKILL)

    def before_closing(self, ledger: Ledger) -> None:
        """At ``ledger-full``, cap the ledger at the pages it has (``PRAGMA max_page_count``, this connection)."""
        if self.point == "ledger-full":
            pages = int(ledger.db.execute("PRAGMA page_count").fetchone()[0])
            ledger.db.execute(f"PRAGMA max_page_count = {pages}")

    def in_ledger(self, ledger: Ledger) -> None:
        """Inside the closing transaction, before its COMMIT: die at ``in-ledger``, fail at ``commit-fails``."""
        self.at("in-ledger")
        if self.point == "commit-fails":
            ledger.db.execute("ROLLBACK")
            failure = sqlite3.OperationalError("database or disk is full")
            failure.sqlite_errorcode = sqlite3.SQLITE_FULL
            failure.sqlite_errorname = "SQLITE_FULL"
            raise failure


class LedgerRun:
    """The ledger's view of one run (see the module docstring); without a ledger every call is a no-op."""

    def __init__(self, plan: RunPlan, report: RunReport) -> None:
        cfg = plan.config
        self.plan = plan
        self.ledger: Ledger | None = None
        self.journal: RunJournal | None = None
        self.history: History | None = None
        self.run_id: int | None = None
        #: The outputs being published (from :meth:`begin_publish`): taken back if the ledger cannot record them.
        self._publishing: OutputSet | None = None
        #: The run's trends (from :meth:`compare`), recorded with the run by :meth:`finish_publish`.
        self._trends: RunTrends | None = None
        self.token = uuid.uuid4().hex
        self._control: ControlNumbers = cfg.control_numbers or ClockControlNumbers(cfg.clock)
        if cfg.ledger is None:
            return
        if cfg.control_numbers is not None:
            raise UsageError("with a ledger, control numbers come from the ledger (use control_start to set one)")
        self.ledger = Ledger(cfg.ledger)
        try:
            self._guard_out_dir(self.ledger, plan.out_dir)
            self.run_id = self.ledger.start_run(
                report.started_at,
                report.sendpro_version,
                json.dumps([str(p) for p in plan.inputs]),
                str(plan.out_dir.resolve()),
                keep=plan.inputs,
            )
            # By content, not path: `sendpro rejected` finds the extract again wherever it is kept.
            self.ledger.record_inputs(
                self.run_id,
                [
                    InputRecord(n, path.name, str(path.resolve()), path.stat().st_size, file_sha256(path))
                    for n, path in enumerate(plan.inputs)
                ],
            )
        except BaseException:
            self.ledger.close()
            raise
        report.ledger_run = self.run_id
        report.recovered = [
            {"run": r.run_id, "died_while": r.state, "removed": list(r.removed)} for r in self.ledger.recovered
        ]
        self.journal = RunJournal(cfg.temp_dir)
        self.history = History(self.ledger, self.journal)
        report.ledger = str(cfg.ledger)

    @staticmethod
    def _guard_out_dir(ledger: Ledger, out_dir: Path) -> None:
        """Refuse to replace files in --out that the ledger recorded as submitted.

        A new run removes the previous run's outputs from its directory; a
        submitted file must be moved away by the team (after sending it), never
        deleted by sendpro.
        """
        for name in previous_outputs(out_dir):
            found = ledger.submitted_file(out_dir / name)
            if found is not None:
                raise UsageError(
                    f"{out_dir / name} is a submission file of ledger run {found[0]} ({found[1]}); a new run "
                    f"in {out_dir} would remove it. Use a new --out directory for each run "
                    "(e.g. --out out/$(date +%F)), or move the submitted files away first"
                )

    def control_for(self, sender: str) -> ControlNumbers:
        """Control numbers: from the ledger when there is one (per sender), else the run's source."""
        if self.ledger is not None:
            return LedgerControlNumbers(self.ledger, sender, self.token, self.plan.config.control_start)
        return self._control

    def begin_publish(self, report: RunReport, outputs: OutputSet, writers: Iterable[Output]) -> None:
        """Record the run and the files it is about to publish (``pending``) in the ledger."""
        if self.ledger is None:
            return
        assert self.run_id is not None
        out_dir = self.plan.out_dir
        overall = report.overall
        files = []
        for out in writers:
            entry = next(o for o in report.outputs if o.name == outputs.final_name(out.key))
            accepted = report.reconciliation[entry.claim_type or "?"].accepted
            files.append(
                FileRecord(
                    key=out.key,
                    name=entry.name,
                    path=str((out_dir / entry.name).resolve()),
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
            out_dir=str(out_dir.resolve()),
            status=report.status,
            claims_in=overall.input.claims,
            accepted=overall.accepted.claims,
            rejected=overall.rejected.claims,
            skipped=overall.skipped.claims,
        )
        self.ledger.begin_publish(self.run_id, run, files)
        self._publishing = outputs

    def compare(self, report: RunReport, trends: RunTrends) -> None:
        """Set ``report.since_last_run`` (the run against the previous one) and keep ``trends`` to record.

        Called after :meth:`begin_publish` and before ``report.json`` is written:
        the ledger does not hold this run's encounters or trends yet, so whatever
        it holds came before the run.
        """
        if self.ledger is None or self.journal is None or self.run_id is None:
            return
        self._trends = trends
        overall = report.overall
        self.journal.flush()  # the comparison reads the journal through the ledger's connection
        found = since_last_run(
            self.ledger,
            self.run_id,
            overall.input.claims,
            overall.rejected.claims,
            trends.rules,
            claims_vs_submitted(self.ledger, self.journal.path, overall.skipped.claims),
        )
        report.since_last_run = None if found is None else found.to_json()

    def finish_publish(self, status: str, faults: Faults) -> None:
        """The files are in place: record their encounters and mark them submitted, in one transaction.

        When that fails (the ledger's disk is full, an I/O error, an interrupt),
        the ledger holds nothing of the run, so the files just published are
        taken back, ``report.json`` first: a file left in place could be sent
        while the ledger does not know it, and the next run would send its claims
        again under new control numbers. Taking back needs no write to the full
        disk; making the ledger agree instead would need the very write that failed.

        Raises:
            LedgerError: the ledger (or the run journal) could not be written; the
                message says that nothing was published.
        """
        if self.ledger is None or self.journal is None or self.run_id is None:
            return
        ledger = self.ledger
        try:
            self.journal.flush()
            faults.before_closing(ledger)
            ledger.finish_publish(
                self.run_id, status, self.journal.path, lambda: faults.in_ledger(ledger), self._trends
            )
        except LedgerError as exc:
            if not self._withdraw():
                raise
            raise LedgerError(
                f"{exc}; the run was not recorded, so nothing was published (its files in {self.plan.out_dir} "
                "were taken back)"
            ) from None
        except BaseException:
            self._withdraw()
            raise
        self._publishing = None

    def _withdraw(self) -> bool:
        """Take back the files this run published unless the ledger recorded them; return whether it did.

        An interrupt can arrive after the COMMIT that recorded the run: those files
        are submissions the ledger knows and stay. A ledger that cannot even be
        read did not record them (a failed COMMIT is rolled back), nor did one
        still inside the transaction (its own writes are not committed).
        """
        outputs, self._publishing = self._publishing, None
        if outputs is None or self.ledger is None or self.run_id is None:
            return False
        with contextlib.suppress(sqlite3.Error):
            if not self.ledger.db.in_transaction and self.ledger.run_status(self.run_id) != PUBLISHING:
                return False
        outputs.withdraw()
        return True

    def fail(self, exc: BaseException) -> None:
        """Record the run as failed (or interrupted); its reserved control numbers stay burnt.

        Never hides ``exc``: when the ledger cannot be written either (its disk is
        full), the run stays ``running``/``publishing`` and the next run on this
        host closes it (:meth:`Ledger.recover`).
        """
        if self.ledger is not None and self.run_id is not None:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            try:
                self.ledger.end_run(self.run_id, status, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            except (LedgerError, sqlite3.Error) as also:
                # The run's own error is the one to report; this one changes nothing the next run cannot mend.
                log.debug("ledger run %s could not be closed as %s: %s", self.run_id, status, also)

    def close(self) -> None:
        """Close the journal and the ledger."""
        if self.journal is not None:
            self.journal.close()
        if self.ledger is not None:
            self.ledger.close()


def rule_stats(plan: RunPlan, tallies: Tallies, report: RunReport) -> None:
    """Fill the report's per-rule counts and rates, and its top providers."""
    by_type = tallies.stats.claims_by_type
    everything = sum(by_type.values())
    counts = report.issues.by_code
    for rule in sorted(plan.rules.all, key=lambda r: r.code):
        # Structure rules look at every claim; the others at their claim types (RX for pharmacy).
        types = rule.claim_types | ({"RX"} if "pharmacy" in rule.models else set())
        applies = everything if rule.code.startswith("FF") else sum(by_type[t] for t in types)
        report.rules.append(
            RuleStat(
                rule.code,
                rule.name,
                rule.effective_severity.value,
                rule.summary(),
                rule.source,
                applies,
                tallies.stats.claims_by_code.get(rule.code, 0),
                counts.get(rule.code, 0),
            )
        )
    report.providers = tallies.stats.top_providers()


class ProviderRejects(RejectsSink):
    """The rejects files (:class:`RejectsSink`), also summing the rejected claims per billing provider.

    Every rejected claim passes through :meth:`reason` once, with its billing NPI
    and totals: the per-provider rejected count and money of the run's trends
    (:func:`run_trends`), kept per NPI, never per claim.
    """

    def __init__(self, outputs: OutputSet, layout: Layout) -> None:
        super().__init__(outputs, layout)
        #: NPI ("" for none) -> [rejected claims, their charge, their paid] (cents).
        self.by_provider: dict[str, list[int]] = {}

    def reason(self, bucket: str, claim: RejectedClaim) -> None:
        """Write the claim's reasons row and count it against its billing provider."""
        super().reason(bucket, claim)
        tally = self.by_provider.setdefault(claim.billing_npi or "", [0, 0, 0])
        tally[0] += 1
        tally[1] += claim.totals.charge
        tally[2] += claim.totals.paid


def run_trends(report: RunReport, tallies: Tallies, rejects: ProviderRejects) -> RunTrends:
    """Return what the ledger records of the run for trends: every rule that ran, every provider rejected.

    Rules come from the report's per-rule counts (:func:`rule_stats`: ``applies``
    is the denominator); providers are those with a rejected claim, with their
    claims read (the ledger keeps the top ones).
    """
    providers = tallies.stats.providers
    return RunTrends(
        rules=tuple(RuleRecord(r.code, r.applies, r.claims, r.issues) for r in report.rules),
        providers=tuple(
            ProviderRecord(npi, providers[npi].claims if npi in providers else n, n, charge, paid)
            for npi, (n, charge, paid) in sorted(rejects.by_provider.items())
        ),
    )


def write_reports(outputs: OutputSet, report: RunReport, include_values: bool, max_rows: int) -> None:
    """Write ``report.html`` (from the report and the errors.jsonl just written) and ``report.json``."""
    doc = report.to_dict()
    doc["include_values"] = include_values
    with outputs.open(HTML_NAME) as handle:
        # the fix list reads the reasons files where they are still staged (published with the page), in
        # name order as find_reasons_files gives them when the page is made again from an output directory
        staged = sorted((outputs.final_name(k), k) for k in outputs.keys() if k.endswith(".reasons.csv"))
        reasons = {name: outputs.temp_path(k) for name, k in staged}
        issues = iter_issues(outputs.temp_path("errors.jsonl"))
        render_html(doc, issues, handle, rejected=iter_rejected(reasons), max_rows=max_rows)
    with outputs.open(REPORT_NAME) as handle:
        json.dump(doc, handle, indent=2)
        handle.write("\n")
