"""What every transport offers the submit and retrieve commands, and the profile's ``[transport]`` table.

A transport moves files between this machine and MassHealth (or an MCE's own
managed file transfer): it authenticates once per session, sends one file at a
time, lists what is waiting and fetches one file at a time. The conduct rules
(one session per ledger, three authentication attempts, no duplicate
transmissions) live above it, in :mod:`sendpro.transport.session`, so every
transport obeys them alike.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sendpro.errors import SendproError

#: Characters a file name taken from a server may keep (anything else becomes ``_``).
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

#: The transports a profile may name in ``[transport] kind``.
TRANSPORT_KINDS = ("core-soap", "core-mime", "sftp", "directory")


class TransportError(SendproError):
    """A transmission failed (server error, timeout, dropped connection): nothing is recorded as sent."""

    code = "SP008"

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        #: A retry of the same payload (same PayloadID) may succeed: the failure was the network's or the server's.
        self.retryable = retryable


class AuthenticationError(TransportError):
    """The server refused the credentials (never retried beyond the conduct rules' three attempts)."""

    code = "SP009"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret; the secret never appears in ``repr``, logs or messages."""

    username: str
    secret: str = field(repr=False)
    #: Where the credentials came from (``environment``, ``keyring``, ``file <path>``), for messages.
    origin: str = ""


@dataclass(frozen=True)
class SendResult:
    """The server's answer to one file sent."""

    payload_id: str
    code: str  # e.g. CORE ErrorCode "Success"; "Success" for a transport without codes
    message: str = ""

    @property
    def ok(self) -> bool:
        """Return True when the server accepted the file."""
        return self.code == "Success"


@dataclass(frozen=True)
class Waiting:
    """A file the server holds for us (a 999, 277CA, TA1 or NCPDP response), as its list names it."""

    name: str
    payload_id: str | None = None
    size: int | None = None
    created: dt.datetime | None = None


@dataclass(frozen=True)
class TransportConfig:
    """The profile's ``[transport]`` table: which transport, where, and as whom.

    Endpoints, ids and payload types are configuration because MassHealth's are
    not public for SENDPro; placeholders (values starting with ``PLACEHOLDER``)
    are refused for production use like the envelope's.
    """

    kind: str
    #: core-*: the endpoint URL (https); sftp: ``host``/``port``; directory: the outbox path.
    url: str = ""
    host: str = ""
    port: int = 22
    #: sftp/directory: where files are put and where responses are read.
    outbox: str = ""
    inbox: str = ""
    #: CORE envelope fields.
    sender_id: str = ""
    receiver_id: str = ""
    payload_types: Mapping[str, str] = field(default_factory=dict)  # file kind ("837P", ..., "RX") -> PayloadType
    retrieval_payload_type: str = ""  # the PayloadType of GenericBatchRetrievalTransaction for a response file
    #: Credentials: the user name and where the secret comes from (see :mod:`sendpro.transport.credentials`).
    username: str = ""
    secret_env: str = ""  # the environment variable holding the secret
    secret_file: str = ""  # a file readable by its owner only
    keyring_service: str = ""  # the system keyring's service name
    timeout: float = 60.0
    #: TLS: a CA bundle for a private CA (verification is never turned off).
    ca_file: str = ""
    #: sftp: the server's host key line (known_hosts format), or a known_hosts file; unknown host keys are refused.
    known_hosts: str = ""
    #: sftp: a private key file to log in with; the secret is then the key's passphrase ("" when it has none).
    key_file: str = ""

    def placeholders(self) -> list[str]:
        """Return the keys of this table still holding a placeholder."""
        values: Sequence[tuple[str, str]] = [
            ("url", self.url),
            ("host", self.host),
            ("sender_id", self.sender_id),
            ("receiver_id", self.receiver_id),
            ("username", self.username),
            *((f"payload_types.{k}", v) for k, v in self.payload_types.items()),
            ("retrieval_payload_type", self.retrieval_payload_type),
        ]
        return [f"transport.{k}" for k, v in values if v.upper().startswith("PLACEHOLDER")]


class Transport(Protocol):
    """One session with a server: open, send or list/fetch files one after another, close."""

    kind: str

    def open(self, credentials: Credentials) -> None:
        """Connect and authenticate.

        Raises:
            AuthenticationError: the server refused the credentials.
            TransportError: the server could not be reached or failed.
        """

    def send(self, path: Path, kind: str, payload_id: str) -> SendResult:
        """Send one file (``kind``: 837P, 837I, 837D or RX) under ``payload_id`` (a retry reuses it)."""

    def waiting(self) -> list[Waiting]:
        """Return the files the server holds for us."""

    def fetch(self, item: Waiting, dest: Path) -> Path:
        """Download ``item`` into directory ``dest`` (atomically: complete or absent) and return its path."""

    def close(self) -> None:
        """End the session (idempotent)."""


def safe_file_name(name: str, fallback: str = "response") -> str:
    """Return ``name`` reduced to a plain file name: no directories, no leading dots, only ``[A-Za-z0-9._-]``.

    A server names the files it holds; the name must never choose where the
    file lands, so ``../../etc/passwd`` becomes ``passwd`` and ``.bashrc``
    becomes ``bashrc``. ``fallback`` (sanitised too) is used when nothing is left.
    """
    for candidate in (name, fallback, "response"):
        base = re.split(r"[/\\]", candidate)[-1]
        cleaned = _UNSAFE_NAME.sub("_", base).lstrip(".")
        if cleaned.strip("_"):
            return cleaned
    return "response"  # pragma: no cover - the literal fallback above always survives
