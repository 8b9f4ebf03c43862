"""The submission ledger: an embedded SQLite database of runs, files, encounters and acknowledgments.

It turns separate runs into a sequence a data team can trust:

* control numbers (ISA13, GS06, ST02) are allocated here, strictly increasing per
  sender and never reused: each allocation commits on its own, so numbers a
  crashed run reserved are burnt, not reissued;
* every submitted encounter version is recorded with a content hash, so the same
  version is never emitted twice and replacement/void chains can be checked;
* a run is recorded in two transactions around the publishing of its files:
  first the run (``publishing``) and its files (``pending``), then, once the files
  are in place, its encounters with the files marked ``submitted``. A run that
  dies in between is found by the next one, which removes its orphaned files
  (:meth:`Ledger.recover`): the ledger never believes in a file that is missing
  or partial, and never holds encounters of a file it did not see published;
* acknowledgments (TA1, 999, 277) update file and encounter statuses.
* each completed run keeps its rule rates and its providers with the most rejected
  claims (counts, rule codes and NPIs only), for ``sendpro trends``.

Schema changes are versioned migrations (``PRAGMA user_version``); the database
runs in WAL mode so readers (``sendpro status``) never block a run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sendpro.errors import LedgerError
from sendpro.outputs import REPORT_NAME, process_alive, read_published, remove_stale_temporaries

#: Versioned schema migrations: index i upgrades user_version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        sendpro_version TEXT NOT NULL,
        layout TEXT,
        profile TEXT,
        usage TEXT,
        inputs TEXT NOT NULL,
        out_dir TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT,
        pid INTEGER,
        host TEXT,
        claims_in INTEGER NOT NULL DEFAULT 0,
        accepted INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE control_numbers (
        sender TEXT NOT NULL,
        kind TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (sender, kind)
    ) WITHOUT ROWID;
    CREATE TABLE reservations (
        id INTEGER PRIMARY KEY,
        sender TEXT NOT NULL,
        kind TEXT NOT NULL,
        number INTEGER NOT NULL,
        reserved_at TEXT NOT NULL,
        token TEXT NOT NULL,
        UNIQUE (sender, kind, number)
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id),
        key TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        claim_type TEXT,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        sender TEXT,
        isa13 INTEGER,
        gs06 INTEGER,
        claims INTEGER NOT NULL,
        charge INTEGER NOT NULL,
        paid INTEGER NOT NULL,
        status TEXT NOT NULL,
        status_detail TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT
    );
    CREATE INDEX files_control ON files (sender, gs06);
    CREATE INDEX files_interchange ON files (sender, isa13);
    CREATE INDEX files_path ON files (path);
    CREATE TABLE encounters (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id),
        file_id INTEGER REFERENCES files (id),
        claim_id TEXT NOT NULL,
        claim_type TEXT NOT NULL,
        frequency TEXT,
        original_claim_id TEXT,
        content_hash TEXT NOT NULL,
        st02 TEXT,
        charge INTEGER NOT NULL DEFAULT 0,
        paid INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        status_detail TEXT,
        payer_claim_id TEXT,
        ack_id INTEGER REFERENCES acks (id),
        recorded_at TEXT NOT NULL,
        updated_at TEXT
    );
    CREATE INDEX encounters_claim ON encounters (claim_id);
    CREATE INDEX encounters_original ON encounters (original_claim_id);
    CREATE INDEX encounters_file ON encounters (file_id, st02);
    CREATE TABLE acks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT NOT NULL UNIQUE,
        sender TEXT,
        received_at TEXT NOT NULL,
        files INTEGER NOT NULL,
        encounters INTEGER NOT NULL,
        unmatched INTEGER NOT NULL,
        summary TEXT
    );
    CREATE TABLE file_acks (
        id INTEGER PRIMARY KEY,
        ack_id INTEGER NOT NULL REFERENCES acks (id),
        file_id INTEGER NOT NULL REFERENCES files (id),
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        detail TEXT,
        included INTEGER,
        accepted INTEGER,
        rejected INTEGER,
        amount_accepted INTEGER,
        amount_rejected INTEGER
    );
    CREATE INDEX file_acks_file ON file_acks (file_id);
    """,
    # 2: where each encounter was in the run's input (for `sendpro rejected`), no member data:
    # the inputs by name, size and SHA-256, and per encounter the input and its physical rows.
    """
    CREATE TABLE run_inputs (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, position)
    ) WITHOUT ROWID;
    CREATE INDEX run_inputs_sha256 ON run_inputs (sha256);
    ALTER TABLE encounters ADD COLUMN input_no INTEGER;
    ALTER TABLE encounters ADD COLUMN input_rows TEXT;
    """,
    # 3: trends across runs (`sendpro trends`, report.json's since_last_run), no member data: per
    # completed run, each rule that ran with its counts over the claims it applies to (the
    # denominator), and the billing providers (NPI) with the most rejected claims, at most
    # TOP_PROVIDERS of them so a run's rows stay bounded. runs.rules_run is set with them: NULL
    # marks a run recorded before this schema, whose trends are unknown (not zero).
    """
    CREATE TABLE run_rules (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        code TEXT NOT NULL,
        applies INTEGER NOT NULL,
        claims INTEGER NOT NULL,
        issues INTEGER NOT NULL,
        PRIMARY KEY (run_id, code)
    ) WITHOUT ROWID;
    CREATE TABLE run_providers (
        run_id INTEGER NOT NULL REFERENCES runs (id),
        npi TEXT NOT NULL,
        claims INTEGER NOT NULL,
        rejected INTEGER NOT NULL,
        rejected_charge INTEGER NOT NULL,
        rejected_paid INTEGER NOT NULL,
        PRIMARY KEY (run_id, npi)
    ) WITHOUT ROWID;
    ALTER TABLE runs ADD COLUMN rules_run INTEGER;
    """,
    # 4: `sendpro submit` and `sendpro retrieve` (sendpro.ledger.transmissions), no secrets: each file
    # sent (transport, endpoint, the PayloadID chosen before the first byte so a retry reuses it,
    # attempts, the server's code and message), consecutive failed logins per transport, endpoint and
    # user name (the conduct rules stop at three), and each response file fetched (by payload id or
    # name and size, then SHA-256, so a second retrieve changes nothing).
    """
    CREATE TABLE transmissions (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL REFERENCES files (id),
        run_id INTEGER NOT NULL REFERENCES runs (id),
        sha256 TEXT NOT NULL,
        transport TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        payload_id TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        response_code TEXT,
        response_message TEXT
    );
    CREATE INDEX transmissions_file ON transmissions (file_id, status);
    CREATE INDEX transmissions_sha256 ON transmissions (sha256, status);
    CREATE TABLE login_attempts (
        transport TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        username TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        first_failed_at TEXT,
        last_failed_at TEXT,
        reset_at TEXT,
        reset_reason TEXT,
        PRIMARY KEY (transport, endpoint, username)
    ) WITHOUT ROWID;
    CREATE TABLE retrievals (
        id INTEGER PRIMARY KEY,
        transport TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        name TEXT NOT NULL,
        payload_id TEXT,
        size INTEGER,
        sha256 TEXT NOT NULL,
        path TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        ack_id INTEGER REFERENCES acks (id),
        status TEXT NOT NULL,
        message TEXT
    );
    CREATE INDEX retrievals_payload ON retrievals (payload_id);
    CREATE INDEX retrievals_name ON retrievals (name, size);
    CREATE INDEX retrievals_sha256 ON retrievals (sha256);
    """,
)

