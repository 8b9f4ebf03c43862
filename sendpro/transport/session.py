"""MassHealth's conduct rules, applied alike to every transport: ``submit`` and ``retrieve`` sessions.

* One session per ledger at a time (an exclusive ``flock`` beside the ledger), one file after another.
* A refused login is never retried within an invocation; three consecutive ones (counted in the ledger
  per transport, endpoint and user name) stop every later session until a person checks the
  credentials and passes ``--logins-checked``.
* Only files sendpro wrote and recorded, from complete runs, unchanged on disk, never sent before
  (by SHA-256) unless ``--resubmit``, and production files only with a profile free of placeholders.
* A transient failure is retried (three attempts, backoff) under the same PayloadID, recorded before
  the first byte; only the server's Success records a file as sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from sendpro.errors import LedgerError, SendproError
from sendpro.ledger import transmissions as tx
from sendpro.ledger.acks import ingest_ack
from sendpro.ledger.db import Ledger, file_sha256
from sendpro.profiles import Profile
from sendpro.transport.base import AuthenticationError, Credentials, Transport, TransportConfig, TransportError
from sendpro.transport.config import endpoint

#: Consecutive failed logins after which sessions stop until a person checks the credentials.
MAX_LOGIN_FAILURES = 3
#: Attempts at one file on transient failures, and the first backoff (doubled each time), in seconds.
MAX_ATTEMPTS = 3
BACKOFF_S = 5.0

_T = TypeVar("_T")


class LoginLimitReached(SendproError):
    """Three consecutive logins failed: nothing connects until a person checks the credentials."""

    code = "SP010"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class SessionEnv:
    """What a session takes from the world: the clock, PayloadIDs, sleeping between retries, the transport."""

    now: Callable[[], dt.datetime] = _utc_now
    new_id: Callable[[], str] = _new_uuid
    sleep: Callable[[float], None] = time.sleep
    connect: Callable[[TransportConfig], Transport] | None = None  # None: sendpro.transport.factory.make_transport

    def stamp(self) -> str:
        """Return the current time as the ledger writes it."""
        return self.now().isoformat(timespec="seconds")

    def transport(self, config: TransportConfig) -> Transport:
        """Return a new transport for ``config``."""
        if self.connect is not None:
            return self.connect(config)
        from sendpro.transport.factory import make_transport

        if config.kind.startswith("core-"):
            return make_transport(config, now=self.now, uuid=self.new_id)
        return make_transport(config)


@dataclass(frozen=True)
class FileOutcome:
    """What ``submit`` did with one file: ``sent``, ``would send`` (dry run), ``refused`` or ``failed``."""

    path: str
    status: str
    reason: str = ""
    payload_id: str = ""
    code: str = ""
    attempts: int = 0

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class SubmitResult:
    """The files a ``submit`` considered, each with its outcome."""

    files: list[FileOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when every file was sent (or would be, in a dry run)."""
        return all(f.status in ("sent", "would send") for f in self.files)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"ok": self.ok, "files": [f.to_dict() for f in self.files]}


