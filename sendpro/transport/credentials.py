"""Find the secret a transport logs in with: the environment, the system keyring, or an owner-only file.

Never from the command line (it would show in ``ps`` and shell history), and never
written anywhere by sendpro: :class:`~sendpro.transport.base.Credentials` keeps the
secret out of its ``repr``, and messages here name where a secret was looked for,
never what it is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import keyring
import keyring.errors

from sendpro.errors import UsageError
from sendpro.transport.base import Credentials, TransportConfig


def load_credentials(config: TransportConfig, env: Mapping[str, str] = os.environ) -> Credentials:
    """Return the user name of ``config`` with its secret, from the first source configured that has one.

    The sources are tried in this order: the environment variable ``secret_env``,
    the system keyring (service ``keyring_service``, the user name as account), then
    the file ``secret_file`` (its first line), which must belong to the current user
    and be unreadable by group and others. An sftp transport with a ``key_file`` and
    no secret source logs in with a key that has no passphrase.

    Raises:
        UsageError: no source holds a secret, or the secret file is not kept private.
    """
    if config.secret_env:
        value = env.get(config.secret_env, "")
        if value:
            return Credentials(config.username, value, f"environment {config.secret_env}")
    if config.keyring_service:
        try:
            value = keyring.get_password(config.keyring_service, config.username) or ""
        except keyring.errors.KeyringError as exc:
            # A locked or missing keyring is "not found here": the next source may still have it.
            value = ""
            keyring_note = f" (the keyring could not be read: {type(exc).__name__})"
        else:
            keyring_note = ""
        if value:
            return Credentials(config.username, value, f"keyring {config.keyring_service}")
    else:
        keyring_note = ""
    if config.secret_file:
        path = Path(config.secret_file).expanduser()
        if path.is_file():
            return Credentials(config.username, _read_private(path), f"file {path}")
    if config.kind == "directory" and not (config.secret_env or config.keyring_service or config.secret_file):
        return Credentials(config.username, "", "none needed (directory drop)")
    if config.key_file and not (config.secret_env or config.keyring_service or config.secret_file):
        return Credentials(config.username, "", f"key file {config.key_file}")
    tried = []
    if config.secret_env:
        tried.append(f"the environment variable {config.secret_env} is unset or empty")
    if config.keyring_service:
        tried.append(f"the keyring has no password for service {config.keyring_service}{keyring_note}")
    if config.secret_file:
        tried.append(f"no file {config.secret_file}")
    raise UsageError(
        f"no secret for {config.username or 'the transport'}: {'; '.join(tried) or 'no source configured'}. "
        "Give it one of three ways: an environment variable named by [transport].secret_env, the system keyring "
        "(`keyring set SERVICE USERNAME`, service in [transport].keyring_service), or a file readable by its "
        "owner only named by [transport].secret_file (never on the command line)"
    )


def _read_private(path: Path) -> str:
    """Return the first line of ``path`` if only its owner, the current user, can read it."""
    try:
        info = path.stat()
    except OSError as exc:
        raise UsageError(f"secret file {path} cannot be read: {exc.strerror}") from None
    if info.st_uid != os.getuid():
        raise UsageError(f"secret file {path} does not belong to the current user: sendpro refuses to use it")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(f"secret file {path} can be read by others: run `chmod 600 {path}` first")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"secret file {path} cannot be read: {type(exc).__name__}") from None
    if not lines or not lines[0]:
        raise UsageError(f"secret file {path} is empty")
    return lines[0]
