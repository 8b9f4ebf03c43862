"""A run's own record of what it routed, kept on disk until the run is written into the ledger.

Rules that look at history (duplicates, replacement and void chains) must also
see the claims earlier in the same run, across all its inputs. Keeping them in
memory would grow with the run; the journal is a temporary SQLite file instead,
and :meth:`sendpro.ledger.db.Ledger.finish_publish` copies it into the ledger in
the run's single closing transaction. A full disk under the journal ends the
run with one line naming the journal (:func:`~sendpro.ledger.db.storage_errors`).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from sendpro.ledger.db import storage_errors
from sendpro.scratchdb import open_scratch_db

_SCHEMA = """
CREATE TABLE encounters (
    id INTEGER PRIMARY KEY,
    claim_id TEXT NOT NULL,
    claim_type TEXT NOT NULL,
    frequency TEXT,
    original_claim_id TEXT,
    content_hash TEXT NOT NULL,
    st02 TEXT,
    charge INTEGER NOT NULL,
    paid INTEGER NOT NULL,
    output TEXT,
    detail TEXT,
    recorded_at TEXT NOT NULL,
    input_no INTEGER,
    input_rows TEXT
);
CREATE INDEX encounters_claim ON encounters (claim_id);
CREATE INDEX encounters_original ON encounters (original_claim_id);
"""


_PENDING_MAX = 1000


def _bits(claim_id: str) -> tuple[int, int]:
    """Two bit positions for the journal's Bloom filter (Python's string hash is stable within a run)."""
    h = hash(claim_id) & 0xFFFFFFFFFFFF
    return h & 0x7FFFFF, (h >> 23) & 0x7FFFFF


class RunJournal:
    """Encounters routed by the current run (``output`` None: held in a rejects file)."""

    def __init__(self, directory: Path | None = None) -> None:
        with storage_errors(f"run journal in {directory or tempfile.gettempdir()}"):
            self.db, self.path = open_scratch_db("sendpro-run-", _SCHEMA, directory)
        #: Encounters recorded so far (lets readers cache lookups between additions).
        self.added = 0
        # A Bloom filter of the claim ids recorded: most claims appear once in a run,
        # and a fixed-size filter answers "never seen" without a query (a "maybe"
        # still asks the database, so it is never wrong). 2**23 bits = 1 MiB.
        self._seen = bytearray(1 << 20)
        # Rows not yet inserted: one executemany per batch of claims instead of a
        # statement per claim. Bounded: written before every query and at
        # _PENDING_MAX rows, so a reader never misses a row.
        self._pending: list[tuple[object, ...]] = []

    def add(
        self,
        claim_id: str,
        claim_type: str,
        frequency: str | None,
        original_claim_id: str | None,
        content_hash: str,
        charge: int,
        paid: int,
        output: str | None,
        st02: str | None = None,
        detail: str | None = None,
        input_no: int | None = None,
        input_rows: str | None = None,
    ) -> None:
        """Record one routed encounter (``input_no``/``input_rows``: which input and its physical rows there)."""
        self._pending.append(
            (
                claim_id,
                claim_type,
                frequency,
                original_claim_id,
                content_hash,
                st02,
                charge,
                paid,
                output,
                detail,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                input_no,
                input_rows,
            )
        )
        if len(self._pending) >= _PENDING_MAX:
            self._write()
        self.added += 1
        for bit in _bits(claim_id):
            self._seen[bit >> 3] |= 1 << (bit & 7)

    def _write(self) -> None:
        """Insert the pending rows."""
        if self._pending:
            with storage_errors(f"run journal {self.path}"):
                self.db.executemany(
                    "INSERT INTO encounters (claim_id, claim_type, frequency, original_claim_id, content_hash, "
                    "st02, charge, paid, output, detail, recorded_at, input_no, input_rows) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    self._pending,
                )
            self._pending.clear()

    def might_have(self, claim_id: str) -> bool:
        """Return False when ``claim_id`` was certainly not recorded in this run (True: maybe)."""
        return all(self._seen[bit >> 3] & (1 << (bit & 7)) for bit in _bits(claim_id))

    def versions(self, claim_id: str) -> list[tuple[str, str | None, str | None]]:
        """Return ``(content hash, frequency, output)`` of this run's versions of ``claim_id`` that were written."""
        self._write()
        rows = self.db.execute(
            "SELECT content_hash, frequency, output FROM encounters WHERE claim_id = ? AND output IS NOT NULL",
            (claim_id,),
        ).fetchall()
        return [(str(h), f, o) for h, f, o in rows]

    def rejected(self, claim_id: str) -> list[str]:
        """Return the error codes of this run's rejected versions of ``claim_id`` (empty: none rejected)."""
        if not self.might_have(claim_id):
            return []
        self._write()
        rows = self.db.execute(
            "SELECT detail FROM encounters WHERE claim_id = ? AND output IS NULL ORDER BY id", (claim_id,)
        ).fetchall()
        return [str(r[0] or "") for r in rows]

    def voids_of(self, original_claim_id: str) -> list[str]:
        """Return the claim ids of this run's written voids of ``original_claim_id``."""
        self._write()
        rows = self.db.execute(
            "SELECT claim_id FROM encounters WHERE original_claim_id = ? AND frequency = '8' AND output IS NOT NULL",
            (original_claim_id,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def flush(self) -> None:
        """Commit what was recorded so another connection can read it.

        Raises:
            LedgerError: the journal's disk is full or failed.
        """
        self._write()
        with storage_errors(f"run journal {self.path}"):
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")

    def close(self) -> None:
        """Close and delete the journal."""
        try:
            self.db.close()
        finally:
            self.path.unlink(missing_ok=True)
