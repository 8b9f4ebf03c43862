"""Reading NCPDP files back through their layout: records, decoded details and control totals.

Used by reconciliation (the accepted totals come from the file on disk), by
``sendpro validate FILE.ncpdp`` and by round-trip tests. Streaming: one record
at a time.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from sendpro.errors import LayoutError
from sendpro.ncpdp.codec import (
    ETX,
    STX,
    FieldValueError,
    decode_record,
    decode_segments,
)
from sendpro.ncpdp.layout import (
    NcpdpField,
    NcpdpLayout,
    RecordRole,
    bundled_ncpdp_layouts,
    load_ncpdp_layout,
)

#: How much of a file, and how many of its records, :func:`guess_ncpdp_layout` looks at.
GUESS_BYTES = 1 << 16
GUESS_RECORDS = 50


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One physical record: its 1-based number, role (None: unknown type) and text without framing."""

    number: int
    role: RecordRole | None
    type: str
    text: str
    framed: bool = True


@dataclass
class DecodedRecord:
    """A record's decoded values and the fields that did not decode."""

    raw: RawRecord
    values: dict[str, object]
    problems: list[FieldValueError] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    #: D.0 segment fields longer than their ``max_length``, with their length (they still decode).
    too_long: list[tuple[NcpdpField, int]] = field(default_factory=list)


def iter_raw_records(path: Path, layout: NcpdpLayout, chunk_size: int = 1 << 20) -> Iterator[RawRecord]:
    """Yield the records of an NCPDP file (lines for fixed layouts, STX..ETX frames for batches)."""
    with path.open("r", encoding="ascii", errors="replace", newline="") as handle:
        yield from iter_raw_text(handle, layout, chunk_size)


def iter_raw_text(handle: TextIO, layout: NcpdpLayout, chunk_size: int = 1 << 20) -> Iterator[RawRecord]:
    """Yield the records of an NCPDP text stream (opened with ``newline=""``), as :func:`iter_raw_records`."""
    types = {r.type: r.role for r in layout.records}
    if not layout.batch:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            start = layout.record_type_start - 1
            rtype = text[start : start + layout.record_type_length]
            yield RawRecord(number, types.get(rtype), rtype, text)
        return
    number = 0
    buffer = ""
    while True:
        chunk = handle.read(chunk_size)
        buffer += chunk
        parts = buffer.split(ETX)
        buffer = parts.pop()  # text after the last ETX: the start of the next record
        for part in parts:
            # Each part should be STX + record. More than one STX means a record
            # lost its ETX; text before the first STX is a record without its STX.
            pieces = part.strip("\r\n").split(STX)
            head, framed_pieces = pieces[0], pieces[1:]
            if head.strip("\r\n"):
                number += 1
                yield RawRecord(number, types.get(head[:2]), head[:2], head, False)
            for j, piece in enumerate(framed_pieces):
                number += 1
                body = piece.strip("\r\n")
                yield RawRecord(number, types.get(body[:2]), body[:2], body, j == len(framed_pieces) - 1)
        if not chunk:
            if buffer.strip("\r\n"):
                number += 1
                body = buffer.strip("\r\n").lstrip(STX)
                # A record without its closing ETX: report it as unframed.
                yield RawRecord(number, types.get(body[:2]), body[:2], body, False)
            return


def decode(raw: RawRecord, layout: NcpdpLayout) -> DecodedRecord:
    """Decode a record's fields (and, for batch details, its D.0 segments)."""
    if raw.role is None:
        return DecodedRecord(raw, {})
    record = layout.record(raw.role)
    if layout.batch and raw.role is RecordRole.DETAIL:
        offset = len(record.type) + layout.reference_length
        header_text = raw.text[offset : offset + record.length]
        values, problems = decode_record(record, header_text)
        values["transaction_reference"] = raw.text[len(record.type) : offset]
        too_long: list[tuple[NcpdpField, int]] = []
        seg_values, seen, seg_problems = decode_segments(layout.segments, raw.text[offset + record.length :], too_long)
        values.update(seg_values)
        return DecodedRecord(raw, values, problems + seg_problems, seen, too_long)
    values, problems = decode_record(record, raw.text)
    return DecodedRecord(raw, values, problems)


