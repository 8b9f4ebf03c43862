"""Acknowledgment codes shown with their text: 277 STC composites, 999 IK3/IK4/IK5/AK9, TA1 notes."""

from __future__ import annotations

from pathlib import Path

from sendpro.x12.ackcodes import (
    CLAIM_CATEGORIES,
    CLAIM_REJECTED,
    CLAIM_STATUS_CODES,
    claim_status_text,
    explain_reason,
)
from sendpro.x12.acks import ClaimAck, GroupAck, InterchangeAck, iter_ack
from tests.ledger.acks_builder import build_999

RECEIVER = ("ZZ", "SYNMCE")

#: Every code of X12 external code list 507 (claim status category codes) in use.
CODE_LIST_507 = (
    "A0 A1 A2 A3 A4 A5 A6 A7 A8 P0 P1 P2 P3 P4 P5 F0 F1 F2 F3 F3F F3N F4 "
    "R0 R1 R3 R4 R5 R6 R7 R8 R9 R10 R11 R12 R13 R14 R15 R16 R17 E0 E1 E2 E3 E4 D0 RQ"
).split()


def test_every_category_code_has_a_text() -> None:
    assert set(CODE_LIST_507) <= set(CLAIM_CATEGORIES)
    assert all(CLAIM_CATEGORIES[c] for c in CODE_LIST_507)
    assert CLAIM_REJECTED <= set(CLAIM_CATEGORIES)


def test_common_encounter_rejection_status_codes_have_texts() -> None:
    for code in ("21", "33", "35", "97", "116", "145", "164", "187", "228", "254", "454", "510", "562", "732"):
        assert CLAIM_STATUS_CODES[code], code


def test_a_composite_reads_codes_first_then_text() -> None:
    assert claim_status_text("A3", "21") == "A3 (returned as unprocessable claim): 21 (missing or invalid information)"
    assert claim_status_text("A7", "562", "85") == (
        "A7 (rejected for invalid information): 562 (entity's National Provider Identifier (NPI)), "
        "entity 85 (billing provider)"
    )


def test_unknown_codes_print_as_the_code_alone() -> None:
    assert claim_status_text("Z9", "9999", "ZZZ") == "Z9: 9999, entity ZZZ"
    assert explain_reason("277: Z9:9999") == "277: Z9: 9999"


def test_a_277_reason_as_the_ledger_stores_it() -> None:
    claim = ClaimAck("005010X214", "C1", statuses=[("A7", "21", "85"), ("A7", "164", "IL")])
    claim.line_statuses.append("line 1: A3:454")
    stored = f"277: {claim.describe()}"  # what the ledger records
    assert explain_reason(stored) == (
        "277: A7 (rejected for invalid information): 21 (missing or invalid information), "
        "entity 85 (billing provider); "
        "A7 (rejected for invalid information): 164 (entity's contract or member number), "
        "entity IL (insured or subscriber); line 1: A3 (returned as unprocessable claim): 454 (procedure code)"
    )


def test_a_reason_stored_by_an_older_version_reads_the_same() -> None:
    # The category text recorded then may differ from today's: only the codes count.
    assert explain_reason("277: A3:21 returned as unprocessable") == (
        "277: A3 (returned as unprocessable claim): 21 (missing or invalid information)"
    )


def _999_with_errors(tmp_path: Path) -> Path:
    text = build_999(7, [("0001", "R")], RECEIVER)
    errors = "IK3*NM1*12*2010BA*8~\nCTX*CLM01:C1~\nIK4*9*67*6*X~\nIK3*CLM*20**3~\n"
    text = text.replace("IK5*R~", errors + "IK5*R*5~")
    se_count = text.count("~", text.index("ST*999"), text.index("SE*")) + 1
    text = text.replace(text[text.index("SE*") : text.index("*0001~", text.index("SE*"))], f"SE*{se_count}")
    path = tmp_path / "errors.999"
    path.write_text(text, encoding="utf-8")
    return path


def test_999_segment_element_and_transaction_codes(tmp_path: Path) -> None:
    (group,) = [item for item in iter_ack(_999_with_errors(tmp_path)) if isinstance(item, GroupAck)]
    (st,) = group.transactions
    per_claim = f"999 rejected transaction set {st.st02}: " + "; ".join(st.claim_errors["C1"])
    assert explain_reason(per_claim) == (
        "999 rejected transaction set 0001: segment NM1 #12 (loop 2010BA): IK3 8 (segment has data element errors); "
        "element 9 (67): IK4 6 (invalid character in data element)"
    )
    whole = f"999 rejected transaction set {st.st02} (send the claim again): {st.describe()}"
    shown = explain_reason(whole)
    assert shown.startswith("999 rejected transaction set 0001 (send the claim again): IK5 5 (one or more segments in")
    assert "segment CLM #20: IK3 3 (required segment missing)" in shown


def test_999_group_and_transaction_verdicts() -> None:
    assert explain_reason("999 AK9 P: partially accepted, at least one transaction set was rejected") == (
        "999 AK9 P (partially accepted, at least one transaction set was rejected)"
    )
    assert explain_reason("999 IK5 A") == "999 IK5 A (accepted)"


def test_ta1_note_codes() -> None:
    stored = f"interchange rejected: {InterchangeAck(5, 'R', '006').describe()}"
    assert explain_reason(stored) == (
        "interchange rejected: TA1 R (rejected because of errors): 006 (invalid interchange sender ID)"
    )
    assert explain_reason(InterchangeAck(5, "R", "999").describe()) == "TA1 R (rejected because of errors): 999"


def test_other_text_is_left_alone() -> None:
    for text in (
        "",
        "held by sendpro",
        "999 rejected transaction set 0002 for errors in claim(s) C1, C2; this claim had none: send it again",
    ):
        assert explain_reason(text) == text
