from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from sendpro.errors import LayoutError
from sendpro.flatfile.picture import (
    OVERPUNCH_NEGATIVE,
    OVERPUNCH_POSITIVE,
    Picture,
    SignMode,
    decode_expr,
    decode_number,
    encode_number,
    misplaced_blank_expr,
    parse_picture,
)

SIGN_MODES = [m.value for m in SignMode]


def _decode(values: list[str | None], pic: Picture) -> list[str | None]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(decode_expr(pl.col("v"), pic).alias("d"))["d"].to_list()


# -- parse_picture ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "alnum", "digits", "decimals", "width"),
    [
        ("X(20)", True, 20, 0, 20),
        ("X", True, 1, 0, 1),
        ("XXX", True, 3, 0, 3),
        ("9(8)", False, 8, 0, 8),
        ("999", False, 3, 0, 3),
        ("9(7)V99", False, 7, 2, 9),
        ("9(5)V9(3)", False, 5, 3, 8),
        ("9(4)V999", False, 4, 3, 7),
        ("9(5) V99", False, 5, 2, 7),
        ("x(4)", True, 4, 0, 4),
    ],
)
def test_parse_unsigned_pictures(text: str, alnum: bool, digits: int, decimals: int, width: int) -> None:
    pic = parse_picture(text)
    assert pic.text == text
    assert pic.alphanumeric is alnum
    assert pic.numeric is not alnum
    assert (pic.digits, pic.decimals, pic.width) == (digits, decimals, width)
    assert pic.signed is False
    assert pic.sign_mode is None


@pytest.mark.parametrize(
    ("sign", "mode", "width"),
    [
        (None, SignMode.TRAILING_OVERPUNCH, 9),
        ("trailing-overpunch", SignMode.TRAILING_OVERPUNCH, 9),
        ("leading-separate", SignMode.LEADING_SEPARATE, 10),
        ("trailing-separate", SignMode.TRAILING_SEPARATE, 10),
    ],
)
def test_parse_signed_picture_each_sign_mode(sign: str | None, mode: SignMode, width: int) -> None:
    pic = parse_picture("S9(7)V99", sign)
    assert pic.signed is True
    assert pic.sign_mode is mode
    assert (pic.digits, pic.decimals) == (7, 2)
    assert pic.width == width


def test_lowercase_signed_picture() -> None:
    pic = parse_picture("s9(3)v9(2)", "leading-separate")
    assert (pic.signed, pic.digits, pic.decimals, pic.width) == (True, 3, 2, 6)


@pytest.mark.parametrize("text", ["Z(5)", "9(5)V", "9(", "(5)", "", "9(5)V99X", "S", "V99", "9(5)VX(2)"])
def test_parse_malformed_picture(text: str) -> None:
    with pytest.raises(LayoutError, match="is not of the form X\\(n\\), 9\\(n\\), 9\\(n\\)V99 or S9\\(n\\)V99"):
        parse_picture(text)


@pytest.mark.parametrize("text", ["SX(5)", "X(5)V99", "SX"])
def test_text_picture_cannot_be_signed_or_decimal(text: str) -> None:
    with pytest.raises(LayoutError, match=r"a text \(X\) picture cannot be signed or have decimals"):
        parse_picture(text)


def test_sign_on_unsigned_picture() -> None:
    with pytest.raises(
        LayoutError, match=r"picture '9\(7\)V99' is unsigned but the field declares sign = 'leading-separate'"
    ):
        parse_picture("9(7)V99", "leading-separate")


def test_unknown_sign_mode() -> None:
    with pytest.raises(LayoutError) as info:
        parse_picture("S9(5)", "left")
    msg = str(info.value)
    assert "sign 'left' is not one of" in msg
    for mode in SIGN_MODES:
        assert mode in msg


def test_layout_error_code() -> None:
    with pytest.raises(LayoutError) as info:
        parse_picture("bad")
    assert info.value.code == "SP002"


# -- encode_number / decode_number ------------------------------------------------------


