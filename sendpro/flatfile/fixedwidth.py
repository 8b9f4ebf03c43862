"""Encoding records for fixed-width layouts (the reading side is in :mod:`sendpro.flatfile.reader`).

Used to write synthetic fixed-width extracts and by tests that prove both
encodings of the same claims give the same 837.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TextIO

from sendpro.flatfile.layout import Format, Layout, RecordSpec, Role
from sendpro.flatfile.picture import encode_number


def encode_record(record: RecordSpec, layout: Layout, values: Mapping[str, str | None]) -> str:
    """Encode one record from canonical text values (dates CCYYMMDD, amounts ``120.00``).

    Missing values are left blank (spaces).

    Raises:
        ValueError: a value does not fit its field.
    """
    width = record.length or max((f.end for f in record.fields), default=layout.record_type_length)
    chars = [" "] * width
    start = layout.record_type_start - 1
    chars[start : start + layout.record_type_length] = list(record.type)
    for spec in record.fields:
        value = values.get(spec.field)
        if value is None or value == "":
            continue
        assert spec.start is not None and spec.length is not None
        pic = spec.picture
        if pic is not None and pic.numeric and (pic.decimals or pic.signed):
            text = encode_number(Decimal(value), pic)
        elif pic is not None and pic.numeric:
            text = value.rjust(spec.length, "0")
        else:
            text = value.ljust(spec.length)
        if len(text) != spec.length:
            raise ValueError(f"{spec.field}: value of {len(value)} characters does not fit {spec.length} positions")
        chars[spec.start - 1 : spec.start - 1 + spec.length] = list(text)
    return "".join(chars)


def write_fixed_width(
    out: TextIO,
    layout: Layout,
    claims: Iterable[Sequence[Mapping[str, str | None]]],
    header: Mapping[str, str] | None = None,
) -> int:
    """Write claims (each a list of line rows with claim-level values repeated) as HD/CL/LN/TR records.

    Returns the number of records written.
    """
    if layout.format is not Format.FIXED_WIDTH:
        raise ValueError(f"layout {layout.name} is not fixed-width")
    claim_rec = layout.record(Role.CLAIM)
    line_rec = layout.record(Role.LINE)
    head_rec = layout.record(Role.HEADER)
    trail_rec = layout.record(Role.TRAILER)
    assert claim_rec is not None and line_rec is not None
    records = 0
    sums: dict[str, Decimal] = {}
    sum_fields = [
        f.check[4:] for f in (trail_rec.fields if trail_rec else ()) if f.check and f.check.startswith("sum:")
    ]
    if head_rec is not None:
        out.write(encode_record(head_rec, layout, header or {}) + "\n")
        records += 1
    n_claims = 0
    n_data = 0
    for rows in claims:
        if not rows:
            continue
        out.write(encode_record(claim_rec, layout, rows[0]) + "\n")
        records += 1
        n_claims += 1
        n_data += 1
        for name in sum_fields:
            value = rows[0].get(name)
            if value:
                sums[name] = sums.get(name, Decimal(0)) + Decimal(value)
        for row in rows:
            out.write(encode_record(line_rec, layout, row) + "\n")
            records += 1
            n_data += 1
    if trail_rec is not None:
        values: dict[str, str] = {}
        for spec in trail_rec.fields:
            if spec.check == "count:records":
                values[spec.field] = str(records + 1)
            elif spec.check == "count:data":
                values[spec.field] = str(n_data)
            elif spec.check == "count:claims":
                values[spec.field] = str(n_claims)
            elif spec.check and spec.check.startswith("sum:"):
                values[spec.field] = str(sums.get(spec.check[4:], Decimal(0)))
        out.write(encode_record(trail_rec, layout, values) + "\n")
        records += 1
    return records
