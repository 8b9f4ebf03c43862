"""Writing pharmacy encounters through both NCPDP layouts and reading them back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from sendpro.errors import LayoutError
from sendpro.model.pharmacy import EXTRA_PAID_COMPONENTS, PharmacyEncounter
from sendpro.model.rx_fields import RX_FIELDS
from sendpro.ncpdp.codec import ETX, FIELD_SEP, GROUP_SEP, SEGMENT_SEP, STX
from sendpro.ncpdp.layout import FieldFormat, NcpdpField, NcpdpLayout, RecordRole
from sendpro.ncpdp.reader import decode, detect_ncpdp_layout, iter_raw_records, read_details, tally_ncpdp
from sendpro.ncpdp.validate import validate_ncpdp
from sendpro.ncpdp.writer import NcpdpWriter
from tests.helpers import FIXED_NOW
from tests.ncpdp.support import SETTINGS, write_ncpdp

GENDER_CODES = {"1": "M", "2": "F", "0": "U"}


def mapped_fields(layout: NcpdpLayout) -> list[NcpdpField]:
    """Every field of the detail record and segments that carries a model field."""
    fields = [*layout.record(RecordRole.DETAIL).fields, *(f for s in layout.segments for f in s.fields)]
    return [f for f in fields if f.field is not None]


def assert_decoded_equals(f: NcpdpField, decoded: object, value: object) -> None:
    """Check one decoded value against the encounter's model value."""
    if value is None:
        assert decoded is None, f.label
    elif f.map:
        assert isinstance(decoded, int), f.label
        assert GENDER_CODES[str(decoded)] == value, f.label  # the code map reversed
        assert str(decoded) == f.map[str(value)]
    elif f.format is FieldFormat.NUMERIC and f.decimals == 0:
        assert isinstance(decoded, int), f.label
        assert decoded == int(str(value)), f.label
    elif f.format in (FieldFormat.NUMERIC, FieldFormat.DOLLARS):
        assert isinstance(decoded, Decimal), f.label
        assert decoded == value, f.label
        assert decoded.is_signed() == Decimal(str(value)).is_signed(), f.label
    elif f.format is FieldFormat.DATE:
        assert isinstance(decoded, dt.date), f.label
        assert decoded == value, f.label
    else:
        assert decoded == value, f.label


def frames(text: str) -> list[str]:
    """Split a batch file into the texts between STX and ETX, checking nothing lies outside them."""
    found = re.findall(f"{STX}(.*?){ETX}", text, flags=re.DOTALL)
    assert "".join(STX + f + ETX for f in found) == text
    return found


@pytest.fixture
def written(
    tmp_path: Path, any_layout: NcpdpLayout, rx_encounters: list[PharmacyEncounter]
) -> tuple[NcpdpLayout, Path, io.StringIO]:
    path = tmp_path / f"{any_layout.name}.ncpdp"
    xref = io.StringIO()
    write_ncpdp(path, any_layout, rx_encounters, xref=xref)
    return any_layout, path, xref


# --- round trip ---------------------------------------------------------------------------------------------


def test_every_model_value_round_trips(
    written: tuple[NcpdpLayout, Path, io.StringIO], rx_encounters: list[PharmacyEncounter]
) -> None:
    layout, path, _ = written
    details = list(read_details(path, layout))
    assert len(details) == len(rx_encounters) == 20
    fields = mapped_fields(layout)
    for enc, det in zip(rx_encounters, details, strict=True):
        values = enc.values()
        for f in fields:
            if f.start is not None or values[f.field] is not None:
                assert f.field in det, f.label  # fixed fields always decode; D.0 leaves blank ones out
            assert_decoded_equals(f, det.get(f.field), values[f.field])


def test_post_adjudication_carries_every_base_model_field(post_adjudication: NcpdpLayout) -> None:
    carried = {f.field for f in mapped_fields(post_adjudication)}
    assert carried == {fd.name for fd in RX_FIELDS} - set(EXTRA_PAID_COMPONENTS)


def test_batch_d0_carries_the_transaction_fields(batch_d0: NcpdpLayout) -> None:
    carried = {f.field for f in mapped_fields(batch_d0)}
    missing = {fd.name for fd in RX_FIELDS} - set(EXTRA_PAID_COMPONENTS) - carried
    assert missing == {"mce_claim_id", "claim_frequency", "original_claim_id", "claim_status", "adjudication_date"}


