"""Read a profile's ``[transport]`` table into a :class:`~sendpro.transport.base.TransportConfig`.

Every key is checked here, once, so a typo (``usrname``) or a bad number stops
``submit`` before anything is contacted, with the profile and the key named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sendpro.errors import ProfileError
from sendpro.profiles import Profile
from sendpro.transport.base import TRANSPORT_KINDS, TransportConfig

#: An example of the table, for the message when a profile has none.
EXAMPLE = '[transport]\nkind = "directory"\noutbox = "/srv/mft/outbox"\ninbox = "/srv/mft/inbox"'

_TEXT_KEYS = tuple(
    f.name for f in dataclasses.fields(TransportConfig) if f.name not in ("kind", "port", "timeout", "payload_types")
)


def transport_config(profile: Profile) -> TransportConfig:
    """Return the transport profile ``profile`` names in its ``[transport]`` table.

    Raises:
        ProfileError: there is no ``[transport]`` table, or a key is unknown or has a bad value.
    """
    table = profile.data.get("transport")
    where = f"profile {profile.name} ({profile.source})"
    if table is None:
        raise ProfileError(
            f"{where} has no [transport] table: add one naming how files are sent, e.g.\n{EXAMPLE}\n"
            f"(kind is one of {', '.join(TRANSPORT_KINDS)})"
        )
    if not isinstance(table, Mapping):
        raise ProfileError(f"{where}: transport must be a table ([transport])")
    known = {f.name for f in dataclasses.fields(TransportConfig)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ProfileError(
            f"{where}: [transport].{unknown[0]} is not a transport key (known: {', '.join(sorted(known))})"
        )
    kind = table.get("kind")
    if kind not in TRANSPORT_KINDS:
        raise ProfileError(f"{where}: [transport].kind must be one of {', '.join(TRANSPORT_KINDS)}, not {kind!r}")
    values: dict[str, Any] = {"kind": kind}
    for key in _TEXT_KEYS:
        if key in table:
            if not isinstance(table[key], str):
                raise ProfileError(f"{where}: [transport].{key} must be text")
            values[key] = table[key]
    if "port" in table:
        port = table["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ProfileError(f"{where}: [transport].port must be a whole number 1-65535")
        values["port"] = port
    if "timeout" in table:
        timeout = table["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600:
            raise ProfileError(f"{where}: [transport].timeout must be a number of seconds, above 0 and at most 3600")
        values["timeout"] = float(timeout)
    if "payload_types" in table:
        types = table["payload_types"]
        if not isinstance(types, Mapping) or not all(isinstance(v, str) for v in types.values()):
            raise ProfileError(f'{where}: [transport].payload_types must be a table of text (e.g. 837P = "...")')
        values["payload_types"] = dict(types)
    config = TransportConfig(**values)
    _require(config, where)
    return config


def _require(config: TransportConfig, where: str) -> None:
    """Refuse a table that lacks what its kind needs, naming the first key missing."""
    needed: dict[str, tuple[str, ...]] = {
        "core-soap": ("url", "sender_id", "receiver_id", "username"),
        "core-mime": ("url", "sender_id", "receiver_id", "username"),
        "sftp": ("host", "username", "known_hosts", "outbox", "inbox"),
        "directory": ("outbox", "inbox"),
    }
    for key in needed[config.kind]:
        if not getattr(config, key):
            raise ProfileError(f"{where}: [transport].{key} is required for kind {config.kind!r}")
    if config.kind.startswith("core-") and not config.url.startswith("https://"):
        raise ProfileError(f"{where}: [transport].url must be an https:// URL (TLS is always on)")
    if (
        config.kind != "directory"
        and not config.key_file
        and not (config.secret_env or config.keyring_service or config.secret_file)
    ):
        raise ProfileError(
            f"{where}: [transport] names no source for the secret: set secret_env, keyring_service or secret_file"
        )


def endpoint(config: TransportConfig) -> str:
    """Return the place a transport talks to, for the ledger and messages (never holding a secret)."""
    if config.kind.startswith("core-"):
        return config.url
    if config.kind == "sftp":
        return f"sftp://{config.host}:{config.port}"
    return config.outbox
