"""``convert_files``: the convert pipeline, stage after stage.

plan → preflight → (check → settle → route) per batch → close → selfcheck →
publish. See :mod:`sendpro.convert` for what each stage owns.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path

from sendpro.config import RunConfig
from sendpro.convert.check import checked, start_pool, worker_count
from sendpro.convert.plan import make_plan
from sendpro.convert.preflight import open_readers, preflight
from sendpro.convert.publish import Faults, LedgerRun, ProviderRejects, rule_stats, run_trends, write_reports
from sendpro.convert.selfcheck import selfcheck
from sendpro.convert.sinks import IssueSink, Router, Tallies, make_outputs
from sendpro.convert.workers import BatchPool
from sendpro.dq import DqAccumulator, Lists, load_measures
from sendpro.errors import OutputValidationError, ReconciliationError, SendproError
from sendpro.flatfile.problems import INPUT_CHANGED
from sendpro.outputs import HTML_NAME, REPORT_NAME, OutputSet
from sendpro.report.issue import Issue, Location, Severity
from sendpro.report.report import IssueCounter, OutputFile, RunReport
from sendpro.validate.engine import ValidationEngine
from sendpro.version import sendpro_version

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2


def convert_files(inputs: Sequence[Path], out_dir: Path, config: RunConfig | None = None) -> RunReport:
    """Convert flat-file extracts into 837 PACDR (or NCPDP) files in ``out_dir``.

    Every claim ends in exactly one place: the output of its claim type, the
    rejects file of its claim type (in the input's layout, ready to fix and
    re-run), or nowhere when it is a duplicate of a submitted version. Issues
    stream to ``errors.jsonl`` / ``errors.csv``; the outputs are validated and
    reconciled from disk before anything is published, atomically, with
    ``report.json`` and ``report.html``.

    Returns the run report; ``report.exit_code`` is 0 when every claim was
    accepted and 1 when some were rejected.

    Raises:
        SendproError: a usage, layout, profile or input-file problem (nothing is
            written), or a failed self-check (reconciliation, output validation).
    """
    cfg = config or RunConfig()
    held: dict[str, Issue] = {}
    for _ in range(_ATTEMPTS):
        try:
            return _convert(inputs, out_dir, cfg, held)
        except _HoldBack as again:
            held.update(again.held)
    return _convert(inputs, out_dir, cfg, held, last=True)


#: Attempts at a run whose output validation blames particular claims, before the last one.
_ATTEMPTS = 2


class _HoldBack(Exception):
    """Output validation failed in particular claims: convert again with them rejected."""

    def __init__(self, held: dict[str, Issue]) -> None:
        super().__init__(
            f"output validation failed in {len(held)} claim(s) (a sendpro bug); "
            "converted again at once with those claims rejected (OB002)"
        )
        self.held = held


def _held_claims(bugs: list[Issue]) -> dict[str, Issue] | None:
    """Return the claims to hold back for ``bugs``, or None when some bug is not in a claim.

    One claim must not block a submission: a claim whose written segments fail is
    rejected under OB002 (OB001 when it does not balance), and the rest go out.
    A finding outside every claim (the envelope) fails the whole file.
    """
    held: dict[str, Issue] = {}
    for bug in bugs:
        claim_id = bug.location.claim_id
        if claim_id is None:
            return None
        if claim_id in held:
            continue
        held[claim_id] = (
            bug
            if bug.code == "OB001"
            else Issue(
                code="OB002",
                severity=Severity.ERROR,
                message=f"the output sendpro wrote for this claim failed validation ({bug.code}: {bug.message}); "
                "the claim is held back: a sendpro bug, please report it",
                location=Location(claim_id=claim_id),
                rule_name="output.valid",
                category=bug.category,
            )
        )
    return held


def _stamp(path: Path) -> tuple[int, int]:
    """Return what tells a file changed: its size and modification time."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _refuse_changed_inputs(paths: Sequence[Path], stamps: Sequence[tuple[int, int]]) -> None:
    """Stop the run when an input was written to while it was read (the passes disagree).

    Raises:
        InputFileError: an input's size or modification time changed since the first pass.
    """
    for path, stamp in zip(paths, stamps, strict=True):
        if _stamp(path) != stamp:
            raise INPUT_CHANGED.error(
                path.name,
                "the input changed during the run (it was written to after sendpro began reading it); "
                "nothing was published: convert a finished copy of the extract",
            )


