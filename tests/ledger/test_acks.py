"""Acknowledgments in: 999 and 277 round trips, TA1, refusals, idempotence, reconciliation."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from sendpro import api
from sendpro.errors import LedgerError
from sendpro.ledger.acks import ingest_ack
from sendpro.ledger.db import Ledger
from sendpro.ledger.reports import reconcile, status
from sendpro.validate.pyx12_bridge import validate_x12
from sendpro.x12.ack999 import Ack999Summary
from sendpro.x12.acks import ClaimAck, GroupAck, iter_ack
from sendpro.x12.envelope import SequentialControlNumbers
from tests.helpers import FIXED_NOW
from tests.ledger.acks_builder import ClaimStatus, build_277, build_ta1
from tests.ledger.conftest import SENDER, Convert

SPLIT_PROFILE = str(Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "transaction-split" / "profile.toml")
SPLIT_SENDER = ("ZZ", "TESTMCE")


def _claims(n: int) -> list[dict[str, str]]:
    # Distinct birth dates, so one claim's DMG can be broken on its own.
    return [{"mce_claim_id": f"C{i}", "member_dob": f"1980010{i}"} for i in range(1, n + 1)]


def _x12(out: Path) -> Path:
    (found,) = sorted(out.glob("837P*.x12"))
    return found


def _ack(path: Path, ack_path: Path) -> Ack999Summary:
    issues, summary = api.acknowledge_file(
        path, ack_path, clock=lambda: FIXED_NOW, control=SequentialControlNumbers(9000)
    )
    return summary


def _statuses(ledger_path: Path) -> dict[str, tuple[str, str | None]]:
    db = sqlite3.connect(ledger_path)
    rows = db.execute("SELECT claim_id, status, status_detail FROM encounters ORDER BY id").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_999_for_a_valid_file_acknowledges_its_encounters(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert(*_claims(4), profile=SPLIT_PROFILE)
    ack = tmp_path / "file.999"
    summary = _ack(_x12(tmp_path / "out1"), ack)
    assert (summary.transactions, summary.accepted, summary.rejected) == (2, 2, 0)
    assert validate_x12(ack) == []  # the 999 itself passes pyx12's 999 (X231A1) map
    text = ack.read_text()
    assert "ST*999*0001*005010X231A1~" in text and "AK1*HC*" in text and "AK9*A*2*2*2~" in text
    # Envelope reversed: the acknowledgment goes back to the submitter.
    assert text.startswith("ISA*00*          *00*          *ZZ*TESTMH         *ZZ*TESTMCE")
    with Ledger(ledger_path) as ledger:
        result = ingest_ack(ledger, ack)
        assert result.status == "ingested" and result.files == 1
        assert result.encounters["acknowledged"] == 4
        assert ledger.query("SELECT status FROM files")[0][0] == "accepted"
        again = ingest_ack(ledger, ack)
        assert again.status == "already ingested" and "nothing changed" in again.message


def test_a_999_rejection_names_the_claim_and_the_fix_is_sent_again(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert(*_claims(4), profile=SPLIT_PROFILE)
    sent = _x12(tmp_path / "out1")
    broken = tmp_path / "as-received.x12"
    broken.write_text(sent.read_text().replace("DMG*D8*19800102", "DMG*D8*19801302"))
    ack = tmp_path / "file.999"
    summary = _ack(broken, ack)
    assert (summary.transactions, summary.accepted, summary.rejected) == (2, 1, 1)
    text = ack.read_text()
    assert "IK3*DMG*" in text and "CTX*CLM01:C2~" in text and "IK4*2*1251*8~" in text  # no value copied
    assert "IK5*R*5~" in text and "AK9*P*2*2*1~" in text
    assert validate_x12(ack) == []

    results = api.ingest_acks([ack], ledger_path)
    assert results[0].encounters == {"rejected": 3, "acknowledged": 1}
    found = _statuses(ledger_path)
    assert found["C4"][0] == "acknowledged"
    assert found["C2"][0] == "rejected" and "segment DMG" in (found["C2"][1] or "")
    assert "invalid date" in (found["C2"][1] or "")
    # The other claims of the rejected set are told whose errors sank it, not handed those errors.
    assert found["C1"][0] == "rejected" and "for errors in claim(s) C2; this claim had none" in (found["C1"][1] or "")
    assert "DMG" not in (found["C1"][1] or "")
    report = api.ledger_status(ledger_path)
    assert report.files == {"partially accepted": 1}
    assert sorted(t.claim_id for t in report.to_fix) == ["C1", "C2", "C3"] and report.to_fix_total == 3

    # Re-running the same extract: the rejected versions go out again, the acknowledged one does not.
    again = convert(*_claims(4), profile=SPLIT_PROFILE)
    assert again.overall.accepted.claims == 3 and again.overall.skipped.claims == 1
    assert api.ledger_status(ledger_path).to_fix_total == 0  # sent again: nothing left to fix


def test_a_277_round_trip_updates_each_encounter(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(3))
    charge = Decimal("250.00")
    ack = tmp_path / "claims.277"
    ack.write_text(
        build_277(
            [
                ClaimStatus("C1", "A2", "20", charge, payer_claim_id="MH0001"),
                ClaimStatus("C2", "A7", "21", charge, entity="85"),
                ClaimStatus("C3", "A1", "19", charge),
            ],
            SENDER,
            "PLACEHOLDER",
        )
    )
    assert validate_x12(ack) == []  # the test's 277 passes pyx12's 277CA (X214) map
    (result,) = api.ingest_acks([ack], ledger_path)
    assert result.kinds == ["277 (005010X214)"] and not result.unmatched
    assert dict(result.encounters) == {"accepted": 1, "rejected": 1, "acknowledged": 1}
    found = _statuses(ledger_path)
    assert found["C1"][0] == "accepted"
    assert found["C2"] == ("rejected", "277: A7:21:85 rejected for invalid information")
    assert found["C3"][0] == "acknowledged"
    with Ledger(ledger_path) as ledger:
        assert ledger.query("SELECT payer_claim_id FROM encounters WHERE claim_id = 'C1'") == [("MH0001",)]
        rec = reconcile(ledger)
        assert rec.problems == []
        (file_rec,) = rec.files
        assert file_rec.side("accepted") == (1, 25000) and file_rec.side("rejected") == (1, 25000)
        assert rec.acks[0]["stated"] == rec.acks[0]["matched"]
        report = status(ledger)
        assert [t.claim_id for t in report.to_fix] == ["C2"]


def test_a_late_999_never_moves_an_encounter_back(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(1))
    ack277 = tmp_path / "claims.277"
    ack277.write_text(build_277([ClaimStatus("C1", "A2", "20", Decimal("250.00"))], SENDER, "PLACEHOLDER"))
    api.ingest_acks([ack277], ledger_path)
    ack999 = tmp_path / "late.999"
    _ack(_x12(tmp_path / "out1"), ack999)
    api.ingest_acks([ack999], ledger_path)
    assert _statuses(ledger_path)["C1"][0] == "accepted"


def test_the_data_reporting_277_x364_is_read_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "x364.277"
    path.write_text(
        build_277([ClaimStatus("C9", "A3", "21", Decimal("10"))], SENDER, "PLACEHOLDER", version="005010X364")
    )
    claims = [i for i in iter_ack(path) if isinstance(i, ClaimAck)]
    assert [(c.claim_id, c.version, c.outcome, c.amount) for c in claims] == [("C9", "005010X364", "rejected", 1000)]


def test_a_ta1_rejection_rejects_the_whole_interchange(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(2))
    isa13 = int(_x12(tmp_path / "out1").read_text()[90:99])
    ta1 = tmp_path / "interchange.ta1"
    ta1.write_text(build_ta1(isa13, "R", "006", SENDER))
    (result,) = api.ingest_acks([ta1], ledger_path)
    assert result.kinds == ["TA1"] and result.encounters["rejected"] == 2
    found = _statuses(ledger_path)
    assert found["C1"] == ("rejected", "interchange rejected: TA1 R: invalid interchange sender ID")


def test_an_acknowledgment_that_matches_nothing_is_refused(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(1))
    stranger = tmp_path / "stranger.277"
    stranger.write_text(build_277([ClaimStatus("ZZ9", "A2", "20", Decimal("1"))], SENDER, "PLACEHOLDER"))
    other_submitter = tmp_path / "other.277"
    other_submitter.write_text(build_277([ClaimStatus("C1", "A2", "20", Decimal("1"))], ("ZZ", "OTHERMCE"), "X"))
    wrong_group = tmp_path / "wrong.ta1"
    wrong_group.write_text(build_ta1(424242, "A", "000", SENDER))
    results = api.ingest_acks([stranger, other_submitter, wrong_group], ledger_path)
    assert [r.status for r in results] == ["refused"] * 3
    assert "matches nothing submitted" in results[0].message and "ZZ9" in results[0].message
    assert "X12:ZZ:OTHERMCE" in results[1].message
    with Ledger(ledger_path) as ledger:
        assert ledger.query("SELECT COUNT(*) FROM acks") == [(0,)]  # rolled back: nothing changed
        assert ledger.query("SELECT DISTINCT status FROM encounters") == [("submitted",)]


def test_partly_unknown_acknowledgments_apply_what_they_can(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    convert(*_claims(1))
    path = tmp_path / "mixed.277"
    path.write_text(
        build_277(
            [ClaimStatus("C1", "A2", "20", Decimal("250.00")), ClaimStatus("GHOST", "A2", "20", Decimal("5"))],
            SENDER,
            "PLACEHOLDER",
        )
    )
    (result,) = api.ingest_acks([path], ledger_path)
    assert result.status == "ingested" and result.unmatched == ["277 status for claim GHOST"]


def test_reconcile_finds_a_277_whose_totals_disagree(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(2))
    path = tmp_path / "off.277"
    statuses = [ClaimStatus("C1", "A2", "20", Decimal("250.00")), ClaimStatus("C2", "A2", "20", Decimal("250.00"))]
    path.write_text(build_277(statuses, SENDER, "PLACEHOLDER", totals=(3, 0, Decimal("750.00"), Decimal("0"))))
    api.ingest_acks([path], ledger_path)
    problems = api.reconcile_ledger(ledger_path).problems
    assert problems == [
        "off.277: the 277 states accepted 3, its claim statuses add up to 2",
        "off.277: the 277 states accepted_amount 750.00, its claim statuses add up to 500.00",
    ]


def test_not_x12_is_an_error(tmp_path: Path, ledger_path: Path, convert: Convert) -> None:
    convert(*_claims(1))
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n" * 30)
    [result] = api.ingest_acks([junk], ledger_path)
    assert result.status == "refused" and result.message == "not an X12 file (it does not start with ISA)"


def test_reading_commands_never_create_a_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        api.ledger_status(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


def test_999_groups_are_parsed_with_claim_context(tmp_path: Path) -> None:
    path = tmp_path / "r.999"
    path.write_text(
        "ISA*00*          *00*          *ZZ*SYNRECEIVER    *ZZ*PLACEHOLDER    *261124*1200*^*00501*000000001*0*T*:~\n"
        "GS*FA*SYNRECEIVER*PLACEHOLDER*20261124*1200*1*X*005010X231A1~\nST*999*0001*005010X231A1~\n"
        "AK1*HC*7*005010X298A1~\nAK2*837*0042*005010X298A1~\nIK3*NM1*12*2010BA*8~\nCTX*CLM01:K1~\n"
        "IK4*9*67*6~\nIK3*SV1*30**8~\nIK4*1:2*234*7~\nIK5*R*5~\nAK9*R*1*1*0~\nSE*11*0001~\nGE*1*1~\n"
        "IEA*1*000000001~\n"
    )
    (group,) = [i for i in iter_ack(path) if isinstance(i, GroupAck)]
    (st,) = group.transactions
    assert (group.gs06, group.code, st.st02, st.code, st.codes) == (7, "R", "0042", "R", ["5"])
    assert st.claim_errors == {
        "K1": [
            "segment NM1 #12 (loop 2010BA): segment has data element errors; element 9 (67): invalid character "
            "in data element"
        ]
    }
    assert st.errors[1] == "segment SV1 #30: segment has data element errors; element 1.2 (234): invalid code value"


def test_one_missing_or_bad_file_does_not_hold_back_the_others(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    """A glob that matched nothing, or a stray file, is refused; the good acknowledgments still go in."""
    convert(*_claims(2))
    ack = tmp_path / "file.999"
    _ack(_x12(tmp_path / "out1"), ack)
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n" * 30)
    results = api.ingest_acks([tmp_path / "*.277", junk, ack], ledger_path)
    assert [r.status for r in results] == ["refused", "refused", "ingested"]
    assert results[0].message == "no such file" and "not an X12 file" in results[1].message
    assert results[2].encounters["acknowledged"] == 2
