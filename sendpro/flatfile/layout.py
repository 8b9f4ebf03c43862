"""Layouts: declarative descriptions of how an extract encodes encounters.

A layout is a TOML file (``schemas/layouts/*.toml`` or any path) that says how a
file is encoded (delimited or fixed-width, encoding, header, records) and maps
each column or position onto a model field of :mod:`sendpro.model.fields`. It is
validated on load; every problem names the layout and the offending entry.
"""

from __future__ import annotations

import codecs
import difflib
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sendpro.errors import LayoutError
from sendpro.flatfile.picture import Picture, parse_picture
from sendpro.model.catalog import CATALOGS, MEDICAL, Catalog
from sendpro.model.fields import FieldDef, Kind, Level
from sendpro.resources import schemas_dir

#: Date patterns a layout may declare, as strptime formats.
DATE_FORMATS: Mapping[str, str] = {
    "CCYYMMDD": "%Y%m%d",
    "CCYY-MM-DD": "%Y-%m-%d",
    "MM/DD/CCYY": "%m/%d/%Y",
    "MMDDCCYY": "%m%d%Y",
}

#: Default longest line (record) a layout accepts, in bytes, line end excluded. The
#: widest valid ``mce-v1`` row, every one of its 134 columns at its maximum width, is
#: about 3.2 KB (some 6 KB if every name were non-ASCII), a fixed-width record a
#: few hundred bytes. 1 MiB leaves room for a row with one absurd field (a 100 KB
#: name), which is that claim's error, not the file's; a file without line breaks
#: (or with CR-only ones) is still refused after 1 MiB instead of the whole file,
#: and chunks are capped in bytes as well as lines, so memory stays bounded.
DEFAULT_MAX_LINE_LENGTH = 1024 * 1024

#: Text a layout's encoding must encode as ASCII does: lines are split on the
#: byte ``\n`` before decoding, so UTF-16 or UTF-32 cannot be read.
_ASCII_PROBE = "\r\n|,;*^~:\t azAZ09"

#: Top-level tables a layout file may hold.
_TOP_LEVEL_KEYS = frozenset({"layout", "field", "record"})
#: [layout] keys that only mean something for one format.
_DELIMITED_ONLY_KEYS = ("delimiter", "quote", "header", "columns")
_FIXED_WIDTH_ONLY_KEYS = ("record_type",)
#: Keys of ``record_type = {...}`` and of a ``[[record]]`` table.
_RECORD_TYPE_KEYS = frozenset({"start", "length"})
_RECORD_KEYS = frozenset({"type", "role", "length", "fields"})

# What a text (X) picture would have to hold, and a picture that fits instead;
# the kinds listed here can only be read through a numeric picture (or none).
_NUMERIC_KINDS: Mapping[Kind, tuple[str, str]] = {
    Kind.AMOUNT: ("an amount", "S9(7)V99 or 9(7)V99"),
    Kind.DECIMAL: ("a quantity", "9(7)V999"),
    Kind.INTEGER: ("a whole number", "9(4)"),
    Kind.DATE: ("a date", "9(8)"),
    Kind.HOUR: ("an HHMM time", "9(4)"),
}


class Format(StrEnum):
    """How records are encoded."""

    DELIMITED = "delimited"
    FIXED_WIDTH = "fixed-width"


class Role(StrEnum):
    """What a record type holds in a fixed-width layout."""

    HEADER = "header"
    CLAIM = "claim"
    LINE = "line"
    TRAILER = "trailer"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Where one value sits and how it is encoded.

    ``field`` is a model field name, or for header/trailer records a free
    ``name`` that is not a model field (``model`` is then False).
    """

    field: str
    model: bool = True
    column: str | None = None
    position: int | None = None
    start: int | None = None
    length: int | None = None
    picture: Picture | None = None
    date_format: str | None = None
    check: str | None = None

    @property
    def end(self) -> int:
        """Return the 1-based last position of a fixed-width field."""
        assert self.start is not None and self.length is not None
        return self.start + self.length - 1


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One record type of a fixed-width layout."""

    type: str
    role: Role
    fields: tuple[FieldSpec, ...]
    length: int | None = None


