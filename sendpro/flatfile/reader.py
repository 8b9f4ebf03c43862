"""Streaming reader: a flat file in, bounded batches of whole claims out.

Reading takes two passes, both streaming:

1. :meth:`FlatFileReader.scan` reads only the claim id (and claim type) of every
   row. It counts rows, finds which claim types the file holds, checks fixed-width
   header/trailer records, and records in an on-disk :class:`ClaimIndex` how many
   separate runs of rows each claim id has. Any problem that makes the whole file
   unusable is raised here, before a single output byte is written.
2. :meth:`FlatFileReader.iter_batches` parses chunks of lines with polars into
   canonical text columns (one per model field), holds back the last claim of a
   chunk until its rows are complete, parks the runs of split claims in the index
   until their last run arrives, and yields :class:`Batch` objects that hold only
   whole claims.

Memory is bounded by the chunk size and the largest single claim.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import polars as pl

from sendpro.flatfile.claimindex import ClaimIndex
from sendpro.flatfile.layout import DATE_FORMATS, FieldSpec, Format, Layout, Role, ascii_compatible
from sendpro.flatfile.picture import decode_expr, misplaced_blank_expr
from sendpro.flatfile.problems import (
    BAD_ENCODING,
    EMPTY_FILE,
    LAYOUT_MISMATCH,
    MISSING_COLUMN,
    RECORD_ORDER,
    TRAILER_COUNT,
    TRAILER_TOTAL,
)
from sendpro.flatfile.source import LineChunk, iter_line_chunks

T = TypeVar("T")


#: Default number of physical lines parsed at once.
DEFAULT_CHUNK_LINES = 5_000

# Kinds of physical records in the row-level frame.
KIND_ROW = "row"  # a delimited data row (one service line)
KIND_CLAIM = "claim"
KIND_LINE = "line"
KIND_HEADER = "header"
KIND_TRAILER = "trailer"
KIND_OTHER = "other"  # a fixed-width record of an unknown type

_ROLE_KIND = {
    Role.CLAIM: KIND_CLAIM,
    Role.LINE: KIND_LINE,
    Role.HEADER: KIND_HEADER,
    Role.TRAILER: KIND_TRAILER,
}

# Header text that may be shown in a message: a column name, not a data value
# (a member id, a date, an amount, an address), which may be PHI.
_NAME_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_ .#/()-]{0,63}")
_DIGIT_RUN = re.compile(r"[0-9]{4}")

#: Bookkeeping columns of a batch frame (model fields are the others).
META_COLUMNS = (
    "_row",
    "_claim_row",
    "_raw",
    "_claim_seq",
    "_first",
    "_runs",
    "_nolines",
    "_nf",
    "_kind",
    "_len",
)


@dataclass(frozen=True, slots=True)
class Batch:
    """Whole claims read from one file: canonical text per model field plus bookkeeping.

    Frame columns: every model field the layout maps (canonical text or null),
    ``_row`` (physical line of the line values), ``_claim_row`` (line of the
    claim-level values), ``_raw`` (the physical line(s) to copy into a rejects
    file), ``_claim_seq`` (claim number within the file), ``_first`` (first row of
    its claim), ``_runs`` (number of separate runs the claim's rows came in),
    ``_nolines`` (a claim record without line records), ``_nf`` (delimited: fields
    on the row), ``_kind`` and ``_len`` (fixed-width: record kind and length).
    """

    file: str
    frame: pl.DataFrame
    blank_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class InputInfo:
    """What :meth:`FlatFileReader.open` learned from the start of the file."""

    file: str
    path: Path
    layout: Layout
    encoding: str
    header_names: tuple[str, ...] = ()
    field_index: dict[str, int] = field(default_factory=dict)
    expected_fields: int = 0
    unknown_columns: tuple[tuple[str, str | None], ...] = ()
    header_line: str | None = None


@dataclass(frozen=True)
class ScanResult:
    """What the first pass counted.

    ``unverified_checks`` says which trailer checks could not be verified because
    damaged records (reported per claim as FF012/FF016) hide what they held.
    """

    data_rows: int
    claims: int
    split_claims: int
    claim_types: dict[str, int]
    header_record: str | None = None
    trailer_record: str | None = None
    blank_lines_inside: int = 0
    unverified_checks: tuple[str, ...] = ()


@dataclass
class _Damage:
    """Damaged fixed-width records seen by the scan: what a trailer check must allow for.

    ``unknown`` counts records of an unknown type, ``claim_like`` those of them
    that are read as claim records, and ``claims`` the records that may be claim
    records with unreadable values (their first line in ``first_line``).
    """

    unknown: int = 0
    claim_like: int = 0
    claims: int = 0
    first_line: int | None = None


def _with_last(items: Iterable[T]) -> Iterator[tuple[T, bool]]:
    """Yield ``(item, is_last)`` pairs with one item of look-ahead."""
    it = iter(items)
    try:
        prev = next(it)
    except StopIteration:
        return
    for item in it:
        yield prev, False
        prev = item
    yield prev, True


def _closest(name: str, candidates: Sequence[str]) -> str | None:
    """Return the candidate ``name`` most likely means, ignoring case, spaces and underscores (None: none close)."""

    def norm(text: str) -> str:
        return text.strip().lower().replace(" ", "_")

    by_norm = {norm(c): c for c in candidates}
    found = difflib.get_close_matches(norm(name), list(by_norm), n=1, cutoff=0.75)
    return by_norm[found[0]] if found else None


def _looks_like_name(text: str) -> bool:
    """Return True when header text looks like a column name, so a message may quote it.

    A header row that is really a data row (a file without one, CR-only line
    ends) holds member ids, dates and names: those are never quoted.
    """
    return _NAME_LIKE.fullmatch(text) is not None and _DIGIT_RUN.search(text) is None


def _shown(name: str, pos: int) -> str:
    """Return a header name as a message may show it: itself, or its position when it does not look like a name."""
    return name if _looks_like_name(name) else f"<column {pos + 1}>"


def _empty_to_null(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped.str.len_bytes() == 0).then(None).otherwise(stripped)


def _value_expr(raw: pl.Expr, spec: FieldSpec, layout: Layout, *, fixed: bool = False) -> pl.Expr:
    """Canonical text of one field: stripped, empty as null, picture and date decoded.

    ``fixed``: ``raw`` is an unstripped fixed-width slice. A numeric value with a
    blank inside or after its digits then passes through (leading blanks
    dropped, the others kept) so the field's format rule reports it, instead of
    being stripped and re-aligned by the picture.
    """
    value = _empty_to_null(raw)
    if spec.picture is not None:
        value = decode_expr(value, spec.picture)
        if fixed and spec.picture.numeric:
            bad = misplaced_blank_expr(raw, spec.picture)
            value = pl.when(bad).then(raw.str.strip_chars_start()).otherwise(value)
    date_format = spec.date_format or layout.date_format
    if spec.model and layout.catalog.by_name[spec.field].kind.value == "date" and date_format != "CCYYMMDD":
        parsed = value.str.strptime(pl.Date, DATE_FORMATS[date_format], strict=False)
        # An unparseable date passes through so the date rule reports it.
        value = pl.coalesce(parsed.dt.strftime("%Y%m%d"), value)
    return value.alias(spec.field)


class FlatFileReader:
    """Reads one input file through one layout (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        layout: Layout,
        *,
        encoding: str | None = None,
        chunk_lines: int = DEFAULT_CHUNK_LINES,
        display_name: str | None = None,
        temp_dir: Path | None = None,
    ) -> None:
        self.path = path
        self.layout = layout
        self.encoding = encoding or layout.encoding
        self.chunk_lines = max(16, chunk_lines)
        self.name = display_name or str(path)
        self._temp_dir = temp_dir
        self._info: InputInfo | None = None
        self._index: ClaimIndex | None = None
        self._scan: ScanResult | None = None
        self._seq = 0
        self._carried_blanks: tuple[int, ...] = ()
        claim = layout.record(Role.CLAIM) if layout.format is Format.FIXED_WIDTH else None
        line = layout.record(Role.LINE) if layout.format is Format.FIXED_WIDTH else None
        #: Declared lengths of claim and line records (None: not declared).
        self._claim_len = claim.length if claim is not None else None
        self._line_len = line.length if line is not None else None
        # A record of an unknown type as long as a claim record (and not as long
        # as a line record) is a claim record whose type was damaged: it starts
        # a claim of its own, so the damage rejects that claim and not the one
        # before it. Without declared lengths the two cannot be told apart.
        self._claim_like_len = self._claim_len if self._claim_len != self._line_len else None

    # -- context management ----------------------------------------------------------
    def __enter__(self) -> FlatFileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the temporary claim index."""
        if self._index is not None:
            self._index.close()
            self._index = None

    # -- opening -----------------------------------------------------------------------
    def _chunks(self, chunk_lines: int | None = None) -> Iterator[LineChunk]:
        return iter_line_chunks(
            self.path,
            self.encoding,
            chunk_lines or self.chunk_lines,
            self.name,
            max_line_length=self.layout.max_line_length,
        )

    def _first_line(self) -> tuple[int, str]:
        for chunk in self._chunks(1):
            if chunk.lines:
                return chunk.line_nos[0], chunk.lines[0]
        raise EMPTY_FILE.error(self.name, "the file is empty (no lines with data)")

    def open(self) -> InputInfo:
        """Read the header row (or first record) and check it against the layout.

        Raises:
            InputFileError: the file is empty or does not match the layout.
        """
        if self._info is not None:
            return self._info
        if not self.path.is_file():
            raise LAYOUT_MISMATCH.error(self.name, "no such file")
        if self.path.stat().st_size == 0:
            raise EMPTY_FILE.error(self.name, "the file is empty (0 bytes)")
        try:
            readable = ascii_compatible(self.encoding)
        except LookupError:
            raise BAD_ENCODING.error(self.name, f"{self.encoding!r} is not a known text encoding") from None
        if not readable:
            # Lines are split on the byte \n before decoding (see sendpro.flatfile.source).
            raise BAD_ENCODING.error(
                self.name,
                f"encoding {self.encoding} cannot be read line by line; save the file as UTF-8 "
                "(sendpro reads ASCII-compatible encodings: utf-8, cp1252, latin-1 ...)",
            )
        line_no, first = self._first_line()
        if self.layout.format is Format.DELIMITED:
            self._info = self._open_delimited(first, line_no)
        else:
            self._info = self._open_fixed(first)
        return self._info

    def _split_line(self, line: str) -> list[str]:
        lay = self.layout
        if lay.quote:
            return next(csv.reader([line], delimiter=lay.delimiter, quotechar=lay.quote))
        return line.split(lay.delimiter)

    def _open_delimited(self, first: str, line_no: int = 1) -> InputInfo:
        """Map the header row's names onto the layout's columns.

        Names match exactly, else ignoring case (``CLAIM_TYPE`` is ``claim_type``)
        unless two layout columns differ only in case. Messages quote header names
        only when they look like column names (:func:`_looks_like_name`).
        """
        lay = self.layout
        if not lay.header:
            positions = {s.field: s.position for s in lay.fields if s.position is not None}
            expected = max(positions.values()) + 1
            return InputInfo(self.name, self.path, lay, self.encoding, (), positions, expected)
        names = [n.strip() for n in self._split_line(first)]
        known = {s.column: s for s in lay.fields if s.column}
        folded: dict[str, FieldSpec] = {}
        clashing: set[str] = set()
        for column, spec in known.items():
            key = column.casefold()
            if key in folded:
                clashing.add(key)
            folded[key] = spec
        for key in clashing:
            del folded[key]

        def lookup(name: str) -> FieldSpec | None:
            return known.get(name) or folded.get(name.casefold())

        if len(names) == 1:
            guesses = [d for d in (",", "\t", ";", "|", "*", "^") if d != lay.delimiter and d in first]
            looks = f"; it looks {guesses[0]!r}-delimited" if guesses else ""
            raise LAYOUT_MISMATCH.error(
                self.name,
                f"the header row is not {lay.delimiter!r}-delimited as layout {lay.name} expects{looks}",
            )
        specs = [lookup(n) for n in names]
        if not any(specs):
            if sum(1 for n in names if _looks_like_name(n)) * 2 < len(names):
                raise LAYOUT_MISMATCH.error(
                    self.name,
                    f"line {line_no} does not look like a header row: most of its {len(names)} fields look like data "
                    f"values, not column names; layout {lay.name} expects a header row of its column names",
                )
            first_name = f" (first column {names[0][:40]!r})" if _looks_like_name(names[0]) else ""
            raise LAYOUT_MISMATCH.error(
                self.name,
                f"the header row holds none of layout {lay.name}'s column names{first_name}; "
                "pass --layout to choose the right layout",
            )
        # Twice: two names of one layout column (in any case), or one unknown name repeated.
        keys = [spec.field if spec is not None else f"?{n}" for n, spec in zip(names, specs, strict=True)]
        counts = Counter(keys)
        twice = [p for p, k in enumerate(keys) if names[p] and counts[k] > 1]
        if twice:
            shown = sorted({names[p] for p in twice if _looks_like_name(names[p])})
            hidden = len({keys[p] for p in twice if not _looks_like_name(names[p])})
            listed = [*shown, *([f"{hidden} name(s) that do not look like column names"] if hidden else [])]
            raise LAYOUT_MISMATCH.error(self.name, f"column(s) named twice in the header row: {', '.join(listed)}")
        index: dict[str, int] = {}
        unknown: list[tuple[str, str | None]] = []
        # Layout columns the header lacks: what an unknown header column most likely meant.
        mapped = {found.field for found in specs if found is not None}
        absent = [c for c, spec in known.items() if spec.field not in mapped]
        for pos, (name, found) in enumerate(zip(names, specs, strict=True)):
            if found is not None:
                index[found.field] = pos
            elif _looks_like_name(name):
                unknown.append((name, _closest(name, absent) or _closest(name, list(known))))
            else:
                unknown.append((_shown(name, pos), None))
        for field_name, why in (
            ("mce_claim_id", "which groups rows into claims"),
            ("claim_type", "P, I or D per claim"),
        ):
            if field_name not in index and (field_name == "mce_claim_id" or len(lay.claim_types) > 1):
                column = lay.column_for(field_name)
                near = _closest(
                    column, [n for n, spec in zip(names, specs, strict=True) if spec is None and _looks_like_name(n)]
                )
                hint = f"; the header has {near!r}" if near else ""
                raise MISSING_COLUMN.error(self.name, f"the header row has no {column!r} column ({why}){hint}")
        return InputInfo(
            self.name,
            self.path,
            lay,
            self.encoding,
            tuple(names),
            index,
            len(names),
            tuple(unknown),
            first,
        )

    def _open_fixed(self, first: str) -> InputInfo:
        lay = self.layout
        rt = first[lay.record_type_start - 1 : lay.record_type_start - 1 + lay.record_type_length]
        types = [r.type for r in lay.records]
        if rt not in types:
            # Two characters of a record type may be shown; anything else may be a data value.
            shown = f" {rt!r}" if rt.isascii() and rt.isalnum() else ""
            raise LAYOUT_MISMATCH.error(
                self.name,
                f"the first record's type{shown} (positions {lay.record_type_start}-"
                f"{lay.record_type_start + lay.record_type_length - 1}) is not one of layout "
                f"{lay.name}'s record types {', '.join(types)}",
            )
        header = lay.record(Role.HEADER)
        if header is not None and rt != header.type:
            raise RECORD_ORDER.error(self.name, f"the first record must be the {header.type} header record, not {rt}")
        return InputInfo(self.name, self.path, lay, self.encoding)

    # -- parsing -----------------------------------------------------------------------
    def _parse(self, lines: Sequence[str], line_nos: Sequence[int], only: set[str] | None = None) -> pl.DataFrame:
        """Parse physical lines into a row-level frame of canonical text."""
        base = pl.DataFrame(
            {"_raw": list(lines), "_row": list(line_nos)},
            schema={"_raw": pl.String, "_row": pl.Int64},
        )
        if self.layout.format is Format.DELIMITED:
            return self._parse_delimited(base, only)
        return self._parse_fixed(base, only)

    def _parse_delimited(self, base: pl.DataFrame, only: set[str] | None) -> pl.DataFrame:
        info = self.open()
        lay = self.layout
        if lay.quote:
            parts_list = [self._split_line(line) for line in base["_raw"].to_list()]
            base = base.with_columns(pl.Series("_parts", parts_list, dtype=pl.List(pl.String)))
        else:
            # Materialise the split once: polars would otherwise split each line
            # again for every one of the ~130 columns.
            base = base.with_columns(pl.col("_raw").str.split(lay.delimiter).alias("_parts"))
        parts = pl.col("_parts")
        exprs: list[pl.Expr] = [
            pl.col("_raw"),
            pl.col("_row"),
            parts.list.len().cast(pl.Int64).alias("_nf"),
        ]
        exprs.append(pl.lit(KIND_ROW).alias("_kind"))
        for spec in lay.fields:
            if only is not None and spec.field not in only:
                continue
            pos = info.field_index.get(spec.field)
            if pos is None:
                continue
            exprs.append(_value_expr(parts.list.get(pos, null_on_oob=True), spec, lay))
        frame = base.select(exprs)
        if "claim_type" not in info.field_index and len(lay.claim_types) == 1:
            frame = frame.with_columns(pl.lit(lay.claim_types[0]).alias("claim_type"))
        return frame

    def _parse_fixed(self, base: pl.DataFrame, only: set[str] | None) -> pl.DataFrame:
        lay = self.layout
        raw = pl.col("_raw")
        rt = raw.str.slice(lay.record_type_start - 1, lay.record_type_length)
        kind: pl.Expr = pl.lit(KIND_OTHER)
        for rec in reversed(lay.records):
            kind = pl.when(rt == rec.type).then(pl.lit(_ROLE_KIND[rec.role])).otherwise(kind)
        claim_like: pl.Expr = pl.lit(False)
        if self._claim_like_len is not None:
            claim_like = ~rt.is_in([r.type for r in lay.records]) & (raw.str.len_chars() == self._claim_like_len)
        # Which rows each record's fields are read from, computed once per record
        # rather than once per field. A damaged claim record is read as a claim
        # record: its claim id and type name the claim that its damage rejects.
        base = base.with_columns(
            *[
                ((rt == rec.type) | claim_like if rec.role is Role.CLAIM else rt == rec.type).alias(f"_holds{i}")
                for i, rec in enumerate(lay.records)
            ]
        )
        exprs: list[pl.Expr] = [
            raw,
            pl.col("_row"),
            kind.alias("_kind"),
            raw.str.len_chars().cast(pl.Int64).alias("_len"),
            pl.lit(None, dtype=pl.Int64).alias("_nf"),
        ]
        for i, rec in enumerate(lay.records):
            for spec in rec.fields:
                if not spec.model or (only is not None and spec.field not in only):
                    continue
                assert spec.start is not None and spec.length is not None
                sliced = raw.str.slice(spec.start - 1, spec.length)
                value = _value_expr(sliced, spec, lay, fixed=True)
                exprs.append(pl.when(pl.col(f"_holds{i}")).then(value).otherwise(None).alias(spec.field))
        frame = base.select(exprs)
        if not any(s.field == "claim_type" for r in lay.records for s in r.fields) and len(lay.claim_types) == 1:
            frame = frame.with_columns(
                pl.when(self._starts_claim()).then(pl.lit(lay.claim_types[0])).alias("claim_type")
            )
        return frame

    def _starts_claim(self) -> pl.Expr:
        """Rows of a fixed-width frame that start a claim: claim records and damaged claim records."""
        kind = pl.col("_kind")
        start = kind == KIND_CLAIM
        if self._claim_like_len is not None:
            start = start | ((kind == KIND_OTHER) & (pl.col("_len") == self._claim_like_len))
        return start

    def _damaged_claim(self) -> pl.Expr:
        """Rows of a fixed-width frame that may be a claim record whose values cannot be trusted.

        A claim record of the wrong length, or a record of an unknown type that is
        not shaped like a line record: their amounts may be cut off or misread,
        so a trailer total cannot be verified while the file holds one.
        """
        kind, length = pl.col("_kind"), pl.col("_len")
        claim_bad = kind == KIND_CLAIM
        claim_bad = claim_bad & (length != self._claim_len) if self._claim_len is not None else pl.lit(False)
        other = kind == KIND_OTHER
        if self._line_len is not None:
            other = other & (length != self._line_len)
        return claim_bad | other

    def _key_expr(self) -> pl.Expr:
        """Claim key per row: the claim id, forward-filled onto line records for fixed-width."""
        key = pl.col("mce_claim_id")
        if self.layout.format is Format.FIXED_WIDTH:
            key = pl.when(self._starts_claim()).then(key.fill_null("")).otherwise(None).forward_fill()
        return key.fill_null("").alias("_key")

    # -- pass 1 ------------------------------------------------------------------------
    def scan(self) -> ScanResult:
        """First pass: count rows and claims, index runs, check structure.

        Raises:
            InputFileError: no data rows, missing columns, bad header/trailer records.
        """
        if self._scan is not None:
            return self._scan
        info = self.open()
        lay = self.layout
        index = ClaimIndex(self._temp_dir)
        self._index = index
        fixed = lay.format is Format.FIXED_WIDTH
        trailer_spec = lay.record(Role.TRAILER) if fixed else None
        sums: dict[str, int] = {}
        sum_fields = {
            s.check[4:] for s in (trailer_spec.fields if trailer_spec else ()) if s.check and s.check.startswith("sum:")
        }
        only = {"mce_claim_id", "claim_type", "adjudication_date"} | sum_fields
        data_rows = 0
        records = 0
        claim_records = 0
        damage = _Damage()
        types: dict[str, int] = {}
        last_key: str | None = None
        header_record: str | None = None
        trailer_record: str | None = None
        trailer_line = 0
        header_skipped = not (lay.format is Format.DELIMITED and lay.header)
        orphan_started = False
        last_data_line = 0
        blank_nos: list[int] = []
        for chunk in self._chunks():
            blank_nos.extend(chunk.blank_line_nos)
            lines, nos = chunk.lines, chunk.line_nos
            if not header_skipped and lines:
                lines, nos = lines[1:], nos[1:]
                header_skipped = True
            if not lines:
                continue
            frame = self._parse(lines, nos, only)
            records_before = records
            records += frame.height
            if fixed:
                if trailer_record is not None:
                    raise RECORD_ORDER.error(
                        self.name, f"line {int(frame['_row'][0])}: records after the trailer record"
                    )
                positions = (
                    frame.with_row_index("_pos")
                    .filter(pl.col("_kind").is_in([KIND_HEADER, KIND_TRAILER]))
                    .select("_pos", "_kind", "_row", "_raw")
                )
                for pos, kind, row, raw in positions.iter_rows():
                    if kind == KIND_HEADER:
                        if records_before + pos != 0:
                            raise RECORD_ORDER.error(
                                self.name,
                                f"line {row}: a header record may only be the first record",
                            )
                        header_record = str(raw)
                    else:
                        if pos != frame.height - 1:
                            after = int(frame["_row"][pos + 1])
                            raise RECORD_ORDER.error(self.name, f"line {after}: records after the trailer record")
                        trailer_record = str(raw)
                        trailer_line = int(row)
                data = frame.filter(~pl.col("_kind").is_in([KIND_HEADER, KIND_TRAILER]))
                marks = data.select(
                    self._starts_claim().alias("start"),
                    (pl.col("_kind") == KIND_OTHER).alias("unknown"),
                    self._damaged_claim().alias("damaged"),
                )
                claims = data.filter(marks["start"])
                claim_records += claims.height
                damage.unknown += int(marks["unknown"].sum())
                damage.claim_like += int((marks["start"] & marks["unknown"]).sum())
                damaged_rows = data.filter(marks["damaged"])["_row"]
                if damaged_rows.len():
                    damage.claims += damaged_rows.len()
                    if damage.first_line is None:
                        damage.first_line = int(damaged_rows[0])
                keys = claims["mce_claim_id"].fill_null("").to_list()
                facts = _facts(claims)
                if not orphan_started and data.height and claim_records == claims.height:
                    # Line records before the first claim record form one orphan run.
                    if not marks["start"][0]:
                        keys.insert(0, "")
                        facts.insert(0, (None, int(data["_row"][0])))
                        orphan_started = True
                index.add_runs(keys, facts)
                for fname in sum_fields:
                    cents = _to_cents(claims[fname]) if fname in claims.columns else 0
                    sums[fname] = sums.get(fname, 0) + cents
                typed = claims
            else:
                data = frame
                key = data.select(self._key_expr())["_key"]
                starts = key != key.shift(1)
                starts = starts.fill_null(key[0] != last_key if last_key is not None else True)
                index.add_runs(key.filter(starts).to_list(), _facts(data.filter(starts)))
                last_key = str(key[-1])
                typed = data
            data_rows += data.height
            if data.height:
                last_data_line = int(data["_row"][-1])
            if "claim_type" in typed.columns:
                firsts = typed.group_by("claim_type").agg(pl.col("_row").min())
                for ct, row in firsts.iter_rows():
                    if ct is not None and ct not in types:
                        types[str(ct)] = int(row)
        # No data rows (a header row, or header and trailer records, only) is a file
        # with nothing to send, not an unusable one: a quiet fortnight's extract.
        if fixed and trailer_spec is not None:
            if trailer_record is None:
                raise RECORD_ORDER.error(
                    self.name,
                    f"the file has no {trailer_spec.type} trailer record: it may be truncated",
                )
            unverified = self._check_trailer(
                trailer_spec.fields,
                trailer_record,
                trailer_line,
                records,
                data_rows,
                claim_records,
                sums,
                damage,
            )
        else:
            unverified = ()
        self._check_columns(info, types)
        claims_total, split = index.finish_scan()
        blanks_inside = sum(1 for b in blank_nos if b < last_data_line)
        self._scan = ScanResult(
            data_rows, claims_total, split, types, header_record, trailer_record, blanks_inside, unverified
        )
        return self._scan

    def _check_trailer(
        self,
        specs: Sequence[FieldSpec],
        record: str,
        line_no: int,
        records: int,
        data_rows: int,
        claim_records: int,
        sums: dict[str, int],
        damage: _Damage,
    ) -> tuple[str, ...]:
        """Compare the trailer's counts and totals with the file; return the checks left unverified.

        Messages print the decoded count or amount, never the raw field text. A
        mismatch that damaged records may explain (a claim record of an unknown
        type or the wrong length, whose claim the FF012/FF016 rules reject) does
        not stop the run: the check is reported as unverified instead.

        Raises:
            InputFileError: a count or total does not match and no damage explains it.
        """
        unverified: list[str] = []
        for spec in specs:
            if not spec.check:
                continue
            assert spec.start is not None and spec.length is not None
            raw = record[spec.start - 1 : spec.start - 1 + spec.length]
            frame = pl.DataFrame({"v": [raw]}, schema={"v": pl.String})
            text = frame.select(_value_expr(pl.col("v"), spec, self.layout, fixed=True))[spec.field][0]
            form = f"a valid {spec.picture.text} value" if spec.picture is not None else "a number"
            if spec.check.startswith("count:"):
                what = spec.check[6:]
                expected = {
                    "count:records": records,
                    "count:data": data_rows,
                    "count:claims": claim_records,
                }[spec.check]
                count = _count_of(text)
                if count == expected:
                    continue
                says = f"says {count}" if count is not None else f"is not {form}"
                if spec.check == "count:claims" and count is not None and damage.unknown:
                    # Records of an unknown type may be claim records the extract
                    # wrote (or not); only a count outside that range is a mismatch.
                    sound = claim_records - damage.claim_like
                    if sound <= count <= sound + damage.unknown:
                        unverified.append(
                            f"line {line_no}: trailer {spec.field} {says}, and the file holds {sound} claim "
                            f"records and {damage.unknown} record(s) of an unknown type"
                        )
                        continue
                raise TRAILER_COUNT.error(
                    self.name,
                    f"line {line_no}: trailer {spec.field} {says}, but the file holds {expected} "
                    f"({what}); the file may be truncated or padded",
                )
            target = spec.check[4:]
            total = _format_cents(sums.get(target, 0))
            stated = _stated_cents(text)
            if stated == sums.get(target, 0):
                continue
            says = f"says {_format_cents(stated)}" if stated is not None else f"is not {form}"
            if damage.claims:
                unverified.append(
                    f"line {line_no}: trailer {spec.field} {says} and the readable claim records sum "
                    f"{target} to {total}; {damage.claims} damaged record(s) (first at line "
                    f"{damage.first_line}) hide the rest and their claims are rejected"
                )
                continue
            raise TRAILER_TOTAL.error(
                self.name,
                f"line {line_no}: trailer {spec.field} {says}, but {target} sums to {total}",
            )
        # The run report and summary list them (``ScanResult.unverified_checks``).
        return tuple(unverified)

    def _check_columns(self, info: InputInfo, types: dict[str, int]) -> None:
        if self.layout.format is not Format.DELIMITED:
            return
        present = set(info.field_index)
        if "claim_type" not in info.field_index and len(self.layout.claim_types) == 1:
            present.add("claim_type")
        problems: list[str] = []
        missing_columns: set[str] = set()
        catalog = self.layout.catalog
        for ct, first_row in sorted(types.items(), key=lambda kv: kv[1]):
            if ct not in catalog.claim_types:
                continue
            missing = [fd.name for fd in catalog.required(ct) if fd.name not in present]
            if missing:
                missing_columns.update(self.layout.column_for(m) for m in missing)
                cols = ", ".join(self.layout.column_for(m) for m in missing)
                problems.append(
                    f"{catalog.type_name(ct)} claims (type {ct}, first at line {first_row}) require column(s) {cols}"
                )
        if problems:
            # A misspelt column is missing and unknown at once: name the header's near miss.
            near = [
                f"header column {name!r} is not in the layout (did you mean {hint!r}?)"
                for name, hint in info.unknown_columns
                if hint in missing_columns
            ]
            raise MISSING_COLUMN.error(self.name, "missing column(s): " + "; ".join(problems + near))

    # -- pass 2 ------------------------------------------------------------------------
    def iter_batches(self) -> Iterator[Batch]:
        """Second pass: yield batches of whole claims (see the module docstring)."""
        self.scan()
        lay = self.layout
        header_pending = lay.format is Format.DELIMITED and lay.header
        pending: pl.DataFrame | None = None
        blanks: list[int] = []
        for chunk, is_last in _with_last(self._chunks()):
            lines, nos = chunk.lines, chunk.line_nos
            blanks.extend(chunk.blank_line_nos)
            if header_pending and lines:
                lines, nos = lines[1:], nos[1:]
                header_pending = False
            frame: pl.DataFrame | None = None
            if lines:
                frame = self._parse(lines, nos)
                frame = frame.filter(~pl.col("_kind").is_in([KIND_HEADER, KIND_TRAILER]))
            if pending is not None:
                frame = pending if frame is None else pl.concat([pending, frame], how="diagonal_relaxed")
                pending = None
            if frame is None or frame.height == 0:
                continue
            frame = self._mark_runs(frame)
            if not is_last:
                starts = frame["_start"].arg_true()
                cut = int(starts[-1]) if len(starts) else 0
                if cut == 0:
                    pending = frame.drop("_start")
                    continue
                pending = frame.slice(cut).drop("_start")
                frame = frame.slice(0, cut)
            last_row = int(frame["_row"][-1])
            inside = tuple(b for b in blanks if b < last_row)
            blanks = [b for b in blanks if b >= last_row]
            yield from self._emit(frame, inside)

    def _mark_runs(self, frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_columns(self._key_expr())
        if self.layout.format is Format.FIXED_WIDTH:
            start = self._starts_claim() | (pl.int_range(pl.len()) == 0)
        else:
            start = (pl.col("_key") != pl.col("_key").shift(1)).fill_null(True)
        return frame.with_columns(start.alias("_start"))

    def _emit(self, frame: pl.DataFrame, blank_lines: tuple[int, ...]) -> Iterator[Batch]:
        assert self._index is not None
        # Blank lines seen while every row was parked travel with the next batch.
        blank_lines = self._carried_blanks + blank_lines
        self._carried_blanks = ()
        if self._index.has_split:
            run_keys = frame.filter(pl.col("_start"))["_key"].to_list()
            split = self._index.split_runs(run_keys)
            if split:
                frame = frame.with_columns(pl.col("_start").cum_sum().alias("_run"))
                parked = frame.filter(pl.col("_key").is_in(list(split)))
                frame = frame.filter(~pl.col("_key").is_in(list(split))).drop("_run")
                complete: list[tuple[str, list[tuple[int, str]]]] = []
                for (_, key), part in parked.group_by(["_run", "_key"], maintain_order=True):
                    lines = list(zip(part["_row"].to_list(), part["_raw"].to_list(), strict=True))
                    if self._index.park(str(key), lines):
                        complete.append((str(key), self._index.take(str(key))))
                if frame.height:
                    yield Batch(self.name, self._flatten(frame, runs=1), blank_lines)
                    blank_lines = ()
                # Reassembled claims travel together, a batch's worth at a time: one batch
                # per claim made an unsorted extract tens of times slower.
                group: list[tuple[str, list[tuple[int, str]], int]] = []
                size = 0
                for key, lines in complete:
                    group.append((key, lines, split[key]))
                    size += len(lines)
                    if size >= self.chunk_lines:
                        yield Batch(self.name, self._reassemble(group), blank_lines)
                        blank_lines = ()
                        group, size = [], 0
                if group:
                    yield Batch(self.name, self._reassemble(group), blank_lines)
                    blank_lines = ()
                self._carried_blanks = blank_lines
                return
        yield Batch(self.name, self._flatten(frame, runs=1), blank_lines)

    def _reassemble(self, claims: list[tuple[str, list[tuple[int, str]], int]]) -> pl.DataFrame:
        """Parse split claims' parked lines back into whole claims: ``(key, lines, runs)`` each, one parse."""
        raws: list[str] = []
        nos: list[int] = []
        keys: list[str] = []
        starts: list[bool] = []
        runs: list[int] = []
        for key, lines, n in claims:
            for i, (no, raw) in enumerate(lines):
                raws.append(raw)
                nos.append(no)
                keys.append(key)
                starts.append(i == 0)
                runs.append(n)
        frame = self._parse(raws, nos).with_columns(
            pl.Series("_key", keys, dtype=pl.String),
            pl.Series("_start", starts, dtype=pl.Boolean),
            pl.Series("_nruns", runs, dtype=pl.Int64),
        )
        return self._flatten(frame, runs=None)

    def _flatten(self, frame: pl.DataFrame, runs: int | None) -> pl.DataFrame:
        """Turn a frame of whole runs into logical rows: one per service line.

        ``runs`` is how many runs each claim had in the file; None takes it per row
        from the frame's ``_nruns`` column (reassembled split claims).
        """
        seq0 = self._seq
        run = pl.col("_start").cum_sum() - 1
        if self.layout.format is Format.FIXED_WIDTH:
            out = self._flatten_fixed(frame.with_columns(run.alias("_run")))
        else:
            out = frame.with_columns(
                run.alias("_run"),
                pl.col("_start").alias("_first"),
                pl.when(pl.col("_start")).then(pl.col("_row")).forward_fill().alias("_claim_row"),
                pl.lit(False).alias("_nolines"),
                pl.lit(None, dtype=pl.Int64).alias("_len"),
            )
        n_runs = int(out.select(pl.col("_run").max()).item() or 0) + 1 if out.height else 0
        self._seq += n_runs
        runs_expr = pl.lit(runs, dtype=pl.Int64) if runs is not None else pl.col("_nruns")
        out = out.with_columns((pl.col("_run") + seq0).alias("_claim_seq"), runs_expr.alias("_runs"))
        return out.drop(["_run", "_start", "_key", *(["_nruns"] if runs is None else [])])

    def _flatten_fixed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Fold each claim record into its first line record (see :class:`Batch`).

        Two kinds of damaged claim record keep a row of their own instead, so the
        structure rules see the record itself and name its line: a record of an
        unknown type shaped like a claim record (a broken row of its claim, as an
        unknown record among line records is) and a claim record of the wrong
        length (a row without a service line that is not the claim's first row).
        """
        is_claim = pl.col("_kind") == KIND_CLAIM
        starts = self._starts_claim()
        wrong_length = is_claim & (pl.col("_len") != self._claim_len) if self._claim_len is not None else pl.lit(False)
        claim_cols = [c for c in self.layout.catalog.claim_fields if c in frame.columns]
        frame = frame.with_columns(starts.cast(pl.Int64).cum_sum().alias("_cl"))
        frame = frame.with_columns(
            *[pl.when(starts).then(pl.col(c)).otherwise(None).forward_fill().over("_run").alias(c) for c in claim_cols],
            pl.when(starts).then(pl.col("_row")).otherwise(None).forward_fill().over("_run").alias("_claim_row"),
            # Per claim record, not per run: a run may hold several claim records
            # (a reassembled split claim), and a damaged one must not lend its
            # lines the raw text of the one before it.
            pl.when(is_claim & ~wrong_length)
            .then(pl.col("_raw"))
            .otherwise(None)
            .forward_fill()
            .over("_cl")
            .alias("_cl_raw"),
            (pl.col("_kind") != KIND_CLAIM).any().over("_cl").alias("_has_lines"),
        )
        frame = frame.with_columns((is_claim & pl.col("_has_lines") & wrong_length).alias("_apart"))
        frame = frame.filter(~is_claim | ~pl.col("_has_lines") | pl.col("_apart"))
        first_in_claim_record = pl.col("_cl") != pl.col("_cl").shift(1)
        first_in_claim_record = first_in_claim_record.fill_null(True)
        with_claim_raw = first_in_claim_record & ~is_claim & pl.col("_cl_raw").is_not_null()
        # The claim's first row carries its claim-level values for the rules and
        # the builder; a claim record kept apart is never that row.
        eligible = ~pl.col("_apart")
        frame = frame.with_columns(
            pl.when(with_claim_raw)
            .then(pl.concat_str([pl.col("_cl_raw"), pl.lit("\n"), pl.col("_raw")]))
            .otherwise(pl.col("_raw"))
            .alias("_raw"),
            (eligible & (eligible.cast(pl.Int64).cum_sum().over("_run") == 1)).alias("_first"),
            is_claim.alias("_nolines"),
            pl.col("_claim_row").fill_null(pl.col("_row")),
        )
        return frame.drop(["_cl", "_cl_raw", "_has_lines", "_apart"])

    def claim_facts(self, claim_id: str) -> tuple[str | None, int] | None:
        """Return ``(adjudication date, first line)`` of a claim id anywhere in the file (after scan)."""
        if self._index is None:
            return None
        return self._index.facts(claim_id)

    @property
    def claim_index(self) -> ClaimIndex | None:
        """Return the on-disk index of the file's claim ids (after scan)."""
        return self._index

    # -- rejects support -----------------------------------------------------------------
    def header_text(self) -> str | None:
        """Return the text a rejects file must start with (header row or header record)."""
        info = self.open()
        if self.layout.format is Format.DELIMITED:
            return info.header_line
        return self.scan().header_record


def _facts(frame: pl.DataFrame) -> list[tuple[str | None, int]]:
    """Adjudication date (canonical text) and line of each row, for the claim index."""
    dates = frame["adjudication_date"].to_list() if "adjudication_date" in frame.columns else [None] * frame.height
    return list(zip(dates, frame["_row"].to_list(), strict=True))


def _cents_of(text: str) -> int:
    """Canonical amount text to cents (``"-5.25"`` -> -525).

    Raises:
        ValueError: the text is not a canonical amount.
    """
    negative = text.startswith("-")
    body = text.lstrip("+-")
    whole, _, frac = body.partition(".")
    if not whole.isdigit() and whole != "" or not (frac.isdigit() or frac == "") or len(frac) > 2:
        raise ValueError(text)
    if whole == "" and frac == "":
        raise ValueError(text)
    cents = int(whole or "0") * 100 + int((frac + "00")[:2])
    return -cents if negative else cents


def _count_of(text: str | None) -> int | None:
    """A decoded trailer count as a number (None: blank or not a whole number)."""
    if text is None or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _stated_cents(text: str | None) -> int | None:
    """A decoded trailer total in cents (None: blank or not an amount the picture allows)."""
    if text is None:
        return None
    try:
        return _cents_of(text)
    except ValueError:
        return None


def _format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _to_cents(series: pl.Series) -> int:
    total = 0
    for value in series.drop_nulls().to_list():
        try:
            total += _cents_of(str(value))
        except ValueError:
            continue
    return total
