"""NCPDP record layouts: data files that say where each field sits and how it is encoded.

A layout is a TOML file in ``schemas/ncpdp/`` (or any path). Two shapes:

* ``format = "fixed"``: header, detail and trailer records of fixed length,
  told apart by a record-type field (sendpro's provisional Post Adjudication
  layout, or an official table an MCE drops in);
* ``format = "batch"``: the NCPDP Batch 1.2 envelope (fixed header and trailer
  records framed by STX/ETX) around Telecommunication D.0 transactions whose
  request header is fixed and whose segments carry ``FS`` + field id + value.

Every field has an NCPDP Data Dictionary id where one exists, a name, a format
(``N``, ``AN``, ``D`` signed overpunch dollars, ``DATE``) and a source: a
pharmacy model field (optionally through a code map) or a value template.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sendpro.errors import LayoutError
from sendpro.model.rx_fields import RX_FIELDS_BY_NAME
from sendpro.resources import schemas_dir

#: Value templates a layout may use, filled by the writer.
TEMPLATE_NAMES = frozenset(
    {
        "sender_id",
        "receiver_id",
        "batch_number",
        "creation_date",
        "creation_time",
        "file_type",
        "transaction_code",
        "record_count",
        "detail_count",
        "total_amount_paid",
        "bin",
        "pcn",
        "software_id",
    }
)
_TEMPLATE = re.compile(r"\{([a-z_]+)\}")


class FieldFormat(StrEnum):
    """How a field's value is written."""

    NUMERIC = "N"  # digits, zero-filled in fixed records, optional implied decimals
    TEXT = "AN"  # left-justified, space-filled in fixed records
    DOLLARS = "D"  # signed overpunch with implied decimals
    DATE = "DATE"  # CCYYMMDD


class RecordRole(StrEnum):
    """What a record holds."""

    HEADER = "header"
    DETAIL = "detail"
    TRAILER = "trailer"


@dataclass(frozen=True, slots=True)
class NcpdpField:
    """One field of a record or segment.

    ``start``/``length`` place fixed fields; ``code`` (the 2-character field id)
    and ``max_length`` describe D.0 segment fields.
    """

    id: str
    name: str
    format: FieldFormat
    start: int | None = None
    length: int | None = None
    code: str | None = None
    max_length: int | None = None
    decimals: int = 0
    field: str | None = None
    value: str | None = None
    map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    required: bool = False
    check: str | None = None

    @property
    def end(self) -> int:
        """Return the 1-based last position of a fixed field."""
        assert self.start is not None and self.length is not None
        return self.start + self.length - 1

    @property
    def key(self) -> str:
        """Return the name a decoded value is keyed by: the model field, else the id or name."""
        return self.field or self.id or self.name

    @property
    def label(self) -> str:
        """Return ``509-F9 Total Amount Paid`` for messages."""
        return f"{self.id} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class RecordLayout:
    """A fixed-length record."""

    type: str
    role: RecordRole
    length: int
    fields: tuple[NcpdpField, ...]


@dataclass(frozen=True, slots=True)
class SegmentLayout:
    """A D.0 segment: ``AM`` + id, at transaction or claim level."""

    id: str
    name: str
    level: str
    fields: tuple[NcpdpField, ...]


@dataclass(frozen=True)
class NcpdpLayout:
    """A validated NCPDP layout (see the module docstring)."""

    name: str
    title: str
    format: str
    source: Path
    provisional: str | None
    records: tuple[RecordLayout, ...]
    segments: tuple[SegmentLayout, ...] = ()
    record_type_start: int = 1
    record_type_length: int = 2
    record_separator: str = "\n"
    reference_length: int = 10
    transaction_codes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    totals: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def record(self, role: RecordRole) -> RecordLayout:
        """Return the record of ``role``."""
        return next(r for r in self.records if r.role is role)

    @property
    def batch(self) -> bool:
        """Return True for the Batch 1.2 / D.0 shape."""
        return self.format == "batch"