@dataclass(frozen=True)
class Layout:
    """A validated layout.

    Delimited layouts use :attr:`fields`; fixed-width layouts use :attr:`records`.
    """

    name: str
    title: str
    format: Format
    encoding: str
    claim_types: tuple[str, ...]
    source: Path
    date_format: str = "CCYYMMDD"
    delimiter: str = "|"
    quote: str | None = None
    header: bool = True
    fields: tuple[FieldSpec, ...] = ()
    record_type_start: int = 1
    record_type_length: int = 2
    records: tuple[RecordSpec, ...] = ()
    description: str = ""
    model: str = "medical"
    paid_components: tuple[str, ...] = ()
    max_line_length: int = DEFAULT_MAX_LINE_LENGTH
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def catalog(self) -> Catalog:
        """Return the field catalogue of the layout's model (medical or pharmacy)."""
        return CATALOGS[self.model]

    @property
    def model_fields(self) -> tuple[str, ...]:
        """Return every model field the layout maps."""
        specs: Iterator[FieldSpec]
        if self.format is Format.DELIMITED:
            specs = iter(self.fields)
        else:
            specs = (f for r in self.records for f in r.fields)
        return tuple(f.field for f in specs if f.model)

    def record(self, role: Role) -> RecordSpec | None:
        """Return the record spec with ``role`` (fixed-width layouts)."""
        for r in self.records:
            if r.role is role:
                return r
        return None

    def date_format_of(self, model_field: str) -> str:
        """Return the date format (a :data:`DATE_FORMATS` name) a model field is written in."""
        specs = [*self.fields, *(f for r in self.records for f in r.fields)]
        for f in specs:
            if f.field == model_field and f.date_format:
                return f.date_format
        return self.date_format

    def column_for(self, model_field: str) -> str:
        """Return the input name of a model field (column name, or the field itself)."""
        for f in self.fields:
            if f.field == model_field and f.column:
                return f.column
        return model_field


def ascii_compatible(encoding: str) -> bool:
    """Return True when ``encoding`` encodes line ends, delimiters and ASCII letters as ASCII does.

    Raises:
        LookupError: ``encoding`` is not a known encoding.
    """
    try:
        encoded = _ASCII_PROBE.encode(encoding)
    except UnicodeEncodeError:
        return False
    # utf-8-sig writes a BOM first; the line reader drops it.
    return encoded.removeprefix(b"\xef\xbb\xbf") == _ASCII_PROBE.encode("ascii")


def bundled_layouts() -> dict[str, Path]:
    """Return the layouts shipped in ``schemas/layouts``, by name."""
    found: dict[str, Path] = {}
    for path in sorted((schemas_dir() / "layouts").glob("*.toml")):
        found[path.stem] = path
    return found


