"""Reference files an MCE may give a run: its providers and its members.

Both are optional CSV files (UTF-8, a header row, dates as YYYY-MM-DD), documented
with examples in ``schemas/references/``. They are read once per run into polars
frames and joined with each batch, so memory follows the size of the reference
files, never the size of the extract. The rules that need a file are skipped
without it, and the report lists them.

``providers.csv`` - one row per provider and group affiliation:

* ``npi`` (required), ``entity_type`` (1 individual, 2 organization),
  ``provider_type`` (MassHealth provider type, e.g. 01 physician),
  ``category`` (group_practice, community_health_center, mental_health_center,
  substance_use_disorder, urgent_care, hospital, other),
* ``group_npi``, ``affiliation_from``, ``affiliation_to``: the group practice the
  provider is linked to and when (edit 1010),
* ``enrolled_from``, ``enrolled_to``: MassHealth enrollment.

``members.csv`` - one row per eligibility span: ``member_id``, ``eligible_from``, ``eligible_to``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sendpro.errors import UsageError

#: Provider categories that bill as an entity: their claims carry no rendering provider (edit 1010).
ENTITY_CATEGORIES = frozenset(
    {"community_health_center", "mental_health_center", "substance_use_disorder", "urgent_care", "hospital"}
)
CATEGORIES = ENTITY_CATEGORIES | {"group_practice", "other"}

#: The columns of providers.csv, in the order sendpro writes them.
PROVIDER_COLUMNS = (
    "npi",
    "entity_type",
    "provider_type",
    "category",
    "group_npi",
    "affiliation_from",
    "affiliation_to",
    "enrolled_from",
    "enrolled_to",
)
MEMBER_COLUMNS = ("member_id", "eligible_from", "eligible_to")


def _read(path: Path, columns: tuple[str, ...], required: tuple[str, ...], what: str) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema=False, comment_prefix="#")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise UsageError(f"{what} {path}: cannot read it as CSV: {str(exc).splitlines()[0]}") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UsageError(f"{what} {path}: missing column(s) {', '.join(missing)}")
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise UsageError(f"{what} {path}: unknown column(s) {', '.join(unknown)}; known: {', '.join(columns)}")
    frame = frame.with_columns(*(pl.lit(None, pl.String).alias(c) for c in columns if c not in frame.columns)).select(
        [pl.col(c).str.strip_chars() for c in columns]
    )
    for column in columns:
        if column.endswith(("_from", "_to")):
            frame = _dates(frame, column, path, what)
    return frame


def _dates(frame: pl.DataFrame, column: str, path: Path, what: str) -> pl.DataFrame:
    """Turn YYYY-MM-DD into the CCYYMMDD text extracts use (so batches compare as text)."""
    parsed = pl.col(column).str.to_date("%Y-%m-%d", strict=False)
    bad = frame.filter(pl.col(column).is_not_null() & (pl.col(column) != "") & parsed.is_null())
    if bad.height:
        raise UsageError(f"{what} {path}: {column} {bad[column][0]!r} is not a date (YYYY-MM-DD)")
    return frame.with_columns(parsed.dt.strftime("%Y%m%d").alias(column))


@dataclass(frozen=True)
class Providers:
    """The provider reference file: one row per provider, and the group affiliations."""

    path: Path
    providers: pl.DataFrame  # npi, entity_type, provider_type, category, enrolled_from, enrolled_to
    affiliations: pl.DataFrame  # npi, group_npi, affiliation_from, affiliation_to

    @classmethod
    def read(cls, path: Path) -> Providers:
        """Read ``providers.csv``.

        Raises:
            UsageError: the file is unreadable, misses ``npi``, or holds a bad date or category.
        """
        frame = _read(path, PROVIDER_COLUMNS, ("npi",), "provider reference file")
        bad = frame.filter(pl.col("category").is_not_null() & ~pl.col("category").is_in(sorted(CATEGORIES)))
        if bad.height:
            raise UsageError(
                f"provider reference file {path}: category {bad['category'][0]!r} is not one of "
                f"{', '.join(sorted(CATEGORIES))}"
            )
        people = frame.select("npi", "entity_type", "provider_type", "category", "enrolled_from", "enrolled_to").unique(
            subset="npi", keep="first", maintain_order=True
        )
        links = frame.filter(pl.col("group_npi").is_not_null()).select(
            "npi", "group_npi", "affiliation_from", "affiliation_to"
        )
        return cls(path, people, links)


@dataclass(frozen=True)
class Members:
    """The member reference file: eligibility spans."""

    path: Path
    spans: pl.DataFrame  # member_id, eligible_from, eligible_to

    @classmethod
    def read(cls, path: Path) -> Members:
        """Read ``members.csv``.

        Raises:
            UsageError: the file is unreadable, misses ``member_id``, or holds a bad date.
        """
        return cls(path, _read(path, MEMBER_COLUMNS, ("member_id",), "member reference file"))


@dataclass(frozen=True)
class OrderedServices:
    """Procedure code ranges of the services that need an ordering or referring provider (edit 1200)."""

    path: Path
    effective_from: str  # CCYYMMDD
    ranges: tuple[tuple[str, str, str], ...]  # (first, last, category)

    @classmethod
    def read(cls, path: Path) -> OrderedServices:
        """Read the ordered-services TOML file (see ``schemas/references/ordered-services.toml``).

        Raises:
            UsageError: the file is unreadable or malformed.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            since = data["effective_from"]
            ranges = []
            for category in data["category"]:
                for span in category["codes"]:
                    first, _, last = str(span).partition("-")
                    last = last or first
                    if len(first) != len(last):
                        raise ValueError(f"range {span} mixes code lengths")
                    ranges.append((first.upper(), last.upper(), str(category["name"])))
        except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"ordered-services file {path}: {exc}") from None
        return cls(path, since.strftime("%Y%m%d"), tuple(ranges))

    def category_of(self, code: str) -> str | None:
        """Return the service category of one procedure code, or None."""
        code = code.upper()
        for first, last, name in self.ranges:
            if len(code) == len(first) and first <= code <= last:
                return name
        return None

    def category(self, code: pl.Expr) -> pl.Expr:
        """Return an expression: the service category of a procedure code, or null."""
        out = pl.lit(None, pl.String)
        for first, last, name in reversed(self.ranges):
            hit = (code.str.len_chars() == len(first)) & (code >= first) & (code <= last)
            out = pl.when(hit).then(pl.lit(name)).otherwise(out)
        return out
