"""Run reports: control totals, reconciliation, outputs and issue counts.

Money is kept in integer cents and written as decimal strings (``"1234.50"``), so
``report.json`` reconciles to the cent without floating point.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from sendpro.report.issue import Issue, Severity


def money(cents: int) -> str:
    """Format cents as a decimal string: ``-525`` -> ``"-5.25"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass
class Totals:
    """Control totals of a set of claims (amounts in cents)."""

    rows: int = 0
    claims: int = 0
    lines: int = 0
    charge: int = 0
    paid: int = 0
    line_charge: int = 0
    line_paid: int = 0
    #: Amounts written but no number at all (``abc``, ``1.234``): in no money total, on either side.
    unreadable: int = 0

    def add(self, other: Totals) -> None:
        """Add ``other`` into these totals."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def __add__(self, other: Totals) -> Totals:
        out = Totals()
        out.add(self)
        out.add(other)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return counts as integers and money as decimal strings."""
        return {
            "rows": self.rows,
            "claims": self.claims,
            "lines": self.lines,
            "total_charge": money(self.charge),
            "total_paid": money(self.paid),
            "line_charge": money(self.line_charge),
            "line_paid": money(self.line_paid),
            "unreadable_amounts": self.unreadable,
        }


@dataclass
class Reconciliation:
    """Input = accepted + rejected, for one claim type (or overall)."""

    input: Totals = field(default_factory=Totals)
    accepted: Totals = field(default_factory=Totals)
    rejected: Totals = field(default_factory=Totals)
    #: Claims the ledger already holds in this very version: submitted before, skipped now.
    skipped: Totals = field(default_factory=Totals)

    @property
    def balanced(self) -> bool:
        """Return True when every count and amount reconciles exactly."""
        return self.input == self.accepted + self.rejected + self.skipped

    def differences(self) -> dict[str, int]:
        """Return ``{total: input - (accepted + rejected + skipped)}`` for totals that do not reconcile."""
        out = self.accepted + self.rejected + self.skipped
        return {
            f.name: getattr(self.input, f.name) - getattr(out, f.name)
            for f in fields(Totals)
            if getattr(self.input, f.name) != getattr(out, f.name)
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the three sides and the verdict."""
        return {
            "input": self.input.to_dict(),
            "accepted": self.accepted.to_dict(),
            "rejected": self.rejected.to_dict(),
            "skipped": self.skipped.to_dict(),
            "balanced": self.balanced,
        }


@dataclass
class OutputFile:
    """A file the run wrote."""

    name: str
    kind: str
    claim_type: str | None = None
    claims: int = 0
    lines: int = 0
    rows: int = 0
    segments: int = 0
    transactions: int = 0
    interchange_control: int | None = None
    group_control: int | None = None
    version: str | None = None
    sha256: str | None = None
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the non-empty attributes."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, 0) or k in ("name", "kind", "claims")}


@dataclass
class InputSummary:
    """What was read from one input file."""

    file: str
    layout: str
    rows: int
    claims: int
    split_claims: int = 0
    claims_by_type: dict[str, int] = field(default_factory=dict)
    #: Trailer checks that damaged records (FF012/FF016) kept from being verified.
    unverified_checks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as a dict."""
        return dict(self.__dict__)


class IssueCounter:
    """Counts every issue; tracks how many were written under the cap."""

    def __init__(self, max_issues: int) -> None:
        self.max_issues = max_issues
        self.by_code: Counter[str] = Counter()
        self.by_severity: Counter[str] = Counter()
        self.written = 0
        self.rejected_claims_by_code: Counter[str] = Counter()

    def count(self, issue: Issue) -> bool:
        """Count ``issue``; return True when it should still be written out."""
        self.by_code[issue.code] += 1
        self.by_severity[issue.severity.value] += 1
        if self.max_issues and self.written >= self.max_issues:
            return False
        self.written += 1
        return True

    @property
    def total(self) -> int:
        """Return the number of issues counted."""
        return sum(self.by_code.values())

    @property
    def truncated(self) -> bool:
        """Return True when some issues were counted but not written."""
        return self.written < self.total

    @property
    def errors(self) -> int:
        """Return the number of error-severity issues."""
        return self.by_severity.get(Severity.ERROR.value, 0)

    def to_dict(self) -> dict[str, Any]:
        """Return the counts."""
        return {
            "total": self.total,
            "written": self.written,
            "truncated": self.truncated,
            "by_severity": dict(sorted(self.by_severity.items())),
            "by_code": dict(sorted(self.by_code.items())),
        }


@dataclass
class ProviderStat:
    """Errors found on one billing provider's claims (or one pharmacy's)."""

    npi: str
    name: str | None = None
    claims: int = 0
    claims_with_errors: int = 0
    errors: int = 0
    warnings: int = 0


class ClaimStats:
    """Per-rule and per-provider counts an analyst reads in the HTML report.

    Kept per rule code and per provider, never per claim: memory grows with the
    number of rules and providers, not with the file.
    """

    def __init__(self) -> None:
        self.claims_by_type: Counter[str] = Counter()
        #: Distinct claims with at least one issue of the code.
        self.claims_by_code: Counter[str] = Counter()
        self.providers: dict[str, ProviderStat] = {}

    def record(self, claim_type: str, npi: str | None, name: str | None, issues: list[Issue]) -> None:
        """Count one claim and its issues."""
        self.claims_by_type[claim_type] += 1
        for code in {i.code for i in issues}:
            self.claims_by_code[code] += 1
        stat = self.providers.get(npi or "")
        if stat is None:
            stat = self.providers[npi or ""] = ProviderStat(npi or "", name)
        stat.claims += 1
        errors = sum(1 for i in issues if i.severity is Severity.ERROR)
        stat.errors += errors
        stat.warnings += sum(1 for i in issues if i.severity is Severity.WARNING)
        stat.claims_with_errors += 1 if errors else 0

    def top_providers(self, n: int = 25) -> list[ProviderStat]:
        """Return the ``n`` providers with the most errors (then the most claims)."""
        ranked = sorted(self.providers.values(), key=lambda p: (-p.errors, -p.claims, p.npi))
        return [p for p in ranked if p.errors or p.warnings][:n]


@dataclass
class RuleStat:
    """One rule in a run: how often it fired, over how many claims it applies to."""

    code: str
    name: str
    severity: str
    summary: str
    source: str
    applies: int  # claims of the claim types the rule checks
    claims: int  # claims with at least one issue of the rule
    issues: int

    @property
    def rate(self) -> float:
        """Return the share of applicable claims with an issue of this rule (0 when none apply)."""
        return self.claims / self.applies if self.applies else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the stat with its rate."""
        return {**self.__dict__, "rate": round(self.rate, 6)}


@dataclass
class RunReport:
    """Everything ``report.json`` says about a run."""

    sendpro_version: str
    started_at: str
    layout: str | None = None
    profile: str | None = None
    usage: str | None = None
    ncpdp_layout: str | None = None
    ledger: str | None = None
    ledger_run: int | None = None
    #: Runs that died while publishing, closed by this one, with the orphaned files it removed.
    recovered: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[InputSummary] = field(default_factory=list)
    outputs: list[OutputFile] = field(default_factory=list)
    reconciliation: dict[str, Reconciliation] = field(default_factory=dict)
    issues: IssueCounter = field(default_factory=lambda: IssueCounter(0))
    output_validation: str = "not run"
    #: Which validator checked the outputs (``compiled`` or ``pyx12``).
    output_validator: str = ""
    finished_at: str | None = None
    elapsed_s: float = 0.0
    status: str = "running"
    message: str | None = None
    exit_code: int | None = None
    #: Every rule that ran, with counts and rates (filled at the end of the run).
    rules: list[RuleStat] = field(default_factory=list)
    #: Rules that could not run (a reference file or code list is missing), with why.
    skipped_rules: list[dict[str, str]] = field(default_factory=list)
    #: The code lists the run used, and how (membership, or format only).
    codesets: list[dict[str, Any]] = field(default_factory=list)
    providers: list[ProviderStat] = field(default_factory=list)
    #: MassHealth's data-quality measures over the accepted claims (sendpro.dq), and those not computed.
    dq_measures: list[dict[str, Any]] = field(default_factory=list)
    dq_not_computed: list[dict[str, str]] = field(default_factory=list)
    #: The run against the previous completed run of its ledger (sendpro.ledger.trends.SinceLastRun's
    #: JSON); None without a ledger, without an earlier run, or when the run failed.
    since_last_run: dict[str, Any] | None = None

    @property
    def overall(self) -> Reconciliation:
        """Return the reconciliation summed over claim types."""
        total = Reconciliation()
        for rec in self.reconciliation.values():
            total.input.add(rec.input)
            total.accepted.add(rec.accepted)
            total.rejected.add(rec.rejected)
            total.skipped.add(rec.skipped)
        return total

    @property
    def balanced(self) -> bool:
        """Return True when every claim type reconciles."""
        return all(r.balanced for r in self.reconciliation.values())

    @property
    def valid(self) -> bool:
        """Return True when every claim was accepted and the run completed."""
        return self.status == "complete" and self.overall.rejected.claims == 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document of ``report.json``."""
        return {
            "sendpro_version": self.sendpro_version,
            "status": self.status,
            "message": self.message,
            "exit_code": self.exit_code,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "elapsed_s": round(self.elapsed_s, 3),
            "layout": self.layout,
            "profile": self.profile,
            "usage": self.usage,
            "ncpdp_layout": self.ncpdp_layout,
            "ledger": self.ledger,
            "ledger_run": self.ledger_run,
            "recovered": self.recovered,
            "output_validation": self.output_validation,
            "output_validator": self.output_validator,
            "inputs": [i.to_dict() for i in self.inputs],
            "outputs": [o.to_dict() for o in self.outputs],
            "reconciliation": {
                **{k: v.to_dict() for k, v in sorted(self.reconciliation.items())},
                "all": self.overall.to_dict(),
            },
            "issues": self.issues.to_dict(),
            "rules": [r.to_dict() for r in self.rules if r.issues],
            "rules_run": len(self.rules),
            "skipped_rules": self.skipped_rules,
            "codesets": self.codesets,
            "providers": [dict(p.__dict__) for p in self.providers],
            "dq_measures": self.dq_measures,
            "dq_not_computed": self.dq_not_computed,
            "since_last_run": self.since_last_run,
            "files": sorted(o.name for o in self.outputs),
        }

    def as_records(self) -> list[dict[str, Any]]:
        """Return one flat record per claim type and side, for tabular consumers."""
        rows: list[dict[str, Any]] = []
        items = [*sorted(self.reconciliation.items()), ("all", self.overall)]
        for claim_type, rec in items:
            for side in ("input", "accepted", "rejected", "skipped"):
                rows.append({"claim_type": claim_type, "side": side, **getattr(rec, side).to_dict()})
        return rows
