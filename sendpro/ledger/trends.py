"""Trends across runs: ``sendpro trends`` and the "since the last run" part of ``report.json``.

Each completed run records in the ledger, in the transaction that records the
run, its rules with their counts over the claims each applies to and its billing
providers with the most rejected claims (:meth:`sendpro.ledger.db.Ledger.record_trends`):
rule codes, NPIs and counts, never member data. :func:`trends` reads them back
per run; :func:`since_last_run` compares a run being published with the previous
completed run of the same ledger, and :func:`claims_vs_submitted` sorts the run's
claims against what the ledger recorded as submitted before it.

Runs recorded before schema 3 have no rule counts (``runs.rules_run`` is NULL):
they are listed as not recorded, and never compared with, since their rates are
unknown rather than zero.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendpro.ledger.db import HELD, Ledger, ProviderRecord, RuleRecord, storage_errors
from sendpro.report.report import money

#: The status of a run that completed and published (the report's own).
COMPLETE = "complete"

#: Decimals of every share and rate in the JSON (as report.json's rules).
_DECIMALS = 6


def rate(claims: int, applies: int) -> float:
    """Return ``claims / applies`` to 6 decimals (0 when nothing applied)."""
    return round(claims / applies, _DECIMALS) if applies else 0.0


def _rate_of(rule: RuleRecord) -> float:
    return rate(rule.claims, rule.applies)


@dataclass(frozen=True, slots=True)
class RunTrend:
    """One completed run as ``sendpro trends`` shows it."""

    run_id: int
    started_at: str
    claims: int  # claims read
    rejected: int  # claims rejected (held in rejects files)
    #: False for a run recorded before the ledger kept trends: its rules and providers are unknown.
    recorded: bool
    #: Its rules that fired, highest rate first (at most the number asked for).
    rules: tuple[RuleRecord, ...] = ()
    #: Its billing providers with the most rejected claims, most first.
    providers: tuple[ProviderRecord, ...] = ()

    @property
    def rejected_share(self) -> float:
        """Return rejected claims / claims read (6 decimals; 0 without claims)."""
        return rate(self.rejected, self.claims)

    def to_json(self) -> dict[str, Any]:
        """Return the run as a JSON-ready dict (money as decimal strings, as in report.json)."""
        return {
            "run": self.run_id,
            "started_at": self.started_at,
            "claims": self.claims,
            "rejected": self.rejected,
            "rejected_share": self.rejected_share,
            "recorded": self.recorded,
            "rules": [
                {"code": r.code, "claims": r.claims, "applies": r.applies, "issues": r.issues, "rate": _rate_of(r)}
                for r in self.rules
            ],
            "providers": [
                {
                    "npi": p.npi,
                    "claims": p.claims,
                    "rejected": p.rejected,
                    "rejected_charge": money(p.rejected_charge),
                    "rejected_paid": money(p.rejected_paid),
                }
                for p in self.providers
            ],
        }


@dataclass(frozen=True, slots=True)
class TrendsReport:
    """The ledger's recent completed runs, newest first."""

    path: str
    runs: tuple[RunTrend, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {"ledger": self.path, "runs": [r.to_json() for r in self.runs]}


def trends(ledger: Ledger, runs: int = 10, top_rules: int = 5, top_providers: int = 3) -> TrendsReport:
    """Return the last ``runs`` completed runs with their ``top_rules`` rules by rate and ``top_providers`` providers.

    Rules are those that fired (at least one issue), by rate, then claims flagged,
    then code; providers by rejected claims, then claims, then NPI.
    """
    found: list[RunTrend] = []
    for run_id, started_at, claims, rejected, rules_run in ledger.query(
        "SELECT id, started_at, claims_in, rejected, rules_run FROM runs WHERE status = ? ORDER BY id DESC LIMIT ?",
        (COMPLETE, runs),
    ):
        n = int(str(run_id))
        rules = sorted(_fired(ledger, n), key=lambda r: (-_rate_of(r), -r.claims, r.code))[:top_rules]
        providers = [
            ProviderRecord(str(npi), int(str(c)), int(str(rej)), int(str(charge)), int(str(paid)))
            for npi, c, rej, charge, paid in ledger.query(
                "SELECT npi, claims, rejected, rejected_charge, rejected_paid FROM run_providers WHERE run_id = ? "
                "ORDER BY rejected DESC, claims DESC, npi LIMIT ?",
                (n, top_providers),
            )
        ]
        found.append(
            RunTrend(
                n,
                str(started_at),
                int(str(claims)),
                int(str(rejected)),
                rules_run is not None,
                tuple(rules),
                tuple(providers),
            )
        )
    return TrendsReport(str(ledger.path), tuple(found))


def _fired(ledger: Ledger, run_id: int) -> list[RuleRecord]:
    """Return the rules of a run that fired (at least one issue), by code."""
    return [
        RuleRecord(str(code), int(str(applies)), int(str(claims)), int(str(issues)))
        for code, applies, claims, issues in ledger.query(
            "SELECT code, applies, claims, issues FROM run_rules WHERE run_id = ? AND issues > 0 ORDER BY code",
            (run_id,),
        )
    ]


@dataclass(frozen=True, slots=True)
class ClaimsVsSubmitted:
    """A run's claims against what the ledger recorded as submitted before it (contract: report.json).

    ``unchanged``: the same version was submitted before (skipped by CL050, or sent
    again with ``--resubmit`` or after MassHealth rejected it); ``voided``: frequency 8;
    ``replaced``: frequency 7, or a claim id submitted before whose content changed;
    ``new``: every other claim sent. Claims this run rejected are in none of them.
    """

    new: int = 0
    replaced: int = 0
    voided: int = 0
    unchanged: int = 0

    def to_json(self) -> dict[str, int]:
        """Return the four counts."""
        return {"new": self.new, "replaced": self.replaced, "voided": self.voided, "unchanged": self.unchanged}


def claims_vs_submitted(ledger: Ledger, journal: Path, skipped: int) -> ClaimsVsSubmitted:
    """Sort the claims a run is sending (its journal, committed) against the ledger's earlier submissions.

    ``journal`` is the run's :class:`~sendpro.ledger.journal.RunJournal` file, read
    before the run's own encounters are recorded, so every encounter in the
    ledger is from an earlier run; ``skipped`` the claims the duplicate guard
    (CL050) skipped, which are not in the journal. One query, each claim looked
    up by claim id (indexed).

    Raises:
        LedgerError: the ledger's storage failed.
    """
    # Submitted before: any version that went out in a file (not one sendpro held), whatever
    # MassHealth made of it since. ``same``: one of those versions has this very content.
    sql = (
        "SELECT COALESCE(SUM(frequency = '8'), 0), "
        "COALESCE(SUM(frequency = '7' OR (COALESCE(frequency, '') != '8' AND seen AND NOT same)), 0), "
        "COALESCE(SUM(COALESCE(frequency, '') NOT IN ('7', '8') AND same), 0), COUNT(*) FROM ("
        "SELECT j.frequency AS frequency, "
        "EXISTS (SELECT 1 FROM main.encounters e WHERE e.claim_id = j.claim_id AND e.status != ?) AS seen, "
        "EXISTS (SELECT 1 FROM main.encounters e WHERE e.claim_id = j.claim_id AND e.status != ? "
        "AND e.content_hash = j.content_hash) AS same "
        "FROM trend_journal.encounters j WHERE j.output IS NOT NULL)"
    )
    with storage_errors(f"ledger {ledger.path}"):
        ledger.db.execute("ATTACH DATABASE ? AS trend_journal", (str(journal),))
    try:
        with storage_errors(f"ledger {ledger.path}"):
            voided, replaced, again, sent = ledger.db.execute(sql, (HELD, HELD)).fetchone()
    finally:
        with contextlib.suppress(sqlite3.Error):
            ledger.db.execute("DETACH DATABASE trend_journal")
    voided, replaced, again, sent = int(voided), int(replaced), int(again), int(sent)
    return ClaimsVsSubmitted(
        new=sent - voided - replaced - again, replaced=replaced, voided=voided, unchanged=skipped + again
    )


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One rule's rate in this run against the previous run (0 where it did not fire)."""

    code: str
    claims: int
    rate: float
    previous_claims: int
    previous_rate: float

    @property
    def change(self) -> float:
        """Return rate - previous rate, of the rounded rates (so the JSON's numbers add up)."""
        return round(self.rate - self.previous_rate, _DECIMALS)

    def to_json(self) -> dict[str, Any]:
        """Return the contract's rule entry."""
        return {
            "code": self.code,
            "claims": self.claims,
            "rate": self.rate,
            "previous_claims": self.previous_claims,
            "previous_rate": self.previous_rate,
            "change": self.change,
        }


@dataclass(frozen=True, slots=True)
class SinceLastRun:
    """A run against the previous completed run of its ledger: ``report.json``'s ``since_last_run``."""

    previous_run: int
    previous_started: str
    claims: int
    previous_claims: int
    rejected: int
    previous_rejected: int
    #: Every rule that fired in either run, biggest absolute change first (then by code).
    rules: tuple[RuleChange, ...]
    #: Codes that fired in this run and in no earlier run of the ledger, sorted.
    new_rules: tuple[str, ...]
    claims_vs_submitted: ClaimsVsSubmitted

    @property
    def rejected_share(self) -> float:
        """Return this run's rejected claims / claims read (6 decimals)."""
        return rate(self.rejected, self.claims)

    @property
    def previous_rejected_share(self) -> float:
        """Return the previous run's rejected claims / claims read (6 decimals)."""
        return rate(self.previous_rejected, self.previous_claims)

    def to_json(self) -> dict[str, Any]:
        """Return exactly the object of the shared contract (see the report.html side)."""
        return {
            "previous_run": self.previous_run,
            "previous_started": self.previous_started,
            "claims": {"this": self.claims, "previous": self.previous_claims},
            "rejected_share": {"this": self.rejected_share, "previous": self.previous_rejected_share},
            "rules": [r.to_json() for r in self.rules],
            "new_rules": list(self.new_rules),
            "claims_vs_submitted": self.claims_vs_submitted.to_json(),
        }


def since_last_run(
    ledger: Ledger,
    run_id: int,
    claims: int,
    rejected: int,
    rules: Sequence[RuleRecord],
    submitted: ClaimsVsSubmitted,
) -> SinceLastRun | None:
    """Compare run ``run_id`` (its ``claims`` read, ``rejected`` claims and ``rules``) with the previous run.

    The previous run is the latest earlier completed run of the ledger that
    recorded its trends; None when there is none. ``rules`` are this run's rule
    counts (those that did not fire are ignored); ``submitted`` its claims
    against earlier submissions (:func:`claims_vs_submitted`).
    """
    row = ledger.query(
        "SELECT id, started_at, claims_in, rejected FROM runs WHERE id < ? AND status = ? AND rules_run IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
        (run_id, COMPLETE),
    )
    if not row:
        return None
    previous_id, started, previous_claims, previous_rejected = row[0]
    previous = {r.code: r for r in _fired(ledger, int(str(previous_id)))}
    current = {r.code: r for r in rules if r.issues}
    earlier = {
        str(code)
        for (code,) in ledger.query("SELECT DISTINCT code FROM run_rules WHERE run_id < ? AND issues > 0", (run_id,))
    }
    nothing = RuleRecord("", 0, 0, 0)
    changes = [
        RuleChange(
            code,
            current.get(code, nothing).claims,
            _rate_of(current.get(code, nothing)),
            previous.get(code, nothing).claims,
            _rate_of(previous.get(code, nothing)),
        )
        for code in current.keys() | previous.keys()
    ]
    return SinceLastRun(
        previous_run=int(str(previous_id)),
        previous_started=str(started),
        claims=claims,
        previous_claims=int(str(previous_claims)),
        rejected=rejected,
        previous_rejected=int(str(previous_rejected)),
        rules=tuple(sorted(changes, key=lambda c: (-abs(c.change), c.code))),
        new_rules=tuple(sorted(current.keys() - earlier)),
        claims_vs_submitted=submitted,
    )
