"""Shared pieces of the transport tests: profiles with a [transport] table, runs through a ledger, 999s."""

from __future__ import annotations

from pathlib import Path

from sendpro import api
from sendpro.ledger.db import Ledger
from sendpro.profiles import bundled_profiles
from sendpro.report.report import RunReport
from tests.helpers import claim_rows, mce_text, test_config
from tests.ledger.acks_builder import build_999

#: The test password: every output of a session is searched for it.
PASSWORD = "Tr4nsport-Secret-Zq9"


def write_profile(tmp_path: Path, transport: str, *, fill_placeholders: bool = False, name: str = "p") -> Path:
    """Write the bundled MassHealth profile plus ``transport`` (TOML lines of the [transport] table)."""
    text = bundled_profiles()["masshealth-sendpro"].read_text(encoding="utf-8")
    if fill_placeholders:
        text = text.replace("PLACEHOLDER", "SYNTH").replace("PLHLDR", "SYNTH1")
    path = tmp_path / f"{name}.toml"
    path.write_text(text + "\n[transport]\n" + transport + "\n", encoding="utf-8")
    return path


def directory_transport(tmp_path: Path) -> str:
    """Return a [transport] table for a directory drop under ``tmp_path`` (the directories are made)."""
    for d in ("mft-out", "mft-in"):
        (tmp_path / d).mkdir(exist_ok=True)
    return f'kind = "directory"\noutbox = "{tmp_path / "mft-out"}"\ninbox = "{tmp_path / "mft-in"}"'


def convert_run(tmp_path: Path, ledger: Path, n: int = 1, **config: object) -> RunReport:
    """Convert one synthetic professional claim into ``tmp_path/out<n>`` through ``ledger``."""
    src = tmp_path / f"in{n}.txt"
    src.write_text(mce_text(claim_rows({"mce_claim_id": f"CLM{n:04d}"})), encoding="utf-8")
    return api.convert_files([src], tmp_path / f"out{n}", test_config(ledger=ledger, **config))


def ack_999_for(ledger: Path, run_id: int) -> str:
    """Return a 999 accepting every transaction set of run ``run_id``'s 837."""
    with Ledger(ledger) as db:
        rows = db.query(
            "SELECT f.gs06, e.st02 FROM files f JOIN encounters e ON e.file_id = f.id WHERE f.run_id = ? "
            "AND f.kind = '837'",
            (run_id,),
        )
    group = int(str(rows[0][0]))
    sets = sorted({str(r[1]) for r in rows})
    return build_999(group, [(s, "A") for s in sets], ("ZZ", "PLACEHOLDER"))
