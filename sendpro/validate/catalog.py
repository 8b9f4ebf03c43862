"""Every code sendpro can report, with severity and documentation (``sendpro rules``)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from sendpro import errors
from sendpro.flatfile.problems import FILE_PROBLEMS
from sendpro.ncpdp.validate import CHECKS as NCPDP_CHECKS
from sendpro.validate.pyx12_bridge import px_code
from sendpro.validate.rules import DEFAULT_RULES
from sendpro.x12.ackcodes import ELEMENT_CODES, SEGMENT_CODES


@dataclass(frozen=True)
class CatalogEntry:
    """One documented code."""

    code: str
    severity: str
    name: str
    summary: str
    doc: str
    source: str = "sendpro"
    #: What the code looks at: row, claim, line, file, output (a written file) or run.
    scope: str = "output"
    #: Claim types (P, I, D, RX) the rule checks; empty: not a claim rule.
    applies_to: tuple[str, ...] = ()
    #: Reference files the rule needs.
    needs: tuple[str, ...] = ()

    def example(self, kind: str) -> str:
        """Return the ``Bad:`` or ``Good:`` example of the documentation (empty when none)."""
        for line in self.doc.splitlines():
            if line.startswith(f"{kind}:"):
                return line[len(kind) + 1 :].strip().replace("``", "")
        return ""


def _doc_body(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    lines = doc.splitlines()
    return "\n".join(lines[1:]).strip() if len(lines) > 1 else ""


def catalog() -> list[CatalogEntry]:
    """Return every rule, file problem, pyx12-derived and stop code, sorted by code."""
    entries: list[CatalogEntry] = []
    for rule in DEFAULT_RULES:
        types = (*sorted(rule.claim_types), *(("RX",) if "pharmacy" in rule.models else ()))
        entries.append(
            CatalogEntry(
                rule.code,
                "guard" if rule.guard else rule.severity.value,
                rule.name,
                rule.summary(),
                _doc_body(rule),
                rule.source,
                rule.scope.value,
                types if "medical" in rule.models else ("RX",),
                tuple(sorted(rule.needs)),
            )
        )
    for problem in FILE_PROBLEMS:
        doc = f"Stops the run (exit code 2, nothing written).\nBad: {problem.bad}.\nGood: {problem.good}."
        entries.append(CatalogEntry(problem.code, "fatal", problem.name, problem.summary, doc, scope="file"))
    entries.append(CatalogEntry("PX001", "error", "x12.isa", "pyx12: interchange envelope (ISA/IEA) error", ""))
    entries.append(CatalogEntry("PX002", "error", "x12.gs", "pyx12: functional group (GS/GE) error", ""))
    entries.append(CatalogEntry("PX003", "error", "x12.st", "pyx12: transaction set (ST/SE) error", ""))
    for ack, text in SEGMENT_CODES.items():
        entries.append(CatalogEntry(px_code("seg", ack), "error", "x12.seg", f"pyx12: {text} (IK304 {ack})", ""))
    for ack, text in ELEMENT_CODES.items():
        entries.append(CatalogEntry(px_code("ele", ack), "error", "x12.ele", f"pyx12: {text} (IK403 {ack})", ""))
    entries.append(
        CatalogEntry(
            "OB001",
            "error",
            "output.balance",
            "A claim of the written 837 does not balance: CLM02 is not the sum of the line charges, "
            "or AMT*D not the sum of SVD02.",
            "Checked on every 837 sendpro writes, when it re-reads the file to reconcile. The input rules "
            "(CL015, CL016) make it impossible, so it is a sendpro bug: the run is converted again with the "
            "claim rejected, and every other claim is published.",
        )
    )
    entries.append(
        CatalogEntry(
            "OB002",
            "error",
            "output.valid",
            "The 837 or NCPDP output sendpro wrote for this claim failed output validation.",
            "A sendpro bug (the input rules passed the claim): one claim never blocks a submission, so the run "
            "is converted again at once with the claim rejected under OB002, naming the validator's finding, "
            "and every other claim is published. A finding outside every claim still stops the file.",
        )
    )
    for code, (name, summary) in NCPDP_CHECKS.items():
        entries.append(CatalogEntry(code, "error", name, summary, "Checked on NCPDP output and by sendpro validate."))
    for cls in (
        errors.SendproError,
        errors.UsageError,
        errors.LayoutError,
        errors.ProfileError,
        errors.MapError,
        errors.OutputValidationError,
        errors.ReconciliationError,
        errors.LedgerError,
    ):
        summary = (inspect.getdoc(cls) or "").splitlines()[0]
        entries.append(
            CatalogEntry(
                cls.code, "fatal", f"stop.{cls.__name__}", summary, "Stops the run (exit code 2).", scope="run"
            )
        )
    unique = {e.code: e for e in entries}
    return sorted(unique.values(), key=lambda e: e.code)


def describe_code(code: str) -> str:
    """Return the one-line summary of ``code`` (empty when unknown)."""
    for entry in catalog():
        if entry.code == code:
            return entry.summary
    return ""
