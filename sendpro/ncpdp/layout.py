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

Loading checks a layout completely (every table is strict, formats must suit the
model fields they hold, code maps and literal values must fit their fields...), so
a custom layout's mistake is one :class:`~sendpro.errors.LayoutError` at start-up,
not a failure halfway through writing or in output validation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from sendpro.errors import LayoutError
from sendpro.model.fields import FieldDef, Kind
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


# --- loading and checking a layout file ---------------------------------------------------------------------
#
# A custom layout (``convert --ncpdp-profile PATH``) is checked completely here, so a
# mistake in it stops the run before any input is read, as one LayoutError naming the
# file and the problem. Anything left unchecked would surface later: as a writer
# failure in the middle of a run, or as output validation failing on sendpro's own
# file ("a sendpro bug").

# Every key each table accepts. Tables are strict: a misspelt key ("requird") would
# otherwise be ignored and the file written differently from what its author meant.
_TOP_KEYS = frozenset({"layout", "transaction_codes", "totals", "record", "segment"})
_LAYOUT_KEYS = frozenset(
    {"name", "title", "format", "provisional", "record_type", "record_separator", "reference_length"}
)
_RECORD_TYPE_KEYS = frozenset({"start", "length"})
_RECORD_KEYS = frozenset({"type", "role", "length", "fields"})
_SEGMENT_KEYS = frozenset({"id", "name", "level", "fields"})
_TOTALS_KEYS = frozenset({"paid", "charge"})
_FIELD_KEYS = frozenset({"id", "name", "format", "decimals", "field", "value", "map", "required"})
_FIXED_FIELD_KEYS = _FIELD_KEYS | {"start", "length", "check"}
_SEGMENT_FIELD_KEYS = _FIELD_KEYS | {"code", "max_length"}

#: Record separators the reader can split on: fixed records are lines; batch records
#: are STX ... ETX frames, optionally followed by a line break the reader skips.
_SEPARATORS: Mapping[str, tuple[str, ...]] = {"fixed": ("\n", "\r\n"), "batch": ("", "\n", "\r\n")}

#: Templates the writer fills in every record, and those it fills in one role only.
_ENVELOPE_TEMPLATES = frozenset(
    {"sender_id", "receiver_id", "file_type", "bin", "pcn", "software_id", "batch_number"}
    | {"creation_date", "creation_time"}
)
_ROLE_TEMPLATES: Mapping[RecordRole, frozenset[str]] = {
    RecordRole.HEADER: frozenset(),
    RecordRole.DETAIL: frozenset({"transaction_code"}),
    RecordRole.TRAILER: frozenset({"record_count", "detail_count", "total_amount_paid"}),
}

_N, _AN, _D, _DATE = FieldFormat.NUMERIC, FieldFormat.TEXT, FieldFormat.DOLLARS, FieldFormat.DATE

#: For a value that is one template: the formats that can hold it and the fewest characters it needs.
#: The profile's values (sender_id, bin ...) are not listed: their length and characters are the
#: profile's, which a layout does not know.
_TEMPLATE_RULES: Mapping[str, tuple[tuple[FieldFormat, ...], int]] = {
    "batch_number": ((_N, _AN), 7),  # the writer keeps the batch number below 10**7
    "creation_date": ((_DATE, _N, _AN), 8),
    "creation_time": ((_N, _AN), 4),
    "file_type": ((_AN,), 1),  # T or P
    "transaction_code": ((_AN, _N), 1),  # each [transaction_codes] value is checked against the width
    "record_count": ((_N, _AN), 1),
    "detail_count": ((_N, _AN), 1),
    "total_amount_paid": ((_D,), 1),  # voids can make the sum negative: only overpunch carries a sign
}

#: The trailer checks that compare a field with the file, and the template each field must hold.
_CHECK_TEMPLATES: Mapping[str, str] = {"count:records": "record_count", "count:details": "detail_count"}

_FORMAT_NAMES: Mapping[FieldFormat, str] = {
    _N: "N (numeric)",
    _AN: "AN (text)",
    _D: "D (signed overpunch dollars)",
    _DATE: "DATE (CCYYMMDD)",
}

