"""What the ledger says: ``sendpro status`` (runs, files, encounters, what to fix) and ``sendpro reconcile``.

Both read only; the ledger runs in WAL mode, so they never block a run in progress.
The ledger holds no member data (claim ids, hashes and amounts only), so these
reports need no masking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sendpro.errors import LedgerError
from sendpro.ledger.db import (
    ACCEPTED,
    ACKNOWLEDGED,
    HELD,
    REJECTED,
    SUBMITTED,
    Ledger,
)
from sendpro.x12.ackcodes import explain_reason

#: Encounter statuses in the order reports show them.
ENCOUNTER_STATUSES = (SUBMITTED, ACKNOWLEDGED, ACCEPTED, REJECTED, HELD)


@dataclass
class ToFix:
    """An encounter MassHealth rejected whose claim has not been sent again since."""

    claim_id: str
    claim_type: str
    file: str | None
    reason: str
    updated_at: str | None
    run: int | None = None
    isa13: int | None = None

    @property
    def reason_text(self) -> str:
        """Return the stored reason with each acknowledgment code's text beside it (codes first)."""
        return explain_reason(self.reason)


@dataclass
class StatusReport:
    """The ledger at a glance."""

    path: str
    schema_version: int
    runs: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    encounters: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # type -> status -> (n, cents)
    to_fix: list[ToFix] = field(default_factory=list)
    to_fix_total: int = 0
    oldest_unacknowledged: str | None = None
    #: Claims counted as sent whose newest version sendpro held (a correction to fix and re-run).
    correction_held: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready document."""
        return {
            "ledger": self.path,
            "schema_version": self.schema_version,
            "runs": self.runs,
            "files": self.files,
            "encounters": {
                t: {s: {"claims": n, "charge_cents": c} for s, (n, c) in by.items()}
                for t, by in self.encounters.items()
            },
            "correction_held": self.correction_held,
            "to_fix_total": self.to_fix_total,
            "to_fix": [{**vars(t), "reason_text": t.reason_text} for t in self.to_fix],
            "oldest_unacknowledged": self.oldest_unacknowledged,
        }


def status(ledger: Ledger, runs: int = 10, limit: int = 50) -> StatusReport:
    """Return the last ``runs`` runs, files and encounters by status, and up to ``limit`` rejected encounters."""
    report = StatusReport(str(ledger.path), ledger.schema_version)
    for row in ledger.query(
        "SELECT r.id, r.started_at, r.status, r.claims_in, r.accepted, r.rejected, r.skipped, "
        "(SELECT COUNT(*) FROM files f WHERE f.run_id = r.id) FROM runs r ORDER BY r.id DESC LIMIT ?",
        (runs,),
    ):
        keys = ("run", "started_at", "status", "claims_in", "accepted", "rejected", "skipped", "files")
        report.runs.append(dict(zip(keys, row, strict=True)))
    for file_status, n in ledger.query("SELECT status, COUNT(*) FROM files GROUP BY status ORDER BY status"):
        report.files[str(file_status)] = int(str(n))
    # Each claim id counts once, in the state of its latest version that went out: a claim
    # held by one run and sent by the next is sent, one held twice is held once, and one sent
    # whose correction was held later is still sent (MassHealth has that version). A claim
    # none of whose versions went out is held.
    chosen = (
        "CASE WHEN e.status = ? THEN NOT EXISTS (SELECT 1 FROM encounters l WHERE l.claim_id = e.claim_id "
        "AND (l.id > e.id OR l.status != ?)) ELSE NOT EXISTS (SELECT 1 FROM encounters l "
        "WHERE l.claim_id = e.claim_id AND l.id > e.id AND l.status != ?) END"
    )
    for claim_type, enc_status, n, cents in ledger.query(
        f"SELECT e.claim_type, e.status, COUNT(*), SUM(e.charge) FROM encounters e WHERE {chosen} "
        "GROUP BY e.claim_type, e.status",
        (HELD, HELD, HELD),
    ):
        report.encounters.setdefault(str(claim_type), {})[str(enc_status)] = (int(str(n)), int(str(cents or 0)))
    report.correction_held = int(
        str(
            ledger.query(
                "SELECT COUNT(DISTINCT e.claim_id) FROM encounters e WHERE e.status = ? AND NOT EXISTS "
                "(SELECT 1 FROM encounters l WHERE l.claim_id = e.claim_id AND l.id > e.id) AND EXISTS "
                "(SELECT 1 FROM encounters s WHERE s.claim_id = e.claim_id AND s.id < e.id AND s.status != ?)",
                (HELD, HELD),
            )[0][0]
        )
    )
    # Rejected, and no later version of the claim id went out or was held since.
    latest_rejected = (
        "FROM encounters e LEFT JOIN files f ON f.id = e.file_id WHERE e.status = ? AND NOT EXISTS "
        "(SELECT 1 FROM encounters l WHERE l.claim_id = e.claim_id AND l.id > e.id)"
    )
    report.to_fix_total = int(str(ledger.query(f"SELECT COUNT(*) {latest_rejected}", (REJECTED,))[0][0]))
    for claim_id, claim_type, name, reason, updated, run_id, isa13 in ledger.query(
        f"SELECT e.claim_id, e.claim_type, f.name, e.status_detail, e.updated_at, f.run_id, f.isa13 {latest_rejected} "
        "ORDER BY e.updated_at, e.id LIMIT ?",
        (REJECTED, limit),
    ):
        report.to_fix.append(
            ToFix(
                str(claim_id),
                str(claim_type),
                None if name is None else str(name),
                str(reason or ""),
                None if updated is None else str(updated),
                None if run_id is None else int(str(run_id)),
                None if isa13 is None else int(str(isa13)),
            )
        )
    oldest = ledger.query("SELECT MIN(recorded_at) FROM encounters WHERE status = ?", (SUBMITTED,))[0][0]
    report.oldest_unacknowledged = None if oldest is None else str(oldest)
    return report


@dataclass
class FileReconciliation:
    """One submitted file: what went out and what the acknowledgments say about it."""

    file_id: int
    name: str
    run_id: int
    isa13: int | None
    claims: int
    charge: int
    file_status: str
    path: str = ""
    by_status: dict[str, tuple[int, int]] = field(default_factory=dict)  # encounter status -> (claims, cents)
    acks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Return the file as people tell it from others of the same name: run, ISA13 and name."""
        isa13 = f" ISA13 {self.isa13:09d}" if self.isa13 is not None else ""
        return f"run {self.run_id}{isa13} {self.name}"

    def side(self, *statuses: str) -> tuple[int, int]:
        """Return (claims, cents) over the given encounter statuses."""
        n = sum(self.by_status.get(s, (0, 0))[0] for s in statuses)
        c = sum(self.by_status.get(s, (0, 0))[1] for s in statuses)
        return n, c


