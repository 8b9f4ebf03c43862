"""Describe a layout for its users: each field with its model field, usage, format and meaning.

``sendpro layouts NAME`` prints this, and ``--json`` dumps it, so that someone
writing a layout for their own extract can see what every column or position
must hold without reading :mod:`sendpro.model.fields`. Everything here is read
from the layout and the field catalogue of its model; nothing is decided anew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sendpro.flatfile.layout import FieldSpec, Format, Layout
from sendpro.model.fields import Kind


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One field of a layout as a user sees it.

    Attributes:
        column: the input column name (delimited layouts; ``None`` for fixed-width).
        position: the column's place as the layout gives it (0-based; used without a header row).
        start / length: the 1-based position and width (fixed-width layouts).
        field: the model field, or the free name of a header/trailer value.
        model: True when ``field`` is a model field (usage and description apply).
        usage: usage letter (R, S, O, -) per claim type of the layout.
        format: the picture (fixed-width) or the expected format of the value.
        check: a trailer check such as ``sum:total_charge``.
        description: what the field means and where it goes in the output.
    """

    column: str | None
    position: int | None
    start: int | None
    length: int | None
    field: str
    model: bool
    usage: Mapping[str, str]
    format: str
    check: str | None
    description: str

    def to_dict(self) -> dict[str, Any]:
        """Return the field as a JSON-ready mapping."""
        return {
            "column": self.column,
            "position": self.position,
            "start": self.start,
            "length": self.length,
            "field": self.field,
            "model": self.model,
            "usage": dict(self.usage),
            "format": self.format,
            "check": self.check,
            "description": self.description,
        }


def _value_format(layout: Layout, spec: FieldSpec) -> str:
    """Return what a value of ``spec`` must look like in this layout."""
    fd = layout.catalog.by_name.get(spec.field) if spec.model else None
    if fd is not None and fd.kind is Kind.DATE:
        # The catalogue says CCYYMMDD; a layout may declare another date format.
        date_format = layout.date_format_of(spec.field)
        return f"{spec.picture.text} {date_format}" if spec.picture else f"a real date {date_format}"
    if spec.picture is not None:
        return spec.picture.text
    return fd.expect if fd is not None else ""


def field_doc(layout: Layout, spec: FieldSpec) -> FieldDoc:
    """Describe one field spec of ``layout`` from the layout and its model's catalogue."""
    fd = layout.catalog.by_name.get(spec.field) if spec.model else None
    usage = {ct: fd.usage_for(ct).value for ct in layout.claim_types} if fd is not None else {}
    fixed = layout.format is Format.FIXED_WIDTH
    return FieldDoc(
        column=None if fixed else (spec.column or spec.field),
        position=None if fixed else spec.position,
        start=spec.start,
        length=spec.length,
        field=spec.field,
        model=spec.model,
        usage=usage,
        format=_value_format(layout, spec),
        check=spec.check,
        description=fd.description if fd is not None else "",
    )


def describe_layout(layout: Layout) -> dict[str, Any]:
    """Return the layout and every field's :class:`FieldDoc` as a JSON-ready mapping.

    Delimited layouts list ``fields``; fixed-width layouts list ``records``, each
    with its record type, role, length and fields, plus where the record type sits.
    """
    out: dict[str, Any] = {
        "name": layout.name,
        "title": layout.title,
        "format": layout.format.value,
        "model": layout.model,
        "encoding": layout.encoding,
        "claim_types": list(layout.claim_types),
        "date_format": layout.date_format,
        "source": str(layout.source),
    }
    if layout.format is Format.DELIMITED:
        out["delimiter"] = layout.delimiter
        out["header"] = layout.header
        out["fields"] = [field_doc(layout, s).to_dict() for s in layout.fields]
    else:
        out["record_type"] = {"start": layout.record_type_start, "length": layout.record_type_length}
        out["records"] = [
            {
                "type": rec.type,
                "role": rec.role.value,
                "length": rec.length,
                "fields": [field_doc(layout, s).to_dict() for s in rec.fields],
            }
            for rec in layout.records
        ]
    return out