# A model pattern of digits only, such as ^[0-9]{11}$ (ndc) or ^[0-9]{1,12}$ (rx_number).
_DIGIT_PATTERN = re.compile(r"\^\[0-9\]\{([0-9]+)(?:,([0-9]+))?\}\$")
# ASCII digits only: str.isdigit() also accepts digits of other scripts.
_DIGITS = re.compile(r"[0-9]+")
_CODE = re.compile(r"[0-9A-Z]{2}")


def _digit_lengths(fd: FieldDef) -> tuple[int, int] | None:
    """Return the (shortest, longest) length of a digits-only pattern field, else None."""
    if fd.kind is not Kind.PATTERN or fd.pattern is None:
        return None
    match = _DIGIT_PATTERN.fullmatch(fd.pattern)
    if match is None:
        return None
    low = int(match.group(1))
    return low, int(match.group(2) or low)


def _formats_for(fd: FieldDef) -> tuple[FieldFormat, ...]:
    """Return the formats that can hold a model field's values without changing them."""
    if fd.kind is Kind.DATE:
        return (_DATE,)
    if fd.kind is Kind.AMOUNT:
        return (_D,)  # voids carry negative amounts: only overpunch holds a sign
    if fd.kind is Kind.DECIMAL:
        return (_N,)  # a quantity is written with implied decimals, never a decimal point
    if fd.kind in (Kind.INTEGER, Kind.HOUR, Kind.CODE):
        return (_AN, _N)  # N for codes only when every written code is digits (checked apart)
    lengths = _digit_lengths(fd)
    if lengths is not None and lengths[0] == 1:
        return (_AN, _N)  # a variable-length number (rx_number, days_supply): leading zeros carry nothing
    # Free text, identifiers and fixed-length digit codes (ndc, NPIs): N would read them as a
    # number and drop or add leading zeros, so they are written as text.
    return (_AN,)


def _shortest(fd: FieldDef) -> int:
    """Return the fewest characters a value of the model field has."""
    if fd.kind is Kind.DATE:
        return 8
    lengths = _digit_lengths(fd)
    if lengths is not None:
        return lengths[0]
    return fd.min_len if fd.kind is Kind.TEXT else 1


