"""Encoding and decoding NCPDP field values, fixed records and D.0 segments."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from sendpro import overpunch
from sendpro.ncpdp.layout import FieldFormat, NcpdpField, RecordLayout, SegmentLayout

#: D.0 separators: segment, group and field.
SEGMENT_SEP = "\x1e"
GROUP_SEP = "\x1d"
FIELD_SEP = "\x1c"
STX = "\x02"
ETX = "\x03"

_TEMPLATE = re.compile(r"\{([a-z_]+)\}")
# ASCII only: str.isdigit() also accepts digits of other scripts.
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{8}")


class FieldValueError(ValueError):
    """A value cannot be written into (or read from) its field."""

    def __init__(self, f: NcpdpField, message: str) -> None:
        super().__init__(f"{f.label}: {message}")
        self.field = f


def source_value(f: NcpdpField, values: Mapping[str, object], context: Mapping[str, str]) -> object:
    """Return the value a field takes: a filled template, or a model value through the code map."""
    if f.value is not None:
        return _TEMPLATE.sub(lambda m: str(context.get(m.group(1), "")), f.value)
    value = values.get(f.field or "")
    if value is not None and f.map:
        value = f.map.get(str(value), value)
    return value


def encode_value(f: NcpdpField, value: object, width: int | None) -> str:
    """Encode one value; ``width`` pads fixed fields, ``None`` writes the shortest form (D.0).

    Raises:
        FieldValueError: the value does not fit the field.
    """
    if value is None or value == "":
        if f.required:
            raise FieldValueError(f, "a required field has no value")
        return " " * width if width else ""
    if f.format is FieldFormat.TEXT:
        text = str(value)
        limit = width or f.max_length
        if limit is not None and len(text) > limit:
            raise FieldValueError(f, f"{len(text)} characters do not fit {limit}")
        return text.ljust(width) if width else text
    if f.format is FieldFormat.DATE:
        text = f"{value:%Y%m%d}" if isinstance(value, dt.date) else str(value)
        if not _DATE.fullmatch(text):
            raise FieldValueError(f, "a date must be CCYYMMDD")
        try:
            dt.datetime.strptime(text, "%Y%m%d")
        except ValueError:
            raise FieldValueError(f, "not a real date CCYYMMDD") from None
        return text
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise FieldValueError(f, "not a number") from None
    if not number.is_finite():
        raise FieldValueError(f, "not a finite number")
    if f.format is FieldFormat.DOLLARS:
        digits = len(str(abs(int(number.scaleb(f.decimals))))) if width is None else width
        if width is None and f.max_length is not None and digits > f.max_length:
            raise FieldValueError(f, f"{digits} digits do not fit {f.max_length}")
        try:
            return overpunch.encode(number, max(digits, 1), f.decimals)
        except ValueError as exc:
            raise FieldValueError(f, str(exc)) from None
    scaled = number.scaleb(f.decimals)
    if scaled != scaled.to_integral_value() or number < 0:
        raise FieldValueError(f, f"not a whole non-negative number with {f.decimals} implied decimals")
    text = str(int(scaled))
    limit = width or f.max_length
    if limit is not None and len(text) > limit:
        raise FieldValueError(f, f"{len(text)} digits do not fit {limit}")
    return text.rjust(width, "0") if width else text


def decode_value(f: NcpdpField, text: str) -> object:
    """Decode one field's text; blank is ``None``.

    Raises:
        FieldValueError: the text is not valid for the field's format.
    """
    if not text.strip():
        return None
    if f.format is FieldFormat.TEXT:
        return text.rstrip()
    if f.format is FieldFormat.DATE:
        if not _DATE.fullmatch(text):
            raise FieldValueError(f, "not a real date CCYYMMDD")
        try:
            return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            raise FieldValueError(f, "not a real date CCYYMMDD") from None
    if f.format is FieldFormat.DOLLARS:
        try:
            return overpunch.decode(text, f.decimals)
        except ValueError:
            raise FieldValueError(f, "not a signed overpunch amount") from None
    if not _DIGITS.fullmatch(text):
        raise FieldValueError(f, "not all digits")
    return Decimal(int(text)).scaleb(-f.decimals) if f.decimals else int(text)


def encode_record(rec: RecordLayout, values: Mapping[str, object], context: Mapping[str, str]) -> str:
    """Encode a fixed-length record."""
    chars = [" "] * rec.length
    for f in rec.fields:
        assert f.start is not None and f.length is not None
        text = encode_value(f, source_value(f, values, context), f.length)
        chars[f.start - 1 : f.end] = list(text)
    return "".join(chars)


def decode_record(rec: RecordLayout, line: str) -> tuple[dict[str, object], list[FieldValueError]]:
    """Decode a fixed-length record; return the values by key and the fields that did not decode."""
    values: dict[str, object] = {}
    problems: list[FieldValueError] = []
    for f in rec.fields:
        assert f.start is not None
        try:
            values[f.key] = decode_value(f, line[f.start - 1 : f.end])
        except FieldValueError as exc:
            problems.append(exc)
    return values, problems


def encode_segment(seg: SegmentLayout, values: Mapping[str, object], context: Mapping[str, str]) -> str:
    """Encode one D.0 segment: RS, FS + ``AM`` + id, then FS + code + value for each present field."""
    parts = [SEGMENT_SEP, FIELD_SEP, "AM", seg.id]
    for f in seg.fields:
        text = encode_value(f, source_value(f, values, context), None)
        if text:
            parts += [FIELD_SEP, f.code or "", text]
    return "".join(parts)


def decode_segments(
    layouts: tuple[SegmentLayout, ...], text: str, too_long: list[tuple[NcpdpField, int]] | None = None
) -> tuple[dict[str, object], list[str], list[FieldValueError]]:
    """Decode the segments of a D.0 transaction body.

    Returns the values by key, the segment ids seen, and the fields that did not decode.
    A field decodes whatever its length; given ``too_long``, those longer than their
    ``max_length`` are added to it with their length, in the same pass.
    """
    by_id = {s.id: s for s in layouts}
    values: dict[str, object] = {}
    seen: list[str] = []
    problems: list[FieldValueError] = []
    for chunk in text.replace(GROUP_SEP, "").split(SEGMENT_SEP):
        fields = [x for x in chunk.split(FIELD_SEP) if x]
        if not fields:
            continue
        head = fields[0]
        if not head.startswith("AM") or len(head) != 4:
            seen.append("??")
            continue
        seen.append(head[2:])
        seg = by_id.get(head[2:])
        if seg is None:
            continue
        codes = {f.code: f for f in seg.fields}
        for item in fields[1:]:
            f = codes.get(item[:2])
            if f is None:
                continue
            if too_long is not None and len(item) - 2 > (f.max_length or 8):  # a D.0 date is 8 characters
                too_long.append((f, len(item) - 2))
            try:
                values[f.key] = decode_value(f, item[2:])
            except FieldValueError as exc:
                problems.append(exc)
    return values, seen, problems