def read_details(path: Path, layout: NcpdpLayout) -> Iterator[dict[str, object]]:
    """Yield the decoded values of every detail record."""
    for raw in iter_raw_records(path, layout):
        if raw.role is RecordRole.DETAIL:
            yield decode(raw, layout).values


@dataclass
class NcpdpTally:
    """Counts and money in an NCPDP file (amounts in cents)."""

    records: int = 0
    details: int = 0
    paid: int = 0
    charge: int = 0


def tally_ncpdp(path: Path, layout: NcpdpLayout) -> NcpdpTally:
    """Count detail records and sum the layout's paid and charge fields, from the file on disk."""
    t = NcpdpTally()
    paid_key = layout.totals["paid"]
    charge_key = layout.totals.get("charge")
    for raw in iter_raw_records(path, layout):
        t.records += 1
        if raw.role is not RecordRole.DETAIL:
            continue
        values = decode(raw, layout).values
        t.details += 1
        t.paid += _cents(values.get(paid_key))
        if charge_key:
            t.charge += _cents(values.get(charge_key))
    return t


def _cents(value: object) -> int:
    return int(Decimal(str(value)).scaleb(2)) if value is not None else 0


def detect_ncpdp_layout(path: Path) -> NcpdpLayout:
    """Choose the NCPDP layout of a file from its first record.

    Raises:
        LayoutError: no bundled layout recognises the first record.
    """
    with path.open("rb") as handle:
        head = handle.read(200)
    for lpath in bundled_ncpdp_layouts().values():
        lay = load_ncpdp_layout(lpath)
        header = lay.record(RecordRole.HEADER)
        if lay.batch and head[:1] == STX.encode() and head[1:3].decode("ascii", "replace") == header.type:
            return lay
        start = lay.record_type_start - 1
        if not lay.batch and head[start : start + lay.record_type_length].decode("ascii", "replace") == header.type:
            return lay
    raise LayoutError(f"{path}: the first record matches no NCPDP layout (batch 00 header or a fixed header record)")


def guess_ncpdp_layout(path: Path) -> NcpdpLayout | None:
    """Choose the bundled layout most of a file's first records fit, when its first record fits none.

    A file whose header record is damaged is still recognisable by the rest: STX
    framing and the batch record types, or fixed records whose type or length is
    one of a layout's. Validating it against that layout then names what is wrong
    (the header) instead of calling it "not an X12 file". Returns None when fewer
    than two of the first records, or not most of them, fit any layout: then the
    file is probably not NCPDP at all.
    """
    # Only a bounded sample is read: a file that is not NCPDP may be one huge line.
    with path.open("r", encoding="ascii", errors="replace", newline="") as handle:
        sample = handle.read(GUESS_BYTES)
    framed = STX in sample
    best: tuple[int, NcpdpLayout] | None = None
    for lpath in bundled_ncpdp_layouts().values():
        lay = load_ncpdp_layout(lpath)
        if lay.batch != framed:
            continue
        lengths = {r.length for r in lay.records}
        records = list(itertools.islice(iter_raw_text(io.StringIO(sample, newline=""), lay), GUESS_RECORDS))
        # A batch detail has no fixed length; a fixed record fits by its type or by its length
        # (a header whose type is damaged keeps its length).
        fits = sum(1 for r in records if r.role is not None or (not lay.batch and len(r.text) in lengths))
        if fits >= 2 and 2 * fits > len(records) and (best is None or fits > best[0]):
            best = (fits, lay)
    return None if best is None else best[1]


def looks_like_ncpdp(path: Path) -> bool:
    """Return True when a file is meant to be NCPDP: named ``*.ncpdp``, or STX-framed like a batch."""
    if path.suffix.lower() == ".ncpdp":
        return True
    with path.open("rb") as handle:
        return handle.read(1) == STX.encode()
