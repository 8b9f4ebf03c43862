"""Encoding and decoding NCPDP values, fixed records and D.0 segments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sendpro.ncpdp.codec import (
    ETX,
    FIELD_SEP,
    GROUP_SEP,
    SEGMENT_SEP,
    STX,
    FieldValueError,
    decode_record,
    decode_segments,
    decode_value,
    encode_record,
    encode_segment,
    encode_value,
    source_value,
)
from sendpro.ncpdp.layout import FieldFormat, NcpdpField, NcpdpLayout, RecordRole, SegmentLayout

N = FieldFormat.NUMERIC
AN = FieldFormat.TEXT
D = FieldFormat.DOLLARS
DATE = FieldFormat.DATE

# Model values of one synthetic claim, as PharmacyEncounter.values() gives them.
VALUES: dict[str, object] = {
    "mce_claim_id": "RX900",
    "claim_frequency": "8",
    "original_claim_id": "RX899",
    "claim_status": "P",
    "adjudication_date": dt.date(2026, 3, 5),
    "member_id": "100000000009",
    "member_last_name": "BIRCH",
    "member_first_name": None,
    "member_dob": dt.date(1975, 12, 31),
    "member_gender": "M",
    "pharmacy_npi": "1234567893",
    "prescriber_npi": "1245319599",
    "rx_number": "7001234",
    "fill_number": "3",
    "date_of_service": dt.date(2026, 3, 3),
    "date_written": None,
    "ndc": "00093505601",
    "quantity_dispensed": Decimal("2.5"),
    "quantity_unit": "ML",
    "days_supply": "10",
    "daw_code": "0",
    "compound_code": "1",
    "ingredient_cost_paid": Decimal("-12.50"),
    "dispensing_fee_paid": Decimal("-1.75"),
    "patient_pay_amount": Decimal("-0.00"),
    "other_payer_amount_paid": None,
    "usual_customary_charge": Decimal("1017.75"),
    "gross_amount_due": Decimal("0.05"),
    "total_amount_paid": Decimal("-14.25"),
}
CONTEXT = {"transaction_code": "B2", "batch_number": "42", "sender_id": "SENDER", "creation_date": "20261123"}


def fld(fmt: FieldFormat, **kw: object) -> NcpdpField:
    kw.setdefault("id", "999-ZZ")
    kw.setdefault("name", "Test Field")
    if fmt is FieldFormat.DOLLARS:
        kw.setdefault("decimals", 2)  # as the layout loader defaults D fields
    return NcpdpField(format=fmt, **kw)  # type: ignore[arg-type]


# --- encode_value ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f,value,width,expected",
    [
        (fld(N), 42, 5, "00042"),
        (fld(N), "42", 5, "00042"),
        (fld(N), "0", 2, "00"),
        (fld(N), 0, None, "0"),
        (fld(N), "007", None, "7"),
        (fld(N), Decimal("12345"), 5, "12345"),
        (fld(N, decimals=3), Decimal("2.5"), 10, "0000002500"),
        (fld(N, decimals=3), Decimal("30"), 10, "0000030000"),
        (fld(N, decimals=3), Decimal("2.5"), None, "2500"),
        (fld(N, decimals=2), "1.05", 6, "000105"),
        (fld(N), Decimal("-0"), 3, "000"),
        (fld(AN), "AB", 5, "AB   "),
        (fld(AN), "AB", None, "AB"),
        (fld(AN), " A", 3, " A "),
        (fld(AN), 7, 3, "7  "),
        (fld(AN, max_length=2), "AB", None, "AB"),
        (fld(D), Decimal("13.25"), 10, "000000132E"),
        (fld(D), Decimal("-13.25"), 10, "000000132N"),
        (fld(D), "25.37", 8, "0000253G"),
        (fld(D), Decimal("0"), 10, "000000000{"),
        (fld(D), Decimal("-0.00"), 10, "000000000}"),
        (fld(D), Decimal("13.25"), None, "132E"),
        (fld(D), Decimal("-13.25"), None, "132N"),
        (fld(D), Decimal("1017.75"), None, "10177E"),
        (fld(D), Decimal("0.05"), None, "E"),
        (fld(D), Decimal("0"), None, "{"),
        (fld(D), Decimal("-0.00"), None, "}"),
        (fld(D), Decimal("-0.01"), None, "J"),
        (fld(D, decimals=0), 7, 3, "00G"),
        (fld(DATE), dt.date(2026, 3, 3), 8, "20260303"),
        (fld(DATE), dt.datetime(2026, 11, 23, 10, 30), 8, "20261123"),
        (fld(DATE), dt.date(1975, 12, 31), None, "19751231"),
        (fld(DATE), "20260303", 8, "20260303"),
        (fld(DATE), "20260303", None, "20260303"),
    ],
)
def test_encode_value(f: NcpdpField, value: object, width: int | None, expected: str) -> None:
    assert encode_value(f, value, width) == expected


@pytest.mark.parametrize(
    "f,value,width,message",
    [
        (fld(N), -1, 5, "not a whole non-negative number with 0 implied decimals"),
        (fld(N, decimals=2), Decimal("-0.01"), 5, "not a whole non-negative number with 2 implied decimals"),
        (fld(N), Decimal("2.5"), 5, "not a whole non-negative number with 0 implied decimals"),
        (fld(N, decimals=3), Decimal("2.0005"), 10, "with 3 implied decimals"),
        (fld(N), 123456, 5, "6 digits do not fit 5"),
        (fld(N, decimals=3), Decimal("12345678.5"), 10, "11 digits do not fit 10"),
        (fld(N, max_length=3), 1234, None, "4 digits do not fit 3"),
        (fld(N), "12a", 5, "not a number"),
        (fld(N), "M", 1, "not a number"),
        (fld(AN), "ABCDEF", 5, "6 characters do not fit 5"),
        (fld(AN, max_length=2), "ABC", None, "3 characters do not fit 2"),
        (fld(D), Decimal("1.234"), 10, "has more than 2 decimals"),
        (fld(D), Decimal("123456789.00"), 10, "does not fit 10 characters"),
        (fld(D), "abc", 10, "not a number"),
        (fld(DATE), "2026-03-03", 8, "a date must be CCYYMMDD"),
        (fld(DATE), "2026033", 8, "a date must be CCYYMMDD"),
        (fld(DATE), "202603030", None, "a date must be CCYYMMDD"),
    ],
)
def test_encode_value_errors(f: NcpdpField, value: object, width: int | None, message: str) -> None:
    with pytest.raises(FieldValueError, match=message) as info:
        encode_value(f, value, width)
    assert info.value.field is f
    assert str(info.value).startswith("999-ZZ Test Field: ")


@pytest.mark.parametrize("fmt", [N, AN, D, DATE])
@pytest.mark.parametrize("blank", [None, ""])
def test_encode_blank_optional(fmt: FieldFormat, blank: object) -> None:
    assert encode_value(fld(fmt), blank, 8) == " " * 8
    assert encode_value(fld(fmt), blank, None) == ""


@pytest.mark.parametrize("fmt", [N, AN, D, DATE])
@pytest.mark.parametrize("blank", [None, ""])
def test_encode_blank_required(fmt: FieldFormat, blank: object) -> None:
    f = fld(fmt, required=True)
    with pytest.raises(FieldValueError, match="999-ZZ Test Field: a required field has no value"):
        encode_value(f, blank, 8)
    with pytest.raises(FieldValueError, match="a required field has no value"):
        encode_value(f, blank, None)


def test_zero_is_not_blank() -> None:
    assert encode_value(fld(N, required=True), 0, 2) == "00"
    assert encode_value(fld(D, required=True), Decimal("0.00"), 4) == "000{"


def test_field_value_error_label_without_id() -> None:
    f = NcpdpField("", "Record Type", AN)
    with pytest.raises(FieldValueError, match=r"^Record Type: 3 characters do not fit 2$"):
        encode_value(f, "HDR", 2)


def test_dollars_shortest_form_respects_max_length() -> None:
    f = fld(D, code="D9", max_length=8)
    assert encode_value(f, Decimal("999999.99"), None) == "9999999I"  # 8 characters: fits
    with pytest.raises(FieldValueError):
        encode_value(f, Decimal("1234567.89"), None)


def test_encode_date_text_must_be_a_real_date() -> None:
    with pytest.raises(FieldValueError):
        encode_value(fld(DATE), "20261399", 8)


@pytest.mark.parametrize("fmt", [N, D])
def test_encode_infinity_is_a_field_error(fmt: FieldFormat) -> None:
    with pytest.raises(FieldValueError):
        encode_value(fld(fmt), Decimal("Infinity"), 10)


# --- decode_value ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "f,text,expected",
    [
        (fld(N), "00042", 42),
        (fld(N), "0", 0),
        (fld(N, decimals=3), "0000002500", Decimal("2.500")),
        (fld(N, decimals=3), "30000", Decimal("30.000")),
        (fld(AN), "AB   ", "AB"),
        (fld(AN), " AB ", " AB"),
        (fld(D), "000000132E", Decimal("13.25")),
        (fld(D), "000000132N", Decimal("-13.25")),
        (fld(D), "132N", Decimal("-13.25")),
        (fld(D), "E", Decimal("0.05")),
        (fld(D, decimals=0), "00G", Decimal("7")),
        (fld(DATE), "20260303", dt.date(2026, 3, 3)),
        (fld(DATE), "20240229", dt.date(2024, 2, 29)),
    ],
)
def test_decode_value(f: NcpdpField, text: str, expected: object) -> None:
    value = decode_value(f, text)
    assert value == expected
    assert type(value) is type(expected)


def test_decode_value_keeps_negative_zero_and_exponent() -> None:
    value = decode_value(fld(D), "000000000}")
    assert isinstance(value, Decimal)
    assert value.is_signed() and value == 0
    assert str(value) == "-0.00"
    assert str(decode_value(fld(N, decimals=3), "0000002500")) == "2.500"


@pytest.mark.parametrize("fmt", [N, AN, D, DATE])
@pytest.mark.parametrize("text", ["", " ", "        "])
def test_decode_blank_is_none(fmt: FieldFormat, text: str) -> None:
    assert decode_value(fld(fmt), text) is None
    assert decode_value(fld(fmt, required=True), text) is None  # reporting blanks is the validator's job


@pytest.mark.parametrize(
    "f,text,message",
    [
        (fld(N), "00 42", "not all digits"),
        (fld(N), " 0042", "not all digits"),
        (fld(N), "-0042", "not all digits"),
        (fld(N), "0004B", "not all digits"),
        (fld(N, decimals=2), "00.50", "not all digits"),
        (fld(D), "000000132X", "not a signed overpunch amount"),
        (fld(D), "0000 0132E", "not a signed overpunch amount"),
        (fld(D), "       12 ", "not a signed overpunch amount"),
        (fld(DATE), "20260230", "not a real date CCYYMMDD"),
        (fld(DATE), "20261301", "not a real date CCYYMMDD"),
        (fld(DATE), "2026-3-1", "not a real date CCYYMMDD"),
        (fld(DATE), "ABCDEFGH", "not a real date CCYYMMDD"),
    ],
)
def test_decode_value_errors(f: NcpdpField, text: str, message: str) -> None:
    with pytest.raises(FieldValueError, match=message) as info:
        decode_value(f, text)
    assert info.value.field is f


@pytest.mark.parametrize("text", ["2026031", "202631", "202603 1"])
def test_decode_date_needs_eight_digits(text: str) -> None:
    with pytest.raises(FieldValueError):
        decode_value(fld(DATE), text)


def test_decode_numeric_non_ascii_digit_is_a_field_error() -> None:
    with pytest.raises(FieldValueError):
        decode_value(fld(N), "1²")


@pytest.mark.parametrize(
    "f,value",
    [
        (fld(N), 12345),
        (fld(N, decimals=3), Decimal("123.456")),
        (fld(AN), "HELLO"),
        (fld(D), Decimal("-1234.56")),
        (fld(D), Decimal("1234.56")),
        (fld(DATE), dt.date(2000, 2, 29)),
    ],
)
@pytest.mark.parametrize("width", [10, None])
def test_value_round_trip(f: NcpdpField, value: object, width: int | None) -> None:
    if width is not None and f.format is FieldFormat.DATE:
        width = 8  # the layout loader allows only 8-character DATE fields
    text = encode_value(f, value, width)
    if width is not None:
        assert len(text) == width
    assert decode_value(f, text) == value


# --- source_value -----------------------------------------------------------------------------------------------


def test_source_value_templates() -> None:
    f = fld(AN, value="{batch_number}-{sender_id}")
    assert source_value(f, {}, CONTEXT) == "42-SENDER"
    assert source_value(fld(AN, value="{bin}"), {}, CONTEXT) == ""  # a template missing from the context is empty
    assert source_value(fld(AN, value="D0"), {}, CONTEXT) == "D0"
    assert source_value(fld(AN, value="{transaction_code}"), VALUES, CONTEXT) == "B2"


def test_source_value_model_field_and_code_map() -> None:
    gender = fld(N, field="member_gender", map={"M": "1", "F": "2", "U": "0"})
    assert source_value(gender, {"member_gender": "M"}, {}) == "1"
    assert source_value(gender, {"member_gender": "F"}, {}) == "2"
    assert source_value(gender, {"member_gender": "U"}, {}) == "0"
    assert source_value(gender, {"member_gender": "X"}, {}) == "X"  # unmapped values pass through
    assert source_value(gender, {"member_gender": None}, {}) is None
    assert source_value(gender, {}, {}) is None
    assert source_value(fld(D, field="total_amount_paid"), VALUES, {}) == Decimal("-14.25")


def test_gender_code_map_encodes() -> None:
    gender = fld(N, field="member_gender", map={"M": "1", "F": "2", "U": "0"}, required=True)
    assert encode_value(gender, source_value(gender, {"member_gender": "M"}, {}), 1) == "1"
    with pytest.raises(FieldValueError, match="not a number"):
        encode_value(gender, source_value(gender, {"member_gender": "X"}, {}), 1)


# --- fixed records ----------------------------------------------------------------------------------------------


def test_encode_record_detail(post_adjudication: NcpdpLayout) -> None:
    detail = post_adjudication.record(RecordRole.DETAIL)
    line = encode_record(detail, VALUES, CONTEXT)
    assert len(line) == 362
    assert line[0:2] == "DT"
    assert line[2:4] == "B2"
    assert line[4:42] == "RX900".ljust(38)
    assert line[42:80] == "RX899".ljust(38)
    assert line[80:83] == "8P2"
    assert line[82:90] == "20260305"
    assert line[90:110] == "100000000009".ljust(20)
    assert line[110:145] == " " * 35  # no first name
    assert line[145:180] == "BIRCH".ljust(35)
    assert line[180:189] == "197512311"  # date of birth, gender M -> 1
    assert line[189:191] == "01"
    assert line[223:238] == "1" + "000007001234" + "03"  # qualifier 1, rx number zero-filled to 12, fill 03
    assert line[238:254] == "20260303" + " " * 8  # date of service, no date written
    assert line[275:290] == "0000002500" + "ML" + "010"
    assert line[292:302] == "000000125}"
    assert line[302:312] == "000000017N"
    assert line[312:322] == "000000000}"  # negative zero patient pay
    assert line[322:332] == " " * 10  # no other payer amount
    assert line[332:342] == "000010177E"
    assert line[342:352] == "000000000E"
    assert line[352:362] == "000000142N"


def test_record_round_trip(post_adjudication: NcpdpLayout) -> None:
    detail = post_adjudication.record(RecordRole.DETAIL)
    values, problems = decode_record(detail, encode_record(detail, VALUES, CONTEXT))
    assert problems == []
    assert values["Record Type"] == "DT"
    assert values["103-A3"] == "B2"
    assert values["202-B2"] == "01"
    for key, value in VALUES.items():
        if key == "member_gender":
            assert values[key] == 1
        elif key in ("rx_number", "fill_number", "days_supply", "compound_code"):
            assert values[key] == int(str(value))
        else:
            assert values[key] == value, key
    assert values["patient_pay_amount"].is_signed()  # type: ignore[union-attr]


def test_encode_record_header_templates(post_adjudication: NcpdpLayout) -> None:
    header = post_adjudication.record(RecordRole.HEADER)
    context = {**CONTEXT, "receiver_id": "RECEIVER", "creation_time": "1030", "file_type": "P"}
    line = encode_record(header, {}, context)
    assert line == (
        "HD" + "SENDER".ljust(24) + "RECEIVER".ljust(24) + "0000042" + "20261123" + "1030" + "P" + "SPPA0001" + " " * 22
    )


def test_encode_record_missing_required_value(post_adjudication: NcpdpLayout) -> None:
    detail = post_adjudication.record(RecordRole.DETAIL)
    with pytest.raises(FieldValueError, match="302-C2 Cardholder ID: a required field has no value"):
        encode_record(detail, {**VALUES, "member_id": None}, CONTEXT)


def test_decode_record_reports_bad_fields(post_adjudication: NcpdpLayout) -> None:
    detail = post_adjudication.record(RecordRole.DETAIL)
    line = encode_record(detail, VALUES, CONTEXT)
    line = line[:238] + "20260231" + line[246:]  # date of service: no 31 February
    line = line[:287] + "01X" + line[290:]  # days supply
    line = line[:352] + "000000142X" + line[362:]  # total amount paid
    values, problems = decode_record(detail, line)
    assert [p.field.id for p in problems] == ["401-D1", "405-D5", "509-F9"]
    assert "date_of_service" not in values and "days_supply" not in values and "total_amount_paid" not in values
    assert values["member_id"] == "100000000009"


def test_decode_record_short_line_is_blank(post_adjudication: NcpdpLayout) -> None:
    trailer = post_adjudication.record(RecordRole.TRAILER)
    values, problems = decode_record(trailer, "TR0000042")
    assert problems == []
    assert values["806-5C"] == 42
    assert values["Record Count (header and trailer included)"] is None
    assert values["509-F9"] is None


# --- D.0 segments -----------------------------------------------------------------------------------------------


def test_separators() -> None:
    assert (SEGMENT_SEP, GROUP_SEP, FIELD_SEP, STX, ETX) == ("\x1e", "\x1d", "\x1c", "\x02", "\x03")


def test_encode_segment(batch_d0: NcpdpLayout) -> None:
    segments = {s.id: s for s in batch_d0.segments}
    assert encode_segment(segments["04"], VALUES, CONTEXT) == "\x1e\x1cAM04\x1cC2100000000009"
    # The first name is blank, so its field is left out; gender goes through the code map.
    assert encode_segment(segments["01"], VALUES, CONTEXT) == "\x1e\x1cAM01\x1cC419751231\x1cC51\x1cCBBIRCH"
    assert encode_segment(segments["11"], VALUES, CONTEXT) == (
        "\x1e\x1cAM11\x1cD9125}\x1cDC17N\x1cDX}\x1cDQ10177E\x1cDUE\x1cN3142N"
    )
    claim = encode_segment(segments["07"], VALUES, CONTEXT)
    assert claim.split(FIELD_SEP) == [
        SEGMENT_SEP,
        "AM07",
        "EM1",
        "D27001234",
        "E103",
        "D700093505601",
        "E72500",
        "D33",
        "D510",
        "D61",
        "D80",
        "28ML",
    ]


def test_encode_segment_missing_required(batch_d0: NcpdpLayout) -> None:
    insurance = batch_d0.segments[0]
    with pytest.raises(FieldValueError, match="302-C2 Cardholder ID: a required field has no value"):
        encode_segment(insurance, {}, CONTEXT)


def test_encode_segment_too_long(batch_d0: NcpdpLayout) -> None:
    insurance = batch_d0.segments[0]
    with pytest.raises(FieldValueError, match="21 characters do not fit 20"):
        encode_segment(insurance, {"member_id": "1" * 21}, CONTEXT)


def test_segments_round_trip(batch_d0: NcpdpLayout) -> None:
    body = "".join(encode_segment(s, VALUES, CONTEXT) for s in batch_d0.segments[:2]) + GROUP_SEP
    body += "".join(encode_segment(s, VALUES, CONTEXT) for s in batch_d0.segments[2:])
    values, seen, problems = decode_segments(batch_d0.segments, body)
    assert seen == ["04", "01", "07", "03", "11"]
    assert problems == []
    expected = {
        "member_id": "100000000009",
        "member_dob": dt.date(1975, 12, 31),
        "member_gender": 1,
        "member_last_name": "BIRCH",
        "455-EM": "1",
        "rx_number": 7001234,
        "436-E1": "03",
        "ndc": "00093505601",
        "quantity_dispensed": Decimal("2.500"),
        "fill_number": 3,
        "days_supply": 10,
        "compound_code": 1,
        "daw_code": "0",
        "quantity_unit": "ML",
        "466-EZ": "01",
        "prescriber_npi": "1245319599",
        "ingredient_cost_paid": Decimal("-12.50"),
        "dispensing_fee_paid": Decimal("-1.75"),
        "patient_pay_amount": Decimal("-0.00"),
        "usual_customary_charge": Decimal("1017.75"),
        "gross_amount_due": Decimal("0.05"),
        "total_amount_paid": Decimal("-14.25"),
    }
    assert values == expected
    assert values["patient_pay_amount"].is_signed()  # type: ignore[union-attr]


def test_decode_segments_ignores_unknown_and_reports_bad(batch_d0: NcpdpLayout) -> None:
    text = (
        "\x1e\x1cAM04\x1cC2X123\x1cZZignored"
        "\x1e\x1cAM99\x1cC2other"
        "\x1e\x1cXX01\x1cC2junk"
        "\x1d\x1e\x1cAM11\x1cD9ABC\x1cN3100{"
        "\x1e\x1cAM01\x1cC420260231\x1cCBBIRCH"
        "\x1e\x1e"
    )
    values, seen, problems = decode_segments(batch_d0.segments, text)
    assert seen == ["04", "99", "??", "11", "01"]
    assert values == {"member_id": "X123", "total_amount_paid": Decimal("10.00"), "member_last_name": "BIRCH"}
    assert [p.field.id for p in problems] == ["409-D9", "304-C4"]
    assert all(isinstance(p, FieldValueError) for p in problems)
    assert "not a signed overpunch amount" in str(problems[0])
    assert "not a real date" in str(problems[1])


def test_decode_segments_empty() -> None:
    seg = SegmentLayout("04", "Insurance", "transaction", (fld(AN, code="C2", field="member_id"),))
    assert decode_segments((seg,), "") == ({}, [], [])
    assert decode_segments((seg,), "\x1e\x1cAM04") == ({}, ["04"], [])
