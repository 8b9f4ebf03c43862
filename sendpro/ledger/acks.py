"""Ingest acknowledgments into the ledger: TA1 and 999 update files and transaction sets, 277s update encounters.

Matching is by what each acknowledgment names, always within the submitter it
answers (the ack's ISA07/ISA08 is the sender of the files it acknowledges):

* TA1: the interchange control number (TA101 = ISA13 of a file);
* 999: the functional group (AK102 = GS06 of a file), then each transaction set
  (AK202 = ST02) of that file, whose encounters it accepts or rejects;
* 277 (005010X214 277CA, 005010X364 data reporting acknowledgment): each claim by
  its patient control number (TRN02 in the claim loop = CLM01), the latest
  submitted version first, preferring the one whose total charge equals STC04.

An acknowledgment is ingested in one transaction. One that matches nothing the
ledger holds is refused (rolled back), so a misrouted file changes nothing; so is
one cut short or with an inconsistent envelope (:class:`AckFileError`), which is
not recorded either, so a complete copy can be ingested later. Ingesting the same
file twice (same SHA-256) is a no-op.

:func:`collect_ack_files` turns the command line's arguments (files, directories,
a shell pattern that matched nothing) into the files to ingest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sendpro.ledger.db import (
    ACCEPTED,
    ACKNOWLEDGED,
    HELD,
    PARTIAL,
    RECEIVED,
    REJECTED,
    STATUS_RANK,
    SUBMITTED,
    Ledger,
    file_sha256,
)
from sendpro.x12.ackcodes import GROUP_ACK
from sendpro.x12.acks import (
    AckFileError,
    AckInterchange,
    BatchTotals,
    ClaimAck,
    GroupAck,
    InterchangeAck,
    iter_ack,
)


@dataclass
class AckResult:
    """What ingesting one acknowledgment file did."""

    path: str
    kinds: list[str] = field(default_factory=list)
    status: str = "ingested"  # ingested | already ingested | refused
    ack_id: int | None = None
    files: int = 0
    encounters: Counter[str] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    #: Why the file was refused or not ingested again: the reason alone, never the file name (``path`` says it).
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready summary."""
        return {
            "path": self.path,
            "kinds": self.kinds,
            "status": self.status,
            "ack_id": self.ack_id,
            "files": self.files,
            "encounters": dict(self.encounters),
            "unmatched": self.unmatched,
            "message": self.message,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _Ingest:
    """One acknowledgment file applied to the ledger inside an open transaction."""

    def __init__(self, ledger: Ledger, result: AckResult, ack_id: int) -> None:
        self.db = ledger.db
        self.result = result
        self.ack_id = ack_id
        self.receiver = ""
        self.files: set[int] = set()
        self.batches: list[dict[str, object]] = []
        self.claims_seen: Counter[str] = Counter()
        self.amounts_seen: Counter[str] = Counter()

    def _kind(self, kind: str) -> None:
        if kind not in self.result.kinds:
            self.result.kinds.append(kind)

    def _file_ack(self, file_id: int, kind: str, code: str, detail: str, **counts: int | None) -> None:
        self.files.add(file_id)
        self.db.execute(
            "INSERT INTO file_acks (ack_id, file_id, kind, code, detail, included, accepted, rejected, "
            "amount_accepted, amount_rejected) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                self.ack_id,
                file_id,
                kind,
                code,
                detail,
                counts.get("included"),
                counts.get("accepted"),
                counts.get("rejected"),
                counts.get("amount_accepted"),
                counts.get("amount_rejected"),
            ),
        )

    def _set_file(self, file_id: int, status: str, detail: str) -> None:
        self.db.execute(
            "UPDATE files SET status = ?, status_detail = ?, updated_at = ? WHERE id = ?",
            (status, detail, _now(), file_id),
        )

    def _move(self, where: str, params: tuple[object, ...], status: str, detail: str, *, force: bool = False) -> int:
        """Move matching encounters to ``status`` (never back: see STATUS_RANK); return how many moved."""
        rank = STATUS_RANK[status]
        ranks = [s for s, r in STATUS_RANK.items() if (r <= rank if force else r < rank) and s != HELD]
        marks = ",".join("?" * len(ranks))
        cur = self.db.execute(
            f"UPDATE encounters SET status = ?, status_detail = ?, ack_id = ?, updated_at = ? "
            f"WHERE {where} AND status IN ({marks})",
            (status, detail, self.ack_id, _now(), *params, *ranks),
        )
        self.result.encounters[status] += cur.rowcount
        return cur.rowcount

    def _file(self, column: str, number: int, what: str) -> int | None:
        """Return the latest 837 of this submitter with ``column`` (isa13 or gs06) = ``number``, else note it."""
        row = self.db.execute(
            f"SELECT id FROM files WHERE sender = ? AND {column} = ? AND kind = '837' ORDER BY id DESC",
            (self.receiver, number),
        ).fetchone()
        if row is None:
            self.result.unmatched.append(what)
            return None
        return int(row[0])

    # -- items ----------------------------------------------------------------------------------
    def interchange(self, item: InterchangeAck) -> None:
        self._kind("TA1")
        file_id = self._file("isa13", item.isa13, f"TA1 for interchange {item.isa13}")
        if file_id is None:
            return
        detail = item.describe()
        self._file_ack(file_id, "TA1", item.code, detail)
        if item.accepted:
            self.db.execute(
                "UPDATE files SET status = ?, status_detail = ?, updated_at = ? WHERE id = ? AND status = ?",
                (RECEIVED, detail, _now(), file_id, SUBMITTED),
            )
        else:
            self._set_file(file_id, REJECTED, detail)
            self._move("file_id = ?", (file_id,), REJECTED, f"interchange rejected: {detail}")

    def group(self, item: GroupAck) -> None:
        self._kind("999")
        file_id = self._file("gs06", item.gs06, f"999 for functional group {item.gs06}")
        if file_id is None:
            return
        for st in item.transactions:
            known = self.db.execute(
                "SELECT COUNT(*) FROM encounters WHERE file_id = ? AND st02 = ?", (file_id, st.st02)
            ).fetchone()[0]
            if not known:
                self.result.unmatched.append(f"999 for transaction set {st.st02} of group {item.gs06}")
                continue
            if st.accepted:
                self._move("file_id = ? AND st02 = ?", (file_id, st.st02), ACKNOWLEDGED, f"999 IK5 {st.code}")
                continue
            why = st.describe()
            for claim, errors in st.claim_errors.items():
                self._move(
                    "file_id = ? AND st02 = ? AND claim_id = ?",
                    (file_id, st.st02, claim),
                    REJECTED,
                    f"999 rejected transaction set {st.st02}: " + "; ".join(errors),
                    force=True,
                )
            # The claims the errors were in got their own reasons above; the rest of the set falls
            # with it, and is told so rather than handed another claim's errors.
            if st.claim_errors:
                named = sorted(st.claim_errors)
                more = f" and {len(named) - 5} more" if len(named) > 5 else ""
                reason = (
                    f"999 rejected transaction set {st.st02} for errors in claim(s) {', '.join(named[:5])}{more}; "
                    "this claim had none: send it again"
                )
            else:  # no CTX: the errors cannot be placed in a claim
                reason = f"999 rejected transaction set {st.st02} (send the claim again): {why}"
            self._move(
                "file_id = ? AND st02 = ? AND ack_id IS NOT ?",
                (file_id, st.st02, self.ack_id),
                REJECTED,
                reason,
                force=True,
            )
        status = {"A": ACCEPTED, "E": ACCEPTED, "P": PARTIAL}.get(item.code, REJECTED)
        detail = f"999 AK9 {item.code}: {GROUP_ACK.get(item.code, item.code)}"
        self._set_file(file_id, status, detail)
        self._file_ack(
            file_id,
            "999",
            item.code,
            detail,
            included=item.included,
            accepted=item.accepted,
            rejected=item.received - item.accepted,
        )

    def claim(self, item: ClaimAck) -> None:
        self._kind(f"277 ({item.version or 'unknown version'})")
        outcome = item.outcome
        # The 277's own totals cover every claim in it, matched or not.
        self.claims_seen[outcome or "unknown"] += 1
        self.amounts_seen[outcome or "unknown"] += item.amount or 0
        rows = self.db.execute(
            "SELECT e.id, e.status, e.charge, e.file_id FROM encounters e JOIN files f ON f.id = e.file_id "
            "WHERE e.claim_id = ? AND f.sender = ? AND e.status != ? ORDER BY e.id DESC",
            (item.claim_id, self.receiver, HELD),
        ).fetchall()
        if not rows:
            self.result.unmatched.append(f"277 status for claim {item.claim_id}")
            return
        pending = [r for r in rows if STATUS_RANK[str(r[1])] < 2] or rows
        chosen = next((r for r in pending if item.amount is not None and r[2] == item.amount), pending[0])
        enc_id, file_id = int(chosen[0]), int(chosen[3])
        self.files.add(file_id)
        if item.payer_claim_id:
            self.db.execute("UPDATE encounters SET payer_claim_id = ? WHERE id = ?", (item.payer_claim_id, enc_id))
        if outcome is None:
            self.result.unmatched.append(f"277 status for claim {item.claim_id} has no usable category")
            return
        # A 277 is the final word on an encounter: it may overturn an earlier 277 (force).
        self._move("id = ?", (enc_id,), outcome, f"277: {item.describe()}", force=outcome != ACKNOWLEDGED)

    def batch(self, item: BatchTotals) -> None:
        self.batches.append(
            {
                "trace": item.trace,
                "accepted": item.accepted,
                "rejected": item.rejected,
                "accepted_amount": item.accepted_amount,
                "rejected_amount": item.rejected_amount,
            }
        )

    def summary(self) -> str:
        return json.dumps(
            {
                "batches": self.batches,
                "claims": dict(self.claims_seen),
                "amounts": dict(self.amounts_seen),
                "encounters": dict(self.result.encounters),
            },
            sort_keys=True,
        )