def load_layout(name_or_path: str | Path) -> Layout:
    """Load a layout by bundled name (``mce-v1``) or by path, and validate it.

    Raises:
        LayoutError: the layout cannot be found, read or is inconsistent.
    """
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix and not path.exists():
        bundled = bundled_layouts()
        if text not in bundled:
            hint = difflib.get_close_matches(text, list(bundled), n=1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            names = ", ".join(bundled) or "none"
            raise LayoutError(f"layout {text!r} is not a bundled layout{more}; bundled: {names}")
        path = bundled[text]
    if not path.is_file():
        raise LayoutError(f"layout file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"layout file {path} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"layout file {path} is not valid TOML: {exc}") from exc
    return _LayoutBuilder(path, data).build()


class _LayoutBuilder:
    """Turns parsed TOML into a :class:`Layout`, collecting precise errors."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        meta = data.get("layout")
        if not isinstance(meta, dict):
            raise LayoutError(f"layout file {path}: missing the [layout] table")
        self.meta: dict[str, Any] = meta
        self.name = str(meta.get("name") or path.stem)
        self.catalog: Catalog = MEDICAL

    def fail(self, message: str) -> LayoutError:
        return LayoutError(f"layout {self.name} ({self.path}): {message}")

    def _paid_components(self) -> tuple[str, ...]:
        names = self.meta.get("paid_components", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.fail("paid_components must be a list of amount field names")
        for n in names:
            fd = self.catalog.by_name.get(n)
            if self.catalog.name != "pharmacy" or fd is None or fd.kind is not Kind.AMOUNT:
                raise self.fail(f"paid_components: {n!r} is not a pharmacy amount field")
        return tuple(names)

    def _max_line_length(self) -> int:
        value = self._int(self.meta.get("max_line_length", DEFAULT_MAX_LINE_LENGTH), "max_line_length")
        if value < 1:
            raise self.fail("max_line_length must be a positive number of bytes")
        return value

    def _int(self, value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{what} must be a whole number, not {value!r}")
        return value

    def _str(self, key: str, default: str | None = None) -> str:
        value = self.meta.get(key, default)
        if not isinstance(value, str):
            raise self.fail(f"[layout].{key} must be a string")
        return value

    def build(self) -> Layout:
        known = {
            "name",
            "title",
            "format",
            "encoding",
            "claim_types",
            "date_format",
            "delimiter",
            "quote",
            "header",
            "columns",
            "record_type",
            "description",
            "model",
            "paid_components",
            "max_line_length",
        }
        unknown = sorted(set(self.meta) - known)
        if unknown:
            raise self.fail(f"unknown [layout] key(s): {', '.join(unknown)}")
        unknown = sorted(set(self.data) - _TOP_LEVEL_KEYS)
        if unknown:
            raise self.fail(
                f"unknown top-level key(s) or table(s): {', '.join(unknown)}; a layout holds [layout], "
                "[[field]] (delimited) or [[record]] (fixed-width)"
            )
        try:
            fmt = Format(self._str("format", "delimited"))
        except ValueError:
            raise self.fail(f"format {self.meta.get('format')!r} is not 'delimited' or 'fixed-width'") from None
        encoding = self._str("encoding", "utf-8")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise self.fail(f"encoding {encoding!r} is not a known text encoding") from None
        if not ascii_compatible(encoding):
            raise self.fail(
                f"encoding {encoding!r} does not encode line ends and delimiters as ASCII does; "
                "sendpro reads utf-8, cp1252, latin-1 and other ASCII-compatible encodings"
            )
        model = self._str("model", "medical")
        if model not in CATALOGS:
            raise self.fail(f"model {model!r} is not one of {', '.join(CATALOGS)}")
        self.catalog = CATALOGS[model]
        known_types = self.catalog.claim_types
        claim_types = self.meta.get("claim_types", list(known_types))
        if not isinstance(claim_types, list) or not claim_types:
            raise self.fail('claim_types must be a non-empty list such as ["P", "I", "D"]')
        for ct in claim_types:
            if ct not in known_types:
                raise self.fail(f"claim type {ct!r} is not one of {', '.join(known_types)}")
        date_format = self._str("date_format", "CCYYMMDD")
        if date_format not in DATE_FORMATS:
            raise self.fail(f"date_format {date_format!r} is not one of {', '.join(DATE_FORMATS)}")
        common: dict[str, Any] = dict(
            name=self.name,
            title=self._str("title", self.name),
            format=fmt,
            encoding=encoding,
            claim_types=tuple(claim_types),
            source=self.path,
            date_format=date_format,
            description=self._str("description", ""),
            model=model,
            paid_components=self._paid_components(),
            max_line_length=self._max_line_length(),
        )
        if fmt is Format.DELIMITED:
            layout = self._delimited(common)
        else:
            layout = self._fixed_width(common)
        self._check_required(layout)
        return layout

    # -- delimited -------------------------------------------------------------------
    def _delimited(self, common: dict[str, Any]) -> Layout:
        # Keys of the other format would be silently ignored: a layout that
        # declares them was probably meant to be fixed-width.
        wrong = [k for k in _FIXED_WIDTH_ONLY_KEYS if k in self.meta]
        if wrong:
            raise self.fail(f"[layout] key(s) {', '.join(wrong)} only apply to fixed-width layouts")
        if "record" in self.data:
            raise self.fail('[[record]] tables are for fixed-width layouts (format = "fixed-width")')
        delimiter = self._str("delimiter", "|")
        if len(delimiter) != 1 or delimiter in "\r\n":
            raise self.fail(f"delimiter {delimiter!r} must be exactly one character (not a line break)")
        quote = self._str("quote", "") or None
        if quote is not None and (len(quote) != 1 or quote == delimiter):
            raise self.fail(f"quote {quote!r} must be one character different from the delimiter")
        header = self.meta.get("header", True)
        if not isinstance(header, bool):
            raise self.fail("header must be true or false")
        specs: list[FieldSpec] = []
        columns = self.meta.get("columns", [])
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise self.fail("columns must be a list of column names")
        for i, col in enumerate(columns):
            specs.append(self._field_spec({"field": col, "column": col}, f"columns[{i}]", position=i))
        raw_fields = self.data.get("field", [])
        if not isinstance(raw_fields, list):
            raise self.fail("field must be [[field]] tables")
        for i, raw in enumerate(raw_fields):
            if not isinstance(raw, dict):
                raise self.fail(f"[[field]] #{i + 1} must be a table")
            where = f"[[field]] #{i + 1} ({raw.get('column', raw.get('field', '?'))})"
            spec = self._field_spec(raw, where)
            if header and "column" not in raw and any(s.column == spec.column for s in specs):
                # Without column = the entry reads the column named like the field,
                # which is already mapped: the author forgot the header name.
                raise self.fail(
                    f'{where}: column is missing: add column = "<name in the header row>" '
                    f"(without it the entry reads the column named {spec.field}, which is already mapped)"
                )
            specs.append(spec)
        if not specs:
            raise self.fail("a delimited layout needs columns = [...] or [[field]] entries")
        self._no_duplicates(specs, "the layout")
        if not header:
            for s in specs:
                if s.position is None:
                    raise self.fail(f"field {s.field}: a layout without a header row needs a position")
        return Layout(**common, delimiter=delimiter, quote=quote, header=header, fields=tuple(specs))

    # -- fixed-width -----------------------------------------------------------------
    def _fixed_width(self, common: dict[str, Any]) -> Layout:
        wrong = [k for k in _DELIMITED_ONLY_KEYS if k in self.meta]
        if wrong:
            raise self.fail(f"[layout] key(s) {', '.join(wrong)} only apply to delimited layouts")
        if "field" in self.data:
            raise self.fail(
                "[[field]] tables are for delimited layouts; fixed-width fields belong under their record: "
                'fields = [{ field = "...", start = 1, length = 10 }] in the [[record]] that holds them'
            )
        rt = self.meta.get("record_type")
        if not isinstance(rt, dict) or "start" not in rt or "length" not in rt:
            raise self.fail("a fixed-width layout needs record_type = { start = 1, length = 2 }")
        unknown = sorted(set(rt) - _RECORD_TYPE_KEYS)
        if unknown:
            raise self.fail(f"unknown [layout].record_type key(s): {', '.join(unknown)}")
        rt_start, rt_len = self._int(rt["start"], "record_type start"), self._int(rt["length"], "record_type length")
        if rt_start < 1 or rt_len < 1:
            raise self.fail("record_type start and length must be positive")
        records: list[RecordSpec] = []
        raw_records = self.data.get("record", [])
        if not isinstance(raw_records, list) or not raw_records:
            raise self.fail("a fixed-width layout needs [[record]] entries")
        for i, raw in enumerate(raw_records):
            if not isinstance(raw, dict):
                raise self.fail(f"[[record]] #{i + 1} must be a table")
            records.append(self._record(raw, i, rt_start, rt_len))
        roles = [r.role for r in records]
        for role in (Role.CLAIM, Role.LINE):
            if roles.count(role) != 1:
                raise self.fail(f"a fixed-width layout needs exactly one {role.value} record (has {roles.count(role)})")
        for role in (Role.HEADER, Role.TRAILER):
            if roles.count(role) > 1:
                raise self.fail(f"at most one {role.value} record is allowed")
        types = [r.type for r in records]
        dup = {t for t in types if types.count(t) > 1}
        if dup:
            raise self.fail(f"record type(s) declared twice: {', '.join(sorted(dup))}")
        for r in records:
            if len(r.type) != rt_len:
                raise self.fail(f"record type {r.type!r} is not {rt_len} characters long")
        all_specs = [f for r in records for f in r.fields if f.model]
        self._no_duplicates(all_specs, "the records")
        limit = common["max_line_length"]
        for r in records:
            # Characters, compared with bytes: a record of that length may take more bytes, never fewer.
            if r.length is not None and r.length > limit:
                raise self.fail(f"record {r.type}: length {r.length} is beyond max_line_length {limit}")
        return Layout(**common, record_type_start=rt_start, record_type_length=rt_len, records=tuple(records))

    def _record(self, raw: dict[str, Any], index: int, rt_start: int, rt_len: int) -> RecordSpec:
        rtype = raw.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise self.fail(f'[[record]] #{index + 1} needs a type such as "CL"')
        unknown = sorted(set(raw) - _RECORD_KEYS)
        if unknown:
            raise self.fail(f"record {rtype}: unknown key(s) {', '.join(unknown)}")
        try:
            role = Role(raw.get("role", ""))
        except ValueError:
            raise self.fail(f"record {rtype}: role {raw.get('role')!r} is not header, claim, line or trailer") from None
        length = raw.get("length")
        raw_fields = raw.get("fields", [])
        if not isinstance(raw_fields, list):
            raise self.fail(f"record {rtype}: fields must be a list of field tables")
        specs: list[FieldSpec] = []
        for j, fraw in enumerate(raw_fields):
            if not isinstance(fraw, dict):
                raise self.fail(f"record {rtype} field #{j + 1} must be a table")
            where = f"record {rtype} field {fraw.get('field', fraw.get('name', '#' + str(j + 1)))}"
            spec = self._field_spec(fraw, where, fixed=True, role=role)
            specs.append(spec)
        # Overlap check, the record type included, sorted by start.
        spans = [(rt_start, rt_start + rt_len - 1, "the record type")]
        spans += [(s.start or 0, s.end, s.field) for s in specs]
        spans.sort()
        for (a_start, a_end, a_name), (b_start, b_end, b_name) in zip(spans, spans[1:], strict=False):
            if b_start <= a_end:
                raise self.fail(
                    f"record {rtype}: {b_name} (positions {b_start}-{b_end}) overlaps "
                    f"{a_name} (positions {a_start}-{a_end})"
                )
        if length is not None:
            if isinstance(length, bool) or not isinstance(length, int) or length < 1:
                raise self.fail(f"record {rtype}: length must be a positive number")
            last = max(end for _, end, _ in spans)
            if last > length:
                raise self.fail(f"record {rtype}: fields end at position {last}, beyond the record length {length}")
        for s in specs:
            if not s.model:
                continue
            level = self.catalog.by_name[s.field].level
            if role is Role.CLAIM and level is Level.LINE:
                raise self.fail(f"record {rtype}: {s.field} is a line-level field; put it on the line record")
            if role is Role.LINE and level is Level.CLAIM:
                raise self.fail(f"record {rtype}: {s.field} is a claim-level field; put it on the claim record")
        return RecordSpec(rtype, role, tuple(specs), length)

    # -- shared ------------------------------------------------------------------------
    def _field_spec(
        self,
        raw: dict[str, Any],
        where: str,
        *,
        position: int | None = None,
        fixed: bool = False,
        role: Role | None = None,
    ) -> FieldSpec:
        known = {
            "field",
            "name",
            "column",
            "position",
            "start",
            "length",
            "picture",
            "sign",
            "date_format",
            "check",
        }
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.fail(f"{where}: unknown key(s) {', '.join(unknown)}")
        model_name = raw.get("field")
        meta_name = raw.get("name")
        meta_roles = (Role.HEADER, Role.TRAILER)
        if model_name is None and meta_name is None:
            raise self.fail(f'{where}: needs field = "<model field>"')
        if model_name is not None and meta_name is not None:
            raise self.fail(
                f"{where}: has both field = and name =; claim and line records map model fields with "
                "field = ..., header and trailer records hold name = ..."
            )
        if model_name is not None:
            if model_name not in self.catalog.by_name:
                # Model field names are lower case: compare so, ``member_DOB`` means ``member_dob``.
                hint = difflib.get_close_matches(str(model_name).lower(), list(self.catalog.by_name), n=1)
                more = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise self.fail(f"{where}: {model_name!r} is not a model field{more}")
            if role in meta_roles:
                raise self.fail(f"{where}: {role.value if role else ''} records hold name = ..., not model fields")
        elif role not in meta_roles:
            raise self.fail(
                f"{where}: name = {meta_name!r} is only allowed on header and trailer records; "
                "claim and line records map model fields with field = ..."
            )
        name = str(model_name if model_name is not None else meta_name)
        picture = None
        if "picture" in raw:
            try:
                picture = parse_picture(str(raw["picture"]), raw.get("sign"))
            except LayoutError as exc:
                raise self.fail(f"{where}: {exc}") from None
        elif "sign" in raw:
            raise self.fail(f"{where}: sign needs a signed picture such as S9(7)V99")
        start = length = None
        if fixed:
            if "start" not in raw or "length" not in raw:
                raise self.fail(f"{where}: a fixed-width field needs start and length")
            start, length = self._int(raw["start"], f"{where}: start"), self._int(raw["length"], f"{where}: length")
            if start < 1 or length < 1:
                raise self.fail(f"{where}: start and length must be positive")
            if picture is not None and picture.width != length:
                raise self.fail(f"{where}: picture {picture.text} is {picture.width} characters but length is {length}")
        date_format = raw.get("date_format")
        if date_format is not None and date_format not in DATE_FORMATS:
            raise self.fail(f"{where}: date_format {date_format!r} is not one of {', '.join(DATE_FORMATS)}")
        if model_name is not None and picture is not None:
            fd = self.catalog.by_name[name]
            self._picture_fits(fd, picture, date_format or self.meta.get("date_format", "CCYYMMDD"), where)
        check = raw.get("check")
        if check is not None:
            if role is not Role.TRAILER:
                raise self.fail(f"{where}: check is only allowed on trailer fields")
            self._validate_check(str(check), where, picture)
        pos = raw.get("position", position)
        return FieldSpec(
            field=name,
            model=model_name is not None,
            column=raw.get("column", name if not fixed else None),
            position=int(pos) if pos is not None else None,
            start=start,
            length=length,
            picture=picture,
            date_format=date_format,
            check=str(check) if check is not None else None,
        )

    def _picture_fits(self, fd: FieldDef, picture: Picture, date_format: str, where: str) -> None:
        """Refuse a picture that cannot hold values of the model field's kind.

        Such a layout loads but then rejects every claim (an ``X(10)`` amount
        keeps its overpunch sign and implied decimals), so it is a layout error.
        """
        name, kind = fd.name, fd.kind
        if picture.decimals and kind not in (Kind.AMOUNT, Kind.DECIMAL):
            raise self.fail(f"{where}: picture {picture.text} has decimals but {name} is not an amount")
        if picture.alphanumeric and kind in _NUMERIC_KINDS:
            what, example = _NUMERIC_KINDS[kind]
            if kind in (Kind.AMOUNT, Kind.DECIMAL):
                bare = "values written with an explicit decimal point"
            elif kind is Kind.DATE:
                bare = "dates written with separators such as CCYY-MM-DD"
            else:
                bare = "values that are not zero-filled"
            raise self.fail(
                f"{where}: picture {picture.text} is text but {name} is {what}; use a numeric picture "
                f"such as {example}, or leave picture out for {bare}"
            )
        if picture.numeric and kind is Kind.TEXT:
            raise self.fail(
                f"{where}: picture {picture.text} is numeric but {name} is free text; use X({picture.width})"
            )
        if picture.numeric and kind is Kind.CODE and fd.codes and not any(c.isdigit() for c in fd.codes):
            raise self.fail(
                f"{where}: picture {picture.text} holds digits only but {name} codes are letters "
                f"({', '.join(sorted(fd.codes)[:5])}); use X({picture.width})"
            )
        if picture.signed and kind not in (Kind.AMOUNT, Kind.DECIMAL, Kind.INTEGER):
            # A signed picture drops leading zeros ("01" -> "1"), which breaks codes and identifiers.
            raise self.fail(f"{where}: picture {picture.text} is signed but {name} is not an amount or a number")
        if picture.decimals > fd.max_decimals:
            raise self.fail(
                f"{where}: picture {picture.text} has {picture.decimals} decimals but {name} allows at most "
                f"{fd.max_decimals}"
            )
        if kind is Kind.DATE and picture.numeric:
            if not date_format.isalpha():
                raise self.fail(
                    f"{where}: picture {picture.text} holds digits only but date_format {date_format} has "
                    "separators; leave picture out"
                )
            if picture.digits != len(date_format):
                raise self.fail(
                    f"{where}: picture {picture.text} is {picture.digits} digits but a {date_format} date has "
                    f"{len(date_format)}"
                )
        if kind is Kind.HOUR and picture.numeric and picture.digits != 4:
            raise self.fail(f"{where}: picture {picture.text} is {picture.digits} digits but an HHMM time has 4")

    def _validate_check(self, check: str, where: str, picture: Picture | None) -> None:
        if check in ("count:records", "count:data", "count:claims"):
            if picture is not None and (picture.alphanumeric or picture.decimals):
                raise self.fail(f"{where}: a count needs a whole-number picture such as 9(9), not {picture.text}")
            return
        if check.startswith("sum:"):
            target = check[4:]
            fd = self.catalog.by_name.get(target)
            if fd is None or fd.kind is not Kind.AMOUNT:
                raise self.fail(f"{where}: check {check!r} must sum an amount field, e.g. sum:total_charge")
            if fd.level is not Level.CLAIM:
                # The reader sums claim records, and the rejects file recomputes its
                # trailer from claim totals; a line-level sum would always mismatch.
                raise self.fail(
                    f"{where}: check {check!r} sums a line-level field; a trailer total sums a claim-level "
                    "amount such as sum:total_charge"
                )
            if picture is not None and (picture.alphanumeric or picture.decimals > 2):
                raise self.fail(f"{where}: a total needs an amount picture such as S9(10)V99, not {picture.text}")
            return
        raise self.fail(f"{where}: check {check!r} is not count:records, count:data, count:claims or sum:<field>")

    def _no_duplicates(self, specs: Sequence[FieldSpec], where: str) -> None:
        seen: dict[str, FieldSpec] = {}
        for s in specs:
            if s.field in seen:
                raise self.fail(f"{s.field} is mapped twice in {where}")
            seen[s.field] = s
        columns = [s.column for s in specs if s.column]
        dup = {c for c in columns if columns.count(c) > 1}
        if dup:
            raise self.fail(f"column name(s) used twice: {', '.join(sorted(dup))}")

    def _check_required(self, layout: Layout) -> None:
        mapped = set(layout.model_fields)
        if len(layout.claim_types) == 1 or "claim_type" not in self.catalog.by_name:
            # A single-type layout may leave claim_type out: every claim is of that type.
            mapped.add("claim_type")
        for ct in layout.claim_types:
            for fd in self.catalog.required(ct):
                if fd.name not in mapped:
                    raise self.fail(
                        f"declares claim type {ct} but maps no column for {fd.name}, "
                        f"which {self.catalog.type_name(ct)} claims require"
                    )
        if "mce_claim_id" not in mapped:
            raise self.fail("maps no column for mce_claim_id, which groups rows into claims")
