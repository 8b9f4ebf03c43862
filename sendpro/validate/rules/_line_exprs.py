"""Polars expressions the line, institutional, dental and MassHealth record rules' ``concerns`` share.

They run on the typed batch frame (see :func:`sendpro.model.typing.type_frame`):
one row per service line, claim-level values repeated on every row, ``_nolines``
marking a claim record that is not a line and ``_first`` the row the
:class:`~sendpro.model.encounter.Encounter` reads the claim-level values from.
"""

from __future__ import annotations

import polars as pl


def is_line() -> pl.Expr:
    """Return True on the rows that are service lines (``Encounter.lines``)."""
    return ~pl.col("_nolines")


def is_first() -> pl.Expr:
    """Return True on the row the encounter takes its claim-level values from."""
    return pl.col("_first")


def claim_value(value: str | pl.Expr) -> pl.Expr:
    """Return ``value`` as the encounter reads it (from the claim's first row), on every row of the claim.

    Rows of one claim may disagree on a claim-level value; the encounter keeps the
    ``_first`` row's, so a rule mixing claim-level and line values must too.
    """
    expr = pl.col(value) if isinstance(value, str) else value
    return expr.filter(is_first()).first().over("_claim_seq")


def claim_type_is(code: str) -> pl.Expr:
    """Return True on every row of the claims whose (first row's) claim type is ``code``."""
    return (claim_value("claim_type") == code).fill_null(False)


def partly_given(*names: str) -> pl.Expr:
    """Return True where some, but not all, of the columns ``names`` hold a value."""
    given = pl.sum_horizontal(*(pl.col(n).is_not_null().cast(pl.Int32) for n in names))
    return (given > 0) & (given < len(names))
