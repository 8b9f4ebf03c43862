"""The ledger's content hash computed straight from a typed batch frame.

:func:`sendpro.ledger.history.content_hash` hashes ``repr`` of an encounter
flattened into nested tuples. The ledger keeps those hashes forever (a claim sent
again unchanged must hash as before, or the duplicate goes unnoticed), so this
module builds *the same text* with polars expressions, one ``concat_str`` per
claim, without building :class:`~sendpro.model.encounter.Encounter` objects,
and only the sha256 of each claim's text runs in Python.

What each model field is made of is written down once, in bindings that mirror
:mod:`sendpro.model.build`; the text's layout is derived from the model's
dataclasses (field order, type hints, provenance fields left out) the way
:func:`~sendpro.ledger.history._flattener` derives it. A content field the
bindings do not name, or a binding naming no field, fails at import, so a model
change cannot silently change (or freeze) the hash.

Values Python's ``repr`` would escape, anything but printable ASCII (which
cleaned free text never holds, but identifiers might), and quantities not in
plain ``digits[.digits]`` form take Python's own ``repr``/``Decimal`` on just
those values, so the text is exact whatever the frame holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import polars as pl

from sendpro.ledger.history import _PROVENANCE, _alternatives, _dataclass_in, _is
from sendpro.model.encounter import Encounter

# -- bindings: where each model field's value comes from -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Col:
    """The value of a frame column."""

    name: str


@dataclass(frozen=True, slots=True)
class _Const:
    """A fixed value (the builder's literal): str, int, bool or None."""

    value: str | int | bool | None


@dataclass(frozen=True, slots=True)
class _Default:
    """The dataclass field's own default: the builder leaves the field out."""


@dataclass(frozen=True, slots=True)
class _Obj:
    """A nested dataclass; with ``present``, None unless one of those columns holds a value."""

    binding: Mapping[str, _Source]
    present: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Each:
    """A tuple of candidate items; with ``keep``, item n is kept when one of ``keep[n]``'s columns holds a value."""

    items: tuple[_Source, ...]
    keep: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True, slots=True)
class _Rows:
    """A tuple with one item per service-line row of the claim."""

    item: _Obj


_Source = _Col | _Const | _Default | _Obj | _Each | _Rows
_DEFAULT = _Default()


def _address(prefix: str) -> _Obj:
    return _Obj(
        {
            n: _Col(f"{prefix}_{c}")
            for n, c in (("line", "address"), ("city", "city"), ("state", "state"), ("zip", "zip"))
        }
    )


def _adjustments(prefix: str, count: int) -> _Each:
    cols = [(f"{prefix}_group_{n}", f"{prefix}_reason_{n}", f"{prefix}_amount_{n}") for n in range(1, count + 1)]
    return _Each(
        tuple(_Obj({"group": _Col(g), "reason": _Col(r), "amount": _Col(a)}) for g, r, a in cols),
        keep=tuple(cols),
    )


def _present_if_any(columns: Sequence[str]) -> _Each:
    """Values of ``columns`` in order, absent ones dropped (modifiers, diagnosis pointers)."""
    return _Each(tuple(_Col(c) for c in columns), keep=tuple((c,) for c in columns))


def _clinician(role: str) -> _Obj:
    cols = (f"{role}_npi", f"{role}_last_name", f"{role}_first_name")
    return _Obj(
        {
            "role": _Const(role),
            "npi": _Col(cols[0]),
            "last_name": _Col(cols[1]),
            "first_name": _Col(cols[2]),
            "is_organization": _DEFAULT,
            "tax_id": _DEFAULT,
            "taxonomy": _DEFAULT,
            "address": _DEFAULT,
            "pidsl": _DEFAULT,
        },
        present=cols,
    )


_DX = tuple(f"dx_{n}" for n in range(1, 13))
_POA = tuple(f"poa_{n}" for n in range(1, 13))
_PCS = tuple((f"icd_pcs_{n}", f"icd_pcs_date_{n}", n) for n in range(1, 7))
_SAME_NAME = (
    "claim_type original_claim_id contract_type adjudication_date place_of_service type_of_bill statement_from"
    " statement_to admission_date admission_hour admission_type admission_source patient_status discharge_hour"
    " drg_code admitting_dx total_charge total_paid total_allowed patient_responsibility tpl_paid"
).split()