#: Billing providers a run records for trends: those with the most rejected claims.
TOP_PROVIDERS = 50

#: Encounter statuses, in the order acknowledgments move them.
SUBMITTED = "submitted"  # in a published file
ACKNOWLEDGED = "acknowledged"  # its transaction set passed the 999, or a 277 confirmed receipt (A0/A1/A5)
ACCEPTED = "accepted"  # a 277 accepted it (A2)
REJECTED = "rejected"  # a TA1, 999 or 277 rejected it: fix and send again
HELD = "held"  # kept out by sendpro's rules, in a rejects file
#: How far along each encounter status is: an acknowledgment never moves an encounter back.
STATUS_RANK = {HELD: -1, SUBMITTED: 0, ACKNOWLEDGED: 1, ACCEPTED: 2, REJECTED: 2}

#: File statuses beyond the encounter ones.
PENDING = "pending"  # being published by a run that has not finished
ABANDONED = "abandoned"  # its run died while publishing; the file was removed
RECEIVED = "received"  # a TA1 accepted its interchange
PARTIAL = "partially accepted"  # a 999 accepted some of its transaction sets

#: Run statuses besides the report's own (complete, failed).
RUNNING = "running"
PUBLISHING = "publishing"
INTERRUPTED = "interrupted"

_HOST = socket.gethostname()