def _convert(
    inputs: Sequence[Path], out_dir: Path, cfg: RunConfig, held: dict[str, Issue], last: bool = False
) -> RunReport:
    """Run the pipeline once, rejecting the ``held`` claims (see :func:`convert_files`)."""
    started = time.monotonic()
    plan = make_plan(inputs, out_dir, cfg)
    faults = Faults(cfg.fault_point)
    report = RunReport(sendpro_version(), plan.now.isoformat(timespec="seconds"))
    report.issues = IssueCounter(cfg.max_issues)
    report.codesets = list(plan.codesets)
    report.skipped_rules = list(plan.skipped_rules)
    report.ncpdp_layout = plan.ncpdp[0].name if plan.ncpdp else None
    ledger = LedgerRun(plan, report)
    plan = plan.with_history(ledger.history)
    report.layout, report.profile, report.usage = plan.layout.name, plan.profile.name, plan.pacdr.envelope.usage
    readers = []
    outputs: OutputSet | None = None
    pool: BatchPool | None = None
    try:
        readers = open_readers(plan)
        report.inputs = preflight(plan, readers)
        stamps = [_stamp(path) for path in plan.inputs]
        outputs = OutputSet(out_dir)
        env = plan.pacdr.envelope
        sender = f"NCPDP:{plan.ncpdp[1].sender_id}" if plan.ncpdp else f"X12:{env.sender_qualifier}:{env.sender_id}"
        issues = IssueSink(outputs, report.issues, cfg.include_values)
        tallies = Tallies()
        rows_total = sum(i.rows for i in report.inputs)
        jobs = worker_count(plan, rows_total)
        pool = start_pool(plan, jobs) if jobs else None
        # The rejects sink also counts rejected claims per billing provider (the ledger's trends).
        rejects = ProviderRejects(outputs, plan.layout)
        router = Router(
            issues,
            rejects,
            make_outputs(
                plan,
                outputs,
                ledger.control_for(sender),
                pool.validate if pool is not None else None,
                2 * jobs,
            ),
            ledger.journal,
            tallies,
            held,
        )
        engine = ValidationEngine(plan.rules, forbidden=plan.forbidden)
        # DQ measures (sendpro.dq): MassHealth's data-quality rates over the claims being sent.
        dq = DqAccumulator(load_measures(), Lists(plan.resources.codesets, plan.resources.members), plan.pharmacy)
        faults.at("after-scan")
        for input_no, (reader, summary) in enumerate(zip(readers, report.inputs, strict=True)):
            router.input_no = input_no
            router.rejects.begin_file(reader.header_text(), reader.scan().trailer_record)
            for item in checked(plan, engine, reader, pool):
                if isinstance(item, Issue):
                    issues.emit(item)
                    continue
                engine.settle(item.batch, functools.partial(router.route, item))
                dq.add_routed(item.batch, item.table.claim_ids, held)  # DQ measures
                for bucket in item.table.buckets:
                    summary.claims_by_type[bucket] = summary.claims_by_type.get(bucket, 0) + 1
                if cfg.progress is not None:
                    cfg.progress(tallies.rows_done, rows_total)
                if tallies.rows_done >= rows_total // 2:
                    faults.at("mid-run")
        router.close()
        # DQ measures, per output file (named once closed).
        report.dq_measures = dq.results({b: outputs.final_name(o.key) for b, o in router.outputs.items()})
        report.dq_not_computed = dq.not_computed
        _refuse_changed_inputs(plan.inputs, stamps)
        # The workers may still be validating the last transaction sets (selfcheck waits for them).
        found = selfcheck(plan, router, tallies, outputs, report, issues.emit)
        if pool is not None:
            pool.close()
            pool = None
        if found.bugs and not found.problems and not last:
            blamed = _held_claims(found.bugs)
            if blamed:
                raise _HoldBack(blamed)
        issues.stop(report)
        for key in ("errors.jsonl", "errors.csv"):
            outputs.close(key)
            digest, size = outputs.sha256(key)
            report.outputs.append(OutputFile(key, "errors", sha256=digest, bytes=size))
        failure: SendproError | None = None
        if found.problems:
            failure = ReconciliationError(
                "counts or totals do not reconcile (a sendpro bug; nothing was published): " + "; ".join(found.problems)
            )
        elif found.bugs:
            kinds = sorted({out.kind for out in router.outputs.values()})
            failure = OutputValidationError(
                f"output validation found {len(found.bugs)} problem(s) in the {' and '.join(kinds)} output (a sendpro "
                "bug); those files were not published; see errors.jsonl (codes PX.../RX2..)"
            )
        report.exit_code = EXIT_REJECTED if tallies.rejected_claims else EXIT_OK
        report.status = "complete"
        if held:
            report.message = (
                f"{len(held)} claim(s) held back because the output written for them failed validation "
                "(OB001/OB002, a sendpro bug to report); every other claim was published"
            )
        if failure is not None:
            for out in router.outputs.values():
                for key in out.keys():
                    outputs.discard(key)
            report.outputs = [o for o in report.outputs if o.kind not in ("837", "ncpdp", "xref")]
            report.status, report.message, report.exit_code = "failed", str(failure), EXIT_ERROR
        report.finished_at = cfg.clock().isoformat(timespec="seconds")
        report.elapsed_s = time.monotonic() - started
        report.outputs += [OutputFile(REPORT_NAME, "report"), OutputFile(HTML_NAME, "html")]
        rule_stats(plan, tallies, report)
        if cfg.stage is not None:
            cfg.stage("writing the reports and publishing")
        if failure is None:
            ledger.begin_publish(report, outputs, router.outputs.values())
            ledger.compare(report, run_trends(report, tallies, rejects))  # report.json's since_last_run
        write_reports(outputs, report, cfg.include_values, cfg.max_issues)
        if isinstance(failure, ReconciliationError):
            raise failure
        if failure is not None:
            outputs.commit()  # the reports and rejects are published, the defective outputs are not
            raise failure
        faults.at("before-publish")
        outputs.commit()
        faults.at("after-publish")
        ledger.finish_publish(report.status, faults)
        return report
    except BaseException as exc:
        if outputs is not None:
            outputs.abort()
        ledger.fail(exc)
        raise
    finally:
        if pool is not None:
            pool.close()
        for reader in readers:
            reader.close()
        ledger.close()