class _Refused(Exception):
    """Roll the acknowledgment's transaction back: it matched nothing."""


def _apply(state: _Ingest, path: Path) -> str | None:
    """Feed every item of the file to ``state``; return the acknowledging party.

    Raises:
        AckFileError: the file is not X12, or it is cut short (found at its end: roll back).
    """
    sender = None
    for item in iter_ack(path):
        if isinstance(item, AckInterchange):
            state.receiver, sender = item.receiver, item.sender
        elif isinstance(item, InterchangeAck):
            state.interchange(item)
        elif isinstance(item, GroupAck):
            if item.functional_id == "HC":
                state.group(item)
            else:
                state.result.unmatched.append(f"999 for a {item.functional_id} group {item.gs06} (not a claim file)")
        elif isinstance(item, ClaimAck):
            state.claim(item)
        else:
            state.batch(item)
    return sender


def _unreadable(exc: OSError) -> str:
    return f"cannot be read: {exc.strerror or type(exc).__name__}"


def ingest_ack(ledger: Ledger, path: Path) -> AckResult:
    """Apply one acknowledgment file to the ledger (one transaction); return what it did.

    A file that cannot be read, is not X12, is cut short or matches nothing is
    ``refused`` with the reason in :attr:`AckResult.message`: nothing changes and
    the file is not recorded, so a complete copy can be ingested later.
    """
    result = AckResult(str(path))
    try:
        sha = file_sha256(path)
    except OSError as exc:  # permissions, or gone since it was listed
        return AckResult(str(path), status="refused", message=_unreadable(exc))
    seen = ledger.db.execute("SELECT id, received_at FROM acks WHERE sha256 = ?", (sha,)).fetchone()
    if seen is not None:
        result.status, result.ack_id = "already ingested", int(seen[0])
        result.message = f"already ingested on {str(seen[1])[:10]} (ack {seen[0]}); nothing changed"
        return result
    try:
        with ledger.transaction() as db:
            cur = db.execute(
                "INSERT INTO acks (name, path, kind, sha256, received_at, files, encounters, unmatched) "
                "VALUES (?,?,?,?,?,0,0,0)",
                (path.name, str(path.resolve()), "?", sha, _now()),
            )
            ack_id = int(cur.lastrowid or 0)
            state = _Ingest(ledger, result, ack_id)
            sender = _apply(state, path)
            result.files = len(state.files)
            if not result.kinds:
                result.message = "no TA1, 999 or 277 claim acknowledgment found in it"
                raise _Refused
            if not (result.files or sum(result.encounters.values())):
                more = "; ..." if len(result.unmatched) > 3 else ""
                result.message = (
                    f"it matches nothing submitted through this ledger for submitter {state.receiver or '?'} "
                    f"({'; '.join(result.unmatched[:3])}{more})"
                )
                raise _Refused
            db.execute(
                "UPDATE acks SET kind = ?, sender = ?, files = ?, encounters = ?, unmatched = ?, summary = ? "
                "WHERE id = ?",
                (
                    ",".join(result.kinds),
                    sender,
                    result.files,
                    sum(result.encounters.values()),
                    len(result.unmatched),
                    state.summary(),
                    ack_id,
                ),
            )
    except _Refused:
        result.status = "refused"
        result.encounters.clear()
        return result
    except AckFileError as exc:
        # Rolled back: nothing the part that arrived said is applied, so none of it is reported either.
        return AckResult(str(path), status="refused", message=str(exc))
    except OSError as exc:
        return AckResult(str(path), status="refused", message=_unreadable(exc))
    result.ack_id = ack_id
    return result