#: What :func:`sendpro.model.build._header` puts in each :class:`ClaimHeader` field.
_HEADER = _Obj(
    {
        **{n: _Col(n) for n in _SAME_NAME},
        "claim_id": _Col("mce_claim_id"),
        "frequency": _Col("claim_frequency"),
        "status": _Col("claim_status"),
        "diagnoses": _Each(
            tuple(_Obj({"code": _Col(d), "poa": _Col(p)}) for d, p in zip(_DX, _POA, strict=True)),
            keep=tuple((d,) for d in _DX),
        ),
        "diagnosis_slots": _Each(tuple(_Col(d) for d in _DX)),
        "poa_slots": _Each(tuple(_Col(p) for p in _POA)),
        "procedures": _Each(
            tuple(_Obj({"code": _Col(c), "date": _Col(d), "slot": _Const(n)}) for c, d, n in _PCS),
            keep=tuple((c, d) for c, d, _ in _PCS),
        ),
        "adjustments": _adjustments("claim_adj", 2),
    }
)

#: What :func:`sendpro.model.build._line` puts in each :class:`ServiceLine` field.
_LINE = _Obj(
    {
        **{
            n: _Col(n)
            for n in (
                "line_number procedure_code revenue_code units unit_type ndc_code ndc_quantity ndc_unit"
                " tooth_number tooth_surfaces oral_cavity_area"
            ).split()
        },
        "modifiers": _present_if_any([f"modifier_{n}" for n in range(1, 5)]),
        "from_date": _Col("line_from_date"),
        "to_date": _Col("line_to_date"),
        "charge": _Col("line_charge"),
        "paid": _Col("line_paid"),
        "allowed": _Col("line_allowed"),
        "adjustments": _adjustments("line_adj", 3),
        "dx_pointers": _present_if_any([f"dx_pointer_{n}" for n in range(1, 5)]),
        "place_of_service": _Col("line_place_of_service"),
        "rendering_npi": _Col("line_rendering_npi"),
    }
)

_FACILITY_COLS = tuple(f"facility_{p}" for p in ("npi", "name", "address", "city", "state", "zip"))

#: What :func:`sendpro.model.build._encounter` puts in each :class:`Encounter` field.
_ENCOUNTER = _Obj(
    {
        "header": _HEADER,
        "member": _Obj(
            {
                "member_id": _Col("member_id"),
                "last_name": _Col("member_last_name"),
                "first_name": _Col("member_first_name"),
                "dob": _Col("member_dob"),
                "gender": _Col("member_gender"),
                "address": _address("member"),
            }
        ),
        "billing": _Obj(
            {
                "role": _Const("billing"),
                "npi": _Col("billing_npi"),
                "last_name": _Col("billing_org_name"),
                "first_name": _DEFAULT,
                "is_organization": _Const(True),
                "tax_id": _Col("billing_tax_id"),
                "taxonomy": _Col("billing_taxonomy"),
                "address": _address("billing"),
                "pidsl": _Col("billing_pidsl"),
            }
        ),
        "rendering": _clinician("rendering"),
        "referring": _clinician("referring"),
        "attending": _clinician("attending"),
        "facility": _Obj(
            {
                "role": _Const("facility"),
                "npi": _Col("facility_npi"),
                "last_name": _Col("facility_name"),
                "first_name": _DEFAULT,
                "is_organization": _Const(True),
                "tax_id": _DEFAULT,
                "taxonomy": _DEFAULT,
                "address": _address("facility"),
                "pidsl": _DEFAULT,
            },
            present=_FACILITY_COLS,
        ),
        "lines": _Rows(_LINE),
    }
)

# -- compiling the bindings into expressions -------------------------------------------------------------

#: A piece of a claim's text: literal text or an expression giving text (never null).
_Piece = pl.Expr | str

_PREFIX = "__framehash_"
_TEXT = f"{_PREFIX}text"
_LINES_TEXT = f"{_PREFIX}lines"
_LINES_N = f"{_PREFIX}nlines"
#: Quantities whose normalized text polars derives exactly; others go through Decimal. At
#: most 28 digits, so normalize() (context precision 28) never rounds them.
_PLAIN_DECIMAL = r"^[0-9]{1,14}(\.[0-9]{0,14})?$"
#: Anything but printable ASCII (which repr() may escape): such values take Python's own repr().
_ODD_TEXT = r"[^ -~]"
#: Anything repr() does not copy as is between single quotes: the quotes, backslash, and _ODD_TEXT.
_SPECIAL_TEXT = r"[^ !#-&(-\[\]-~]"