def test_hand_claims_decode_to_concrete_values(written: tuple[NcpdpLayout, Path, io.StringIO]) -> None:
    layout, path, _ = written
    original, void, replacement, zero = list(read_details(path, layout))[:4]
    assert original["member_id"] == "100000000001"
    assert original["member_gender"] == 2  # F
    assert original["rx_number"] == 7001234
    assert original["fill_number"] == 0
    assert original["ndc"] == "00093505601"
    assert original["date_of_service"] == dt.date(2026, 3, 3)
    assert original["member_dob"] == dt.date(1980, 1, 1)
    assert original["quantity_dispensed"] == Decimal("30.000")
    assert original["ingredient_cost_paid"] == Decimal("12.50")
    assert original["total_amount_paid"] == Decimal("13.25")
    assert original.get("other_payer_amount_paid") is None
    assert void["member_gender"] == 1  # M
    assert void["total_amount_paid"] == Decimal("-13.25")
    assert void["usual_customary_charge"] == Decimal("-20.00")
    assert replacement["member_gender"] == 0  # U
    assert replacement.get("member_first_name") is None
    assert replacement.get("date_written") is None
    assert replacement.get("quantity_unit") is None
    assert replacement["quantity_dispensed"] == Decimal("2.5")
    assert replacement["other_payer_amount_paid"] == Decimal("3.07")
    assert replacement["total_amount_paid"] == Decimal("1017.80")
    assert replacement["fill_number"] == 12
    assert replacement["compound_code"] == 2
    assert zero["total_amount_paid"] == Decimal("0.00")
    assert not zero["total_amount_paid"].is_signed()  # type: ignore[union-attr]
    if layout.batch:
        # D.0 segments leave blank optional fields out altogether.
        assert "member_first_name" not in replacement and "date_written" not in replacement
        assert "mce_claim_id" not in original
    else:
        assert "member_first_name" in replacement
        assert [d["claim_frequency"] for d in (original, void, replacement)] == ["1", "8", "7"]
        assert [d["103-A3"] for d in (original, void, replacement)] == ["B1", "B2", "B1"]
        assert void["original_claim_id"] == "RX099"
        assert replacement["claim_status"] == "D"
        assert original["original_claim_id"] is None


# --- summary and tally ----------------------------------------------------------------------------------------


def test_summary_and_tally(tmp_path: Path, any_layout: NcpdpLayout, rx_encounters: list[PharmacyEncounter]) -> None:
    path = tmp_path / "out.ncpdp"
    summary = write_ncpdp(path, any_layout, rx_encounters)
    paid = sum(e.total_amount_paid or 0 for e in rx_encounters)
    charge = sum(e.gross_amount_due or 0 for e in rx_encounters)
    hand_paid = 1325 - 1325 + 101780 + 0
    assert sum(e.total_amount_paid or 0 for e in rx_encounters[:4]) == hand_paid
    assert (summary.layout, summary.batch_number) == (any_layout.name, 42)
    assert (summary.records, summary.details, summary.paid, summary.charge) == (22, 20, paid, charge)
    tally = tally_ncpdp(path, any_layout)
    assert (tally.records, tally.details, tally.paid, tally.charge) == (22, 20, paid, charge)


