"""Checks of an NCPDP file against its layout (``sendpro validate FILE.ncpdp``).

Layout-independent checks in the spirit of NCPDP batch edits: record framing
and lengths, one header first and one trailer last, trailer counts and totals,
and every field decoding by its format (digits, overpunch, real dates) with
required fields present. Codes are ``RX2nn`` (output side; input rules are
``RX0nn``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from sendpro.ncpdp.layout import NcpdpLayout, RecordRole
from sendpro.ncpdp.reader import DecodedRecord, decode, iter_raw_records
from sendpro.report.issue import Category, Issue, Location, Severity

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
}


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


def _iter_issues(path: Path, layout: NcpdpLayout, file: str) -> Iterator[Issue]:
    header = layout.record(RecordRole.HEADER)
    trailer = layout.record(RecordRole.TRAILER)
    records = 0
    details = 0
    sums: dict[str, int] = {}
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
            yield _issue(
                code, f"trailer {f.name} says {stated}, the file holds {expected}", file, trailer_no, f.id or f.name
            )
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


def _batch_number(record: DecodedRecord) -> object:
    for key, value in record.values.items():
        if key.startswith("806-5C") or key == "Batch Number":
            return value
    return None