def _repr_col(name: str) -> str:
    """Return the name of the column holding ``repr`` of column ``name``'s values."""
    return f"{_PREFIX}repr_{name}"


class _Kind(StrEnum):
    """What a bound column must hold (checked against the frame's schema before hashing)."""

    TEXT = "text"
    INT = "int"
    DATE = "date"
    BOOL = "bool"
    DECIMAL = "decimal text"


@dataclass(slots=True)
class _Needs:
    """The columns one frame's expression reads, collected while compiling."""

    kinds: dict[str, _Kind] = dataclasses.field(default_factory=dict)
    strings: dict[str, None] = dataclasses.field(default_factory=dict)
    decimals: dict[str, None] = dataclasses.field(default_factory=dict)
    keys: dict[str, None] = dataclasses.field(default_factory=dict)

    def column(self, name: str, kind: _Kind, where: str) -> pl.Expr:
        """Record that the expression reads column ``name`` as ``kind``; return the column."""
        if self.kinds.setdefault(name, kind) != kind:
            raise TypeError(f"{where}: column {name} is bound as {self.kinds[name]} elsewhere, here as {kind}")
        return pl.col(name)


@dataclass(frozen=True, slots=True)
class _Side:
    """One frame's expression and what it reads."""

    text: pl.Expr
    kinds: Mapping[str, _Kind]
    strings: tuple[str, ...]
    decimals: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def reprs(self) -> tuple[str, ...]:
        """Return the columns whose values need a ``repr`` column."""
        return (*self.strings, *self.decimals)

    @classmethod
    def of(cls, text: pl.Expr, needs: _Needs) -> _Side:
        """Return the side of ``text``, reading what ``needs`` collected."""
        columns = dict.fromkeys([*needs.kinds, *needs.keys])
        return cls(text, dict(needs.kinds), tuple(needs.strings), tuple(needs.decimals), tuple(columns))


@dataclass(frozen=True, slots=True)
class _Plan:
    """The compiled text: the claim's (on its first row, line texts joined in) and a line's."""

    head: _Side
    line: _Side


def _concat(pieces: Sequence[_Piece]) -> pl.Expr:
    """Concatenate pieces, merging adjacent literals (fewer, longer pieces are cheaper)."""
    merged: list[_Piece] = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    exprs = [pl.lit(p) if isinstance(p, str) else p for p in merged]
    return exprs[0] if len(exprs) == 1 else pl.concat_str(exprs)


def _fixed_tuple(parts: Sequence[list[_Piece]]) -> list[_Piece]:
    """Return the pieces of ``repr`` of a tuple of known length: ``()``, ``(a,)``, ``(a, b)``."""
    if not parts:
        return ["()"]
    out: list[_Piece] = ["("]
    for i, part in enumerate(parts):
        if i:
            out.append(", ")
        out += part
    out.append(",)" if len(parts) == 1 else ")")
    return out


def _variable_tuple(joined: pl.Expr, count: pl.Expr) -> list[_Piece]:
    """Return the pieces of a tuple whose items (``joined`` by ", ") vary in number per row."""
    return ["(", joined, pl.when(count == 1).then(pl.lit(",)")).otherwise(pl.lit(")"))]


def _holds_any(columns: Sequence[str], needs: _Needs) -> pl.Expr:
    """Return True where one of ``columns`` holds a value (the builder's ``is not None`` tests)."""
    needs.keys.update(dict.fromkeys(columns))
    return pl.any_horizontal([pl.col(c).is_not_null() for c in columns])