def test_tally_of_hand_claims(
    tmp_path: Path, any_layout: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "out.ncpdp"
    write_ncpdp(path, any_layout, hand_encounters)
    tally = tally_ncpdp(path, any_layout)
    # paid 13.25 - 13.25 + 1017.80 + 0.00; gross 14.25 - 14.25 + (blank) + 0.00
    assert (tally.records, tally.details, tally.paid, tally.charge) == (6, 4, 101780, 0)


def test_writer_is_closed_once(
    tmp_path: Path, any_layout: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    out = io.StringIO()
    writer = NcpdpWriter(out, any_layout, SETTINGS, 42, lambda: FIXED_NOW)
    writer.write(hand_encounters[0])
    summary = writer.close()
    text = out.getvalue()
    assert writer.close() is summary
    assert out.getvalue() == text  # no second trailer
    assert summary.records == 3
    with pytest.raises(RuntimeError, match="writer is closed"):
        writer.write(hand_encounters[1])


def test_empty_file(tmp_path: Path, any_layout: NcpdpLayout) -> None:
    path = tmp_path / "empty.ncpdp"
    summary = write_ncpdp(path, any_layout, [])
    assert (summary.records, summary.details, summary.paid) == (2, 0, 0)
    assert list(read_details(path, any_layout)) == []
    trailer = [decode(r, any_layout) for r in iter_raw_records(path, any_layout)][-1]
    assert trailer.values["Record Count (header and trailer included)"] == 2
    if not any_layout.batch:
        assert trailer.values["Detail Record Count"] == 0
        assert trailer.values["509-F9"] == Decimal("0.00")
        assert path.read_text(encoding="ascii").splitlines()[1][29:43] == "0000000000000{"
    assert validate_ncpdp(path, any_layout) == []


# --- fixed layout ---------------------------------------------------------------------------------------------


def test_fixed_records_have_their_lengths(
    tmp_path: Path, post_adjudication: NcpdpLayout, rx_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "pa.ncpdp"
    write_ncpdp(path, post_adjudication, rx_encounters)
    text = path.read_text(encoding="ascii")
    assert text.endswith("\n") and "\r" not in text
    lines = text.split("\n")[:-1]
    assert len(lines) == 22
    assert [line[:2] for line in lines] == ["HD"] + ["DT"] * 20 + ["TR"]
    assert [len(line) for line in lines] == [100] + [362] * 20 + [60]
    raws = list(iter_raw_records(path, post_adjudication))
    assert [r.number for r in raws] == list(range(1, 23))
    assert [r.role for r in raws] == [RecordRole.HEADER] + [RecordRole.DETAIL] * 20 + [RecordRole.TRAILER]


def test_fixed_header_and_trailer(
    tmp_path: Path, post_adjudication: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "pa.ncpdp"
    write_ncpdp(path, post_adjudication, hand_encounters)
    lines = path.read_text(encoding="ascii").splitlines()
    assert lines[0] == (
        "HD" + "SENDER".ljust(24) + "RECEIVER".ljust(24) + "0000042" + "20261123" + "1030" + "T" + "SPPA0001" + " " * 22
    )
    assert lines[-1] == "TR" + "0000042" + "0000000006" + "0000000004" + "0000000010178{" + " " * 17
    decoded = [decode(r, post_adjudication) for r in iter_raw_records(path, post_adjudication)]
    header, trailer = decoded[0].values, decoded[-1].values
    assert header["806-5C"] == 42
    assert header["880-K1"] == "SENDER"
    assert header["880-K7"] == "RECEIVER"
    assert header["880-K2"] == dt.date(2026, 11, 23)
    assert header["880-K3"] == 1030
    assert header["File Type (T test, P production)"] == "T"
    assert trailer["806-5C"] == 42
    assert trailer["Record Count (header and trailer included)"] == 6
    assert trailer["Detail Record Count"] == 4
    assert trailer["509-F9"] == Decimal("1017.80")
    assert all(d.problems == [] for d in decoded)


def test_fixed_trailer_total_is_the_sum(
    tmp_path: Path, post_adjudication: NcpdpLayout, rx_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "pa.ncpdp"
    write_ncpdp(path, post_adjudication, rx_encounters)
    trailer = [decode(r, post_adjudication) for r in iter_raw_records(path, post_adjudication)][-1].values
    total = sum((Decimal(str(d["total_amount_paid"])) for d in read_details(path, post_adjudication)), Decimal(0))
    assert trailer["509-F9"] == total == Decimal(sum(e.total_amount_paid or 0 for e in rx_encounters)).scaleb(-2)
    assert trailer["Record Count (header and trailer included)"] == 22
    assert trailer["Detail Record Count"] == 20


def test_fixed_negative_trailer_total(
    tmp_path: Path, post_adjudication: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "void.ncpdp"
    write_ncpdp(path, post_adjudication, [hand_encounters[1]])
    trailer_line = path.read_text(encoding="ascii").splitlines()[-1]
    assert trailer_line[29:43] == "0000000000132N"
    assert tally_ncpdp(path, post_adjudication).paid == -1325


def test_batch_number_is_kept_to_seven_digits(
    tmp_path: Path, post_adjudication: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "pa.ncpdp"
    summary = write_ncpdp(path, post_adjudication, hand_encounters[:1], batch_number=12_345_678)
    assert summary.batch_number == 12_345_678
    lines = path.read_text(encoding="ascii").splitlines()
    assert lines[0][50:57] == "2345678"
    assert lines[-1][2:9] == "2345678"
    assert validate_ncpdp(path, post_adjudication) == []


# --- batch layout ---------------------------------------------------------------------------------------------


def test_batch_framing(tmp_path: Path, batch_d0: NcpdpLayout, rx_encounters: list[PharmacyEncounter]) -> None:
    path = tmp_path / "b.ncpdp"
    write_ncpdp(path, batch_d0, rx_encounters)
    text = path.read_text(encoding="ascii")
    assert text.startswith(STX + "00") and text.endswith(ETX)
    assert "\n" not in text
    found = frames(text)
    assert len(found) == 22
    assert [f[:2] for f in found] == ["00"] + ["G1"] * 20 + ["99"]
    assert len(found[0]) == 73 and len(found[-1]) == 54
    assert text.count(STX) == text.count(ETX) == 22
    raws = list(iter_raw_records(path, batch_d0))
    assert [r.text for r in raws] == found
    assert all(r.framed for r in raws)


def test_batch_header_and_trailer(
    tmp_path: Path, batch_d0: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "b.ncpdp"
    write_ncpdp(path, batch_d0, hand_encounters)
    found = frames(path.read_text(encoding="ascii"))
    assert found[0] == "00T" + "SENDER".ljust(24) + "0000042" + "20261123" + "1030" + "T" + "12" + "RECEIVER".ljust(24)
    assert found[-1] == "99" + "0000042" + "0000000006" + " " * 35
    decoded = [decode(r, batch_d0) for r in iter_raw_records(path, batch_d0)]
    assert decoded[0].values["806-5C"] == 42
    assert decoded[0].values["880-K2"] == dt.date(2026, 11, 23)
    assert decoded[0].values["Version/Release Number"] == "12"
    assert decoded[-1].values["806-5C"] == 42
    assert decoded[-1].values["Record Count (header and trailer included)"] == 6
    assert decoded[-1].values["504-F4"] is None


def test_batch_details(tmp_path: Path, batch_d0: NcpdpLayout, hand_encounters: list[PharmacyEncounter]) -> None:
    path = tmp_path / "b.ncpdp"
    write_ncpdp(path, batch_d0, hand_encounters)
    details = frames(path.read_text(encoding="ascii"))[1:-1]
    codes = []
    for i, (frame, enc) in enumerate(zip(details, hand_encounters, strict=True), start=1):
        assert frame[:2] == "G1"
        assert frame[2:12] == f"{i:010d}"
        request = frame[12:68]
        assert request[0:6] == "123456"  # BIN
        assert request[6:8] == "D0"
        codes.append(request[8:10])
        assert request[10:20] == "PCN1      "
        assert request[20:23] == "101"  # one transaction, provider id qualifier 01
        assert request[23:38] == "1234567893     "
        assert request[38:46] == f"{enc.date_of_service:%Y%m%d}"
        assert request[46:56] == "SOFT      "
        body = frame[68:]
        assert body.startswith(SEGMENT_SEP + FIELD_SEP + "AM04")
        transaction, claim = body.split(GROUP_SEP)
        assert [s.split(FIELD_SEP)[1] for s in transaction.split(SEGMENT_SEP)[1:]] == ["AM04", "AM01"]
        assert [s.split(FIELD_SEP)[1] for s in claim.split(SEGMENT_SEP)[1:]] == ["AM07", "AM03", "AM11"]
    assert [e.frequency for e in hand_encounters] == ["1", "8", "7", "1"]
    assert codes == ["B1", "B2", "B1", "B1"]
    first = details[0]
    assert FIELD_SEP + "C2100000000001" in first
    assert FIELD_SEP + "C52" + FIELD_SEP in first
    assert FIELD_SEP + "N3132E" in first
    assert FIELD_SEP + "N3132N" in details[1]
    assert FIELD_SEP + "CA" not in details[2]  # blank first name: no field
    assert FIELD_SEP + "DV30G" in details[2]


def test_batch_decoded_segments_and_references(
    tmp_path: Path, batch_d0: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "b.ncpdp"
    write_ncpdp(path, batch_d0, hand_encounters)
    decoded = [decode(r, batch_d0) for r in iter_raw_records(path, batch_d0) if r.role is RecordRole.DETAIL]
    assert [d.segments for d in decoded] == [["04", "01", "07", "03", "11"]] * 4
    assert [d.values["transaction_reference"] for d in decoded] == [f"{i:010d}" for i in range(1, 5)]
    assert [d.values["103-A3"] for d in decoded] == ["B1", "B2", "B1", "B1"]
    assert all(d.values["102-A2"] == "D0" and d.problems == [] for d in decoded)


def test_batch_cross_reference(
    written: tuple[NcpdpLayout, Path, io.StringIO], rx_encounters: list[PharmacyEncounter]
) -> None:
    layout, path, xref = written
    rows = list(csv.DictReader(io.StringIO(xref.getvalue())))
    header = xref.getvalue().splitlines()[0]
    assert header == "transaction_reference,mce_claim_id,transaction_code,claim_frequency,input_row"
    if not layout.batch:
        assert rows == []  # the fixed layout carries the claim id itself
        return
    assert len(rows) == 20
    by_claim = {e.claim_id: e for e in rx_encounters}
    details = {str(d["transaction_reference"]): d for d in read_details(path, layout)}
    assert [r["transaction_reference"] for r in rows] == [f"{i:010d}" for i in range(1, 21)]
    assert [r["mce_claim_id"] for r in rows] == [e.claim_id for e in rx_encounters]
    for row in rows:
        enc = by_claim[row["mce_claim_id"]]
        det = details[row["transaction_reference"]]
        assert row["claim_frequency"] == enc.frequency
        assert row["transaction_code"] == ("B2" if enc.frequency == "8" else "B1") == det["103-A3"]
        assert row["input_row"] == str(enc.row_no)
        assert det["rx_number"] == int(str(enc.rx_number))
        assert det["member_id"] == enc.member.member_id
        assert det["total_amount_paid"] == Decimal(enc.total_amount_paid or 0).scaleb(-2)
    assert rows[0]["mce_claim_id"] == "RX100" and rows[0]["input_row"] == "2"
    assert rows[1]["mce_claim_id"] == "RX101" and rows[1]["transaction_code"] == "B2"


@pytest.mark.parametrize("chunk_size", [1, 7, 100])
def test_batch_reader_chunk_boundaries(
    tmp_path: Path, batch_d0: NcpdpLayout, hand_encounters: list[PharmacyEncounter], chunk_size: int
) -> None:
    path = tmp_path / "b.ncpdp"
    write_ncpdp(path, batch_d0, hand_encounters)
    assert list(iter_raw_records(path, batch_d0, chunk_size=chunk_size)) == list(iter_raw_records(path, batch_d0))


def test_batch_reader_tolerates_newlines_between_frames(
    tmp_path: Path, batch_d0: NcpdpLayout, hand_encounters: list[PharmacyEncounter]
) -> None:
    path = tmp_path / "b.ncpdp"
    write_ncpdp(path, batch_d0, hand_encounters)
    text = path.read_text(encoding="ascii")
    path.write_text(text.replace(ETX, ETX + "\r\n"), encoding="ascii", newline="")
    raws = list(iter_raw_records(path, batch_d0))
    assert len(raws) == 6 and all(r.framed for r in raws)
    assert validate_ncpdp(path, batch_d0) == []


# --- layout detection -----------------------------------------------------------------------------------------


def test_detect_layouts(written: tuple[NcpdpLayout, Path, io.StringIO]) -> None:
    layout, path, _ = written
    assert detect_ncpdp_layout(path).name == layout.name


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"ISA*00*          *00*          *ZZ*SENDER         ~",
        b"DT" + b" " * 360 + b"\n",
        b"00T" + b" " * 70,  # a batch header without its STX
        b"\x02HD" + b" " * 98,
        b"\x02G10000000001",
    ],
    ids=["empty", "x12", "detail-first", "batch-no-stx", "stx-fixed", "batch-detail-first"],
)
def test_detect_refuses_unrelated_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.txt"
    path.write_bytes(content)
    with pytest.raises(LayoutError, match="the first record matches no NCPDP layout"):
        detect_ncpdp_layout(path)