#: Largest ISA13 / GS06 (9 digits).
MAX_CONTROL = 999_999_999

#: SQLite primary result codes that mean the storage under a database failed, not sendpro's SQL:
#: what to tell the user for each (the rest, such as a syntax or constraint error, is a bug).
_STORAGE_FAILURES = {
    sqlite3.SQLITE_PERM: "",
    sqlite3.SQLITE_BUSY: " (another process holds it)",
    sqlite3.SQLITE_LOCKED: " (another process holds it)",
    sqlite3.SQLITE_NOMEM: "",
    sqlite3.SQLITE_READONLY: " (check its permissions)",
    sqlite3.SQLITE_IOERR: " (check the disk it is on)",
    sqlite3.SQLITE_CORRUPT: " (restore it from a backup)",
    sqlite3.SQLITE_FULL: " (free space on its file system, then run again)",
    sqlite3.SQLITE_CANTOPEN: "",
    sqlite3.SQLITE_PROTOCOL: "",
    sqlite3.SQLITE_NOTADB: " (restore it from a backup)",
}


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn a failure of the storage under database ``what`` inside the block into a one-line error.

    A full disk, an I/O error, a lock held too long or a damaged file is the
    user's to fix: it becomes a :class:`LedgerError` naming ``what`` (such as
    ``ledger /path/ledger.sqlite``). Any other SQLite error (a syntax or
    constraint error) is a sendpro bug and passes through unchanged. SQLite's
    messages for these codes ("database or disk is full", "disk I/O error")
    never quote data.
    """
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None or code & 0xFF not in _STORAGE_FAILURES:
            raise
        raise LedgerError(f"{what}: {exc}{_STORAGE_FAILURES[code & 0xFF]}") from None


def default_ledger_path() -> Path:
    """Return ``$SENDPRO_LEDGER``, else ``$XDG_STATE_HOME/sendpro/ledger.sqlite`` (``~/.local/state``)."""
    explicit = os.environ.get("SENDPRO_LEDGER")
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "sendpro" / "ledger.sqlite"


@dataclass(frozen=True, slots=True)
class PriorVersion:
    """A version of a claim the ledger already knows."""

    claim_id: str
    frequency: str | None
    original_claim_id: str | None
    content_hash: str
    status: str
    file_name: str | None
    run_id: int
    recorded_at: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Recovered:
    """A run that died while publishing, closed by a later one: the orphaned files it removed."""

    run_id: int
    state: str  # running or publishing when it died
    removed: tuple[str, ...]


class Ledger:
    """A connection to the ledger database (use as a context manager)."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        #: Runs :meth:`start_run` found dead and closed.
        self.recovered: list[Recovered] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: every statement outside an explicit BEGIN commits at once,
            # which is what control-number reservations need.
            self.db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {path} cannot be opened: {exc}") from None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise LedgerError(
                f"ledger {self.path} has schema version {version}, newer than this sendpro knows "
                f"({len(MIGRATIONS)}); upgrade sendpro"
            )
        for target in range(version, len(MIGRATIONS)):
            with self.transaction() as db:
                for statement in _statements(MIGRATIONS[target]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target + 1}")

    @property
    def schema_version(self) -> int:
        """Return the schema version of the database."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    # -- control numbers ------------------------------------------------------------------
    def reserve(self, sender: str, kind: str, token: str, start: int | None = None) -> int:
        """Reserve the next control number of ``kind`` for ``sender`` and commit at once.

        ``start`` asks for a particular number (``--control-number``): it must lie
        above every number the sender already used, and later numbers follow it.

        Raises:
            LedgerError: ``start`` was already passed, or the 9-digit range is exhausted.
        """
        with self.transaction() as db:
            row = db.execute(
                "SELECT last FROM control_numbers WHERE sender = ? AND kind = ?", (sender, kind)
            ).fetchone()
            number = (int(row[0]) if row else 0) + 1
            if start is not None:
                if start < number:
                    raise LedgerError(
                        f"control number {start} ({kind}) was already used by sender {sender}: the ledger "
                        f"{self.path} is at {number - 1}; omit --control-number to continue from the ledger"
                    )
                number = start
            if number > MAX_CONTROL:
                raise LedgerError(f"control numbers {kind} of sender {sender!r} are exhausted")
            db.execute(
                "INSERT INTO control_numbers (sender, kind, last) VALUES (?, ?, ?) "
                "ON CONFLICT (sender, kind) DO UPDATE SET last = excluded.last",
                (sender, kind, number),
            )
            db.execute(
                "INSERT INTO reservations (sender, kind, number, reserved_at, token) VALUES (?, ?, ?, ?, ?)",
                (sender, kind, number, _now(), token),
            )
        return number

    def last_control(self, sender: str, kind: str) -> int:
        """Return the last control number reserved (0 when none)."""
        row = self.db.execute(
            "SELECT last FROM control_numbers WHERE sender = ? AND kind = ?", (sender, kind)
        ).fetchone()
        return int(row[0]) if row else 0

    # -- lookups --------------------------------------------------------------------------------
    def versions(self, claim_id: str) -> list[PriorVersion]:
        """Return every recorded version of ``claim_id`` (held ones excluded), oldest first."""
        rows = self.db.execute(
            "SELECT e.claim_id, e.frequency, e.original_claim_id, e.content_hash, e.status, f.name, e.run_id, "
            "e.recorded_at FROM encounters e LEFT JOIN files f ON f.id = e.file_id "
            "WHERE e.claim_id = ? AND e.status != ? ORDER BY e.id",
            (claim_id, HELD),
        ).fetchall()
        return [PriorVersion(*r) for r in rows]

    def versions_of(self, claim_ids: Sequence[str]) -> dict[str, list[PriorVersion]]:
        """Return the recorded versions of many claim ids at once (a batch's), by claim id."""
        out: dict[str, list[PriorVersion]] = {}
        ids = list(dict.fromkeys(claim_ids))
        for start in range(0, len(ids), 500):  # SQLite's parameter limit is 999 on old builds
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                "SELECT e.claim_id, e.frequency, e.original_claim_id, e.content_hash, e.status, f.name, e.run_id, "
                "e.recorded_at FROM encounters e LEFT JOIN files f ON f.id = e.file_id "
                f"WHERE e.claim_id IN ({marks}) AND e.status != ? ORDER BY e.id",
                (*part, HELD),
            ):
                out.setdefault(str(row[0]), []).append(PriorVersion(*row))
        return out

    def voids_of(self, original_claim_id: str) -> list[PriorVersion]:
        """Return submitted voids (frequency 8) that name ``original_claim_id``, not rejected by MassHealth."""
        rows = self.db.execute(
            "SELECT e.claim_id, e.frequency, e.original_claim_id, e.content_hash, e.status, f.name, e.run_id, "
            "e.recorded_at FROM encounters e LEFT JOIN files f ON f.id = e.file_id "
            "WHERE e.original_claim_id = ? AND e.frequency = '8' AND e.status IN (?, ?, ?) ORDER BY e.id",
            (original_claim_id, SUBMITTED, ACKNOWLEDGED, ACCEPTED),
        ).fetchall()
        return [PriorVersion(*r) for r in rows]

    # -- recording a run ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction (``BEGIN IMMEDIATE``): all of it commits, or none.

        Raises:
            LedgerError: the database's storage failed (disk full, I/O error, locked: see
                :func:`storage_errors`); nothing of the block was committed.
        """
        with storage_errors(f"ledger {self.path}"):
            self.db.execute("BEGIN IMMEDIATE")
        try:
            with storage_errors(f"ledger {self.path}"):
                yield self.db
                self.db.execute("COMMIT")
        except BaseException:
            # A statement or COMMIT that fails on a full disk or an I/O error has
            # already rolled the transaction back: a second ROLLBACK would fail
            # ("no transaction is active") and hide the real cause.
            if self.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
            raise

    def start_run(
        self, started_at: str, sendpro_version: str, inputs: str, out_dir: str, keep: Collection[Path] = ()
    ) -> int:
        """Record a run that starts now (``running``, with this process id); return its id.

        One convert run uses a ledger at a time: another live run is refused.
        Runs whose process is gone (killed, crashed) are closed first (:meth:`recover`;
        ``keep``: the new run's input files, which recovery never deletes).

        Raises:
            LedgerError: another run is using the ledger.
        """
        self.recovered = self.recover(keep)
        with self.transaction() as db:
            for run_id, pid, host in db.execute(
                "SELECT id, pid, host FROM runs WHERE status IN (?, ?)", (RUNNING, PUBLISHING)
            ).fetchall():
                where = f"process {pid}" + ("" if host == _HOST else f" on host {host}")
                raise LedgerError(
                    f"ledger {self.path} is in use by run {run_id} ({where}); one run at a time. If that run is "
                    "gone, it is closed automatically by the next run on its host"
                )
            cur = db.execute(
                "INSERT INTO runs (started_at, sendpro_version, inputs, out_dir, status, pid, host) "
                "VALUES (?,?,?,?,?,?,?)",
                (started_at, sendpro_version, inputs, out_dir, RUNNING, os.getpid(), _HOST),
            )
            return int(cur.lastrowid or 0)

    def record_inputs(self, run_id: int, inputs: Sequence[InputRecord]) -> None:
        """Record the run's input files (name, path, size, SHA-256): how `sendpro rejected` finds them again."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO run_inputs (run_id, position, name, path, bytes, sha256) VALUES (?,?,?,?,?,?)",
                [(run_id, i.position, i.name, i.path, i.bytes, i.sha256) for i in inputs],
            )

    def begin_publish(self, run_id: int, run: RunRecord, files: Sequence[FileRecord]) -> None:
        """Record a run about to publish its files: the run ``publishing``, its files ``pending``.

        One transaction, written *before* the files are renamed into place. If the
        process dies between this and :meth:`finish_publish`, the next run finds the
        run still ``publishing`` and removes its files (:meth:`recover`): the ledger
        never holds encounters of a file that may be missing or partial, and no
        orphaned file is left to be sent by mistake.
        """
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET layout = ?, profile = ?, usage = ?, status = ?, claims_in = ?, accepted = ?, "
                "rejected = ?, skipped = ? WHERE id = ?",
                (
                    run.layout,
                    run.profile,
                    run.usage,
                    PUBLISHING,
                    run.claims_in,
                    run.accepted,
                    run.rejected,
                    run.skipped,
                    run_id,
                ),
            )
            for f in files:
                db.execute(
                    "INSERT INTO files (run_id, key, name, path, kind, claim_type, sha256, bytes, sender, isa13, gs06, "
                    "claims, charge, paid, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        f.key,
                        f.name,
                        f.path,
                        f.kind,
                        f.claim_type,
                        f.sha256,
                        f.bytes,
                        f.sender,
                        f.isa13,
                        f.gs06,
                        f.claims,
                        f.charge,
                        f.paid,
                        PENDING,
                        _now(),
                    ),
                )

    def end_run(self, run_id: int, status: str, message: str | None = None) -> None:
        """Close a run that published nothing (failed, interrupted, or an unusable input)."""
        with self.transaction() as db:
            db.execute("UPDATE files SET status = ? WHERE run_id = ? AND status = ?", (ABANDONED, run_id, PENDING))
            db.execute(
                "UPDATE runs SET status = ?, message = ?, finished_at = ? WHERE id = ? AND status IN (?, ?)",
                (status, message, _now(), run_id, RUNNING, PUBLISHING),
            )

    def finish_publish(
        self,
        run_id: int,
        status: str,
        journal: Path,
        before_commit: Callable[[], None] | None = None,
        trends: RunTrends | None = None,
    ) -> None:
        """Complete a run whose files are in place: files ``submitted``, encounters recorded, in one transaction.

        ``journal`` is the run's temporary encounter store (see :class:`RunJournal`);
        ``before_commit`` runs inside the transaction (crash-safety tests die there).
        ``trends``, the run's per-rule and per-provider counts, are recorded in the
        same transaction (:meth:`record_trends`): a run the ledger holds always has them.

        Raises:
            LedgerError: the ledger's storage failed (see :meth:`transaction`): nothing
                was recorded, the run is still ``publishing`` and its files ``pending``,
                so the caller must take its files back (or a later run's :meth:`recover` does).
        """
        with storage_errors(f"ledger {self.path}"):
            self.db.execute("ATTACH DATABASE ? AS journal", (str(journal),))
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO encounters (run_id, file_id, claim_id, claim_type, frequency, original_claim_id, "
                    "content_hash, st02, charge, paid, status, recorded_at, input_no, input_rows) "
                    "SELECT ?, f.id, j.claim_id, j.claim_type, j.frequency, j.original_claim_id, j.content_hash, "
                    "j.st02, j.charge, j.paid, ?, j.recorded_at, j.input_no, j.input_rows FROM journal.encounters j "
                    "JOIN files f ON f.run_id = ? AND f.key = j.output",
                    (run_id, SUBMITTED, run_id),
                )
                db.execute(
                    "INSERT INTO encounters (run_id, file_id, claim_id, claim_type, frequency, original_claim_id, "
                    "content_hash, st02, charge, paid, status, status_detail, recorded_at, input_no, input_rows) "
                    "SELECT ?, NULL, claim_id, claim_type, frequency, original_claim_id, content_hash, NULL, charge, "
                    "paid, ?, detail, recorded_at, input_no, input_rows FROM journal.encounters WHERE output IS NULL",
                    (run_id, HELD),
                )
                db.execute("UPDATE files SET status = ? WHERE run_id = ?", (SUBMITTED, run_id))
                db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, _now(), run_id))
                if trends is not None:
                    self.record_trends(run_id, trends)
                if before_commit is not None:
                    before_commit()
        finally:
            # Failing to detach (the connection is closed right after) must not hide why the block failed.
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("DETACH DATABASE journal")

    def record_trends(self, run_id: int, trends: RunTrends) -> None:
        """Record a run's rule counts and its top :data:`TOP_PROVIDERS` providers by rejected claims.

        Called inside :meth:`finish_publish`'s transaction (not a transaction of its own):
        counts, rule codes and NPIs only.
        """
        self.db.executemany(
            "INSERT INTO run_rules (run_id, code, applies, claims, issues) VALUES (?,?,?,?,?)",
            [(run_id, r.code, r.applies, r.claims, r.issues) for r in trends.rules],
        )
        ranked = sorted((p for p in trends.providers if p.rejected), key=lambda p: (-p.rejected, -p.claims, p.npi))
        self.db.executemany(
            "INSERT INTO run_providers (run_id, npi, claims, rejected, rejected_charge, rejected_paid) "
            "VALUES (?,?,?,?,?,?)",
            [(run_id, p.npi, p.claims, p.rejected, p.rejected_charge, p.rejected_paid) for p in ranked[:TOP_PROVIDERS]],
        )
        self.db.execute("UPDATE runs SET rules_run = ? WHERE id = ?", (len(trends.rules), run_id))

    def recover(self, keep: Collection[Path] = ()) -> list[Recovered]:
        """Close runs whose process died (this host only): delete their orphans, mark them ``interrupted``.

        A run that died while publishing may have renamed some files into place.
        Its encounters were never recorded, so the next run emits them again with
        new control numbers: everything it published is void and goes, so that
        nothing of it is sent and no report describes it.

        * its ``report.json`` first (when it is this run's: same ledger run id and
          start time), so no report ever lists a file that is gone;
        * its submission files (837, NCPDP), when byte-for-byte the ones the run was
          publishing (the ledger's SHA-256);
        * the other files that report lists: errors.jsonl/csv and rejects files
          when unchanged (the report's SHA-256; one the user edited stays),
          report.html and the NCPDP cross-reference (no digest: while the run's
          report.json is there, no later run has published in the directory,
          since publishing removes the old report first);
        * temporary files it left in its output directory.

        Files in ``keep`` (the recovering run's inputs, e.g. a rejects file being
        converted again) are never deleted. A run that died before publishing
        left no report of its own.
        """
        done: list[Recovered] = []
        keep_paths = {p.resolve() for p in keep}
        for run_id, status, pid, host, out_dir, started_at in self.db.execute(
            "SELECT id, status, pid, host, out_dir, started_at FROM runs WHERE status IN (?, ?) ORDER BY id",
            (RUNNING, PUBLISHING),
        ).fetchall():
            if host != _HOST or pid is None or process_alive(int(pid)):
                continue
            out = Path(str(out_dir))
            report = read_published(out) if status == PUBLISHING else None
            if report is not None and (report.ledger_run, report.started_at) != (run_id, started_at):
                report = None  # another run's report (or none of this run's was published)
            void: list[tuple[Path, str | None]] = []  # (file, the SHA-256 it must still have; None: any)
            if report is not None:
                void.append((out / REPORT_NAME, None))
            pending = self.db.execute(
                "SELECT path, sha256 FROM files WHERE run_id = ? AND status = ?", (run_id, PENDING)
            ).fetchall()
            void += [(Path(str(path)), str(sha)) for path, sha in pending]
            if report is not None:
                recorded = {Path(str(path)).name for path, _ in pending} | {REPORT_NAME}
                void += [(out / n, report.sha256.get(n)) for n in report.files if n not in recorded]
            removed = [str(target) for target, sha in void if _remove_unchanged(target, sha, keep_paths)]
            removed += [str(t) for t in remove_stale_temporaries(out)]
            self.end_run(int(run_id), INTERRUPTED, f"the process died while {status}; recovered by a later run")
            done.append(Recovered(int(run_id), str(status), tuple(removed)))
        return done

    def run_status(self, run_id: int) -> str | None:
        """Return the status of run ``run_id`` as committed (None: no such run)."""
        row = self.db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else str(row[0])

    def submitted_file(self, path: Path) -> tuple[int, str] | None:
        """Return ``(run id, status)`` when ``path`` is a file the ledger recorded as sent and it is unchanged."""
        row = self.db.execute(
            "SELECT run_id, status, sha256 FROM files WHERE path = ? AND status NOT IN (?, ?) ORDER BY id DESC",
            (str(path.resolve()), PENDING, ABANDONED),
        ).fetchone()
        if row is None or not path.is_file() or file_sha256(path) != row[2]:
            return None
        return int(row[0]), str(row[1])

    # -- reading ----------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a read-only query (for status and reconcile reports)."""
        return self.db.execute(sql, params).fetchall()

    def iter_files(self) -> Iterator[tuple[object, ...]]:
        """Yield ``(id, run_id, name, kind, isa13, gs06, claims, charge, paid, status, path, sha256)``."""
        yield from self.db.execute(
            "SELECT id, run_id, name, kind, isa13, gs06, claims, charge, paid, status, path, sha256 FROM files "
            "ORDER BY id"
        )