class _Compiler:
    """Turns bindings into expressions, walking the model's dataclasses as ``_flattener`` does."""

    def __init__(self) -> None:
        self.head = _Needs()
        self.lines = _Needs()
        self.line_text: pl.Expr | None = None

    def plan(self, cls: type, binding: _Obj) -> _Plan:
        """Return the compiled text of ``cls`` bound by ``binding``: its class name, then its flattened tuple."""
        text = _concat([cls.__name__, *self.flat(cls, binding, self.head)])
        if self.line_text is None:
            raise TypeError(f"{cls.__name__}: no field is bound to the service-line rows")
        return _Plan(_Side.of(text, self.head), _Side.of(self.line_text, self.lines))

    def flat(self, cls: type, obj: _Obj, needs: _Needs) -> list[_Piece]:
        """Return the pieces of a dataclass flattened to the tuple of its content fields."""
        hints = typing.get_type_hints(cls)
        content = [f for f in dataclasses.fields(cls) if f.name not in _PROVENANCE]
        unknown = set(obj.binding) - {f.name for f in content}
        if unknown:
            raise ValueError(f"{cls.__name__} has no content field {', '.join(sorted(unknown))} (framehash bindings)")
        parts = []
        for f in content:
            where = f"{cls.__name__}.{f.name}"
            if f.name not in obj.binding:
                raise ValueError(f"{where} is not bound: tell sendpro/ledger/framehash.py where its value comes from")
            source = obj.binding[f.name]
            if isinstance(source, _Default):
                if f.default is dataclasses.MISSING:
                    raise ValueError(f"{where} has no default")
                source = _Const(f.default)
            parts.append(self.field(hints[f.name], source, needs, where))
        return _fixed_tuple(parts)

    def field(self, hint: Any, source: _Source, needs: _Needs, where: str) -> list[_Piece]:
        """Return the pieces of one flattened field value, by its hint (the order ``_flattener`` tests them)."""
        if isinstance(source, _Const):
            return [self.constant(hint, source.value, where)]
        inner = _dataclass_in(hint)
        member = _dataclass_in(typing.get_args(hint)[0]) if typing.get_origin(hint) is tuple else None
        if inner is not None:
            if not isinstance(source, _Obj):
                raise TypeError(f"{where}: a {inner.__name__} needs an object binding")
            text = self.flat(inner, source, needs)
            if not source.present:
                return text
            present = _holds_any(source.present, needs)
            return [pl.when(present).then(_concat(text)).otherwise(pl.lit("None"))]
        if member is not None:
            if isinstance(source, _Rows):
                return self.rows(member, source, needs, where)
            if not isinstance(source, _Each) or not all(isinstance(i, _Obj) and not i.present for i in source.items):
                raise TypeError(f"{where}: a tuple of {member.__name__} needs items that are objects")
            return self.each([self.flat(member, typing.cast(_Obj, i), needs) for i in source.items], source, needs)
        if _is(hint, dt.date):
            c = needs.column(self.col(source, where), _Kind.DATE, where)
            # Polars pads years to 4 digits as date.isoformat() does.
            return [pl.concat_str([pl.lit("'"), c.dt.to_string("%Y-%m-%d"), pl.lit("'")]).fill_null("None")]
        if _is(hint, Decimal):
            name = self.col(source, where)
            needs.column(name, _Kind.DECIMAL, where)
            needs.decimals[name] = None
            return [pl.col(_repr_col(name))]
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            if len(args) != 2 or args[1] is not Ellipsis or not isinstance(source, _Each):
                raise TypeError(f"{where}: only tuple[X, ...] of candidate items is supported")
            return self.each([self.field(args[0], i, needs, where) for i in source.items], source, needs)
        return [self.plain(hint, source, needs, where)]

    def plain(self, hint: Any, source: _Source, needs: _Needs, where: str) -> pl.Expr:
        """Return ``repr`` of a str, int or bool value (or None)."""
        kinds = set(_alternatives(hint)) - {types.NoneType}
        name = self.col(source, where)
        if kinds == {str}:
            needs.column(name, _Kind.TEXT, where)
            needs.strings[name] = None
            return pl.col(_repr_col(name))
        if kinds == {bool}:
            c = needs.column(name, _Kind.BOOL, where)
            return pl.when(c.is_null()).then(pl.lit("None")).when(c).then(pl.lit("True")).otherwise(pl.lit("False"))
        if kinds == {int}:
            return needs.column(name, _Kind.INT, where).cast(pl.String).fill_null("None")
        # repr of anything else (a date in a tuple, a float...) is not derived here: refuse, not guess.
        raise TypeError(f"{where}: values of type {hint} are not supported by framehash")

    @staticmethod
    def constant(hint: Any, value: object, where: str) -> str:
        """Return ``repr`` of a constant (the builder's literal or a field default)."""
        if value is None:
            return "None"
        if not isinstance(value, str | int) or _dataclass_in(hint) or typing.get_origin(hint) is tuple:
            raise TypeError(f"{where}: a constant stands only for a str, int or bool value or None")
        if _is(hint, dt.date) or _is(hint, Decimal):
            raise TypeError(f"{where}: a constant cannot stand for a date or a decimal")
        return repr(value)

    @staticmethod
    def col(source: _Source, where: str) -> str:
        """Return the column a plain value is bound to."""
        if not isinstance(source, _Col):
            raise TypeError(f"{where}: a plain value needs a column binding, not {type(source).__name__}")
        return source.name

    def each(self, items: list[list[_Piece]], source: _Each, needs: _Needs) -> list[_Piece]:
        """Return the pieces of a tuple of candidate items, dropping those ``keep`` says are absent."""
        if source.keep is None:
            return _fixed_tuple(items)
        if len(source.keep) != len(items):
            raise TypeError("one keep condition per candidate item")
        kept = [_holds_any(cols, needs) for cols in source.keep]
        joined = pl.concat_str(
            [pl.when(k).then(_concat(i)) for k, i in zip(kept, items, strict=True)], separator=", ", ignore_nulls=True
        )
        return _variable_tuple(joined, pl.sum_horizontal([k.cast(pl.Int32) for k in kept]))

    def rows(self, member: type, source: _Rows, needs: _Needs, where: str) -> list[_Piece]:
        """Return the pieces of the tuple of line items, aggregated per claim into the joined-in columns."""
        if needs is not self.head or self.line_text is not None:
            raise TypeError(f"{where}: only one top-level field can hold the line rows")
        self.line_text = _concat(self.flat(member, source.item, self.lines))
        return _variable_tuple(pl.col(_LINES_TEXT).fill_null(""), pl.col(_LINES_N).fill_null(0))