#: Shell pattern characters: an argument holding one that names nothing is a glob that matched nothing.
_PATTERN = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class AckInputs:
    """The files an ``ack`` command line names, and one note per argument that named none or was partly skipped."""

    files: list[Path]
    notes: list[str]


def collect_ack_files(paths: Sequence[Path]) -> AckInputs:
    """Expand directories into their files (name order) and drop shell patterns that matched nothing.

    A directory contributes its regular files, sorted by name; hidden files (an
    upload in progress is often one) and anything that is not a file are skipped
    and named in a note. An empty directory, or a pattern holding ``*``, ``?`` or
    ``[`` that names nothing (the shell passes it on when it matched nothing), is
    nothing to do and gets a note. Any other path is kept as given, so a missing
    file is still refused by the ingestion.
    """
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if path.is_dir():
            taken, skipped = _directory(path)
            files += taken
            if not taken:
                why = f" (skipped {', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''})" if skipped else ""
                notes.append(f"{path}: no acknowledgment files in the directory, nothing to do{why}")
            elif skipped:
                more = f" (+{len(skipped) - 5} more)" if len(skipped) > 5 else ""
                notes.append(f"{path}: skipped {len(skipped)}: {', '.join(skipped[:5])}{more}")
        elif not path.exists() and not path.is_symlink() and _PATTERN.search(str(path)):
            notes.append(f"{path}: no files match, nothing to do")
        else:
            files.append(path)
    return AckInputs(files, notes)


def _directory(path: Path) -> tuple[list[Path], list[str]]:
    """Return a directory's files in name order, and what was skipped (``name (why)``)."""
    taken: list[Path] = []
    skipped: list[str] = []
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            skipped.append(f"{entry.name} (hidden)")
        elif not entry.is_file():
            skipped.append(f"{entry.name} ({'a directory' if entry.is_dir() else 'not a file'})")
        else:
            taken.append(entry)
    return taken, skipped