@pytest.mark.parametrize("decimals", [0, 2, 4])
@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("negative", [False, True])
def test_overpunch_every_last_digit_round_trip(decimals: int, digit: int, negative: bool) -> None:
    text = "S9(5)" + (f"V9({decimals})" if decimals else "")
    pic = parse_picture(text)
    value = Decimal(1230 + digit).scaleb(-decimals)
    if negative:
        value = -value
    encoded = encode_number(value, pic)
    assert len(encoded) == pic.width == 5 + decimals
    table = OVERPUNCH_NEGATIVE if negative else OVERPUNCH_POSITIVE
    assert encoded[-1] == table[digit]
    assert encoded[:-1] == "123".rjust(5 + decimals - 1, "0")
    decoded = decode_number(encoded, pic)
    assert decoded == value
    assert decoded < 0 if negative else decoded > 0


@pytest.mark.parametrize("decimals", [0, 2, 4])
@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("negative", [False, True])
@pytest.mark.parametrize("mode", ["leading-separate", "trailing-separate"])
def test_separate_sign_every_last_digit_round_trip(decimals: int, digit: int, negative: bool, mode: str) -> None:
    text = "S9(5)" + (f"V9({decimals})" if decimals else "")
    pic = parse_picture(text, mode)
    value = Decimal(1230 + digit).scaleb(-decimals)
    if negative:
        value = -value
    encoded = encode_number(value, pic)
    assert len(encoded) == pic.width == 6 + decimals
    sign = "-" if negative else "+"
    body = f"123{digit}".rjust(5 + decimals, "0")
    assert encoded == (sign + body if mode == "leading-separate" else body + sign)
    assert decode_number(encoded, pic) == value


@pytest.mark.parametrize(
    ("value", "sign", "expected"),
    [
        (Decimal("12.34"), None, "000123D"),
        (Decimal("-12.34"), None, "000123M"),
        (Decimal("12.30"), None, "000123{"),
        (Decimal("-12.30"), None, "000123}"),
        (Decimal("12.34"), "leading-separate", "+0001234"),
        (Decimal("-12.34"), "leading-separate", "-0001234"),
        (Decimal("12.34"), "trailing-separate", "0001234+"),
        (Decimal("-12.34"), "trailing-separate", "0001234-"),
        (5, None, "000050{"),
    ],
)
def test_encode_signed_exact(value: Decimal | int, sign: str | None, expected: str) -> None:
    assert encode_number(value, parse_picture("S9(5)V99", sign)) == expected


@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        (Decimal("12.5"), "9(5)V99", "0001250"),
        (7, "9(9)", "000000007"),
        (Decimal("0.0001"), "9(2)V9(4)", "000001"),
        (Decimal("99999.99"), "9(5)V99", "9999999"),
    ],
)
def test_encode_unsigned_exact(value: Decimal | int, text: str, expected: str) -> None:
    pic = parse_picture(text)
    assert encode_number(value, pic) == expected
    assert decode_number(expected, pic) == Decimal(value)


@pytest.mark.parametrize("sign", [None, "leading-separate", "trailing-separate"])
def test_zero_and_negative_zero(sign: str | None) -> None:
    pic = parse_picture("S9(3)V99", sign)
    positive_zero = {None: "0000{", "leading-separate": "+00000", "trailing-separate": "00000+"}[sign]
    assert encode_number(Decimal("0"), pic) == positive_zero
    # -0 has no sign of its own: it encodes as positive zero.
    assert encode_number(Decimal("-0.00"), pic) == positive_zero
    assert decode_number(positive_zero, pic) == 0
    negative_zero = {None: "0000}", "leading-separate": "-00000", "trailing-separate": "00000-"}[sign]
    assert decode_number(negative_zero, pic) == 0


def test_decode_blank_separate_sign_is_positive() -> None:
    assert decode_number(" 01234", parse_picture("S9(3)V99", "leading-separate")) == Decimal("12.34")
    assert decode_number("01234 ", parse_picture("S9(3)V99", "trailing-separate")) == Decimal("12.34")


def test_decode_overpunch_picture_accepts_plain_last_digit() -> None:
    assert decode_number("0001234", parse_picture("S9(5)V99")) == Decimal("12.34")


