"""sendpro: MCE encounter flat files to MassHealth SENDPro 837 PACDR and NCPDP files.

The documented Python API is re-exported here from :mod:`sendpro.api`::

    import sendpro

    report = sendpro.convert_files([Path("extract.txt")], Path("out"))  # the CLI's defaults
    config = sendpro.run_config(ledger=Path("ledger.sqlite"), layout="mce-v1")

The names are loaded on first use, so ``import sendpro`` (and the command line,
which imports it first) stays cheap and free of import cycles.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sendpro.api import (
        EXIT_ERROR,
        EXIT_OK,
        EXIT_REJECTED,
        acknowledge_file,
        convert_files,
        default_ledger,
        detect_layout,
        ingest_acks,
        ledger_status,
        open_ledger,
        reconcile_ledger,
        rejected_claims,
        resolve_ledger,
        run_config,
        sendpro_version,
        validate_file,
    )
    from sendpro.config import RunConfig
    from sendpro.errors import SendproError
    from sendpro.report.issue import Issue, Severity
    from sendpro.report.report import RunReport

#: Public name -> the module it lives in.
_EXPORTS = {
    "EXIT_ERROR": "sendpro.api",
    "EXIT_OK": "sendpro.api",
    "EXIT_REJECTED": "sendpro.api",
    "acknowledge_file": "sendpro.api",
    "convert_files": "sendpro.api",
    "default_ledger": "sendpro.api",
    "detect_layout": "sendpro.api",
    "ingest_acks": "sendpro.api",
    "ledger_status": "sendpro.api",
    "open_ledger": "sendpro.api",
    "reconcile_ledger": "sendpro.api",
    "rejected_claims": "sendpro.api",
    "resolve_ledger": "sendpro.api",
    "run_config": "sendpro.api",
    "sendpro_version": "sendpro.api",
    "validate_file": "sendpro.api",
    "RunConfig": "sendpro.config",
    "SendproError": "sendpro.errors",
    "Issue": "sendpro.report.issue",
    "Severity": "sendpro.report.issue",
    "RunReport": "sendpro.report.report",
}

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_REJECTED",
    "Issue",
    "RunConfig",
    "RunReport",
    "SendproError",
    "Severity",
    "acknowledge_file",
    "convert_files",
    "default_ledger",
    "detect_layout",
    "ingest_acks",
    "ledger_status",
    "open_ledger",
    "reconcile_ledger",
    "rejected_claims",
    "resolve_ledger",
    "run_config",
    "sendpro_version",
    "validate_file",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sendpro' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
