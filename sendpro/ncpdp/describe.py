"""Describe an NCPDP output layout: its records or segments and each field's source.

``sendpro layouts NAME --json`` for an NCPDP layout dumps this. Fields are
described with their NCPDP id and name, format, place (positions in a fixed
record, field code in a D.0 segment) and where the value comes from: a pharmacy
model field (whose usage and description come from the pharmacy catalogue) or a
value template filled by the writer.
"""

from __future__ import annotations

from typing import Any

from sendpro.model.rx_fields import RX, RX_FIELDS_BY_NAME
from sendpro.ncpdp.layout import NcpdpField, NcpdpLayout


def ncpdp_field_doc(nf: NcpdpField) -> dict[str, Any]:
    """Return one NCPDP field as a JSON-ready mapping."""
    fd = RX_FIELDS_BY_NAME.get(nf.field) if nf.field else None
    return {
        "id": nf.id,
        "name": nf.name,
        "format": nf.format.value,
        "decimals": nf.decimals,
        "start": nf.start,
        "length": nf.length,
        "code": nf.code,
        "max_length": nf.max_length,
        "field": nf.field,
        "value": nf.value,
        "map": dict(nf.map),
        "required": nf.required,
        "check": nf.check,
        "usage": {RX: fd.usage_for(RX).value} if fd is not None else {},
        "description": fd.description if fd is not None else "",
    }


def describe_ncpdp_layout(layout: NcpdpLayout) -> dict[str, Any]:
    """Return the layout, its records and its D.0 segments as a JSON-ready mapping."""
    return {
        "name": layout.name,
        "title": layout.title,
        "format": layout.format,
        "provisional": layout.provisional,
        "source": str(layout.source),
        "record_type": {"start": layout.record_type_start, "length": layout.record_type_length},
        "records": [
            {
                "type": rec.type,
                "role": rec.role.value,
                "length": rec.length,
                "fields": [ncpdp_field_doc(f) for f in rec.fields],
            }
            for rec in layout.records
        ],
        "segments": [
            {
                "id": seg.id,
                "name": seg.name,
                "level": seg.level,
                "fields": [ncpdp_field_doc(f) for f in seg.fields],
            }
            for seg in layout.segments
        ],
    }