@pytest.mark.parametrize(
    ("value", "text", "sign", "match"),
    [
        (Decimal("100000.00"), "S9(5)V99", None, "does not fit picture"),
        (Decimal("-100000"), "S9(5)", "leading-separate", "does not fit picture"),
        (1000, "9(3)", None, "does not fit picture"),
        (Decimal("1.234"), "9(5)V99", None, "more decimals than picture"),
        (Decimal("0.5"), "9(5)", None, "more decimals than picture"),
        (Decimal("-1.00"), "9(5)V99", None, "is negative but picture 9\\(5\\)V99 is unsigned"),
        (1, "X(5)", None, "cannot encode a number into text picture"),
    ],
)
def test_encode_value_that_does_not_fit(value: Decimal | int, text: str, sign: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_number(value, parse_picture(text, sign))


@pytest.mark.parametrize(
    ("text", "picture", "sign"),
    [
        ("000123", "S9(5)V99", None),  # one position short
        ("00001234", "9(5)V99", None),  # one position long
        ("0001A34", "9(5)V99", None),  # a letter inside
        ("", "S9(5)V99", None),
        ("", "S9(5)V99", "leading-separate"),
        ("", "S9(5)V99", "trailing-separate"),
        ("*0001234", "S9(5)V99", "leading-separate"),
        ("0001234*", "S9(5)V99", "trailing-separate"),
        ("000123Z", "S9(5)V99", None),
        ("-0001234", "9(5)V99", None),
    ],
)
def test_decode_text_that_does_not_fit(text: str, picture: str, sign: str | None) -> None:
    with pytest.raises(ValueError, match="does not fit picture"):
        decode_number(text, parse_picture(picture, sign))


def test_decode_text_picture_is_an_error() -> None:
    with pytest.raises(ValueError, match="is not numeric"):
        decode_number("ABC", parse_picture("X(3)"))


# -- decode_expr -------------------------------------------------------------------------


def test_decode_expr_trailing_overpunch() -> None:
    pic = parse_picture("S9(5)V99")
    values = ["000120{", "000120}", "000123D", "000123M", "0001234", "001500{", "000000{", "999999I", "000001R"]
    assert _decode(values, pic) == [
        "12.00",
        "-12.00",
        "12.34",
        "-12.34",
        "12.34",
        "150.00",
        "0.00",
        "99999.99",
        "-0.19",
    ]


def test_decode_expr_invalid_passes_through_unchanged() -> None:
    pic = parse_picture("S9(5)V99")
    values = ["abc", "00012.3", "000123Z", "00A123{", "+000123", None]
    assert _decode(values, pic) == ["abc", "00012.3", "000123Z", "00A123{", "+000123", None]


def test_decode_expr_separate_signs() -> None:
    lead = parse_picture("S9(5)V99", "leading-separate")
    assert _decode(["+0001250", "-0001250", "0001250", "-0000005", "-00X1250"], lead) == [
        "12.50",
        "-12.50",
        "12.50",
        "-0.05",
        "-00X1250",
    ]
    trail = parse_picture("S9(5)V99", "trailing-separate")
    assert _decode(["0001250+", "0001250-", "0001250", "0000005-", "12x50-"], trail) == [
        "12.50",
        "-12.50",
        "12.50",
        "-0.05",
        "12x50-",
    ]


def test_decode_expr_unsigned_implied_decimals() -> None:
    pic = parse_picture("9(5)V99")
    values = ["0001250", "0000000", "1250", "9999999", "100", "12.50", "-0001250"]
    # A sign where the picture has none: kept from reading as -1250 (a trailing blank fails the amount rules).
    assert _decode(values, pic) == ["12.50", "0.00", "12.50", "99999.99", "1.00", "12.50", "-0001250 "]


def test_decode_expr_three_decimals() -> None:
    pic = parse_picture("9(4)V999")
    assert _decode(["0001000", "0012500", "0000001"], pic) == ["1.000", "12.500", "0.001"]


def test_decode_expr_signed_integer_strips_leading_zeros() -> None:
    pic = parse_picture("S9(5)")
    assert _decode(["0001{", "0001}", "00000", "0000J", "12345"], pic) == ["10", "-10", "0", "-1", "12345"]
    lead = parse_picture("S9(10)", "leading-separate")
    assert _decode(["+0000000042", "-0000000042"], lead) == ["42", "-42"]


def test_decode_expr_text_and_unsigned_integer_pass_through() -> None:
    assert _decode(["0001", "ABC", "  x "], parse_picture("X(4)")) == ["0001", "ABC", "  x "]
    # Unsigned integers are not touched: leading zeros stay.
    assert _decode(["0001", "12a"], parse_picture("9(4)")) == ["0001", "12a"]


def test_decode_expr_negative_zero_overpunch() -> None:
    # A negative zero is zero: no minus sign in the canonical text.
    assert _decode(["000000}"], parse_picture("S9(5)V99")) == ["0.00"]


def test_decode_expr_value_longer_than_picture_passes_through() -> None:
    # Bare digits too long for the picture would read as 123456789.00: they get a trailing blank.
    assert _decode(["0000012{", "123456789"], parse_picture("S9(5)V99")) == ["0000012{", "123456789 "]


def test_decode_expr_bare_digits_that_do_not_fit_are_no_amount() -> None:
    # Found by the fuzz run: "-0000000001" in a trailing-overpunch S9(9)V99 field was
    # read as -1.00 (the report counted it; the picture has no leading sign).
    from sendpro.model.typing import control_cents_expr

    decoded = _decode(["-0000000001", "0000000100", "000000010{"], parse_picture("S9(9)V99"))
    assert decoded == ["-0000000001 ", "1.00", "1.00"]
    cents = pl.DataFrame({"v": decoded}).select(control_cents_expr(pl.col("v")).alias("c"))["c"].to_list()
    assert cents == [None, 100, 100]


def test_decode_expr_short_value_keeps_implied_decimals() -> None:
    assert _decode(["12", "5"], parse_picture("9(5)V99")) == ["0.12", "0.05"]


# -- misplaced_blank_expr ---------------------------------------------------------------------


def _misplaced(values: list[str], pic: Picture) -> list[bool]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(misplaced_blank_expr(pl.col("v"), pic).alias("m"))["m"].to_list()


@pytest.mark.parametrize(
    ("picture", "sign", "value", "misplaced"),
    [
        # A blank where the overpunch digit belongs: stripped and zero-padded it would read 36.00.
        ("S9(8)V99", None, "000003600 ", True),
        ("S9(8)V99", None, "0000 3600{", True),
        ("S9(8)V99", None, "000003600{", False),
        # Leading blanks are right-justified digits.
        ("S9(8)V99", None, "    03600{", False),
        ("S9(8)V99", None, "        12", False),
        # All blank: the field is absent, not misplaced.
        ("S9(8)V99", None, "          ", False),
        ("S9(8)V99", None, "", False),
        # Cut short by the end of the record.
        ("S9(8)V99", None, "00000", True),
        ("9(7)V99", None, "00000360 ", True),
        ("9(4)", None, "12  ", True),
        ("9(4)", None, "1 2 ", True),
        ("9(4)", None, "  12", False),
        ("9(8)", None, "2026021 ", True),
        # A blank separate sign means positive; a blank among the digits does not.
        ("S9(8)V99", "trailing-separate", "0000036000 ", False),
        ("S9(8)V99", "trailing-separate", "000003600 +", True),
        ("S9(8)V99", "leading-separate", " 0000036000", False),
        ("S9(8)V99", "leading-separate", "     -36000", False),
        ("S9(8)V99", "leading-separate", "-  00036000", True),
        ("S9(8)V99", "leading-separate", "-00036000  ", True),
    ],
)
def test_misplaced_blank(picture: str, sign: str | None, value: str, misplaced: bool) -> None:
    assert _misplaced([value], parse_picture(picture, sign)) == [misplaced]


def test_text_picture_has_no_misplaced_blank() -> None:
    assert _misplaced(["AB  CD", "  ", "A "], parse_picture("X(6)")) == [False, False, False]
