"""The SFTP transport (paramiko): host key checked, password or key login, uploads that are whole or absent.

An upload goes to ``outbox/.<name>.part`` and is renamed (``posix-rename``) only
when every byte arrived, so a connection dropped mid-upload leaves no complete
file for the receiving side to pick up; the retry sends the whole file again.
"""

from __future__ import annotations

import contextlib
import posixpath
import stat
from pathlib import Path

import paramiko

from sendpro.tempfiles import atomic_binary_writer
from sendpro.transport.base import (
    AuthenticationError,
    Credentials,
    SendResult,
    TransportConfig,
    TransportError,
    Waiting,
    safe_file_name,
)


def _host_keys(config: TransportConfig) -> paramiko.HostKeys:
    """Return the host keys ``config.known_hosts`` allows: a known_hosts file, or one known_hosts line."""
    keys = paramiko.HostKeys()
    text = config.known_hosts.strip()
    path = Path(text).expanduser()
    lines = path.read_text(encoding="utf-8").splitlines() if "\n" not in text and path.is_file() else text.splitlines()
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        if entry is None:
            raise TransportError("[transport].known_hosts holds a line that is not in known_hosts format", False)
        for host in entry.hostnames:
            keys.add(host, entry.key.get_name(), entry.key)
    return keys


def _private_key(path: str, passphrase: str | None) -> paramiko.PKey:
    """Load the private key at ``path`` whatever its type."""
    try:
        return paramiko.PKey.from_path(
            Path(path).expanduser(),
            passphrase.encode() if passphrase else None,  # type: ignore[arg-type]  # the stubs say str; it needs bytes
        )
    except paramiko.PasswordRequiredException:
        raise AuthenticationError(f"the key {path} needs a passphrase and none was given") from None
    except (paramiko.SSHException, ValueError):
        # A wrong passphrase shows as a ValueError (the decrypted key's checksum fails) or an SSHException:
        # say so without repeating anything secret.
        raise AuthenticationError(f"the key {path} cannot be opened (wrong passphrase, or not a private key)") from None
    except OSError as exc:
        raise TransportError(f"the key {path} cannot be read: {exc.strerror}", retryable=False) from None


class SftpTransport:
    """One SFTP session to ``config.host``: files go to ``config.outbox``, responses come from ``config.inbox``."""

    kind = "sftp"

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def open(self, credentials: Credentials) -> None:
        """Connect, check the host key against ``known_hosts`` and log in.

        Raises:
            AuthenticationError: the server refused the password or key.
            TransportError: unknown host key (not retryable), or the server could not be reached.
        """
        config = self.config
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        host_keys = client.get_host_keys()
        for host, entries in _host_keys(config).items():
            for key_type, host_key in entries.items():
                host_keys.add(host, key_type, host_key)
        key: paramiko.PKey | None = _private_key(config.key_file, credentials.secret) if config.key_file else None
        try:
            client.connect(
                config.host,
                port=config.port,
                username=credentials.username,
                password=None if key is not None else credentials.secret,
                pkey=key,
                timeout=config.timeout,
                banner_timeout=config.timeout,
                auth_timeout=config.timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            self._sftp = client.open_sftp()
            self._sftp.get_channel().settimeout(config.timeout)  # type: ignore[union-attr]
        except paramiko.AuthenticationException:
            client.close()
            raise AuthenticationError(
                f"{config.host}:{config.port} refused the login of {credentials.username}"
            ) from None
        except paramiko.BadHostKeyException:
            client.close()
            raise TransportError(
                f"{config.host}:{config.port} presented a host key that differs from [transport].known_hosts: "
                "not connecting (ask the server's operator whether the key changed)",
                retryable=False,
            ) from None
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise TransportError(
                    f"{config.host}:{config.port}'s host key is not in [transport].known_hosts: not connecting",
                    retryable=False,
                ) from None
            raise TransportError(f"SSH to {config.host}:{config.port} failed: {type(exc).__name__}") from None
        except (OSError, EOFError) as exc:
            client.close()
            raise TransportError(f"cannot reach {config.host}:{config.port}: {type(exc).__name__}") from None
        self._client = client

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise TransportError("the SFTP session is not open", retryable=False)
        return self._sftp

    def send(self, path: Path, kind: str, payload_id: str) -> SendResult:
        """Upload ``path`` to the outbox under its own name, through a hidden ``.part`` name and a rename."""
        sftp = self._session()
        final = posixpath.join(self.config.outbox, path.name)
        part = posixpath.join(self.config.outbox, f".{path.name}.part")
        try:
            sftp.put(str(path), part, confirm=True)
            try:
                sftp.posix_rename(part, final)
            except OSError:
                # A server without the posix-rename extension: rename refuses to overwrite, so clear the way first.
                try:
                    sftp.remove(final)
                except OSError:
                    pass
                sftp.rename(part, final)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise TransportError(f"upload of {path.name} failed: {type(exc).__name__}") from None
        return SendResult(payload_id, "Success", f"uploaded to {final}")

    def waiting(self) -> list[Waiting]:
        """Return the inbox's regular, non-hidden files in name order."""
        sftp = self._session()
        try:
            entries = sftp.listdir_attr(self.config.inbox)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise TransportError(f"cannot list {self.config.inbox}: {type(exc).__name__}") from None
        return sorted(
            (
                Waiting(e.filename, None, e.st_size)
                for e in entries
                if not e.filename.startswith(".") and e.st_mode is not None and stat.S_ISREG(e.st_mode)
            ),
            key=lambda w: w.name,
        )

    def fetch(self, item: Waiting, dest: Path) -> Path:
        """Download ``item`` into ``dest`` through a hidden temporary file and a rename."""
        sftp = self._session()
        name = safe_file_name(item.name)
        target = dest / name
        try:
            with atomic_binary_writer(target) as handle:
                sftp.getfo(posixpath.join(self.config.inbox, posixpath.basename(item.name)), handle)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise TransportError(f"cannot fetch {item.name}: {type(exc).__name__}") from None
        return target

    def close(self) -> None:
        """Close the SFTP channel and the SSH connection (idempotent)."""
        # After a dropped connection closing fails too: there is nothing left to close then.
        if self._sftp is not None:
            sftp, self._sftp = self._sftp, None
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                sftp.close()
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                client.close()