@dataclass(frozen=True)
class RetrievedFile:
    """One file the server listed: ``ingested``, ``already ingested``, ``skipped`` (fetched before) or ``refused``."""

    name: str
    status: str
    stored: str = ""
    message: str = ""
    ack_id: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class RetrieveResult:
    """The files a ``retrieve`` found waiting, each with what became of it."""

    files: list[RetrievedFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when no file was refused."""
        return all(f.status != "refused" for f in self.files)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"ok": self.ok, "files": [f.to_dict() for f in self.files]}


@contextlib.contextmanager
def session_lock(ledger_path: Path) -> Iterator[None]:
    """Hold the ledger's transport lock for the block; refuse at once if another session holds it.

    Raises:
        LedgerError: another submit or retrieve holds the lock (its pid in the message).
    """
    lock_path = Path(f"{ledger_path}.transport.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise LedgerError(
                f"another submit or retrieve is running against ledger {ledger_path} (pid {holder}); "
                "MassHealth allows one session at a time: wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class _Session:
    """One authenticated transport session within the conduct rules (used inside :func:`session_lock`)."""

    def __init__(self, ledger: Ledger, config: TransportConfig, credentials: Credentials, env: SessionEnv) -> None:
        self.ledger, self.config, self.credentials, self.env = ledger, config, credentials, env
        self.key = (config.kind, endpoint(config), credentials.username)
        self.transport: Transport | None = None
        self.logged_in = False

    def check_logins(self, logins_checked: bool) -> None:
        if logins_checked:
            tx.reset_logins(self.ledger, *self.key, self.env.stamp(), "--logins-checked")
        state = tx.login_state(self.ledger, *self.key)
        if state.failures >= MAX_LOGIN_FAILURES:
            raise LoginLimitReached(
                f"{state.failures} failed logins to {self.key[1]} as {self.key[2]} since {state.first_failed_at}; "
                "sendpro will not try again (MassHealth allows three attempts). Check the credentials, then run "
                "`sendpro submit --logins-checked`"
            )

    def open(self) -> Transport:
        transport = self.env.transport(self.config)
        self.transport = transport
        self.guard(lambda: transport.open(self.credentials))
        return transport

    def guard(self, step: Callable[[], _T]) -> _T:
        """Run one step against the server, counting a refused login (and never retrying it)."""
        try:
            value = step()
        except AuthenticationError:
            n = tx.login_failed(self.ledger, *self.key, self.env.stamp())
            if self.transport is not None:
                self.transport.close()
            raise AuthenticationError(
                f"{self.key[1]} refused the login of {self.key[2]} ({n} of {MAX_LOGIN_FAILURES} consecutive "
                f"failures; credentials from {self.credentials.origin or '?'}); not retrying"
            ) from None
        return value

    def answered(self) -> None:
        """The server answered a request: the login works, so the count of failures starts again."""
        if not self.logged_in:
            self.logged_in = True
            if tx.login_state(self.ledger, *self.key).failures:
                tx.reset_logins(self.ledger, *self.key, self.env.stamp(), "login succeeded")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _send_kind(file: tx.LedgerFile) -> str:
    if file.kind == "ncpdp":
        return "RX"
    ct = file.claim_type or ""
    return ct if ct.startswith("837") else f"837{ct}"


def _isa15(path: Path) -> str | None:
    """Return the usage indicator of the 837's ISA (None: not an X12 interchange)."""
    with path.open("rb") as fh:
        head = fh.read(128).decode("latin-1")
    if not head.startswith("ISA") or len(head) < 106:
        return None
    parts = head.split(head[3])
    return parts[15].strip() if len(parts) > 15 else None


def _refusal(file: tx.LedgerFile, ledger: Ledger, profile: Profile, config: TransportConfig, resubmit: bool) -> str:
    """Return why ``file`` must not be sent now ("" when it may be)."""
    if file.run_status != "complete":
        return f"its run {file.run_id} did not complete ({file.run_status})"
    if _send_kind(file) not in ("837P", "837I", "837D", "RX"):
        return f"not a file MassHealth takes ({file.kind})"
    if not file.path.is_file():
        return "the file is no longer on disk"
    if file_sha256(file.path) != file.sha256:
        return "it changed since the run recorded it (SHA-256 differs): convert again instead of editing files"
    usage = _isa15(file.path) if file.kind == "837" else file.usage
    if usage == "P" or file.usage == "P":
        left = profile.placeholders() + config.placeholders()
        if left:
            return f"a production file, and the profile still holds placeholders ({', '.join(sorted(set(left)))})"
    if not resubmit:
        sent = tx.sent_before(ledger, file)
        if sent:
            return f"already {sent}; pass --resubmit to send it again"
    return ""


def _candidates(ledger: Ledger, run_id: int | None, paths: Sequence[Path]) -> list[tuple[str, tx.LedgerFile | None]]:
    if run_id is not None:
        status = ledger.run_status(run_id)
        if status is None:
            raise LedgerError(f"ledger {ledger.path} has no run {run_id}")
        return [(str(f.path), f) for f in tx.files_of_run(ledger, run_id)]
    return [(str(p), tx.file_at(ledger, p)) for p in paths]


def submit(
    ledger: Ledger,
    profile: Profile,
    config: TransportConfig,
    credentials: Callable[[], Credentials],
    *,
    run_id: int | None = None,
    paths: Sequence[Path] = (),
    resubmit: bool = False,
    logins_checked: bool = False,
    dry_run: bool = False,
    env: SessionEnv | None = None,
) -> SubmitResult:
    """Send the files of run ``run_id`` (or ``paths``) through ``config``'s transport, one after another.

    ``credentials`` is called only once a file is to be sent, so a dry run or a
    night with nothing to send needs no secret.

    Raises:
        LedgerError: another session holds the ledger, or there is no such run.
        LoginLimitReached: three consecutive logins failed before (nothing is contacted).
        AuthenticationError: the server refused the login now (the rest is not tried).
    """
    env = env or SessionEnv()
    result = SubmitResult()
    chosen: list[tx.LedgerFile] = []
    for shown, file in _candidates(ledger, run_id, paths):
        if file is None:
            why = "the ledger does not know it: sendpro sends only files it wrote and recorded"
            result.files.append(FileOutcome(shown, "refused", why))
            continue
        why = _refusal(file, ledger, profile, config, resubmit)
        if why:
            result.files.append(FileOutcome(shown, "refused", why))
        elif dry_run:
            result.files.append(FileOutcome(shown, "would send", f"{_send_kind(file)} via {config.kind}"))
        else:
            chosen.append(file)
    if not chosen:
        return result
    with session_lock(ledger.path):
        session = _Session(ledger, config, credentials(), env)
        session.check_logins(logins_checked)
        session.open()
        try:
            for file in chosen:
                result.files.append(_send_one(session, file))
        finally:
            session.close()
    return result


def _send_one(session: _Session, file: tx.LedgerFile) -> FileOutcome:
    """Send one file with retries under one PayloadID; record each step in the ledger before taking it."""
    ledger, env, transport = session.ledger, session.env, session.transport
    assert transport is not None
    payload_id = tx.unfinished_payload_id(ledger, file) or env.new_id()
    tx.begin_transmission(ledger, file, session.config.kind, endpoint(session.config), payload_id, env.stamp())
    last = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        tx.count_attempt(ledger, payload_id)
        try:
            answer = session.guard(lambda: transport.send(file.path, _send_kind(file), payload_id))
        except AuthenticationError as exc:
            tx.end_transmission(ledger, payload_id, tx.FAILED, "", str(exc), env.stamp())
            raise
        except TransportError as exc:
            last = str(exc)
            if not exc.retryable:
                tx.end_transmission(ledger, payload_id, tx.FAILED, "", last, env.stamp())
                return FileOutcome(str(file.path), "failed", last, payload_id, "", attempt)
            if attempt < MAX_ATTEMPTS:
                env.sleep(BACKOFF_S * 2 ** (attempt - 1))
            continue
        session.answered()
        status = tx.SENT if answer.ok else tx.REFUSED
        tx.end_transmission(ledger, payload_id, status, answer.code, answer.message, env.stamp())
        outcome = "sent" if answer.ok else "refused"
        return FileOutcome(str(file.path), outcome, answer.message, payload_id, answer.code, attempt)
    tx.end_transmission(ledger, payload_id, tx.FAILED, "", last, env.stamp())
    why = f"{last} ({MAX_ATTEMPTS} attempts; the next submit retries under the same PayloadID)"
    return FileOutcome(str(file.path), "failed", why, payload_id, "", MAX_ATTEMPTS)


def retrieve(
    ledger: Ledger,
    config: TransportConfig,
    credentials: Callable[[], Credentials],
    *,
    logins_checked: bool = False,
    env: SessionEnv | None = None,
) -> RetrieveResult:
    """Fetch the response files waiting, ingest each as ``sendpro ack`` does, and keep it under its run.

    A file stays under ``<run out_dir>/responses/`` (the run whose files it names) or
    ``<ledger dir>/responses/unmatched/``. What was fetched before (same PayloadID,
    same name and size, or same SHA-256) changes nothing.

    Raises:
        LedgerError: another session holds the ledger.
        LoginLimitReached: three consecutive logins failed before (nothing is contacted).
        AuthenticationError: the server refused the login now.
    """
    env = env or SessionEnv()
    result = RetrieveResult()
    where = endpoint(config)
    staging = ledger.path.parent / "responses" / ".staging"
    with session_lock(ledger.path):
        session = _Session(ledger, config, credentials(), env)
        session.check_logins(logins_checked)
        transport = session.open()
        try:
            items = session.guard(transport.waiting)
            session.answered()
            for item in items:
                if tx.retrieved_before(ledger, config.kind, where, item.name, item.payload_id, item.size):
                    result.files.append(RetrievedFile(item.name, "skipped", message="fetched before"))
                    continue
                staging.mkdir(parents=True, exist_ok=True)
                try:
                    fetched = session.guard(functools.partial(transport.fetch, item, staging))
                except TransportError as exc:
                    result.files.append(RetrievedFile(item.name, "refused", message=str(exc)))
                    continue
                result.files.append(_keep(ledger, config, where, item.name, item.payload_id, item.size, fetched, env))
        finally:
            session.close()
    return result


def _keep(
    ledger: Ledger,
    config: TransportConfig,
    where: str,
    name: str,
    payload_id: str | None,
    size: int | None,
    fetched: Path,
    env: SessionEnv,
) -> RetrievedFile:
    """Ingest one fetched file, move it where it belongs and record the retrieval."""
    sha = file_sha256(fetched)
    before = tx.retrieval_by_sha(ledger, sha)
    if before is not None:
        fetched.unlink()
        stored, ack_id = before
        return RetrievedFile(name, "already ingested", stored, "the same file was fetched before", ack_id)
    ack = ingest_ack(ledger, fetched)
    dirs = tx.ack_run_dirs(ledger, ack.ack_id) if ack.ack_id is not None else []
    home = dirs[0] / "responses" if dirs else ledger.path.parent / "responses" / "unmatched"
    home.mkdir(parents=True, exist_ok=True)
    target = home / fetched.name
    if target.exists() and file_sha256(target) != sha:
        target = home / f"{fetched.stem}.{sha[:12]}{fetched.suffix}"
    os.replace(fetched, target)
    ack_id = ack.ack_id if ack.status != "refused" else None
    record = tx.RetrievalRecord(
        config.kind, where, name, payload_id, size, sha, str(target), env.stamp(), ack_id, ack.status, ack.message
    )
    tx.record_retrieval(ledger, record)
    status = "refused" if ack.status == "refused" else ack.status
    return RetrievedFile(name, status, str(target), ack.message, ack_id)
