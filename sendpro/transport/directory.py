"""The directory transport: drop files into an outbox another system sends on, read responses from an inbox.

For an MCE whose own managed file transfer moves the files: sendpro's part ends
at a complete file in the outbox. A file appears there whole or not at all (it is
written under a hidden temporary name, then renamed), so the transfer agent never
picks up half a file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sendpro.tempfiles import atomic_binary_writer
from sendpro.transport.base import (
    Credentials,
    SendResult,
    TransportConfig,
    TransportError,
    Waiting,
    safe_file_name,
)

#: Characters kept in a fetched file's name; anything else becomes ``_``.


def copy_atomically(source: Path, dest_dir: Path, name: str) -> Path:
    """Copy ``source`` to ``dest_dir/name`` through a hidden temporary file and a rename; return the new path."""
    target = dest_dir / name
    with source.open("rb") as src, atomic_binary_writer(target) as out:
        shutil.copyfileobj(src, out)
    return target


class DirectoryTransport:
    """Send into ``config.outbox``; list and fetch the regular files of ``config.inbox``."""

    kind = "directory"

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self.outbox = Path(config.outbox).expanduser()
        self.inbox = Path(config.inbox).expanduser()

    def open(self, credentials: Credentials) -> None:
        """Check that both directories exist and can be written (no credentials are needed).

        Raises:
            TransportError: a directory is missing or not writable (not retryable).
        """
        for label, path in (("outbox", self.outbox), ("inbox", self.inbox)):
            if not path.is_dir():
                raise TransportError(f"the {label} {path} is not a directory", retryable=False)
            if not os.access(path, os.W_OK | os.X_OK):
                raise TransportError(f"the {label} {path} is not writable by this user", retryable=False)

    def send(self, path: Path, kind: str, payload_id: str) -> SendResult:
        """Copy ``path`` into the outbox under its own name (the PayloadID is kept by the ledger only)."""
        try:
            copy_atomically(path, self.outbox, path.name)
        except OSError as exc:
            raise TransportError(f"cannot write {path.name} into {self.outbox}: {exc.strerror}") from None
        return SendResult(payload_id, "Success", f"placed in {self.outbox}")

    def waiting(self) -> list[Waiting]:
        """Return the inbox's regular, non-hidden files in name order."""
        try:
            entries = sorted(self.inbox.iterdir())
        except OSError as exc:
            raise TransportError(f"cannot list {self.inbox}: {exc.strerror}") from None
        return [
            Waiting(p.name, None, p.stat().st_size)
            for p in entries
            if not p.name.startswith(".") and p.is_file() and not p.is_symlink()
        ]

    def fetch(self, item: Waiting, dest: Path) -> Path:
        """Copy inbox file ``item`` into ``dest`` (atomically) and return the copy."""
        source = self.inbox / Path(item.name).name  # names come from waiting(); never a path elsewhere
        try:
            return copy_atomically(source, dest, safe_file_name(item.name))
        except OSError as exc:
            raise TransportError(f"cannot fetch {item.name} from {self.inbox}: {exc.strerror}") from None

    def close(self) -> None:
        """Nothing to close."""
