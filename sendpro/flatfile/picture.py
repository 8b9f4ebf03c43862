"""COBOL-style field pictures and the polars expressions that decode them.

Medicaid flat-file layouts describe fields as ``X(20)`` text, ``9(8)`` digits,
``9(7)V99`` implied decimals or ``S9(7)V99`` signed amounts. The reader decodes
every value into sendpro's *canonical text* (``"150.00"``, ``"-5.25"``,
``"20240131"``) so one typing stage serves every encoding. A value that does not
fit its picture is passed through unchanged, so the format rules report it
against the field rather than the reader swallowing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import polars as pl

from sendpro import overpunch
from sendpro.errors import LayoutError

# Trailing overpunch: the last digit carries the sign (see sendpro.overpunch).
OVERPUNCH_POSITIVE = overpunch.POSITIVE
OVERPUNCH_NEGATIVE = overpunch.NEGATIVE

_PICTURE_RE = re.compile(
    r"^(?P<sign>S)?(?P<kind>[X9])(?:\((?P<n>\d+)\)|(?P<rep>[X9]*))"
    r"(?:V(?:9\((?P<dn>\d+)\)|(?P<drep>9+)))?$"
)


class SignMode(StrEnum):
    """Where the sign of a signed (``S``) numeric picture is."""

    TRAILING_OVERPUNCH = "trailing-overpunch"
    LEADING_SEPARATE = "leading-separate"
    TRAILING_SEPARATE = "trailing-separate"


@dataclass(frozen=True, slots=True)
class Picture:
    """A parsed picture such as ``S9(7)V99``.

    Attributes:
        text: the picture as written.
        alphanumeric: ``X`` pictures.
        digits: number of digit (or character) positions before the implied point.
        decimals: number of implied decimal places (after ``V``).
        signed: the picture starts with ``S``.
        sign_mode: where the sign is kept (only for signed pictures).
    """

    text: str
    alphanumeric: bool
    digits: int
    decimals: int
    signed: bool
    sign_mode: SignMode | None

    @property
    def width(self) -> int:
        """Return the number of characters the picture occupies in a record."""
        separate = self.sign_mode in (SignMode.LEADING_SEPARATE, SignMode.TRAILING_SEPARATE)
        return self.digits + self.decimals + (1 if separate else 0)

    @property
    def numeric(self) -> bool:
        """Return True for ``9`` pictures."""
        return not self.alphanumeric


def parse_picture(text: str, sign: str | None = None) -> Picture:
    """Parse a picture string; ``sign`` names the sign mode of ``S`` pictures.

    Raises:
        LayoutError: the picture is malformed or a sign mode is given for an unsigned picture.
    """
    m = _PICTURE_RE.match(text.replace(" ", "").upper())
    if not m:
        raise LayoutError(f"picture {text!r} is not of the form X(n), 9(n), 9(n)V99 or S9(n)V99")
    kind = m.group("kind")
    digits = int(m.group("n")) if m.group("n") else 1 + len(m.group("rep") or "")
    if m.group("dn"):
        decimals = int(m.group("dn"))
    else:
        decimals = len(m.group("drep") or "")
    signed = m.group("sign") is not None
    if kind == "X" and (signed or decimals):
        raise LayoutError(f"picture {text!r}: a text (X) picture cannot be signed or have decimals")
    mode: SignMode | None = None
    if signed:
        try:
            mode = SignMode(sign) if sign else SignMode.TRAILING_OVERPUNCH
        except ValueError:
            allowed = ", ".join(m.value for m in SignMode)
            raise LayoutError(f"picture {text!r}: sign {sign!r} is not one of {allowed}") from None
    elif sign:
        raise LayoutError(f"picture {text!r} is unsigned but the field declares sign = {sign!r}")
    return Picture(text, kind == "X", digits, decimals, signed, mode)


def decode_expr(raw: pl.Expr, pic: Picture) -> pl.Expr:
    """Return an expression turning a raw (stripped, non-empty) value into canonical text.

    Text pictures and unsigned integers pass through. Implied decimals and signs
    become an explicit ``-123.45``. Values that do not fit the picture pass
    through unchanged (the format rules then report them; bare digits that would
    read as a whole number get a trailing blank so they cannot). A short value is
    left-padded with zeros, so a fixed-width value must first pass
    :func:`misplaced_blank_expr`: stripping ``000003600 `` would move its digits.
    """
    if pic.alphanumeric or (not pic.signed and pic.decimals == 0):
        return raw
    body = raw
    negative: pl.Expr = pl.lit(False)
    if pic.sign_mode is SignMode.TRAILING_OVERPUNCH:
        last = raw.str.slice(-1, 1)
        mapping = {c: str(i) for i, c in enumerate(OVERPUNCH_POSITIVE)}
        mapping.update({c: str(i) for i, c in enumerate(OVERPUNCH_NEGATIVE)})
        mapping.update({str(i): str(i) for i in range(10)})
        digit = last.replace_strict(mapping, default=None, return_dtype=pl.String)
        negative = last.is_in(list(OVERPUNCH_NEGATIVE))
        body = pl.concat_str([raw.str.slice(0, raw.str.len_chars() - 1), digit])
    elif pic.sign_mode is SignMode.LEADING_SEPARATE:
        negative = raw.str.starts_with("-")
        body = raw.str.strip_chars_start("+- ")
    elif pic.sign_mode is SignMode.TRAILING_SEPARATE:
        negative = raw.str.ends_with("-")
        body = raw.str.strip_chars_end("+- ")
    width = pic.digits + pic.decimals
    # A value too long for its picture is not this field's value: pass it through.
    ok = body.str.contains(r"^[0-9]+$") & (body.str.len_chars() <= width)
    # Fixed-width fields arrive stripped ("        12" -> "12"): restore the
    # leading zeros so the implied decimals stay where the picture puts them.
    body = body.str.pad_start(width, "0")
    if pic.decimals:
        int_part = body.str.slice(0, pic.digits).str.strip_chars_start("0")
        int_text = pl.when(int_part == "").then(pl.lit("0")).otherwise(int_part)
        frac = body.str.slice(pic.digits, pic.decimals)
        magnitude = pl.concat_str([int_text, pl.lit("."), frac])
    else:
        stripped = body.str.strip_chars_start("0")
        magnitude = pl.when(stripped == "").then(pl.lit("0")).otherwise(stripped)
    # No sign on zero: a negative zero is zero (X12 and NCPDP carry no "-0").
    negative = negative & body.str.contains(r"[1-9]")
    signed_text = pl.when(negative).then(pl.concat_str([pl.lit("-"), magnitude])).otherwise(magnitude)
    # A value of bare digits that does not fit ("-0000000001" in a trailing overpunch
    # field, nine digits in S9(5)V99) must not pass as that whole number: its implied
    # decimals would be lost (read 100 times too large) or its sign taken from a place
    # the picture has none. A trailing blank keeps the raw text visible and fails every
    # amount rule, as a misplaced blank does (:func:`misplaced_blank_expr`). A value with
    # its decimal point written ("12.50") says what it means and passes through.
    misfit = pl.when(raw.str.contains(r"^-?[0-9]+$")).then(pl.concat_str([raw, pl.lit(" ")])).otherwise(raw)
    return pl.when(ok).then(signed_text).otherwise(misfit)


def misplaced_blank_expr(raw: pl.Expr, pic: Picture) -> pl.Expr:
    """Return True where an *unstripped* fixed-width value of a numeric picture holds a misplaced blank.

    Leading blanks are right-justified digits and read as leading zeros, and an
    all-blank field is absent (null); but a blank after the first non-blank
    character (``000003600 `` where the overpunch digit belongs, ``00 12``) or a
    value cut short by the end of the record cannot be read without guessing
    where the digits belong, so :func:`decode_expr` must not re-align it. The
    one blank a picture may end with is a separate trailing sign (blank means
    positive). Text pictures never have a misplaced blank.
    """
    if pic.alphanumeric:
        return raw.is_null() & pl.lit(False)  # False on every row (null & False is False)
    digits = raw.str.slice(0, pic.width - 1) if pic.sign_mode is SignMode.TRAILING_SEPARATE else raw
    # A blank after a non-blank character; or a value cut short that is not all
    # blank (bytes, not characters: cheaper, and a value with a multi-byte character is no number anyway).
    short = (raw.str.len_bytes() < pic.width) & (raw.str.strip_chars().str.len_bytes() > 0)
    return digits.str.contains(r"\S\s") | short


def encode_number(value: Decimal | int, pic: Picture) -> str:
    """Encode a number into ``pic`` (used for trailer records sendpro writes).

    Raises:
        ValueError: the value does not fit the picture.
    """
    if pic.alphanumeric:
        raise ValueError(f"cannot encode a number into text picture {pic.text}")
    scaled = Decimal(value) * (Decimal(10) ** pic.decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more decimals than picture {pic.text} allows")
    number = int(scaled)
    negative = number < 0
    if negative and not pic.signed:
        raise ValueError(f"{value} is negative but picture {pic.text} is unsigned")
    digits = str(abs(number)).rjust(pic.digits + pic.decimals, "0")
    if len(digits) > pic.digits + pic.decimals:
        raise ValueError(f"{value} does not fit picture {pic.text}")
    if pic.sign_mode is SignMode.TRAILING_OVERPUNCH:
        # Zero is written unsigned in files sendpro makes (a trailer total of -0 is 0).
        return overpunch.encode(Decimal(number).scaleb(-pic.decimals) if number else 0, len(digits), pic.decimals)
    if pic.sign_mode is SignMode.LEADING_SEPARATE:
        return ("-" if negative else "+") + digits
    if pic.sign_mode is SignMode.TRAILING_SEPARATE:
        return digits + ("-" if negative else "+")
    return digits


def decode_number(text: str, pic: Picture) -> Decimal:
    """Decode a numeric field (the inverse of :func:`encode_number`).

    Raises:
        ValueError: the text does not fit the picture.
    """
    if pic.alphanumeric:
        raise ValueError(f"picture {pic.text} is not numeric")
    body = text
    negative = False
    if pic.sign_mode is SignMode.TRAILING_OVERPUNCH and text:
        if len(text) != pic.digits + pic.decimals or not overpunch.is_valid(text):
            raise ValueError(f"{text!r} does not fit picture {pic.text}")
        return overpunch.decode(text, pic.decimals)
    if pic.sign_mode is SignMode.LEADING_SEPARATE and text[:1] in ("+", "-", " "):
        negative, body = text[0] == "-", text[1:]
    elif pic.sign_mode is SignMode.TRAILING_SEPARATE and text[-1:] in ("+", "-", " "):
        negative, body = text[-1] == "-", text[:-1]
    if not body.isdigit() or len(body) != pic.digits + pic.decimals:
        raise ValueError(f"{text!r} does not fit picture {pic.text}")
    value = Decimal(int(body)) / (Decimal(10) ** pic.decimals)
    return -value if negative else value