def bundled_ncpdp_layouts() -> dict[str, Path]:
    """Return the NCPDP layouts shipped in ``schemas/ncpdp``, by name."""
    return {p.stem: p for p in sorted((schemas_dir() / "ncpdp").glob("*.toml"))}


def load_ncpdp_layout(name_or_path: str | Path) -> NcpdpLayout:
    """Load and validate an NCPDP layout by bundled name or path.

    Raises:
        LayoutError: the layout cannot be found or is inconsistent.
    """
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix and not path.exists():
        bundled = bundled_ncpdp_layouts()
        if text not in bundled:
            hint = difflib.get_close_matches(text, list(bundled), n=1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise LayoutError(f"NCPDP layout {text!r} is not bundled{more}; bundled: {', '.join(bundled)}")
        path = bundled[text]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LayoutError(f"NCPDP layout {path} cannot be read: {exc}") from None
    return _Builder(path, data).build()


class _Builder:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        meta = data.get("layout")
        if not isinstance(meta, dict):
            raise LayoutError(f"NCPDP layout {path}: missing the [layout] table")
        self.meta = meta
        self.name = str(meta.get("name") or path.stem)

    def fail(self, message: str) -> LayoutError:
        return LayoutError(f"NCPDP layout {self.name} ({self.path}): {message}")

    def build(self) -> NcpdpLayout:
        fmt = self.meta.get("format", "fixed")
        if fmt not in ("fixed", "batch"):
            raise self.fail(f"format {fmt!r} is not 'fixed' or 'batch'")
        rt = self.meta.get("record_type", {"start": 1, "length": 2})
        records = tuple(self._record(r, i, fmt) for i, r in enumerate(self.data.get("record", [])))
        roles = [r.role for r in records]
        for role in RecordRole:
            if roles.count(role) != 1:
                raise self.fail(f"needs exactly one {role.value} record (has {roles.count(role)})")
        types = [r.type for r in records]
        if len(set(types)) != len(types):
            raise self.fail("record types must differ")
        segments = tuple(self._segment(s, i) for i, s in enumerate(self.data.get("segment", [])))
        if fmt == "batch" and not segments:
            raise self.fail("a batch layout needs [[segment]] tables for the D.0 transaction")
        codes = {str(k): str(v) for k, v in self.data.get("transaction_codes", {}).items()}
        for freq in ("1", "7", "8"):
            if freq not in codes:
                raise self.fail(f"[transaction_codes] needs a code for claim_frequency {freq}")
        totals = {str(k): str(v) for k, v in self.data.get("totals", {}).items()}
        if "paid" not in totals:
            raise self.fail("[totals] needs paid = <the model field of the total amount paid>")
        for key, model in totals.items():
            if model not in RX_FIELDS_BY_NAME:
                raise self.fail(f"[totals] {key} = {model!r} is not a pharmacy model field")
        return NcpdpLayout(
            name=self.name,
            title=str(self.meta.get("title", self.name)),
            format=fmt,
            source=self.path,
            provisional=self.meta.get("provisional"),
            records=records,
            segments=segments,
            record_type_start=int(rt.get("start", 1)),
            record_type_length=int(rt.get("length", 2)),
            record_separator=str(self.meta.get("record_separator", "\n" if fmt == "fixed" else "")),
            reference_length=int(self.meta.get("reference_length", 10)),
            transaction_codes=codes,
            totals=totals,
        )

    def _field(self, raw: dict[str, Any], where: str, fixed: bool) -> NcpdpField:
        known = {
            "id",
            "name",
            "start",
            "length",
            "format",
            "decimals",
            "field",
            "value",
            "map",
            "required",
            "check",
            "code",
            "max_length",
        }
        unknown = set(raw) - known
        if unknown:
            raise self.fail(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            fmt = FieldFormat(raw.get("format", "AN"))
        except ValueError:
            raise self.fail(f"{where}: format {raw.get('format')!r} is not N, AN, D or DATE") from None
        model = raw.get("field")
        if model is not None and model not in RX_FIELDS_BY_NAME:
            hint = difflib.get_close_matches(str(model), list(RX_FIELDS_BY_NAME), n=1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise self.fail(f"{where}: {model!r} is not a pharmacy model field{more}")
        value = raw.get("value")
        if (model is None) == (value is None):
            raise self.fail(f"{where}: give exactly one of field = ... or value = ...")
        if value is not None:
            for name in _TEMPLATE.findall(str(value)):
                if name not in TEMPLATE_NAMES:
                    raise self.fail(f"{where}: unknown template {{{name}}}")
        start = raw.get("start")
        length = raw.get("length")
        if fixed:
            if not isinstance(start, int) or not isinstance(length, int) or start < 1 or length < 1:
                raise self.fail(f"{where}: a fixed field needs positive start and length")
            if fmt is FieldFormat.DATE and length != 8:
                raise self.fail(f"{where}: a DATE field is 8 characters (CCYYMMDD)")
        decimals = int(raw.get("decimals", 2 if fmt is FieldFormat.DOLLARS else 0))
        check = raw.get("check")
        if check is not None and not (check in ("count:records", "count:details") or str(check).startswith("sum:")):
            raise self.fail(f"{where}: check {check!r} is not count:records, count:details or sum:<field>")
        if check is not None and str(check).startswith("sum:") and str(check)[4:] not in RX_FIELDS_BY_NAME:
            hint = difflib.get_close_matches(str(check)[4:], list(RX_FIELDS_BY_NAME), n=1)
            more = f" (did you mean 'sum:{hint[0]}'?)" if hint else ""
            raise self.fail(f"{where}: check {check!r} does not sum a pharmacy model field{more}")
        return NcpdpField(
            id=str(raw.get("id", "")),
            name=str(raw.get("name", "")),
            format=fmt,
            start=start if fixed else None,
            length=length if fixed else None,
            code=raw.get("code"),
            max_length=raw.get("max_length"),
            decimals=decimals,
            field=model,
            value=None if value is None else str(value),
            map={str(k): str(v) for k, v in raw.get("map", {}).items()},
            required=bool(raw.get("required", False)),
            check=check,
        )

    def _record(self, raw: dict[str, Any], index: int, fmt: str) -> RecordLayout:
        rtype = raw.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise self.fail(f"[[record]] #{index + 1} needs a type")
        try:
            role = RecordRole(raw.get("role", ""))
        except ValueError:
            raise self.fail(f"record {rtype}: role must be header, detail or trailer") from None
        length = raw.get("length")
        if not isinstance(length, int) or length < 1:
            raise self.fail(f"record {rtype}: needs a positive length")
        fields = tuple(
            self._field(f, f"record {rtype} field {f.get('name', '?')}", True) for f in raw.get("fields", [])
        )
        spans = sorted((f.start or 0, f.end, f.label) for f in fields)
        for (_, a_end, a_name), (b_start, b_end, b_name) in zip(spans, spans[1:], strict=False):
            if b_start <= a_end:
                raise self.fail(f"record {rtype}: {b_name} (positions {b_start}-{b_end}) overlaps {a_name}")
        if spans and spans[-1][1] > length:
            raise self.fail(f"record {rtype}: fields end at {spans[-1][1]}, beyond the record length {length}")
        return RecordLayout(rtype, role, length, fields)

    def _segment(self, raw: dict[str, Any], index: int) -> SegmentLayout:
        sid = str(raw.get("id", ""))
        if len(sid) != 2:
            raise self.fail(f"[[segment]] #{index + 1}: id must be two characters (AM + id)")
        level = raw.get("level", "claim")
        if level not in ("transaction", "claim"):
            raise self.fail(f"segment AM{sid}: level must be transaction or claim")
        fields = tuple(
            self._field(f, f"segment AM{sid} field {f.get('name', '?')}", False) for f in raw.get("fields", [])
        )
        for f in fields:
            if not f.code or len(f.code) != 2:
                raise self.fail(f"segment AM{sid} field {f.name}: code must be the 2-character field id")
        return SegmentLayout(sid, str(raw.get("name", "")), str(level), fields)
