"""What the ledger keeps of ``sendpro submit`` and ``sendpro retrieve``: transmissions, logins, retrievals.

The tables are migration 4 of :data:`sendpro.ledger.db.MIGRATIONS`. Nothing here
holds a secret: a login is counted by transport, endpoint and user name only.

* A transmission row is written (``sending``, with its PayloadID) before the
  first byte is sent, so a process that dies mid-upload leaves a row whose
  PayloadID the next attempt reuses; only the server's ``Success`` makes it
  ``sent``. ``failed`` means no proper answer (retryable failures exhausted),
  ``refused`` a definite answer other than Success.
* Failed logins are consecutive: a successful one, or ``--logins-checked``,
  resets the count (and the reset is kept with its time).
* A retrieval is the response file fetched, with the acknowledgment it became.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sendpro.ledger.db import ABANDONED, PENDING, Ledger

#: Transmission statuses.
SENDING = "sending"  # started (PayloadID chosen); no Success seen yet
SENT = "sent"  # the server answered Success
FAILED = "failed"  # no proper answer (timeouts, dropped connections, 5xx) after the retries
REFUSED = "refused"  # the server answered with a code other than Success

#: File statuses that say the file reached MassHealth (an acknowledgment names it).
DELIVERED_FILE_STATUSES = ("received", "partially accepted", "acknowledged", "accepted", "rejected")


@dataclass(frozen=True)
class LedgerFile:
    """A published output file as the ledger records it, with its run."""

    id: int
    run_id: int
    name: str
    path: Path
    kind: str  # "837" or "ncpdp"
    claim_type: str | None
    sha256: str
    status: str
    run_status: str
    usage: str | None
    out_dir: Path


@dataclass(frozen=True)
class LoginState:
    """Consecutive failed logins for one transport, endpoint and user name."""

    failures: int
    first_failed_at: str | None


_FILE_COLUMNS = (
    "f.id, f.run_id, f.name, f.path, f.kind, f.claim_type, f.sha256, f.status, r.status, r.usage, r.out_dir "
    "FROM files f JOIN runs r ON r.id = f.run_id"
)


def _ledger_file(row: tuple[object, ...]) -> LedgerFile:
    return LedgerFile(
        id=int(str(row[0])),
        run_id=int(str(row[1])),
        name=str(row[2]),
        path=Path(str(row[3])),
        kind=str(row[4]),
        claim_type=None if row[5] is None else str(row[5]),
        sha256=str(row[6]),
        status=str(row[7]),
        run_status=str(row[8]),
        usage=None if row[9] is None else str(row[9]),
        out_dir=Path(str(row[10])),
    )


def file_at(ledger: Ledger, path: Path) -> LedgerFile | None:
    """Return the latest published file the ledger recorded at ``path`` (None: the ledger does not know it)."""
    rows = ledger.query(
        f"SELECT {_FILE_COLUMNS} WHERE f.path = ? AND f.status NOT IN (?, ?) ORDER BY f.id DESC LIMIT 1",
        (str(path.resolve()), PENDING, ABANDONED),
    )
    return _ledger_file(rows[0]) if rows else None


def files_of_run(ledger: Ledger, run_id: int) -> list[LedgerFile]:
    """Return the published files of run ``run_id`` in the order the run recorded them."""
    rows = ledger.query(
        f"SELECT {_FILE_COLUMNS} WHERE f.run_id = ? AND f.status NOT IN (?, ?) ORDER BY f.id",
        (run_id, PENDING, ABANDONED),
    )
    return [_ledger_file(r) for r in rows]


def sent_before(ledger: Ledger, file: LedgerFile) -> str | None:
    """Return why ``file`` counts as sent already (a Success with its SHA-256, or an ack naming it), else None."""
    row = ledger.query(
        "SELECT finished_at, transport, payload_id FROM transmissions WHERE sha256 = ? AND status = ? "
        "ORDER BY id DESC LIMIT 1",
        (file.sha256, SENT),
    )
    if row:
        when, transport, payload_id = row[0]
        return f"sent on {str(when)[:19]} by {transport} (PayloadID {payload_id})"
    if file.status in DELIVERED_FILE_STATUSES:
        return f"an acknowledgment already names it ({file.status})"
    return None


def unfinished_payload_id(ledger: Ledger, file: LedgerFile) -> str | None:
    """Return the PayloadID of an earlier attempt at ``file`` that never got an answer (reuse it), else None."""
    row = ledger.query(
        "SELECT payload_id FROM transmissions WHERE file_id = ? AND sha256 = ? AND status IN (?, ?) "
        "ORDER BY id DESC LIMIT 1",
        (file.id, file.sha256, SENDING, FAILED),
    )
    return str(row[0][0]) if row else None


def begin_transmission(
    ledger: Ledger, file: LedgerFile, transport: str, endpoint: str, payload_id: str, now: str
) -> None:
    """Record (before the first byte goes out) that ``file`` is being sent under ``payload_id``.

    A row for the same PayloadID (an earlier attempt that got no answer) is reused,
    so one file sent under one PayloadID is one transmission however often it was tried.
    """
    with ledger.transaction() as db:
        updated = db.execute(
            "UPDATE transmissions SET status = ?, finished_at = NULL WHERE payload_id = ?", (SENDING, payload_id)
        ).rowcount
        if not updated:
            db.execute(
                "INSERT INTO transmissions (file_id, run_id, sha256, transport, endpoint, payload_id, started_at, "
                "attempts, status) VALUES (?,?,?,?,?,?,?,0,?)",
                (file.id, file.run_id, file.sha256, transport, endpoint, payload_id, now, SENDING),
            )


def count_attempt(ledger: Ledger, payload_id: str) -> None:
    """Count one attempt at sending ``payload_id`` (committed before the attempt, so a crash still counts it)."""
    with ledger.transaction() as db:
        db.execute("UPDATE transmissions SET attempts = attempts + 1 WHERE payload_id = ?", (payload_id,))


def end_transmission(ledger: Ledger, payload_id: str, status: str, code: str, message: str, now: str) -> None:
    """Record how the transmission of ``payload_id`` ended (``sent``, ``refused`` or ``failed``)."""
    with ledger.transaction() as db:
        db.execute(
            "UPDATE transmissions SET status = ?, response_code = ?, response_message = ?, finished_at = ? "
            "WHERE payload_id = ?",
            (status, code, message, now, payload_id),
        )


def transmission_count(ledger: Ledger, file_id: int, status: str) -> int:
    """Return how many transmissions of file ``file_id`` have ``status``."""
    return int(
        str(
            ledger.query("SELECT COUNT(*) FROM transmissions WHERE file_id = ? AND status = ?", (file_id, status))[0][0]
        )
    )


# -- logins ---------------------------------------------------------------------------------------
def login_state(ledger: Ledger, transport: str, endpoint: str, username: str) -> LoginState:
    """Return the consecutive failed logins recorded for ``(transport, endpoint, username)``."""
    rows = ledger.query(
        "SELECT failures, first_failed_at FROM login_attempts WHERE transport = ? AND endpoint = ? AND username = ?",
        (transport, endpoint, username),
    )
    if not rows:
        return LoginState(0, None)
    return LoginState(int(str(rows[0][0])), None if rows[0][1] is None else str(rows[0][1]))


def login_failed(ledger: Ledger, transport: str, endpoint: str, username: str, now: str) -> int:
    """Count one more failed login; return the consecutive count."""
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO login_attempts (transport, endpoint, username, failures, first_failed_at, last_failed_at) "
            "VALUES (?,?,?,1,?,?) ON CONFLICT (transport, endpoint, username) DO UPDATE SET "
            "failures = failures + 1, first_failed_at = COALESCE(first_failed_at, excluded.first_failed_at), "
            "last_failed_at = excluded.last_failed_at",
            (transport, endpoint, username, now, now),
        )
    return login_state(ledger, transport, endpoint, username).failures


def reset_logins(ledger: Ledger, transport: str, endpoint: str, username: str, now: str, reason: str) -> None:
    """Reset the failed-login count (a login succeeded, or a person checked the credentials), keeping when and why."""
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO login_attempts (transport, endpoint, username, failures, reset_at, reset_reason) "
            "VALUES (?,?,?,0,?,?) ON CONFLICT (transport, endpoint, username) DO UPDATE SET failures = 0, "
            "first_failed_at = NULL, reset_at = excluded.reset_at, reset_reason = excluded.reset_reason",
            (transport, endpoint, username, now, reason),
        )


# -- retrievals -----------------------------------------------------------------------------------
def retrieved_before(
    ledger: Ledger, transport: str, endpoint: str, name: str, payload_id: str | None, size: int | None
) -> bool:
    """Return True when the item the server lists was fetched and ingested (or stored) before."""
    params: tuple[object, ...]
    if payload_id:
        sql, params = "payload_id = ?", (payload_id,)
    elif size is not None:
        sql, params = "payload_id IS NULL AND name = ? AND size = ?", (name, size)
    else:
        return False  # neither an id nor a size: fetch it; its SHA-256 tells a repeat afterwards
    rows = ledger.query(
        f"SELECT 1 FROM retrievals WHERE transport = ? AND endpoint = ? AND {sql} LIMIT 1",
        (transport, endpoint, *params),
    )
    return bool(rows)


def retrieval_by_sha(ledger: Ledger, sha256: str) -> tuple[str, int | None] | None:
    """Return ``(stored path, ack id)`` of a response file with this SHA-256 fetched before, else None."""
    rows = ledger.query("SELECT path, ack_id FROM retrievals WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,))
    if not rows:
        return None
    return str(rows[0][0]), None if rows[0][1] is None else int(str(rows[0][1]))


@dataclass(frozen=True)
class RetrievalRecord:
    """One response file fetched, as :func:`record_retrieval` stores it."""

    transport: str
    endpoint: str
    name: str
    payload_id: str | None
    size: int | None
    sha256: str
    path: str
    fetched_at: str
    ack_id: int | None
    status: str  # the ack ingestion's: ingested | already ingested | refused
    message: str


def record_retrieval(ledger: Ledger, record: RetrievalRecord) -> None:
    """Record a fetched response file and, when it became an acknowledgment, where it is kept now."""
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO retrievals (transport, endpoint, name, payload_id, size, sha256, path, fetched_at, ack_id, "
            "status, message) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                record.transport,
                record.endpoint,
                record.name,
                record.payload_id,
                record.size,
                record.sha256,
                record.path,
                record.fetched_at,
                record.ack_id,
                record.status,
                record.message,
            ),
        )
        if record.ack_id is not None:
            # The ack was ingested from the staging copy: point the ledger at the copy kept.
            db.execute("UPDATE acks SET path = ? WHERE id = ?", (record.path, record.ack_id))


def ack_run_dirs(ledger: Ledger, ack_id: int) -> list[Path]:
    """Return the output directories of the runs whose files acknowledgment ``ack_id`` named."""
    rows = ledger.query(
        "SELECT DISTINCT r.out_dir FROM file_acks fa JOIN files f ON f.id = fa.file_id JOIN runs r ON r.id = f.run_id "
        "WHERE fa.ack_id = ? UNION SELECT DISTINCT r.out_dir FROM encounters e JOIN runs r ON r.id = e.run_id "
        "WHERE e.ack_id = ? ORDER BY 1",
        (ack_id, ack_id),
    )
    return [Path(str(r[0])) for r in rows]
