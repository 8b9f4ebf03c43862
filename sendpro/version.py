"""The installed sendpro version (one home: the CLI, reports and the ledger ask here)."""

from __future__ import annotations

import importlib.metadata


def sendpro_version() -> str:
    """Return the installed sendpro version."""
    try:
        return importlib.metadata.version("sendpro")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"
