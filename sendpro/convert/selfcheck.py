"""The ``selfcheck`` stage: the written files checked before anything is published.

Every output is validated (the compiled PACDR validator or pyx12 for 837s, the
layout's checks for NCPDP); every output and rejects file is read back from disk
and reconciled against what was read, per claim type, to the cent; an 837 claim
that does not balance is OB001. Problems found here are sendpro defects: the run
then publishes no submission file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sendpro.convert.plan import RunPlan
from sendpro.convert.sinks import RejectsSink, Router, Tallies
from sendpro.flatfile.tally import tally_file
from sendpro.outputs import OutputSet
from sendpro.report.issue import Category, Issue, Location, Severity
from sendpro.report.report import OutputFile, Reconciliation, RunReport, Totals


@dataclass
class Findings:
    """What the self-check found: output defects (issues) and reconciliation differences (text)."""

    bugs: list[Issue] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def selfcheck(
    plan: RunPlan,
    router: Router,
    tallies: Tallies,
    outputs: OutputSet,
    report: RunReport,
    emit: Callable[[Issue], None],
) -> Findings:
    """Validate and reconcile the closed outputs; fill the report's outputs and reconciliation."""
    cfg = plan.config
    found = Findings()
    writers = router.outputs
    say = cfg.stage or (lambda what: None)
    if cfg.validate_output and writers:
        for out in writers.values():
            say(f"validating {outputs.final_name(out.key)}")
            found.bugs.extend(out.validate(cfg))
        report.output_validation = "failed" if found.bugs else "passed"
        report.output_validator = cfg.validator
    elif not cfg.validate_output:
        report.output_validation = "skipped"
    for issue in found.bugs:
        emit(issue)
    say("reconciling the files with the input")
    rejects = router.rejects
    guarded = _balancing_enforced(plan)
    buckets = set(tallies.totals_in) | set(writers) | set(rejects.writers) | set(tallies.skipped)
    for bucket in sorted(buckets):
        rec = Reconciliation(
            input=tallies.totals_in.get(bucket, Totals()), skipped=tallies.skipped.get(bucket, Totals())
        )
        if bucket in writers:
            out = writers[bucket]
            rec.accepted, entry = out.accepted(tallies.accepted_rows.get(bucket, 0))
            report.outputs.append(entry)
            # With the balancing rules on as errors an unbalanced claim cannot reach the
            # 837, so one that does is a bug; with them turned off it is the user's choice.
            for claim_id, what in out.unbalanced:
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
                    found.bugs.append(issue)
                emit(issue)
            if "RX.xref.csv" in out.keys():
                report.outputs.append(OutputFile(outputs.final_name("RX.xref.csv"), "xref", "RX"))
        if bucket in rejects.writers:
            key = RejectsSink.key(bucket)
            path = outputs.close(key)
            side = Totals()
            for t in tally_file(path, plan.layout, encoding=cfg.encoding, temp_dir=cfg.temp_dir).values():
                side.add(t)
            rec.rejected = side
            digest, size = outputs.sha256(key)
            report.outputs.append(
                OutputFile(key, "rejects", bucket, side.claims, side.lines, side.rows, sha256=digest, bytes=size)
            )
            reasons = RejectsSink.reasons_key(bucket)
            outputs.close(reasons)
            digest, size = outputs.sha256(reasons)
            report.outputs.append(
                OutputFile(reasons, "reasons", bucket, rejects.reason_rows.get(bucket, 0), sha256=digest, bytes=size)
            )
        report.reconciliation[bucket] = rec
    overall = report.overall
    scanned_rows = sum(i.rows for i in report.inputs)
    scanned_claims = sum(i.claims for i in report.inputs)
    found.problems = [f"{b}: {r.differences()}" for b, r in report.reconciliation.items() if not r.balanced]
    if overall.input.rows != scanned_rows or overall.input.claims != scanned_claims:
        found.problems.append(
            f"read {overall.input.rows} rows / {overall.input.claims} claims, "
            f"but the first pass counted {scanned_rows} / {scanned_claims}"
        )
    return found


def _balancing_enforced(plan: RunPlan) -> bool:
    """Return True when the claim balancing rules (CL015, CL016) run as errors."""
    active = {r.code for r in plan.rules.all if r.effective_severity is Severity.ERROR}
    return {"CL015", "CL016"} <= active
