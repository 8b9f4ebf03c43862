"""Polars expressions the claim, situational and provider record rules' ``concerns`` share.

They run on the typed batch frame (see :func:`sendpro.model.typing.type_frame`):
one row per service line with the claim-level values repeated, ``_claim_seq``
grouping a claim's rows, ``_first`` marking the row the
:class:`~sendpro.model.encounter.Encounter` reads its claim-level values from and
``_nolines`` a claim record that is not a service line.

Python's ``None`` semantics are mirrored, so that an expression is never null
where the rule's ``check`` provably does nothing: ``None in {...}`` is False
(:func:`is_in`), ``x == None`` is False (``eq_missing``), ``x or 0`` is
``fill_null(0)``. Claim-level conditions are read on the first row only
(:data:`FIRST`): the rows of a claim may disagree, and the encounter keeps the
first row's values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

#: The claim's rows share this column.
SEQ = "_claim_seq"

#: True on the row the encounter reads the claim-level values from.
FIRST = pl.col("_first")

#: True on the rows that are service lines (``Encounter.lines``).
LINE = ~pl.col("_nolines")

_NPI_RE = r"^[0-9]{10}$"


def head(name: str) -> pl.Expr:
    """Return the claim-level column ``name`` as the encounter reads it (the first row's), on every row."""
    return pl.col(name).filter(FIRST).first().over(SEQ)


def is_in(value: str | pl.Expr, values: Iterable[str]) -> pl.Expr:
    """Return ``value in values`` as Python says it: False (not null) for a missing value."""
    expr = pl.col(value) if isinstance(value, str) else value
    return expr.is_in(sorted(values)).fill_null(False)


def by_claim_type(cases: Mapping[str, pl.Expr]) -> pl.Expr:
    """Return, on the first row's claim type, the case's expression (False for other or missing types)."""
    out: pl.Expr = pl.lit(False)
    for claim_type, expr in cases.items():
        out = pl.when(pl.col("claim_type") == claim_type).then(expr).otherwise(out)
    return out


def any_given(names: Iterable[str]) -> pl.Expr:
    """Return True where at least one of the columns ``names`` holds a value."""
    return pl.any_horizontal(*(pl.col(n).is_not_null() for n in names))


def any_missing(names: Iterable[str]) -> pl.Expr:
    """Return True where at least one of the columns ``names`` is empty."""
    return pl.any_horizontal(*(pl.col(n).is_null() for n in names))


def line_count() -> pl.Expr:
    """Return the number of service lines of the claim, on every row."""
    return LINE.sum().over(SEQ)


def line_nulls(name: str) -> pl.Expr:
    """Return how many service lines of the claim have no value in ``name``, on every row."""
    return (LINE & pl.col(name).is_null()).sum().over(SEQ)


def line_sum(value: str | pl.Expr) -> pl.Expr:
    """Return the sum of ``value`` over the claim's service lines (nulls count 0), on every row."""
    expr = pl.col(value) if isinstance(value, str) else value
    return pl.when(LINE).then(expr).otherwise(None).sum().over(SEQ)


def line_min(name: str) -> pl.Expr:
    """Return the least ``name`` of the claim's service lines (null when none has one), on every row."""
    return pl.when(LINE).then(pl.col(name)).otherwise(None).min().over(SEQ)


def npi_invalid(name: str) -> pl.Expr:
    """Return True where ``name`` holds a value that is not a valid NPI (``provider.npi_check_digit_ok``).

    Luhn over the nine leading digits, every other one doubled from the right,
    plus 24 for the prefix 80840; nulls are False (nothing to check).
    """
    col = pl.col(name)
    digits = [col.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(10)]
    total: pl.Expr = pl.lit(24, dtype=pl.Int64)
    for i, digit in enumerate(digits[:9]):
        if (8 - i) % 2 == 0:  # doubled; 10-18 -> 1-9
            doubled = digit * 2
            digit = doubled % 10 + doubled // 10
        total = total + digit
    valid = pl.when(col.str.contains(_NPI_RE)).then((10 - total % 10) % 10 == digits[9]).otherwise(False)
    return col.is_not_null() & ~valid.fill_null(False)