def _remove_unchanged(target: Path, sha: str | None, keep: Collection[Path]) -> bool:
    """Delete ``target`` if it is a file with SHA-256 ``sha`` (None: any) and not in ``keep``; return whether."""
    if not target.is_file() or target.resolve() in keep:
        return False
    if sha is not None and file_sha256(target) != sha:
        return False
    target.unlink()
    return True


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


@dataclass(frozen=True)
class InputRecord:
    """One input file of a run, as the ledger keeps it (no content)."""

    position: int
    name: str
    path: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class RunRecord:
    """The run row written at the end of a run."""

    started_at: str
    sendpro_version: str
    layout: str | None
    profile: str | None
    usage: str | None
    inputs: str
    out_dir: str
    status: str
    claims_in: int
    accepted: int
    rejected: int
    skipped: int


@dataclass(frozen=True)
class FileRecord:
    """A published output file; ``key`` joins it to the journal's encounters."""

    key: str
    name: str
    path: str
    kind: str
    claim_type: str | None
    sha256: str
    bytes: int
    sender: str | None
    isa13: int | None
    gs06: int | None
    claims: int
    charge: int
    paid: int


@dataclass(frozen=True)
class RuleRecord:
    """One rule in a completed run, for trends: claims it applies to, claims it flagged, its issues."""

    code: str
    applies: int
    claims: int
    issues: int


@dataclass(frozen=True)
class ProviderRecord:
    """One billing provider (or pharmacy) in a completed run, for trends; money in cents."""

    npi: str  # "" when the claims named none
    claims: int
    rejected: int
    rejected_charge: int
    rejected_paid: int


@dataclass(frozen=True)
class RunTrends:
    """What a completed run records for trends (see :meth:`Ledger.record_trends`)."""

    rules: tuple[RuleRecord, ...] = ()
    providers: tuple[ProviderRecord, ...] = ()
