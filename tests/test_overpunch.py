"""The signed overpunch codec: the exact table, round trips, negative zero, published samples, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sendpro import overpunch

# The table written out by hand (not read from the module), so a change to it fails here.
POSITIVE_TABLE = {"{": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8, "I": 9}
NEGATIVE_TABLE = {"}": 0, "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "O": 6, "P": 7, "Q": 8, "R": 9}
POSITIVE_BY_DIGIT = {d: c for c, d in POSITIVE_TABLE.items()}
NEGATIVE_BY_DIGIT = {d: c for c, d in NEGATIVE_TABLE.items()}


def test_module_tables_are_the_standard_ones() -> None:
    assert overpunch.POSITIVE == "{ABCDEFGHI"
    assert overpunch.NEGATIVE == "}JKLMNOPQR"


@pytest.mark.parametrize("char,digit", sorted(POSITIVE_TABLE.items()))
def test_positive_overpunch_characters(char: str, digit: int) -> None:
    assert overpunch.decode("0" + char, 0) == Decimal(digit)
    assert overpunch.decode("12" + char, 2) == Decimal(f"1.2{digit}")
    assert not overpunch.decode("12" + char, 2).is_signed()


@pytest.mark.parametrize("char,digit", sorted(NEGATIVE_TABLE.items()))
def test_negative_overpunch_characters(char: str, digit: int) -> None:
    assert overpunch.decode("0" + char, 0) == Decimal(-digit)
    assert overpunch.decode("12" + char, 2) == Decimal(f"-1.2{digit}")
    assert overpunch.decode("12" + char, 2).is_signed()


@pytest.mark.parametrize("decimals", [0, 2, 4])
@pytest.mark.parametrize("negative", [False, True], ids=["pos", "neg"])
@pytest.mark.parametrize("last", range(10))
def test_encode_decode_round_trip_every_last_digit(last: int, negative: bool, decimals: int) -> None:
    magnitude = 40_310 + last  # digits 4031<last>
    value = Decimal(-magnitude if negative else magnitude).scaleb(-decimals)
    table = NEGATIVE_BY_DIGIT if negative else POSITIVE_BY_DIGIT
    expected = f"{magnitude:08d}"[:-1] + table[last]

    text = overpunch.encode(value, 8, decimals)

    assert text == expected
    assert len(text) == 8
    back = overpunch.decode(text, decimals)
    assert back == value
    assert back.is_signed() is negative
    assert back.as_tuple().exponent == -decimals


@pytest.mark.parametrize("decimals", [0, 2, 4])
@pytest.mark.parametrize("last", range(10))
def test_plain_last_digit_is_unsigned_positive(last: int, decimals: int) -> None:
    value = overpunch.decode(f"0123{last}", decimals)
    assert value == Decimal(1230 + last).scaleb(-decimals)
    assert not value.is_signed()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("253G", Decimal("25.37")),
        ("0000253G", Decimal("25.37")),
        ("0000253P", Decimal("-25.37")),
        ("0000000{", Decimal("0.00")),
        ("10177E", Decimal("1017.75")),
        ("5", Decimal("0.05")),
        ("{", Decimal("0.00")),
        ("0", Decimal("0.00")),
        ("J", Decimal("-0.01")),
        ("9999999I", Decimal("999999.99")),
        ("9999999R", Decimal("-999999.99")),
    ],
)
def test_published_samples_decode(text: str, expected: Decimal) -> None:
    value = overpunch.decode(text)
    assert value == expected
    assert value.as_tuple().exponent == -2
    assert value.is_signed() is expected.is_signed()


@pytest.mark.parametrize(
    "value,width,expected",
    [
        (Decimal("25.37"), 4, "253G"),
        (Decimal("25.37"), 8, "0000253G"),
        (Decimal("-25.37"), 8, "0000253P"),
        (Decimal("0.00"), 8, "0000000{"),
        (Decimal("0"), 1, "{"),
        (Decimal("1017.75"), 6, "10177E"),
        (Decimal("0.05"), 1, "E"),
        (Decimal("-0.01"), 3, "00J"),
        (Decimal("999999.99"), 8, "9999999I"),
        (Decimal("13.2"), 6, "00132{"),
        (Decimal("1E+1"), 5, "0100{"),
    ],
)
def test_encode_samples(value: Decimal, width: int, expected: str) -> None:
    assert overpunch.encode(value, width, 2) == expected


def test_encode_accepts_int_and_str() -> None:
    assert overpunch.encode(5, 3, 0) == "00E"
    assert overpunch.encode(-5, 3, 0) == "00N"
    assert overpunch.encode("-25.37", 8, 2) == "0000253P"
    assert overpunch.encode("25.37", 8) == "0000253G"  # two implied decimals by default


def test_decode_default_is_two_decimals() -> None:
    assert overpunch.decode("253G") == Decimal("25.37")
    assert overpunch.decode("253G", 0) == Decimal("2537")
    assert overpunch.decode("253G", 4) == Decimal("0.2537")


def test_negative_zero_decodes_signed() -> None:
    value = overpunch.decode("0000000}")
    assert value == Decimal("-0.00")
    assert value.is_signed()
    assert str(value) == "-0.00"
    assert overpunch.decode("}", 0).is_signed()
    assert str(overpunch.decode("}", 4)) == "-0.0000"


def test_positive_zero_is_not_signed() -> None:
    assert not overpunch.decode("0000000{").is_signed()
    assert not overpunch.decode("00000000").is_signed()


def test_negative_zero_encodes_with_close_brace() -> None:
    assert overpunch.encode(Decimal("-0.00"), 8, 2) == "0000000}"
    assert overpunch.encode(Decimal("-0"), 1, 0) == "}"
    assert overpunch.encode(Decimal("0.00"), 8, 2) == "0000000{"


@pytest.mark.parametrize("decimals", [0, 2, 4])
def test_negative_zero_round_trip_keeps_sign(decimals: int) -> None:
    text = overpunch.encode(Decimal("-0").scaleb(-decimals), 6, decimals)
    assert text == "00000}"
    back = overpunch.decode(text, decimals)
    assert back.is_signed()
    assert overpunch.encode(back, 6, decimals) == "00000}"


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("12a4", "not a zoned-decimal"),
        ("1 24", "not a zoned-decimal"),
        (" 124", "not a zoned-decimal"),
        ("-124", "not a zoned-decimal"),
        ("1.24", "not a zoned-decimal"),
        ("A24", "not a zoned-decimal"),  # an overpunch character is only allowed last
        ("123X", "does not end in a digit or an overpunch"),
        ("123-", "does not end in a digit or an overpunch"),
        ("123 ", "does not end in a digit or an overpunch"),
        ("12a", "does not end in a digit or an overpunch"),  # lower case is not an overpunch
        ("S", "does not end in a digit or an overpunch"),
    ],
)
def test_decode_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        overpunch.decode(text)


@pytest.mark.parametrize(
    "value,width,decimals,message",
    [
        (Decimal("1.234"), 8, 2, "more than 2 decimals"),
        (Decimal("0.5"), 4, 0, "more than 0 decimals"),
        (Decimal("-0.00001"), 8, 4, "more than 4 decimals"),
        (Decimal("123456.78"), 7, 2, "does not fit 7 characters"),
        (Decimal("-123456.78"), 7, 2, "does not fit 7 characters"),
        (Decimal("10"), 1, 0, "does not fit 1 characters"),
        (Decimal("0"), 0, 0, "does not fit 0 characters"),
    ],
)
def test_encode_errors(value: Decimal, width: int, decimals: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        overpunch.encode(value, width, decimals)


def test_encode_exact_fit() -> None:
    assert overpunch.encode(Decimal("12345.67"), 7, 2) == "123456G"
    assert overpunch.encode(Decimal("-12345.67"), 7, 2) == "123456P"


@pytest.mark.parametrize("text", ["0000253G", "0000253P", "0000000}", "5", "{", "R", "0123456789"])
def test_is_valid_true(text: str) -> None:
    assert overpunch.is_valid(text) is True


@pytest.mark.parametrize("text", ["", "12a4", "123X", " 12", "12 ", "-12", "1.5", "S"])
def test_is_valid_false(text: str) -> None:
    assert overpunch.is_valid(text) is False