def _compile(cls: type, binding: _Obj) -> _Plan:
    """Compile the bindings of ``cls`` (checked against its dataclass fields)."""
    return _Compiler().plan(cls, binding)


#: The encounter text, compiled (and checked against the model) once, at import.
_PLAN = _compile(Encounter, _ENCOUNTER)

# -- evaluating ---------------------------------------------------------------------------------------------


def _quoted(c: pl.Expr) -> pl.Expr:
    """Return ``repr`` of text holding no quote, backslash or character outside printable ASCII."""
    return pl.concat_str([pl.lit("'"), c, pl.lit("'")]).fill_null("None")


def _str_repr(c: pl.Expr) -> pl.Expr:
    """Return ``repr`` of printable-ASCII text.

    Single quotes unless the text holds ' and no ", then double; backslash and the chosen quote escaped.
    """
    escaped = c.str.replace_all("\\", "\\\\", literal=True)
    double = c.str.contains("'", literal=True) & ~c.str.contains('"', literal=True)
    return (
        pl.when(c.is_null())
        .then(pl.lit("None"))
        .when(double)
        .then(pl.concat_str([pl.lit('"'), escaped, pl.lit('"')]))
        .otherwise(pl.concat_str([pl.lit("'"), escaped.str.replace_all("'", "\\'", literal=True), pl.lit("'")]))
    )


def _decimal_repr(c: pl.Expr) -> pl.Expr:
    """Return ``repr(format(Decimal(text).normalize(), "f"))`` of plain ``digits[.digits]`` text."""
    parts = c.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").str.strip_chars_start("0")
    whole = pl.when(whole == "").then(pl.lit("0")).otherwise(whole)
    frac = parts.struct.field("field_1").fill_null("").str.strip_chars_end("0")
    text = pl.when(frac == "").then(whole).otherwise(pl.concat_str([whole, pl.lit("."), frac]))
    return pl.when(c.is_null()).then(pl.lit("None")).otherwise(pl.concat_str([pl.lit("'"), text, pl.lit("'")]))


def _python_decimal_repr(value: str) -> str:
    return repr(format(Decimal(value).normalize(), "f"))