@dataclass
class LedgerReconciliation:
    """Control totals submitted vs acknowledged, per file, plus each 277's own totals."""

    files: list[FileReconciliation] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Return every discrepancy found."""
        out = [f"{f.label}: {p}" for f in self.files for p in f.problems]
        for ack in self.acks:
            out += [f"{ack['name']}: {p}" for p in ack["problems"]]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready document."""
        return {
            "files": [
                {
                    "file": f.name,
                    "path": f.path,
                    "run": f.run_id,
                    "isa13": f.isa13,
                    "file_status": f.file_status,
                    "submitted": {"claims": f.claims, "charge_cents": f.charge},
                    "by_status": {s: {"claims": n, "charge_cents": c} for s, (n, c) in f.by_status.items()},
                    "acks": f.acks,
                    "problems": f.problems,
                }
                for f in self.files
            ],
            "acks": self.acks,
            "problems": self.problems,
        }


def reconcile(ledger: Ledger, run: int | None = None) -> LedgerReconciliation:
    """Compare what each submitted file carried with what its acknowledgments account for.

    Raises:
        LedgerError: ``run`` is not a run of this ledger.
    """
    out = LedgerReconciliation()
    if run is not None and not ledger.query("SELECT 1 FROM runs WHERE id = ?", (run,)):
        raise LedgerError(f"no run {run} in the ledger {ledger.path}")
    where, params = ("AND f.run_id = ?", (run,)) if run is not None else ("", ())
    for file_id, name, path, run_id, isa13, claims, charge, file_status in ledger.query(
        f"SELECT f.id, f.name, f.path, f.run_id, f.isa13, f.claims, f.charge, f.status FROM files f "
        f"WHERE f.status NOT IN ('pending', 'abandoned') {where} ORDER BY f.id",
        params,
    ):
        rec = FileReconciliation(
            int(str(file_id)),
            str(name),
            int(str(run_id)),
            None if isa13 is None else int(str(isa13)),
            int(str(claims)),
            int(str(charge)),
            str(file_status),
            str(path),
        )
        for enc_status, n, cents in ledger.query(
            "SELECT status, COUNT(*), SUM(charge) FROM encounters WHERE file_id = ? GROUP BY status", (file_id,)
        ):
            rec.by_status[str(enc_status)] = (int(str(n)), int(str(cents or 0)))
        for kind, code, included, accepted, rejected, ack_name in ledger.query(
            "SELECT fa.kind, fa.code, fa.included, fa.accepted, fa.rejected, a.name FROM file_acks fa "
            "JOIN acks a ON a.id = fa.ack_id WHERE fa.file_id = ? ORDER BY fa.id",
            (file_id,),
        ):
            counts = f" ({accepted}/{included} transaction sets accepted)" if kind == "999" else ""
            rec.acks.append(f"{kind} {code}{counts} in {ack_name}")
            if kind == "999" and included is not None and accepted is not None and rejected is not None:
                sets = ledger.query(
                    "SELECT COUNT(DISTINCT st02) FROM encounters WHERE file_id = ? AND st02 IS NOT NULL", (file_id,)
                )[0][0]
                if int(str(included)) != int(str(sets)):
                    rec.problems.append(f"999 acknowledges {included} transaction set(s); the file has {sets}")
        total_n, total_c = rec.side(*ENCOUNTER_STATUSES)
        if (total_n, total_c) != (rec.claims, rec.charge):
            rec.problems.append(
                f"the ledger holds {total_n} encounter(s) / {total_c} cents for the file, "
                f"but it carried {rec.claims} / {rec.charge}"
            )
        out.files.append(rec)
    for ack_id, name, kind, summary in ledger.query(
        "SELECT id, name, kind, summary FROM acks WHERE kind LIKE '%277%' ORDER BY id"
    ):
        data = json.loads(str(summary or "{}"))
        claims, amounts = data.get("claims", {}), data.get("amounts", {})
        entry: dict[str, Any] = {"ack": ack_id, "name": name, "kind": kind, "batches": [], "problems": []}
        # A total counts only when some batch states it: AMT*YU / AMT*YY and the QTYs are
        # situational, and a missing one is not a zero.
        stated: dict[str, int | None] = {
            "accepted": None,
            "rejected": None,
            "accepted_amount": None,
            "rejected_amount": None,
        }
        for batch in data.get("batches", []):
            entry["batches"].append(batch)
            for key in stated:
                if batch.get(key) is not None:
                    stated[key] = (stated[key] or 0) + int(batch[key])
        has_totals = any(v is not None for v in stated.values())
        found_accepted = int(claims.get("accepted", 0)) + int(claims.get("acknowledged", 0))
        found = {
            "accepted": found_accepted,
            "rejected": int(claims.get("rejected", 0)),
            "accepted_amount": int(amounts.get("accepted", 0)) + int(amounts.get("acknowledged", 0)),
            "rejected_amount": int(amounts.get("rejected", 0)),
        }
        entry["stated"], entry["matched"] = (stated if has_totals else None), found
        if has_totals:
            for key, value in stated.items():
                if value is not None and value != found[key]:
                    shown, total = (
                        (_dollars(value), _dollars(found[key])) if key.endswith("_amount") else (value, found[key])
                    )
                    entry["problems"].append(f"the 277 states {key} {shown}, its claim statuses add up to {total}")
        out.acks.append(entry)
    return out


def _dollars(cents: int) -> str:
    """Format cents as dollars for a message."""
    return f"{cents / 100:.2f}"
