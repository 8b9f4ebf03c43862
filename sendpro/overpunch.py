"""Signed overpunch: the sign of a zoned-decimal number carried in its last character.

Medicaid flat files and NCPDP fields write signed amounts as zero-filled digits
whose last digit is replaced by a letter: ``{`` and ``A``-``I`` for +0..+9, ``}``
and ``J``-``R`` for -0..-9. With two implied decimals ``0000253G`` is +25.37 and
``0000253P`` is -25.37. A plain last digit is unsigned and read as positive.

Negative zero (``}``) exists in real files; :func:`decode` keeps it as
``Decimal("-0.00")`` and :func:`encode` writes it back, so a value survives a
round trip unchanged.
"""

from __future__ import annotations

from decimal import Decimal

POSITIVE = "{ABCDEFGHI"
NEGATIVE = "}JKLMNOPQR"
_SIGNED = {c: (i, False) for i, c in enumerate(POSITIVE)} | {c: (i, True) for i, c in enumerate(NEGATIVE)}


def encode(value: Decimal | int | str, width: int, decimals: int = 2) -> str:
    """Encode ``value`` into ``width`` characters with ``decimals`` implied decimals.

    Raises:
        ValueError: the value has more decimals than allowed or does not fit.
    """
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{value} is not a finite number")
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {decimals} decimals")
    digits = str(abs(int(scaled))).rjust(width, "0")
    if len(digits) > width:
        raise ValueError(f"{value} does not fit {width} characters")
    table = NEGATIVE if number.is_signed() else POSITIVE
    return digits[:-1] + table[int(digits[-1])]


def decode(text: str, decimals: int = 2) -> Decimal:
    """Decode an overpunched (or plain) zoned-decimal field.

    Raises:
        ValueError: the text is empty, holds a non-digit before the last
            character, or its last character is neither a digit nor an overpunch.
    """
    if not text:
        raise ValueError("an empty field is not a number")
    body, last = text[:-1], text[-1]
    # ASCII digits only: str.isdigit() also accepts digits of other scripts.
    if body and not all("0" <= c <= "9" for c in body):
        raise ValueError(f"{text!r} is not a zoned-decimal number")
    if "0" <= last <= "9":
        digit, negative = int(last), False
    elif last in _SIGNED:
        digit, negative = _SIGNED[last]
    else:
        raise ValueError(f"{text!r} does not end in a digit or an overpunch character")
    magnitude = Decimal(int(body + str(digit))).scaleb(-decimals)
    # copy_negate, not unary minus: -Decimal("0.00") would lose the sign of a negative zero.
    return magnitude.copy_negate() if negative else magnitude


def is_valid(text: str) -> bool:
    """Return True when ``text`` decodes as an overpunched number."""
    try:
        decode(text)
    except ValueError:
        return False
    return True
