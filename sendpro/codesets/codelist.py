"""A code list: the codes of one release, the period the release is in effect, and per-code dates.

Lists come from files: plain text (the first word of each line is a code, ``#``
starts a comment; CMS's ``icd10cm_codes_YYYY.txt`` reads as is) or CSV with a
header holding ``code`` and optionally ``effective_from``, ``effective_to`` and
``description``. A code set is one or more lists, each effective for a period
(ICD-10-CM changes every October 1): a value is checked against the list in
effect on the claim's date of service.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sendpro.errors import UsageError

#: Turns a code as written in a list or an extract into its canonical form.
Normalizer = Callable[[str], str]


def plain(code: str) -> str:
    """Upper-case and trimmed."""
    return code.strip().upper()


def no_dots(code: str) -> str:
    """ICD-10 codes are sent without the dot: ``E11.9`` -> ``E119``."""
    return code.strip().upper().replace(".", "")


_NDC_SEGMENTS = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")


def ndc11(code: str) -> str:
    """Return the 11-digit (5-4-2) form of an NDC written 4-4-2, 5-3-2, 5-4-1 or already as 11 digits."""
    text = code.strip()
    found = _NDC_SEGMENTS.match(text)
    if not found:
        return text.replace("-", "")
    labeler, product, package = found.groups()
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def _ymd(value: dt.date | None) -> str | None:
    return None if value is None else value.strftime("%Y%m%d")


@dataclass
class CodeList:
    """One release of a code set: its codes (with optional per-code dates) and its period."""

    source: str
    version: str | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    #: Codes by their own effective period (``(None, None)``: the whole release period).
    groups: dict[tuple[str | None, str | None], list[str]] = field(default_factory=dict)
    # polars Series built once: a list is checked in every batch, for several fields.
    _all: pl.Series | None = field(default=None, repr=False)
    _dated: _DatedCodes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Return the number of codes."""
        return sum(len(v) for v in self.groups.values())

    def codes(self) -> set[str]:
        """Return every code of the list."""
        return {c for codes in self.groups.values() for c in codes}

    def series(self) -> pl.Series:
        """Return every code of the list, as the one-element list Series ``is_in`` takes (built once)."""
        if self._all is None:
            self._all = pl.Series(sorted(self.codes()), dtype=pl.String).implode()
        return self._all

    def covers(self, on: pl.Expr) -> pl.Expr:
        """Return an expression: the date (CCYYMMDD text) lies in the release's period."""
        cond = pl.lit(True)
        if self.effective_from is not None:
            cond = cond & (on >= _ymd(self.effective_from))
        if self.effective_to is not None:
            cond = cond & (on <= _ymd(self.effective_to))
        return cond

    def active(self, value: pl.Expr, on: pl.Expr) -> pl.Expr:
        """Return an expression: ``value`` is a code of this release in effect on ``on``.

        Per-code periods are looked up per value (a hash lookup of the code's first
        and last day), not one term per distinct period: an NDC directory has tens of
        thousands of distinct marketing dates.
        """
        if set(self.groups) <= {(None, None)}:
            return self.covers(on) & value.is_in(self.series())
        if self._dated is None:
            self._dated = _DatedCodes.build(self.groups)
        dated = self._dated
        start = value.replace_strict(dated.codes, dated.starts, default=None, return_dtype=pl.String)
        end = value.replace_strict(dated.codes, dated.ends, default=None, return_dtype=pl.String)
        cond = value.is_in(dated.codes.implode()) & (start.is_null() | (on >= start)) & (end.is_null() | (on <= end))
        for (first, last), codes in dated.repeated.items():
            term = value.is_in(codes)
            if first is not None:
                term = term & (on >= first)
            if last is not None:
                term = term & (on <= last)
            cond = cond | term
        return self.covers(on) & cond


@dataclass(frozen=True)
class _DatedCodes:
    """A list's per-code periods as lookup columns: each code once, with its first and last day (CCYYMMDD).

    A code listed with more than one period (ended, then added again) keeps its
    periods as terms of their own (``repeated``): rare, so few terms.
    """

    codes: pl.Series
    starts: pl.Series
    ends: pl.Series
    repeated: dict[tuple[str | None, str | None], pl.Series]

    @classmethod
    def build(cls, groups: dict[tuple[str | None, str | None], list[str]]) -> _DatedCodes:
        periods: dict[str, list[tuple[str | None, str | None]]] = {}
        for key, codes in groups.items():
            for code in codes:
                periods.setdefault(code, []).append(key)
        single = {c: p[0] for c, p in periods.items() if len(p) == 1}
        repeated: dict[tuple[str | None, str | None], list[str]] = {}
        for code, keys in periods.items():
            if len(keys) > 1:
                for key in keys:
                    repeated.setdefault(key, []).append(code)
        return cls(
            pl.Series(list(single), dtype=pl.String),
            pl.Series([p[0] for p in single.values()], dtype=pl.String),
            pl.Series([p[1] for p in single.values()], dtype=pl.String),
            {k: pl.Series(v, dtype=pl.String).implode() for k, v in repeated.items()},
        )


def read_code_list(
    path: Path,
    normalize: Normalizer = plain,
    version: str | None = None,
    effective_from: dt.date | None = None,
    effective_to: dt.date | None = None,
) -> CodeList:
    """Read a code list file (see the module docstring).

    Raises:
        UsageError: the file cannot be read, or holds no code.
    """
    out = CodeList(str(path), version, effective_from, effective_to)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
            handle.seek(0)
            header = [h.strip().lower() for h in first.split(",")]
            rows: Iterable[tuple[str, str | None, str | None]]
            if path.suffix.lower() == ".csv" or "code" in header:
                rows = _csv_rows(csv.DictReader(_uncommented(handle)), path)
            else:
                rows = _text_rows(handle)
            for code, start, end in rows:
                out.groups.setdefault((start, end), []).append(normalize(code))
    except OSError as exc:
        raise UsageError(f"code list {path}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"code list {path}: not UTF-8 text") from None
    if out.size == 0:
        raise UsageError(f"code list {path}: no codes in it")
    return out


def _uncommented(lines: Iterable[str]) -> Iterable[str]:
    return (line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _text_rows(lines: Iterable[str]) -> Iterable[tuple[str, str | None, str | None]]:
    for line in _uncommented(lines):
        yield line.split()[0], None, None


def _csv_date(text: str | None, path: Path, line: int) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).strftime("%Y%m%d")
    except ValueError:
        raise UsageError(f"code list {path} line {line}: {text!r} is not a date (YYYY-MM-DD)") from None


def _csv_rows(reader: csv.DictReader[str], path: Path) -> Iterable[tuple[str, str | None, str | None]]:
    if reader.fieldnames is None or "code" not in [f.strip().lower() for f in reader.fieldnames]:
        raise UsageError(f"code list {path}: a CSV list needs a 'code' column")
    for n, row in enumerate(reader, start=2):
        cells = {k.strip().lower(): (v or "") for k, v in row.items() if k is not None}
        code = cells.get("code", "").strip()
        if code:
            yield code, _csv_date(cells.get("effective_from"), path, n), _csv_date(cells.get("effective_to"), path, n)
