"""Helpers for ledger tests: synthetic extracts and runs through one ledger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from sendpro import api
from sendpro.report.report import RunReport
from tests.helpers import claim_rows, mce_text, test_config

#: The submitter key of the bundled profile (ISA05:ISA06), as acknowledgments name it.
SENDER = ("ZZ", "PLACEHOLDER")


def extract(*claims: Mapping[str, str]) -> str:
    """Return an mce-v1 extract with one valid professional claim per override mapping."""
    rows = []
    for claim in claims:
        rows += claim_rows(claim)
    return mce_text(rows)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    """A fresh ledger for the test."""
    return tmp_path / "ledger.sqlite"


Convert = Callable[..., RunReport]


@pytest.fixture
def convert(tmp_path: Path, ledger_path: Path) -> Convert:
    """Convert claims through the test's ledger; each call gets its own input and output directory."""
    counter = {"n": 0}

    def run(*claims: Mapping[str, str], text: str | None = None, **config: Any) -> RunReport:
        counter["n"] += 1
        n = counter["n"]
        src = tmp_path / f"in{n}.txt"
        src.write_text(text if text is not None else extract(*claims), encoding="utf-8")
        config.setdefault("ledger", ledger_path)
        out = config.pop("out", tmp_path / f"out{n}")
        return api.convert_files([src], out, test_config(**config))

    return run