def _with_reprs(frame: pl.DataFrame, side: _Side) -> pl.DataFrame:
    """Add the ``repr`` columns of ``side``'s text and quantity columns.

    Polars derives them for plain values; the (rare) values it does not, text
    holding anything but printable ASCII and quantities not in ``digits[.digits]``
    form, are redone in Python, so the text is exactly what ``repr`` gives.
    """
    if frame.height == 0:
        return frame.with_columns(pl.lit("", dtype=pl.String).alias(_repr_col(n)) for n in side.reprs)
    # One pass says which columns need more than quotes around the text (usually few, often none):
    # escaping costs as much as all the rest of a column's text.
    special = [pl.col(n).str.contains(_SPECIAL_TEXT).any().alias(n) for n in side.strings]
    special += [(~pl.col(n).str.contains(_PLAIN_DECIMAL)).any().alias(n) for n in side.decimals]
    flags = frame.select(special).row(0, named=True)
    reprs = [(_str_repr(pl.col(n)) if flags[n] else _quoted(pl.col(n))).alias(_repr_col(n)) for n in side.strings] + [
        _decimal_repr(pl.col(n)).alias(_repr_col(n)) for n in side.decimals
    ]
    frame = frame.with_columns(reprs)
    patched = []
    for n in side.reprs:
        if not flags[n]:
            continue
        redo: Callable[[str], str]
        if n in side.decimals:
            odd, redo = ~pl.col(n).str.contains(_PLAIN_DECIMAL), _python_decimal_repr
        else:
            odd, redo = pl.col(n).str.contains(_ODD_TEXT), repr
        idx = frame.select(odd.fill_null(False).arg_true()).to_series()
        if idx.len():
            values = [redo(v) for v in frame[n].gather(idx).to_list()]
            patched.append(frame[_repr_col(n)].scatter(idx, pl.Series(values, dtype=pl.String)))
    return frame.with_columns(patched) if patched else frame


def _check_schema(schema: pl.Schema, side: _Side) -> None:
    """Refuse a frame whose columns are not typed as :func:`~sendpro.model.typing.type_frame` types them."""
    for name, kind in side.kinds.items():
        dtype = schema.get(name)
        ok = {
            _Kind.TEXT: dtype == pl.String,
            _Kind.DECIMAL: dtype == pl.String,
            _Kind.DATE: dtype == pl.Date,
            _Kind.BOOL: dtype == pl.Boolean,
            _Kind.INT: dtype is not None and dtype.is_integer(),
        }[kind]
        if not ok:
            raise TypeError(f"column {name} must hold {kind} values for the content hash, not {dtype}")


def content_hashes(typed: pl.DataFrame) -> list[tuple[int, str]]:
    """(claim_seq, content hash) for every claim of a typed medical batch frame, in claim order.

    Equal to ``content_hash(encounter)`` of the Encounter ``iter_encounters`` builds.

    Args:
        typed: a batch frame as :func:`~sendpro.model.typing.type_frame` returns
            it (with the reader's ``_claim_seq``, ``_first`` and ``_nolines``);
            the rows of a claim are contiguous, as the reader makes them.

    Returns:
        ``(claim_seq, hash)`` per claim, in the order of the claims' first rows,
        as :func:`~sendpro.model.build.iter_encounters` yields them.

    Raises:
        TypeError: a column the hash reads is not typed as ``type_frame`` types it.
    """
    plan = _PLAN
    for side in (plan.head, plan.line):
        _check_schema(typed.schema, side)
    seq = "_claim_seq"
    lines = typed.select(seq, "_nolines", *plan.line.columns).filter(~pl.col("_nolines").fill_null(False))
    lines = _with_reprs(lines, plan.line)
    # Grouping by claim number is iter_encounters' walk over contiguous rows, done in polars.
    per_claim = (
        lines.select(seq, plan.line.text.alias(_TEXT))
        .group_by(seq, maintain_order=True)
        .agg(pl.col(_TEXT).str.join(", ").alias(_LINES_TEXT), pl.len().alias(_LINES_N))
    )
    heads = typed.select(seq, "_first", *plan.head.columns).filter(pl.col("_first"))
    heads = _with_reprs(heads, plan.head).join(per_claim, on=seq, how="left", maintain_order="left")
    out = heads.select(seq, plan.head.text.alias(_TEXT))
    if out[_TEXT].null_count():  # pragma: no cover - every piece is filled; a null would hash wrongly
        raise AssertionError("a claim's content text came out null")
    sha = hashlib.sha256
    return [
        (s, sha(t.encode("utf-8")).hexdigest()[:32])
        for s, t in zip(out[seq].to_list(), out[_TEXT].to_list(), strict=True)
    ]
