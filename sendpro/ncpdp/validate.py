"""Checks of an NCPDP file against its layout (``sendpro validate FILE.ncpdp``).

Layout-independent checks in the spirit of NCPDP batch edits: record framing
and lengths, one header first and one trailer last, trailer counts and totals,
and every field decoding by its format (digits, overpunch, real dates) with
required fields present, D.0 fields within their maximum length, unique
transaction references, and codes (transaction codes, code fields, the file
type) among the values the layout declares. Codes are ``RX2nn`` (output side;
input rules are ``RX0nn``). Messages name the record and field, never the
value (it may be PHI).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from sendpro.errors import LayoutError
from sendpro.model.fields import Kind
from sendpro.model.rx_fields import RX_FIELDS_BY_NAME
from sendpro.ncpdp.layout import (
    FieldFormat,
    NcpdpField,
    NcpdpLayout,
    RecordRole,
    bundled_ncpdp_layouts,
    load_ncpdp_layout,
)
from sendpro.ncpdp.reader import (
    DecodedRecord,
    decode,
    detect_ncpdp_layout,
    guess_ncpdp_layout,
    iter_raw_records,
    looks_like_ncpdp,
)
from sendpro.report.issue import Category, Issue, Location, Severity
from sendpro.scratchdb import open_scratch_db

#: Output-side NCPDP check codes and what they mean (listed by ``sendpro rules``).
CHECKS = {
    "RX201": ("ncpdp.record_length", "A fixed-length record is shorter or longer than its layout says."),
    "RX202": ("ncpdp.record_type", "A record's type is not one of the layout's record types."),
    "RX203": ("ncpdp.header", "The header record is missing, repeated or not first."),
    "RX204": ("ncpdp.trailer", "The trailer record is missing, repeated or not last."),
    "RX205": ("ncpdp.trailer_count", "The trailer's record count does not match the file."),
    "RX206": ("ncpdp.trailer_total", "The trailer's control total does not match the detail records."),
    "RX207": ("ncpdp.field_format", "A field does not decode by its format (digits, overpunch, date)."),
    "RX208": ("ncpdp.required", "A required field is blank."),
    "RX209": ("ncpdp.framing", "A batch record is not framed by STX ... ETX."),
    "RX210": ("ncpdp.transaction", "A D.0 transaction has the wrong version or misses a required segment."),
    "RX211": ("ncpdp.batch_number", "The trailer's batch number differs from the header's."),
    "RX212": ("ncpdp.field_length", "A D.0 field is longer than the max_length its layout allows."),
    "RX213": ("ncpdp.duplicate_reference", "Two detail records of a batch file carry the same transaction reference."),
    "RX214": ("ncpdp.transaction_code", "A detail's transaction code is not one the layout defines."),
    "RX215": ("ncpdp.code_value", "A code field holds a value outside its model codes or the layout's code map."),
    "RX216": ("ncpdp.file_type", "The header's file type is not T (test) or P (production)."),
    "RX217": (
        "ncpdp.unrecognised",
        "A file meant to be NCPDP (named .ncpdp, or STX-framed) is empty or fits no layout.",
    ),
}

#: The header's file type: the profile's usage, T (test) or P (production); profiles refuse others.
FILE_TYPES = ("T", "P")
#: The batch transaction reference field (880-K5), keyed as the reader decodes it.
_REFERENCE = "transaction_reference"


def _issue(
    code: str, message: str, file: str, record: int | None, ncpdp_field: str | None = None, value: str | None = None
) -> Issue:
    name, _ = CHECKS[code]
    return Issue(
        code,
        Severity.ERROR,
        message,
        Location(file=file, record_no=record, ncpdp_field=ncpdp_field),
        name,
        Category.NCPDP,
        value=value,
    )


def validate_ncpdp(path: Path, layout: NcpdpLayout, label: str | None = None) -> list[Issue]:
    """Check an NCPDP file; an empty list means it is sound."""
    return list(_iter_issues(path, layout, label or path.name))


class _FirstSeen:
    """Where each value was first seen, in a temporary SQLite file (memory stays flat)."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._path: Path | None = None

    def first(self, value: str, record: int) -> int:
        """Record ``value`` at ``record`` unless seen before; return the record that first had it."""
        if self._db is None:
            self._db, self._path = open_scratch_db(
                "sendpro-refs-", "CREATE TABLE seen (value TEXT PRIMARY KEY, record INTEGER NOT NULL) WITHOUT ROWID;"
            )
        self._db.execute("INSERT OR IGNORE INTO seen (value, record) VALUES (?, ?)", (value, record))
        row = self._db.execute("SELECT record FROM seen WHERE value = ?", (value,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Drop the file."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)


def validate_detected(path: Path, label: str | None = None) -> list[Issue] | None:
    """Check a file whose NCPDP layout is not given; return None when it is not an NCPDP file.

    The layout is the bundled one its first record (the header) matches; when the
    header is damaged, the one most of its first records fit. A file meant to be
    NCPDP (named ``*.ncpdp``, or STX-framed) that fits none, or is empty, is one
    RX217 issue: reporting it as "not an X12 file" would name the wrong problem.
    """
    file = label or path.name
    try:
        layout: NcpdpLayout | None = detect_ncpdp_layout(path)
    except LayoutError:
        layout = guess_ncpdp_layout(path)
    if layout is not None:
        return validate_ncpdp(path, layout, file)
    if not looks_like_ncpdp(path):
        return None
    with path.open("rb") as handle:
        empty = not handle.read(1 << 16).strip()
    if empty:
        message = "the file is empty: an NCPDP file starts with a header record"
    else:
        headers = []
        for name, lpath in bundled_ncpdp_layouts().items():
            lay = load_ncpdp_layout(lpath)
            headers.append(f"{name}: {'STX + ' if lay.batch else ''}{lay.record(RecordRole.HEADER).type}")
        message = (
            "the first record is no NCPDP header record (" + ", ".join(headers) + ") and the records that follow "
            "fit no layout either; pass --ncpdp-layout NAME|PATH to check it against a layout"
        )
    return [_issue("RX217", message, file, None)]


def _iter_issues(path: Path, layout: NcpdpLayout, file: str) -> Iterator[Issue]:
    references = _FirstSeen()
    try:
        yield from _check(path, layout, file, references)
    finally:
        references.close()


def _check(path: Path, layout: NcpdpLayout, file: str, references: _FirstSeen) -> Iterator[Issue]:
    header = layout.record(RecordRole.HEADER)
    trailer = layout.record(RecordRole.TRAILER)
    detail_fields = [*layout.record(RecordRole.DETAIL).fields, *(f for s in layout.segments for f in s.fields)]
    # The declared values of the fields that hold codes, normalised as the reader decodes them.
    transaction_codes = [
        (f, _decoded_forms(f, layout.transaction_codes.values())) for f in _templated(detail_fields, "transaction_code")
    ]
    file_types = [(f, _decoded_forms(f, FILE_TYPES)) for f in _templated(header.fields, "file_type")]
    code_fields = [(f, declared) for f in detail_fields if (declared := _declared_codes(f)) is not None]
    records = 0
    details = 0
    sums: dict[str, int] = {}
    # ``references``: transaction reference -> the record that first carried it. A repeat can
    # be anywhere and there are as many references as claims: kept on disk, not in memory.
    seen_header: DecodedRecord | None = None
    seen_trailer: DecodedRecord | None = None
    required_segments = {s.id for s in layout.segments if any(f.required for f in s.fields)}
    for raw in iter_raw_records(path, layout):
        records += 1
        if layout.batch and not raw.framed:
            yield _issue("RX209", "the record is not framed by STX ... ETX", file, raw.number)
        if raw.role is None:
            yield _issue("RX202", f"record type {raw.type!r} is not one of the layout's record types", file, raw.number)
            continue
        if seen_trailer is not None:
            yield _issue("RX204", "a record follows the trailer record", file, raw.number)
        record = layout.record(raw.role)
        if not layout.batch and len(raw.text) != record.length:
            yield _issue(
                "RX201",
                f"the {record.type} record is {len(raw.text)} characters; the layout says {record.length}",
                file,
                raw.number,
            )
        if layout.batch and raw.role is not RecordRole.DETAIL and len(raw.text) != record.length:
            yield _issue(
                "RX201",
                f"the {record.type} record is {len(raw.text)} characters; the layout says {record.length}",
                file,
                raw.number,
            )
        decoded = decode(raw, layout)
        for problem in decoded.problems:
            yield _issue("RX207", str(problem), file, raw.number, problem.field.id or problem.field.name)
        for f, length in decoded.too_long:
            yield _issue(
                "RX212",
                f"{f.label} has {length} characters; the layout allows {f.max_length or 8}",
                file,
                raw.number,
                f.id or f.name,
            )
        fields = list(record.fields)
        if raw.role is RecordRole.DETAIL:
            fields += [f for s in layout.segments for f in s.fields]
        for f in fields:
            if f.required and decoded.values.get(f.key) is None and not any(p.field is f for p in decoded.problems):
                yield _issue("RX208", f"{f.label} is required but blank", file, raw.number, f.id or f.name)
        if raw.role is RecordRole.HEADER:
            if seen_header is not None or records != 1:
                yield _issue("RX203", "the header record must come first, once", file, raw.number)
            seen_header = decoded
            for f, allowed in file_types:
                if _outside(decoded, f, allowed):
                    yield _issue(
                        "RX216",
                        f"{f.label} {_what(decoded, f, 'a value other than')} T (test) or P (production)",
                        file,
                        raw.number,
                        f.id or f.name,
                    )
        elif raw.role is RecordRole.TRAILER:
            if seen_trailer is not None:
                yield _issue("RX204", "a second trailer record", file, raw.number)
            seen_trailer = decoded
        else:
            details += 1
            if layout.batch:
                version = decoded.values.get("102-A2") or decoded.values.get("Version/Release Number")
                if version not in (None, "D0"):
                    yield _issue("RX210", f"the transaction's version is {version!r}, not D0", file, raw.number)
                missing = sorted(required_segments - set(decoded.segments))
                if missing:
                    yield _issue(
                        "RX210",
                        "the transaction misses segment(s) " + ", ".join("AM" + m for m in missing),
                        file,
                        raw.number,
                    )
                reference = str(decoded.values.get(_REFERENCE, ""))
                first = references.first(reference, raw.number)
                if first != raw.number:
                    yield _issue(
                        "RX213",
                        f"the transaction reference repeats the one of record {first}",
                        file,
                        raw.number,
                        "880-K5",
                    )
            for f, allowed in transaction_codes:
                if _outside(decoded, f, allowed):
                    defined = ", ".join(sorted(set(layout.transaction_codes.values())))
                    yield _issue(
                        "RX214",
                        f"{f.label} {_what(decoded, f, 'a transaction code other than')} {defined}, "
                        "the codes the layout defines",
                        file,
                        raw.number,
                        f.id or f.name,
                    )
            for f, allowed in code_fields:
                if _outside(decoded, f, allowed) and decoded.values.get(f.key) is not None:
                    yield _issue(
                        "RX215",
                        f"{f.label} holds a code outside the layout's codes ({', '.join(sorted(allowed))})",
                        file,
                        raw.number,
                        f.id or f.name,
                    )
            for f in trailer.fields:
                if f.check and f.check.startswith("sum:"):
                    value = decoded.values.get(f.check[4:])
                    sums[f.check] = sums.get(f.check, 0) + (
                        int(Decimal(str(value)).scaleb(2)) if value is not None else 0
                    )
    if seen_header is None:
        yield _issue("RX203", f"the file has no {header.type} header record", file, None)
    if seen_trailer is None:
        yield _issue("RX204", f"the file has no {trailer.type} trailer record", file, None)
        return
    trailer_no = seen_trailer.raw.number
    for f in trailer.fields:
        if not f.check:
            continue
        stated = seen_trailer.values.get(f.key)
        if f.check == "count:records":
            expected: object = records
        elif f.check == "count:details":
            expected = details
        else:
            expected = Decimal(sums.get(f.check, 0)).scaleb(-2)
            stated = None if stated is None else Decimal(str(stated))
        if stated != expected:
            code = "RX206" if f.check.startswith("sum:") else "RX205"
            # A field that did not decode is already RX207; say so rather than print a value.
            if any(p.field is f for p in seen_trailer.problems):
                says = "cannot be read"
            elif stated is None:
                says = "is blank"
            else:
                says = f"says {stated}"
            yield _issue(code, f"trailer {f.name} {says}, the file holds {expected}", file, trailer_no, f.id or f.name)
    if seen_header is not None:
        batch_header = _batch_number(seen_header)
        batch_trailer = _batch_number(seen_trailer)
        if batch_header is not None and batch_trailer is not None and batch_header != batch_trailer:
            yield _issue(
                "RX211",
                f"trailer batch number {batch_trailer} differs from the header's {batch_header}",
                file,
                trailer_no,
            )


def _templated(fields: Iterable[NcpdpField], template: str) -> list[NcpdpField]:
    """Return the fields whose value is exactly ``{template}``."""
    return [f for f in fields if f.value == "{" + template + "}"]


def _declared_codes(f: NcpdpField) -> frozenset[str] | None:
    """Return the values a code field may hold in the file (through its map), else None.

    A model code field holds its codes, each through the layout's map when it has
    one; the layout refuses, at load time, maps and codes that do not fit the field.
    """
    fd = RX_FIELDS_BY_NAME.get(f.field or "")
    if fd is None or fd.kind is not Kind.CODE or fd.codes is None:
        return None
    return _decoded_forms(f, (f.map.get(code, code) for code in fd.codes))


def _decoded_forms(f: NcpdpField, values: Iterable[str]) -> frozenset[str]:
    """Return ``values`` as the reader decodes them from the field: N as a number, AN without trailing blanks."""
    if f.format is FieldFormat.NUMERIC:
        return frozenset(str(int(v)) for v in values if v.isascii() and v.isdigit())
    return frozenset(v.rstrip() for v in values)


def _outside(decoded: DecodedRecord, f: NcpdpField, allowed: frozenset[str]) -> bool:
    """Return True when a field that decoded holds none of ``allowed`` (blank counts as none)."""
    if any(p.field is f for p in decoded.problems):
        return False  # already RX207
    value = decoded.values.get(f.key)
    return value is None or str(value) not in allowed


def _what(decoded: DecodedRecord, f: NcpdpField, holds: str) -> str:
    """Say what is wrong with a field's value without quoting it (it may be PHI)."""
    return "is blank, not one of" if decoded.values.get(f.key) is None else f"holds {holds}"


def _batch_number(record: DecodedRecord) -> object:
    for key, value in record.values.items():
        if key.startswith("806-5C") or key == "Batch Number":
            return value
    return None
