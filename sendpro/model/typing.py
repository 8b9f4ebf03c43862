"""Typing a batch: canonical text columns -> typed columns, vectorised with polars.

The same validity expressions serve two masters: the format rules (which report
the values that fail them) and :func:`type_frame` (which turns failing values into
nulls so a writer can never see them). Free text is made X12-safe here too, so the
output can never break whatever the input held.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence

import polars as pl

from sendpro.model.fields import FIELDS, FieldDef, Kind

_AMOUNT_RE = r"^-?[0-9]{1,11}(\.[0-9]{0,2})?$"
_DATE_RE = r"^[0-9]{8}$"
#: The earliest year a date may have (see :func:`valid_expr`).
EARLIEST_YEAR = "1900"
_HOUR_RE = r"^([01][0-9]|2[0-3])[0-5][0-9]$"

# Letters that Unicode decomposition does not reduce to ASCII.
_TRANSLIT = {
    "ß": "ss",
    "Æ": "AE",
    "æ": "ae",
    "Ø": "O",
    "ø": "o",
    "Œ": "OE",
    "œ": "oe",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Þ": "TH",
    "þ": "th",
    "ı": "i",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "\u00a0": " ",
}

#: Separators sendpro never lets into free text, whatever the profile's choice.
DEFAULT_FORBIDDEN = "*~:^|"


def decimal_re(max_decimals: int) -> str:
    """Return the regex of a non-negative quantity with up to ``max_decimals`` decimals."""
    return rf"^[0-9]{{1,9}}(\.[0-9]{{1,{max_decimals}}})?$"


def valid_expr(fd: FieldDef, col: pl.Expr | None = None) -> pl.Expr:
    """Return a boolean expression: True when the value is absent or valid for ``fd``."""
    c = pl.col(fd.name) if col is None else col
    ok: pl.Expr
    if fd.kind is Kind.TEXT:
        n = c.str.len_chars()
        ok = n >= fd.min_len
        if fd.max_len is not None:
            ok = ok & (n <= fd.max_len)
    elif fd.kind is Kind.PATTERN:
        assert fd.pattern is not None
        ok = c.str.contains(fd.pattern)
        if fd.max_len is not None:
            ok = ok & (c.str.len_chars() <= fd.max_len)
    elif fd.kind is Kind.CODE:
        assert fd.codes is not None
        ok = c.is_in(sorted(fd.codes))
    elif fd.kind is Kind.DATE:
        # A year before 1900 is a typo (0001, 0999), not an encounter: the 837's dates and
        # NCPDP's CCYYMMDD fields could not carry it, and no member was born then.
        ok = (
            c.str.contains(_DATE_RE)
            & (c.str.slice(0, 4) >= EARLIEST_YEAR)
            & c.str.strptime(pl.Date, "%Y%m%d", strict=False).is_not_null()
        )
    elif fd.kind is Kind.HOUR:
        ok = c.str.contains(_HOUR_RE)
    elif fd.kind is Kind.AMOUNT:
        ok = c.str.contains(_AMOUNT_RE)
    elif fd.kind is Kind.DECIMAL:
        ok = c.str.contains(decimal_re(fd.max_decimals)) & (
            c.str.replace(r"^$", "0").cast(pl.Float64, strict=False) > 0
        )
    elif fd.kind is Kind.INTEGER:
        ok = c.str.contains(rf"^[0-9]{{1,{fd.max_len or 9}}}$") & (c.cast(pl.Int64, strict=False) > 0)
    else:  # pragma: no cover - every Kind is handled above
        raise AssertionError(fd.kind)
    return c.is_null() | ok.fill_null(False)


def _signed_cents(text: pl.Expr) -> pl.Expr:
    """``-?digits[.digits]`` text -> integer cents (the caller keeps only text of that shape)."""
    parts = text.str.strip_chars_start("-").str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    frac = parts.struct.field("field_1").fill_null("").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    cents = whole * 100 + frac
    return pl.when(text.str.starts_with("-")).then(-cents).otherwise(cents)


def cents_expr(col: pl.Expr) -> pl.Expr:
    """Canonical amount text -> integer cents (null when not an amount)."""
    return pl.when(col.str.contains(_AMOUNT_RE)).then(_signed_cents(col)).otherwise(None)


#: An amount as control totals read it: a plain number of up to 16 digits before the
#: point, with a currency sign or thousands separators allowed.
_CONTROL_AMOUNT_RE = r"^-?[0-9]{1,16}(\.[0-9]{0,2})?$"


def control_cents_expr(col: pl.Expr) -> pl.Expr:
    """Amount text -> integer cents as control totals count it (null when it is not a number at all).

    Wider than :func:`cents_expr`: an amount the rules reject as too large or as
    written with ``$`` or ``,`` still counts in the money read and in the money
    rejected, so "reconciled to the cent" covers every amount that is a number.
    """
    plain = col.str.replace_all(r"[$,]", "").str.replace(r"^-\$", "-")
    return pl.when(plain.str.contains(_CONTROL_AMOUNT_RE)).then(_signed_cents(plain)).otherwise(None)


def unreadable_expr(col: pl.Expr) -> pl.Expr:
    """Return True where an amount is written but is no number control totals can count."""
    return (col.is_not_null() & control_cents_expr(col).is_null()).fill_null(False)


#: The control-total slots, in the order of :attr:`Catalog.totals`.
CONTROL_SLOTS = ("charge", "paid", "line_charge", "line_paid")


def control_columns(totals: Sequence[str | None], columns: Collection[str]) -> list[pl.Expr]:
    """Return ``_ctl_<slot>`` (control cents) and ``_bad_<slot>`` (unreadable) per control-total slot.

    ``totals`` names the field of each slot (None: the catalogue has none);
    computed from the text columns, before typing turns invalid amounts into nulls.
    """
    out: list[pl.Expr] = []
    for slot, name in zip(CONTROL_SLOTS, totals, strict=True):
        if name is None or name not in columns:
            out += [pl.lit(None, pl.Int64).alias(f"_ctl_{slot}"), pl.lit(False).alias(f"_bad_{slot}")]
            continue
        out += [
            control_cents_expr(pl.col(name)).alias(f"_ctl_{slot}"),
            unreadable_expr(pl.col(name)).alias(f"_bad_{slot}"),
        ]
    return out


def _typed_expr(fd: FieldDef) -> pl.Expr:
    c = pl.col(fd.name)
    valid = valid_expr(fd)
    if fd.kind is Kind.DATE:
        typed = c.str.strptime(pl.Date, "%Y%m%d", strict=False)
    elif fd.kind is Kind.AMOUNT:
        typed = cents_expr(c)
    elif fd.kind is Kind.INTEGER:
        typed = c.cast(pl.Int64, strict=False)
    else:
        typed = c
    return pl.when(valid).then(typed).otherwise(None).alias(fd.name)


def ensure_model_columns(frame: pl.DataFrame, fields: Iterable[FieldDef] = FIELDS) -> pl.DataFrame:
    """Add every model field the frame lacks as an all-null text column."""
    missing = [fd.name for fd in fields if fd.name not in frame.columns]
    if not missing:
        return frame
    return frame.with_columns([pl.lit(None, dtype=pl.String).alias(n) for n in missing])


def type_frame(frame: pl.DataFrame, fields: Iterable[FieldDef] = FIELDS) -> pl.DataFrame:
    """Return ``frame`` with every model field typed; invalid values become null.

    Dates become ``pl.Date``, amounts ``Int64`` cents, whole numbers ``Int64``;
    quantities stay canonical text (the builder makes them ``Decimal``).
    """
    fields = tuple(fields)
    frame = ensure_model_columns(frame, fields)
    return frame.with_columns([_typed_expr(fd) for fd in fields])


def unsafe_text_expr(col: pl.Expr, forbidden: str = DEFAULT_FORBIDDEN) -> pl.Expr:
    """Return True where free text holds a separator, control or non-ASCII character."""
    chars = re.escape("".join(sorted(set(forbidden))))
    return col.str.contains(rf"[^\x20-\x7E]|[{chars}]").fill_null(False)


def clean_text(value: str, forbidden: str = DEFAULT_FORBIDDEN) -> tuple[str, frozenset[str]]:
    """Make free text X12-safe; return the text and what was done.

    Accented letters are transliterated (``"Muñoz"`` -> ``"Munoz"``); separators
    and control characters become spaces; runs of spaces collapse. The returned
    set holds ``"transliterated"`` and/or ``"separator"``.

    >>> clean_text("O'Brien*Muñoz~")
    ("O'Brien Munoz", frozenset({'separator', 'transliterated'}))
    """
    done: set[str] = set()
    out: list[str] = []
    for ch in value:
        code = ord(ch)
        if ch in forbidden or code < 32 or code == 127:
            out.append(" ")
            done.add("separator")
        elif code < 128:
            out.append(ch)
        else:
            done.add("transliterated")
            if ch in _TRANSLIT:
                out.append(_TRANSLIT[ch])
                continue
            ascii_part = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 128 and not unicodedata.combining(c)
            )
            out.append(ascii_part if ascii_part and ascii_part not in forbidden else "?")
    return " ".join("".join(out).split()), frozenset(done)


def clean_text_frame(
    frame: pl.DataFrame, fields: Iterable[FieldDef] = FIELDS, forbidden: str = DEFAULT_FORBIDDEN
) -> tuple[pl.DataFrame, list[tuple[int, str, frozenset[str]]]]:
    """Clean every free-text column; return the frame and ``(row index, field, what)`` notes.

    Only the (rare) rows that need it go through Python.
    """
    notes: list[tuple[int, str, frozenset[str]]] = []
    text_fields = [fd.name for fd in fields if fd.free_text and fd.name in frame.columns]
    if not text_fields or frame.height == 0:
        return frame, notes
    flags = frame.select([unsafe_text_expr(pl.col(n), forbidden).alias(n) for n in text_fields])
    dirty = [n for n in text_fields if flags[n].any()]
    replacements: list[pl.Series] = []
    for name in dirty:
        idx = flags[name].arg_true()
        series = frame[name]
        cleaned: list[str | None] = []
        for i in idx.to_list():
            text, done = clean_text(str(series[i]), forbidden)
            cleaned.append(text or None)
            notes.append((int(i), name, done))
        replacements.append(series.scatter(idx, pl.Series(cleaned, dtype=pl.String)))
    if replacements:
        frame = frame.with_columns(replacements)
    return frame, notes
