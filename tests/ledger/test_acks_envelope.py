"""Acknowledgments cut short or with a broken envelope are refused whole: the reader and the ledger."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from sendpro import api
from sendpro.ledger.acks import ingest_ack
from sendpro.ledger.db import Ledger
from sendpro.x12.acks import AckFileError, ClaimAck, iter_ack
from sendpro.x12.envelope import SequentialControlNumbers
from tests.helpers import FIXED_NOW
from tests.ledger.acks_builder import ClaimStatus, build_277, build_999, build_ta1, cut_after, segment_ends
from tests.ledger.conftest import SENDER, Convert

SPLIT_PROFILE = str(Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "transaction-split" / "profile.toml")
CHARGE = Decimal("250.00")

TEXTS = {
    "277": build_277(
        [ClaimStatus("K1", "A2", "20", CHARGE), ClaimStatus("K2", "A7", "21", CHARGE, entity="85")],
        SENDER,
        "PLACEHOLDER",
    ),
    "999": build_999(7, [("0001", "A"), ("0002", "R")], SENDER),
    "TA1": build_ta1(123, "R", "006", SENDER),
}


def _read(path: Path, text: str) -> list[object]:
    path.write_text(text)
    return list(iter_ack(path))


# -- the reader --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_the_whole_file_reads(kind: str, tmp_path: Path) -> None:
    assert _read(tmp_path / "whole", TEXTS[kind])


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_every_cut_of_the_file_is_refused(kind: str, tmp_path: Path) -> None:
    """Cut anywhere before its last character (mid-segment, between segments, in the ISA): refused."""
    text = TEXTS[kind]
    path = tmp_path / "cut"
    for end in range(len(text.rstrip())):
        with pytest.raises(AckFileError):
            _read(path, text[:end])


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_a_cut_after_any_segment_says_it_is_cut_short(kind: str, tmp_path: Path) -> None:
    text = TEXTS[kind]
    for end in segment_ends(text)[:-1]:
        with pytest.raises(AckFileError, match="cut short"):
            _read(tmp_path / "cut", text[:end] + "\n")


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        ("IEA*1*000000777~\n", "the file ends inside interchange 000000777 after segment 37 (GE), with no IEA"),
        (
            "GE*1*777~\nIEA*1*000000777~\n",
            "the file ends inside functional group 777 after segment 36 (SE), with no GE and IEA",
        ),
        ("*K2~", "the file ends inside transaction set 0001 after segment 33 (TRN), with no SE, GE and IEA"),
        ("~\n", "its last segment 38 (IEA) has no segment terminator"),
        ("00777~\n", "segment 38 (IEA): IEA02 0000 does not match ISA13 000000777"),
    ],
)
def test_the_reason_names_where_the_file_ends(cut: str, reason: str, tmp_path: Path) -> None:
    text = TEXTS["277"]
    assert text.endswith(cut) or cut in text
    with pytest.raises(AckFileError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        _read(tmp_path / "cut", text[: text.rindex(cut)])


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("SE*8*0001~", "SE*9*0001~", r"segment 10 \(SE\): SE01 says 9 segments, the file holds 8"),
        ("SE*8*0001~", "SE*X*0001~", r"segment 10 \(SE\): SE01 is not a number, the file holds 8"),
        ("SE*8*0001~", "SE*8*0002~", r"segment 10 \(SE\): SE02 0002 does not match ST02 0001"),
        ("GE*1*999~", "GE*2*999~", r"segment 11 \(GE\): GE01 says 2 transaction sets, the file holds 1"),
        ("GE*1*999~", "GE*1*998~", r"segment 11 \(GE\): GE02 998 does not match GS06 999"),
        ("IEA*1*000000999~", "IEA*0*000000999~", r"segment 12 \(IEA\): IEA01 says 0 functional groups"),
        ("IEA*1*000000999~", "IEA*1*000000998~", r"IEA02 000000998 does not match ISA13 000000999"),
        ("IEA*1*000000999~", "IEA*1*000000999~IK5*A~", r"segment 13 \(IK5\) comes after the IEA"),
        ("AK9*", "SE*7*0001~GE*1*999~AK9*", r"segment 11 \(AK9\) comes outside a transaction set"),
        ("AK2*837*0002", "ST*999*0002~AK2*837*0002", r"segment 7 \(ST\) comes inside transaction set 0001, .* no SE"),
        ("ST*999*0001", "GS*FA*X*Y*1*1*5*X*1~ST*999*0001", r"segment 3 \(GS\) comes inside functional group 999"),
    ],
)
def test_counts_and_control_numbers_must_agree(old: str, new: str, reason: str, tmp_path: Path) -> None:
    text = build_999(7, [("0001", "A"), ("0002", "A")], SENDER)
    assert old in text
    with pytest.raises(AckFileError, match=reason):
        _read(tmp_path / "bad.999", text.replace(old, new, 1))


def test_control_numbers_compare_as_numbers(tmp_path: Path) -> None:
    text = build_999(7, [("0001", "A")], SENDER).replace("GE*1*999~", "GE*1*000999~")
    assert _read(tmp_path / "padded.999", text)


def test_several_interchanges_in_one_file_read(tmp_path: Path) -> None:
    text = TEXTS["277"] + build_277([ClaimStatus("K3", "A2", "20", CHARGE)], SENDER, "PLACEHOLDER", control=778)
    claims = [i.claim_id for i in _read(tmp_path / "two.277", text) if isinstance(i, ClaimAck)]
    assert claims == ["K1", "K2", "K3"]


def test_an_empty_file_or_a_cut_isa_says_so(tmp_path: Path) -> None:
    with pytest.raises(AckFileError, match="^the file is empty$"):
        _read(tmp_path / "empty", "\n")
    with pytest.raises(AckFileError, match=r"^the ISA segment is cut short \(50 of 106 characters\)$"):
        _read(tmp_path / "isa", TEXTS["TA1"][:50])


# -- the ledger --------------------------------------------------------------------------------------
def _claims(n: int) -> list[dict[str, str]]:
    return [{"mce_claim_id": f"C{i}", "member_dob": f"1980010{i}"} for i in range(1, n + 1)]


def _snapshot(ledger_path: Path) -> tuple[list[tuple[object, ...]], ...]:
    db = sqlite3.connect(ledger_path)
    try:
        return (
            db.execute(
                "SELECT id, status, status_detail, ack_id, payer_claim_id FROM encounters ORDER BY id"
            ).fetchall(),
            db.execute("SELECT id, status, status_detail FROM files ORDER BY id").fetchall(),
            db.execute("SELECT * FROM acks").fetchall(),
            db.execute("SELECT * FROM file_acks").fetchall(),
        )
    finally:
        db.close()


def _assert_refused_whole(ledger_path: Path, path: Path, before: object, why: str = "cut short") -> None:
    (result,) = api.ingest_acks([path], ledger_path)
    assert result.status == "refused" and why in result.message, result.message
    assert path.name not in result.message  # the caller names the file, once
    assert not result.encounters and not result.kinds and result.ack_id is None
    assert _snapshot(ledger_path) == before


def test_a_cut_277_changes_nothing_and_the_whole_file_goes_in_later(
    convert: Convert, tmp_path: Path, ledger_path: Path
) -> None:
    """Every cut is refused by the reader (above); here, cuts after claims were already applied are rolled back."""
    convert(*_claims(2))
    text = build_277(
        [ClaimStatus("C1", "A2", "20", CHARGE, payer_claim_id="MH1"), ClaimStatus("C2", "A7", "21", CHARGE)],
        SENDER,
        "PLACEHOLDER",
    )
    before = _snapshot(ledger_path)
    cut = tmp_path / "claims.277"
    for short in (
        text[: text.index("STC*A7") + 5],  # mid-segment, in the second claim's status
        cut_after(text, "DTP", 4),  # after the second claim's last segment
        cut_after(text, "SE"),
        cut_after(text, "GE"),  # only the IEA missing
        text.rstrip()[:-1],  # only the last terminator missing
    ):
        cut.write_text(short)
        _assert_refused_whole(ledger_path, cut, before)
    # Not recorded as ingested: the complete copy is taken (not "already ingested").
    whole = tmp_path / "claims-again.277"
    whole.write_text(text)
    (result,) = api.ingest_acks([whole], ledger_path)
    assert result.status == "ingested" and dict(result.encounters) == {"accepted": 1, "rejected": 1}


def test_a_999_cut_after_its_ik5_is_refused(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(4), profile=SPLIT_PROFILE)
    (x12,) = sorted((tmp_path / "out1").glob("837P*.x12"))
    ack = tmp_path / "file.999"
    api.acknowledge_file(x12, ack, clock=lambda: FIXED_NOW, control=SequentialControlNumbers(9000))
    text = ack.read_text()
    before = _snapshot(ledger_path)
    for cut in (cut_after(text, "IK5", 1), cut_after(text, "IK5", 2), cut_after(text, "AK9"), cut_after(text, "GE")):
        ack.write_text(cut)
        _assert_refused_whole(ledger_path, ack, before)
    ack.write_text(text)
    with Ledger(ledger_path) as ledger:
        result = ingest_ack(ledger, ack)
    assert result.status == "ingested" and result.encounters["acknowledged"] == 4


def test_a_ta1_cut_short_rejects_nothing(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    convert(*_claims(1))
    (x12,) = sorted((tmp_path / "out1").glob("837P*.x12"))
    text = build_ta1(int(x12.read_text()[90:99]), "R", "006", SENDER)
    before = _snapshot(ledger_path)
    ta1 = tmp_path / "interchange.ta1"
    for cut in (cut_after(text, "TA1"), text[: text.index("*R*")], text.rstrip()[:-1]):
        ta1.write_text(cut)
        _assert_refused_whole(ledger_path, ta1, before)
    ta1.write_text(text)
    (result,) = api.ingest_acks([ta1], ledger_path)
    assert result.status == "ingested" and result.encounters["rejected"] == 1


def test_a_number_longer_than_x12_allows_is_refused_whole(convert: Convert, tmp_path: Path, ledger_path: Path) -> None:
    """Found by the fuzz run: a 120-digit AK9 count or TA1 control number stopped ack with an internal error."""
    convert(*_claims(2))
    (x12,) = sorted((tmp_path / "out1").glob("837P*.x12"))
    ack = tmp_path / "file.999"
    api.acknowledge_file(x12, ack, clock=lambda: FIXED_NOW, control=SequentialControlNumbers(9000))
    text = ack.read_text()
    before = _snapshot(ledger_path)
    ak9 = next(s for s in text.split("~") if s.lstrip().startswith("AK9*"))
    ack.write_text(text.replace(ak9, ak9.rsplit("*", 1)[0] + "*" + "9" * 120, 1))
    _assert_refused_whole(ledger_path, ack, before, "more digits than X12 allows")
    ta1 = tmp_path / "interchange.ta1"
    ta1.write_text(build_ta1(int(x12.read_text()[90:99]), "R", "006", SENDER).replace("TA1*", "TA1*" + "9" * 120, 1))
    _assert_refused_whole(ledger_path, ta1, before, "more digits than X12 allows")


def test_an_empty_segment_counted_in_se01_is_refused(tmp_path: Path) -> None:
    """Found by the fuzz run: a blank segment, counted by SE01, let a damaged 277 through."""
    text = build_277([ClaimStatus("C1", "A2", "20", Decimal("10.00"))], SENDER, "P")
    parts = text.split("~")
    at = next(i for i, p in enumerate(parts) if p.lstrip().startswith("STC"))
    parts.insert(at, " ")
    se = next(i for i, p in enumerate(parts) if p.lstrip().startswith("SE*"))
    fields = parts[se].split("*")
    parts[se] = "*".join([fields[0], str(int(fields[1]) + 1), *fields[2:]])
    path = tmp_path / "blank.277"
    path.write_text("~".join(parts))
    with pytest.raises(AckFileError, match="has no segment id"):
        _read(path, path.read_text())