def _toml_type(value: object) -> str:
    """Name a TOML value's type for a message (layout text, never encounter data)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _literal_problem(f: NcpdpField, text: str, width: int) -> str | None:
    """Return why a literal value cannot be written into its field (None: it can)."""
    if text == "":
        return "is blank, but the field is required" if f.required else None
    if f.format is _AN:
        return None if len(text) <= width else f"has {len(text)} characters; the field holds {width}"
    if f.format is _DATE:
        try:
            ok = _DIGITS.fullmatch(text) is not None and len(text) == 8
            ok = ok and dt.datetime.strptime(text, "%Y%m%d") is not None
        except ValueError:
            ok = False
        return None if ok else "is not a real date CCYYMMDD"
    try:
        number = Decimal(text)
    except InvalidOperation:
        return "is not a number"
    if not number.is_finite():
        return "is not a number"
    scaled = number.scaleb(f.decimals)
    if scaled != scaled.to_integral_value():
        return f"has more than the field's {f.decimals} implied decimals"
    if f.format is _N and number < 0:
        return "is negative, and format N has no sign"
    digits = len(str(abs(int(scaled))))
    return None if digits <= width else f"has {digits} digits; the field holds {width}"


class _Builder:
    """Checks a parsed layout file table by table and builds the :class:`NcpdpLayout`."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self.name = path.stem
        meta = data.get("layout")
        if not isinstance(meta, dict):
            raise LayoutError(f"NCPDP layout {path}: missing the [layout] table")
        self.meta = meta
        name = meta.get("name", path.stem)
        if not isinstance(name, str) or not name:
            raise self.fail("[layout] name must be a non-empty string")
        self.name = name
        # Set by build() before the records are read: the field checks need them.
        self.fmt = "fixed"
        self.rt_start = 1
        self.rt_length = 2
        self.codes: dict[str, str] = {}
        self.totals: dict[str, str] = {}

    def fail(self, message: str) -> LayoutError:
        return LayoutError(f"NCPDP layout {self.name} ({self.path}): {message}")

    # -- typed access ---------------------------------------------------------------------------------------------

    def _keys(self, table: Mapping[str, Any], allowed: frozenset[str], where: str, hint: str = "") -> None:
        unknown = sorted(set(table) - allowed)
        if not unknown:
            return
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1) if len(unknown) == 1 else []
        more = f" (did you mean {close[0]!r}?)" if close else f"; allowed: {', '.join(sorted(allowed))}"
        raise self.fail(f"{where}: unknown key(s) {', '.join(unknown)}{more}{hint}")

    def _opt_str(self, table: Mapping[str, Any], key: str, where: str) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{where}: {key} must be a string in quotes, not {_toml_type(value)}")
        return value

    def _str(self, table: Mapping[str, Any], key: str, where: str, default: str) -> str:
        value = self._opt_str(table, key, where)
        return default if value is None else value

    def _opt_int(self, table: Mapping[str, Any], key: str, where: str, minimum: int = 1) -> int | None:
        value = table.get(key)
        if value is None:
            return None
        # bool is an int in Python: `length = true` must not pass as 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}: {key} must be a whole number without quotes, not {_toml_type(value)}")
        if value < minimum:
            least = "positive" if minimum == 1 else f"at least {minimum}"
            raise self.fail(f"{where}: {key} must be {least} (it is {value})")
        return value

    def _int(self, table: Mapping[str, Any], key: str, where: str, default: int, minimum: int = 1) -> int:
        value = self._opt_int(table, key, where, minimum)
        return default if value is None else value

    def _tables(self, value: object, where: str, what: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(f"{where} must be {what}")
        return value

    # -- the layout -----------------------------------------------------------------------------------------------

    def build(self) -> NcpdpLayout:
        self._keys(self.data, _TOP_KEYS, "top level")
        self._keys(self.meta, _LAYOUT_KEYS, "[layout]")
        fmt = self._str(self.meta, "format", "[layout]", "fixed")
        if fmt not in ("fixed", "batch"):
            raise self.fail(f"format {fmt!r} is not 'fixed' or 'batch'")
        self.fmt = fmt
        title = self._str(self.meta, "title", "[layout]", self.name)
        provisional = self._opt_str(self.meta, "provisional", "[layout]")
        separator = self._separator()
        self._record_type()
        reference_length = self._reference_length()
        self.codes = self._transaction_codes()
        self.totals = self._totals()
        records = self._records()
        segments = self._segments()
        self._check_detail(records, segments)
        return NcpdpLayout(
            name=self.name,
            title=title,
            format=fmt,
            source=self.path,
            provisional=provisional,
            records=records,
            segments=segments,
            record_type_start=self.rt_start,
            record_type_length=self.rt_length,
            record_separator=separator,
            reference_length=reference_length,
            transaction_codes=self.codes,
            totals=self.totals,
        )

    def _separator(self) -> str:
        allowed = _SEPARATORS[self.fmt]
        separator = self._str(self.meta, "record_separator", "[layout]", allowed[0])
        if separator not in allowed:
            choices = " or ".join(repr(s) for s in allowed)
            raise self.fail(
                f"[layout] record_separator {separator!r} cannot be read back; a {self.fmt} layout uses {choices}"
            )
        return separator

    def _record_type(self) -> None:
        rt = self.meta.get("record_type")
        if rt is None:
            return
        if self.fmt == "batch":
            raise self.fail(
                "[layout] record_type applies to fixed layouts: a batch record's type is the first two characters "
                "inside its STX frame"
            )
        if not isinstance(rt, dict):
            raise self.fail("[layout] record_type must be a table such as { start = 1, length = 2 }")
        self._keys(rt, _RECORD_TYPE_KEYS, "[layout] record_type")
        self.rt_start = self._int(rt, "start", "[layout] record_type", 1)
        self.rt_length = self._int(rt, "length", "[layout] record_type", 2)

    def _reference_length(self) -> int:
        if self.fmt == "fixed":
            if "reference_length" in self.meta:
                raise self.fail(
                    "[layout] reference_length applies to batch layouts (the transaction reference of a detail)"
                )
            return 10
        return self._int(self.meta, "reference_length", "[layout]", 10)

    def _transaction_codes(self) -> dict[str, str]:
        raw = self.data.get("transaction_codes", {})
        if not isinstance(raw, dict):
            raise self.fail('[transaction_codes] must be a table of claim_frequency = "code"')
        frequencies = RX_FIELDS_BY_NAME["claim_frequency"].codes or frozenset()
        for key, code in raw.items():
            if key not in frequencies:
                raise self.fail(
                    f"[transaction_codes] {key} is not a claim_frequency ({', '.join(sorted(frequencies))})"
                )
            if not isinstance(code, str) or not code:
                raise self.fail(f'[transaction_codes] {key} must be a transaction code in quotes, such as "B1"')
        for freq in sorted(frequencies):
            if freq not in raw:
                raise self.fail(f"[transaction_codes] needs a code for claim_frequency {freq}")
        return dict(raw)

    def _totals(self) -> dict[str, str]:
        raw = self.data.get("totals", {})
        if not isinstance(raw, dict):
            raise self.fail('[totals] must be a table such as { paid = "total_amount_paid" }')
        self._keys(raw, _TOTALS_KEYS, "[totals]")
        if "paid" not in raw:
            raise self.fail("[totals] needs paid = <the model field of the total amount paid>")
        for key, model in raw.items():
            if not isinstance(model, str):
                raise self.fail(f"[totals] {key} must be a model field name in quotes, not {_toml_type(model)}")
            fd = RX_FIELDS_BY_NAME.get(model)
            if fd is None:
                raise self.fail(f"[totals] {key} = {model!r} is not a pharmacy model field")
            if fd.kind is not Kind.AMOUNT:
                raise self.fail(f"[totals] {key} = {model!r} is not an amount ({fd.expect})")
        return dict(raw)

    # -- records --------------------------------------------------------------------------------------------------

    def _records(self) -> tuple[RecordLayout, ...]:
        raws = self._tables(self.data.get("record", []), "record", "[[record]] tables")
        heads = [self._record_head(raw, i) for i, raw in enumerate(raws)]
        roles = [role for _, role, _ in heads]
        for role in RecordRole:
            if roles.count(role) != 1:
                raise self.fail(f"needs exactly one {role.value} record (has {roles.count(role)})")
        types = [rtype for rtype, _, _ in heads]
        repeated = sorted({t for t in types if types.count(t) > 1})
        if repeated:
            raise self.fail(f"record types must differ ({', '.join(repeated)} used more than once)")
        return tuple(self._record(raw, *head) for raw, head in zip(raws, heads, strict=True))

    def _record_head(self, raw: dict[str, Any], index: int) -> tuple[str, RecordRole, int]:
        rtype = raw.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise self.fail(f"[[record]] #{index + 1} needs a type")
        where = f"record {rtype}"
        self._keys(raw, _RECORD_KEYS, where)
        try:
            role = RecordRole(raw.get("role", ""))
        except ValueError:
            raise self.fail(f"{where}: role must be header, detail or trailer") from None
        length = raw.get("length")
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            kind = f" (a whole number without quotes, not {_toml_type(length)})" if not isinstance(length, int) else ""
            raise self.fail(f"{where}: needs a positive length{'' if length is None else kind}")
        if self.fmt == "fixed" and len(rtype) != self.rt_length:
            raise self.fail(f"{where}: the type must be {self.rt_length} characters, the [layout] record_type length")
        if self.fmt == "batch" and len(rtype) != 2:
            raise self.fail(f"{where}: a batch record's type is 2 characters (the reader reads the first two)")
        return rtype, role, length

    def _record(self, raw: dict[str, Any], rtype: str, role: RecordRole, length: int) -> RecordLayout:
        where = f"record {rtype}"
        tables = self._tables(raw.get("fields", []), f"{where}: fields", "an array of field tables")
        fields = tuple(self._field(t, f"{where} field {_label(t, i)}", role, True) for i, t in enumerate(tables))
        spans = sorted((f.start or 0, f.end, f.label) for f in fields)
        for (_, a_end, a_name), (b_start, b_end, b_name) in zip(spans, spans[1:], strict=False):
            if b_start <= a_end:
                raise self.fail(f"{where}: {b_name} (positions {b_start}-{b_end}) overlaps {a_name}")
        if spans and spans[-1][1] > length:
            raise self.fail(f"{where}: fields end at {spans[-1][1]}, beyond the record length {length}")
        # A hole between fields is written blank and read by nobody: nearly always a mistyped
        # start or length, or a field deleted by mistake. Unused space after the last field is
        # the usual filler up to the record length and is allowed.
        edges = [(1, 0), *((s, e) for s, e, _ in spans)]
        for (_, a_end), (b_start, _) in zip(edges, edges[1:], strict=False):
            if b_start > a_end + 1:
                gap = f"{a_end + 1}-{b_start - 1}" if b_start - 1 > a_end + 1 else str(a_end + 1)
                raise self.fail(
                    f"{where}: position(s) {gap} belong to no field; declare them, such as "
                    f'{{ name = "Filler", start = {a_end + 1}, length = {b_start - 1 - a_end}, value = "" }}'
                )
        self._check_record_type(where, rtype, role, fields)
        return RecordLayout(rtype, role, length, fields)

    def _check_record_type(self, where: str, rtype: str, role: RecordRole, fields: tuple[NcpdpField, ...]) -> None:
        """The reader tells records apart by the type they start with, so one field must write it."""
        if self.fmt == "batch" and role is RecordRole.DETAIL:
            return  # the writer puts the detail's type and reference before the request header
        start = self.rt_start if self.fmt == "fixed" else 1
        size = len(rtype)
        holder = next((f for f in fields if f.start == start and f.length == size), None)
        if holder is None:
            raise self.fail(
                f"{where}: no field writes the record type at positions {start}-{start + size - 1}; add "
                f'{{ name = "Record Type", start = {start}, length = {size}, value = "{rtype}" }}'
            )
        if holder.value != rtype:
            wrote = f"model field {holder.field}" if holder.field else repr(holder.value)
            raise self.fail(
                f"{where}: field {holder.label} at the record-type positions writes {wrote}, not the record's "
                f"type {rtype!r}, so the file could not be read back"
            )

    # -- segments -------------------------------------------------------------------------------------------------

    def _segments(self) -> tuple[SegmentLayout, ...]:
        raws = self._tables(self.data.get("segment", []), "segment", "[[segment]] tables")
        if self.fmt == "fixed" and raws:
            raise self.fail("[[segment]] tables describe D.0 transactions: only a batch layout has them")
        if self.fmt == "batch" and not raws:
            raise self.fail("a batch layout needs [[segment]] tables for the D.0 transaction")
        segments = tuple(self._segment(raw, i) for i, raw in enumerate(raws))
        ids = [s.id for s in segments]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise self.fail(f"segment ids must differ ({', '.join('AM' + i for i in repeated)} defined more than once)")
        return segments

    def _segment(self, raw: dict[str, Any], index: int) -> SegmentLayout:
        sid = raw.get("id")
        if not isinstance(sid, str) or not _CODE.fullmatch(sid):
            raise self.fail(f"[[segment]] #{index + 1}: id must be two characters (AM + id)")
        where = f"segment AM{sid}"
        self._keys(raw, _SEGMENT_KEYS, where)
        level = raw.get("level", "claim")
        if level not in ("transaction", "claim"):
            raise self.fail(f"{where}: level must be transaction or claim")
        name = self._str(raw, "name", where, "")
        tables = self._tables(raw.get("fields", []), f"{where}: fields", "an array of field tables")
        if not tables:
            raise self.fail(f"{where}: needs fields")
        fields = tuple(
            self._field(t, f"{where} field {_label(t, i)}", RecordRole.DETAIL, False) for i, t in enumerate(tables)
        )
        by_code: dict[str, NcpdpField] = {}
        for f in fields:
            assert f.code is not None
            if f.code in by_code:
                raise self.fail(f"{where}: field code {f.code} is used by both {by_code[f.code].label} and {f.label}")
            by_code[f.code] = f
        return SegmentLayout(sid, name, str(level), fields)

    def _check_detail(self, records: tuple[RecordLayout, ...], segments: tuple[SegmentLayout, ...]) -> None:
        """Check what the detail record and its segments write, taken together."""
        detail = next(r for r in records if r.role is RecordRole.DETAIL)
        written: dict[str, str] = {}
        for f in (*detail.fields, *(f for s in segments for f in s.fields)):
            if f.field is None:
                continue
            if f.field in written:
                raise self.fail(
                    f"model field {f.field} is written twice ({written[f.field]} and {f.label}); the reader keys "
                    "decoded values by model field, so one would hide the other"
                )
            written[f.field] = f.label
        for key, model in self.totals.items():
            if model not in written:
                where = "the detail record or its segments" if self.fmt == "batch" else "the detail record"
                raise self.fail(
                    f"[totals] {key} = {model!r} is written by no field of {where}, so reconciliation would read 0"
                )

    # -- fields ---------------------------------------------------------------------------------------------------

    def _field(self, raw: dict[str, Any], where: str, role: RecordRole, fixed: bool) -> NcpdpField:
        allowed = _FIXED_FIELD_KEYS if fixed else _SEGMENT_FIELD_KEYS
        hint = ""
        if set(raw) & (_SEGMENT_FIELD_KEYS - _FIXED_FIELD_KEYS) and fixed:
            hint = "; code and max_length describe D.0 segment fields, a fixed field has start and length"
        elif set(raw) & (_FIXED_FIELD_KEYS - _SEGMENT_FIELD_KEYS) and not fixed:
            hint = "; start and length place fixed-record fields, a segment field has code and max_length"
        self._keys(raw, allowed, where, hint)
        fid = self._str(raw, "id", where, "")
        name = self._str(raw, "name", where, "")
        if not name:
            raise self.fail(f"{where}: needs a name (messages name the field by it)")
        fmt_text = self._str(raw, "format", where, "AN")
        try:
            fmt = FieldFormat(fmt_text)
        except ValueError:
            raise self.fail(f"{where}: format {fmt_text!r} is not N, AN, D or DATE") from None
        model = self._opt_str(raw, "field", where)
        fd = None
        if model is not None:
            fd = RX_FIELDS_BY_NAME.get(model)
            if fd is None:
                hint_names = difflib.get_close_matches(model, list(RX_FIELDS_BY_NAME), n=1)
                more = f" (did you mean {hint_names[0]!r}?)" if hint_names else ""
                raise self.fail(f"{where}: {model!r} is not a pharmacy model field{more}")
        value = self._opt_str(raw, "value", where)
        if (model is None) == (value is None):
            raise self.fail(f"{where}: give exactly one of field = ... or value = ...")
        if model is not None and role is not RecordRole.DETAIL:
            raise self.fail(
                f"{where}: a {role.value} record has no encounter to take {model} from; "
                "model fields belong in the detail record"
            )
        if value is not None:
            self._check_templates(value, where, role)
        start = length = code = max_length = None
        if fixed:
            start, length = raw.get("start"), raw.get("length")
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (start, length)):
                raise self.fail(f"{where}: a fixed field needs positive start and length (whole numbers)")
            assert isinstance(length, int)
            if fmt is _DATE and length != 8:
                raise self.fail(f"{where}: a DATE field is 8 characters (CCYYMMDD)")
            width = length
        else:
            code = raw.get("code")
            if not isinstance(code, str) or not _CODE.fullmatch(code):
                raise self.fail(f"{where}: code must be the 2-character field id")
            max_length = self._opt_int(raw, "max_length", where)
            if fmt is _DATE:
                if max_length not in (None, 8):
                    raise self.fail(f"{where}: a DATE field is 8 characters (CCYYMMDD)")
                width = 8
            elif max_length is None:
                raise self.fail(f"{where}: needs max_length (the most characters the D.0 field holds)")
            else:
                width = max_length
        if "decimals" in raw and fmt not in (_N, _D):
            raise self.fail(f"{where}: decimals apply to N and D fields only, not {fmt.value}")
        decimals = self._int(raw, "decimals", where, 2 if fmt is _D else 0, minimum=0)
        if fmt in (_N, _D) and decimals >= width:
            raise self.fail(f"{where}: {decimals} implied decimals leave no whole digits in {width} characters")
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(f"{where}: required must be true or false without quotes, not {_toml_type(required)}")
        check = self._opt_str(raw, "check", where)
        f = NcpdpField(
            id=fid,
            name=name,
            format=fmt,
            start=start,
            length=length,
            code=code,
            max_length=max_length,
            decimals=decimals,
            field=model,
            value=value,
            map=self._map(raw.get("map"), fd, where),
            required=required,
            check=check,
        )
        if fd is not None:
            self._check_model_field(f, fd, where, width)
        else:
            self._check_value(f, where, width)
        if check is not None:
            self._check_check(f, check, where, role)
        return f

    def _check_templates(self, value: str, where: str, role: RecordRole) -> None:
        for name in _TEMPLATE.findall(value):
            if name not in TEMPLATE_NAMES:
                raise self.fail(f"{where}: unknown template {{{name}}}")
            if name not in _ENVELOPE_TEMPLATES | _ROLE_TEMPLATES[role]:
                owner = next(r for r, names in _ROLE_TEMPLATES.items() if name in names)
                raise self.fail(f"{where}: {{{name}}} is only filled in the {owner.value} record")
        rest = _TEMPLATE.sub("", value)
        if "{" in rest or "}" in rest:
            raise self.fail(f"{where}: value {value!r} has a brace that is not a template such as {{batch_number}}")

    def _map(self, raw: object, fd: FieldDef | None, where: str) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise self.fail(f'{where}: map must be a table of code = "written code" strings')
        if fd is None:
            raise self.fail(f"{where}: map applies to a model field (field = ...), not to value = ...")
        if fd.kind is not Kind.CODE or fd.codes is None:
            raise self.fail(f"{where}: map translates codes, and {fd.name} is not a code field ({fd.expect})")
        for key in raw:
            if key not in fd.codes:
                raise self.fail(f"{where}: map key {key!r} is not a code of {fd.name} ({', '.join(sorted(fd.codes))})")
        return dict(raw)

    def _check_model_field(self, f: NcpdpField, fd: FieldDef, where: str, width: int) -> None:
        """Refuse a field whose format, decimals or width cannot hold the model field's values."""
        formats = _formats_for(fd)
        if f.format not in formats:
            why = ""
            if f.format is _N and _digit_lengths(fd) is not None:
                why = ": N reads a fixed-length code as a number and drops its leading zeros"
            raise self.fail(
                f"{where}: format {_FORMAT_NAMES[f.format]} cannot hold {fd.name} ({fd.expect}){why}; "
                f"use {' or '.join(x.value for x in formats)}"
            )
        if fd.kind in (Kind.AMOUNT, Kind.DECIMAL):
            if f.decimals < fd.max_decimals:
                raise self.fail(
                    f"{where}: {fd.name} has up to {fd.max_decimals} decimals; "
                    f"{f.decimals} implied decimals cannot hold them"
                )
        elif f.format is _N and f.decimals:
            raise self.fail(f"{where}: {fd.name} is a whole number or code; implied decimals would scale it")
        if fd.kind is Kind.CODE and fd.codes is not None:
            # Every code the model allows is written, through the map when it has one.
            for code in sorted(fd.codes):
                written = f.map.get(code, code)
                what = f"map value {written!r} (for {code})" if code in f.map else f"{fd.name} code {code!r}"
                if not written:
                    raise self.fail(f"{where}: {what} is blank")
                if f.format is _N and not _DIGITS.fullmatch(written):
                    fix = "" if code in f.map else f' (map it, such as map = {{ {code} = "1" }}, or use format AN)'
                    raise self.fail(f"{where}: {what} is not digits, as format N needs{fix}")
                if len(written) > width:
                    raise self.fail(f"{where}: {what} has {len(written)} characters; the field holds {width}")
        # A value longer than the field is possible for most fields (names, ids): the rule
        # RX021 rejects such a claim by itself. A field shorter than any value could be is a
        # layout mistake that would reject every claim.
        if width < _shortest(fd):
            raise self.fail(f"{where}: {width} characters cannot hold any value of {fd.name} ({fd.expect})")

    def _check_value(self, f: NcpdpField, where: str, width: int) -> None:
        """Refuse a value = ... the writer could not put in its field."""
        assert f.value is not None
        names = _TEMPLATE.findall(f.value)
        if not names:
            problem = _literal_problem(f, f.value, width)
            if problem:
                raise self.fail(f"{where}: value {f.value!r} {problem}")
            return
        if len(names) > 1 or f.value != "{" + names[0] + "}":
            # Text around templates: its characters and length are only known when written.
            if f.format is not _AN:
                raise self.fail(f"{where}: a value mixing templates and text must be format AN")
            return
        name = names[0]
        rule = _TEMPLATE_RULES.get(name)
        if rule is None:
            return
        formats, shortest = rule
        if f.format not in formats:
            use = " or ".join(x.value for x in formats)
            raise self.fail(f"{where}: format {_FORMAT_NAMES[f.format]} cannot hold {{{name}}}; use {use}")
        if width < shortest:
            raise self.fail(f"{where}: {{{name}}} needs {shortest} characters; the field holds {width}")
        if name == "total_amount_paid" and f.decimals < 2:
            raise self.fail(
                f"{where}: {{total_amount_paid}} has 2 decimals; {f.decimals} implied decimals cannot hold it"
            )
        if name != "total_amount_paid" and f.format is _N and f.decimals:
            raise self.fail(f"{where}: implied decimals would scale {{{name}}}")
        if name == "transaction_code":
            for freq, code in sorted(self.codes.items()):
                if len(code) > width:
                    raise self.fail(
                        f"{where}: [transaction_codes] {freq} = {code!r} does not fit in {width} characters"
                    )
                if f.format is _N and not _DIGITS.fullmatch(code):
                    raise self.fail(f"{where}: [transaction_codes] {freq} = {code!r} is not digits, as format N needs")

    def _check_check(self, f: NcpdpField, check: str, where: str, role: RecordRole) -> None:
        """A trailer check compares the field with the file: it must hold what the writer counts or sums."""
        total = check[4:] if check.startswith("sum:") else None
        if check not in _CHECK_TEMPLATES and total is None:
            raise self.fail(f"{where}: check {check!r} is not count:records, count:details or sum:<field>")
        if total is not None and total not in RX_FIELDS_BY_NAME:
            hint = difflib.get_close_matches(total, list(RX_FIELDS_BY_NAME), n=1)
            more = f" (did you mean 'sum:{hint[0]}'?)" if hint else ""
            raise self.fail(f"{where}: check {check!r} does not sum a pharmacy model field{more}")
        if role is not RecordRole.TRAILER:
            raise self.fail(f"{where}: check applies to trailer fields only (validation reads the trailer's totals)")
        template = "total_amount_paid" if total is not None else _CHECK_TEMPLATES[check]
        if f.value != "{" + template + "}":
            raise self.fail(f'{where}: check {check!r} needs value = "{{{template}}}", which the writer fills')
        paid = self.totals["paid"]
        if total is not None and total != paid:
            raise self.fail(
                f"{where}: check {check!r} sums {total}, but the writer fills {{total_amount_paid}} "
                f"from [totals] paid = {paid!r}"
            )


def _label(raw: Mapping[str, Any], index: int) -> str:
    """Name a field table in messages: its name, else its position."""
    name = raw.get("name")
    return name if isinstance(name, str) and name else f"#{index + 1}"
