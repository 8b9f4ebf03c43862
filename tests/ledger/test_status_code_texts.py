"""`sendpro status` shows each acknowledgment code with its text; the ledger keeps what was recorded."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from sendpro import api, cli
from sendpro.ledger.db import Ledger
from tests.ledger.acks_builder import ClaimStatus, build_277
from tests.ledger.conftest import SENDER, Convert


def test_status_shows_category_and_status_texts(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert({"mce_claim_id": "C1"}, {"mce_claim_id": "C2"})
    ack = tmp_path / "claims.277"
    charge = Decimal("250.00")
    ack.write_text(
        build_277([ClaimStatus("C1", "A2", "20", charge), ClaimStatus("C2", "A3", "21", charge)], SENDER, "P")
    )
    api.ingest_acks([ack], ledger_path)
    runner = CliRunner()
    shown = runner.invoke(cli.cli, ["status", "--ledger", str(ledger_path)])
    assert shown.exit_code == 0, shown.output
    assert "277: A3 (returned as unprocessable claim): 21 (missing or invalid information)" in shown.output

    doc = json.loads(runner.invoke(cli.cli, ["status", "--ledger", str(ledger_path), "--json"]).output)
    (to_fix,) = doc["to_fix"]
    assert to_fix["reason"].startswith("277: A3:21")  # as recorded
    assert to_fix["reason_text"] == "277: A3 (returned as unprocessable claim): 21 (missing or invalid information)"
    with Ledger(ledger_path) as ledger:
        (stored,) = ledger.query("SELECT status_detail FROM encounters WHERE claim_id = 'C2'")
    assert "missing or invalid information" not in str(stored[0])  # the ledger keeps the codes, not the texts
