"""837 PACDR segment templates as polars expressions, for writing a whole batch frame at once.

A template declares one segment: its id, its elements as polars expressions over a
typed batch frame, and when it is sent. :func:`render` turns a sequence of
templates into two expressions: the text of those segments for every row at once
(terminators included) and how many segments each row got. The text is exactly
what :class:`~sendpro.x12.segments.SegmentWriter` would write: ``None`` and ``""``
are empty elements, trailing empty elements (and components) are dropped, and
every segment ends with the profile's terminator and optional newline.

The vocabulary:

* values: a ``str`` (a literal), ``None`` (empty), a ``pl.Expr`` (a text column or
  expression; null is empty), :func:`comp` (a composite), :class:`Run` (the
  present ones of several values, closed up like the builder's tuples),
  :class:`Chars` (a text's characters as components), :class:`If` (a value only
  where a condition holds) and the formatters :func:`amount`, :func:`date8`,
  :func:`decimal`;
* pieces: :func:`seg` (one segment), :func:`loop` (pieces sent together under one
  condition) and :class:`Cas` (the CAS segments of adjustment slots).

The guides are composed from shared pieces (2000A billing provider, 2000B
subscriber, 2310 providers, 2320/2330 payer loops, CAS, addresses, service
dates) plus each guide's own loop 2300 and 2400 parts; see :func:`guide`.
Claim-level templates run on one row per claim (its ``_first`` row); line-level
templates on one row per service line whose claim-level columns hold the claim's
values (``sendpro.x12.frame_writer`` arranges both frames).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import polars as pl

from sendpro.x12.claim_837d import VERSION_837D
from sendpro.x12.claim_837i import VERSION_837I
from sendpro.x12.claim_837p import VERSION_837P
from sendpro.x12.segments import Delimiters
from sendpro.x12.writer import PacdrSettings

# -- values ---------------------------------------------------------------------------------------


def col(name: str) -> pl.Expr:
    """Return a column of the frame the template is rendered on."""
    return pl.col(name)


def present(value: pl.Expr) -> pl.Expr:
    """Return True where ``value`` is what the object writer finds truthy: not null and not empty."""
    return value.fill_null("") != ""


def has(name: str) -> pl.Expr:
    """Return True where column ``name`` holds a non-empty value."""
    return present(pl.col(name))


def given(name: str) -> pl.Expr:
    """Return True where column ``name`` is not null (the object writer's ``is not None``)."""
    return pl.col(name).is_not_null()


def amount(cents: pl.Expr) -> pl.Expr:
    """Format integer cents as an X12 decimal like :func:`sendpro.x12.segments.amount` (null stays null).

    ``15000`` -> ``150``, ``-525`` -> ``-5.25``, ``1050`` -> ``10.5``; no minus sign on zero.
    """
    # The cents part is looked up rather than computed: a table of the hundred
    # suffixes ("", ".01" ... ".1" ... ".99") is three times faster than when/then.
    suffixes = pl.Series([""] + [f".{c // 10}" if c % 10 == 0 else f".{c:02d}" for c in range(1, 100)])
    magnitude = cents.abs()
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(sign, (magnitude // 100).cast(pl.String), pl.lit(suffixes).gather(magnitude % 100))


def date8(date: pl.Expr) -> pl.Expr:
    """Format a ``pl.Date`` as CCYYMMDD (null stays null)."""
    return date.dt.strftime("%Y%m%d")


def date_range(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Format two dates as an RD8 range ``CCYYMMDD-CCYYMMDD``."""
    return pl.concat_str(date8(start), pl.lit("-"), date8(end))


def decimal(text: pl.Expr) -> pl.Expr:
    """Normalize quantity text like :func:`sendpro.x12.segments.decimal` of its ``Decimal``.

    Leading zeros of the whole part and trailing zeros of the fraction go, and so
    does a fraction left empty: ``"001.500"`` -> ``"1.5"``, ``"10"`` -> ``"10"``,
    ``"0.000"`` -> ``"0"``. Typed quantities are unsigned ``digits[.digits]``
    (:func:`sendpro.model.typing.type_frame` nulls anything else), the only
    shape this handles.
    """
    whole = text.str.replace(r"^0+([0-9])", "${1}")
    # Stripping zeros stops at the point at the latest, so only the fraction loses any.
    fraction_cut = whole.str.strip_chars_end("0").str.strip_chars_end(".")
    return pl.when(whole.str.contains(".", literal=True)).then(fraction_cut).otherwise(whole)


@dataclass(frozen=True, slots=True)
class Composite:
    """A composite element: components joined by the component separator, trailing empty ones dropped."""

    parts: tuple[Value, ...]


def comp(*parts: Value) -> Composite:
    """Return a composite of ``parts`` (see :class:`Composite`)."""
    return Composite(parts)


@dataclass(frozen=True, slots=True, init=False)
class Run:
    """A variable number of values: the non-null ones of ``items``, in order, joined by the enclosing separator.

    Inside a composite the separator is the component separator (modifiers,
    diagnosis pointers), at segment level the element separator (HI codes).
    Gaps close up as in the builder's tuples: ``modifier_2`` alone follows the
    procedure code directly. A run is always the last part of its segment or
    composite (the builder's tuples always are).
    """

    items: tuple[Value, ...]

    def __init__(self, *items: Value) -> None:
        object.__setattr__(self, "items", items)


@dataclass(frozen=True, slots=True)
class Chars:
    """The characters of a text value as separate components (``TOO03`` tooth surfaces)."""

    text: pl.Expr


@dataclass(frozen=True, slots=True)
class If:
    """A value that is there only where ``when`` holds (null, so empty or skipped, elsewhere)."""

    when: pl.Expr
    value: Value


#: Anything that renders to one element or component.
Value: TypeAlias = "str | pl.Expr | Composite | Run | Chars | If | None"


# -- pieces ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seg:
    """One segment: its id, its elements and the condition under which it is sent (None: always)."""

    id: str
    elements: tuple[Value, ...]
    when: pl.Expr | None = None


def seg(seg_id: str, *elements: Value, when: pl.Expr | None = None) -> Seg:
    """Return a segment template (see :class:`Seg`)."""
    return Seg(seg_id, elements, when)


@dataclass(frozen=True, slots=True)
class Loop:
    """Pieces sent together, each only where ``when`` (and its own condition) holds."""

    pieces: tuple[Piece, ...]
    when: pl.Expr | None = None


def loop(*pieces: Piece, when: pl.Expr | None = None) -> Loop:
    """Return a group of pieces under one condition (see :class:`Loop`)."""
    return Loop(pieces, when)


@dataclass(frozen=True, slots=True)
class Cas:
    """CAS segments from numbered adjustment slots, as :meth:`ClaimWriter.cas` writes them.

    A slot counts when its group and reason are non-empty and its amount is not
    null. Each group code gets one CAS in the order the codes first appear,
    holding its slots' reason/amount pairs in slot order, six pairs per segment.
    """

    slots: tuple[tuple[pl.Expr, pl.Expr, pl.Expr], ...]

    @classmethod
    def of(cls, prefix: str, count: int) -> Cas:
        """Return the CAS of slots ``{prefix}_group_n``, ``_reason_n``, ``_amount_n`` for n in 1..count."""
        return cls(
            tuple(
                (pl.col(f"{prefix}_group_{n}"), pl.col(f"{prefix}_reason_{n}"), pl.col(f"{prefix}_amount_{n}"))
                for n in range(1, count + 1)
            )
        )


#: Anything :func:`render` accepts.
Piece: TypeAlias = "Seg | Loop | Cas"


@dataclass(frozen=True, slots=True)
class Slots:
    """Numbered columns (``dx_1`` ... ``dx_12``) read as the builder reads them: the present ones, gaps closed up.

    ``truthy`` counts a slot as present when it is non-empty (the builder's
    ``if p.code``) rather than merely not null (``is not None``).
    """

    names: tuple[str, ...]
    truthy: bool = False

    @classmethod
    def of(cls, prefix: str, count: int, *, truthy: bool = False) -> Slots:
        """Return the slots ``{prefix}_1`` ... ``{prefix}_{count}``."""
        return cls(tuple(f"{prefix}_{n}" for n in range(1, count + 1)), truthy)

    def __len__(self) -> int:
        return len(self.names)

    def col(self, i: int) -> pl.Expr:
        """Return slot ``i`` (0-based)."""
        return pl.col(self.names[i])

    def present(self, i: int) -> pl.Expr:
        """Return True where slot ``i`` holds a value."""
        return present(self.col(i)) if self.truthy else self.col(i).is_not_null()

    def earlier(self, i: int) -> pl.Expr:
        """Return True where a slot before ``i`` holds a value."""
        return pl.any_horizontal([self.present(j) for j in range(i)]) if i else pl.lit(False)

    def first(self, i: int) -> pl.Expr:
        """Return True where slot ``i`` holds the first value."""
        return self.present(i) & ~self.earlier(i)

    def later(self, i: int) -> pl.Expr:
        """Return True where slot ``i`` holds a value that is not the first."""
        return self.present(i) & self.earlier(i)

    def any(self) -> pl.Expr:
        """Return True where any slot holds a value."""
        return pl.any_horizontal([self.present(i) for i in range(len(self))])

    def several(self) -> pl.Expr:
        """Return True where at least two slots hold values."""
        return pl.any_horizontal([self.later(i) for i in range(len(self))])

    def at_first(self, values: Sequence[pl.Expr]) -> pl.Expr:
        """Return ``values[i]`` for the first slot ``i`` holding a value (null where none does)."""
        # Not a coalesce: the first slot's value may itself be null (a diagnosis without POA).
        picked = pl.lit(None, dtype=pl.String)
        for i in reversed(range(len(self))):
            picked = pl.when(self.present(i)).then(values[i]).otherwise(picked)
        return picked


# -- rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    """A sequence of pieces rendered for one frame.

    ``stages`` are helper columns to add first, stage after stage (a later
    stage may use an earlier one's columns): every element value and condition
    that is more than a column reference is computed there once, because the
    trailing-empty rule and the segment counts look at a value several times.
    ``text`` (never null) and ``segments`` then mostly combine columns.
    """

    stages: tuple[tuple[pl.Expr, ...], ...]
    text: pl.Expr
    segments: pl.Expr

    def apply(self, frame: pl.LazyFrame, text: str, segments: str) -> pl.LazyFrame:
        """Return ``frame`` with the helper columns, and the text and segment count as ``text`` and ``segments``."""
        for stage in self.stages:
            frame = frame.with_columns(*stage)
        return frame.with_columns(self.text.alias(text), self.segments.alias(segments))

    def helper_columns(self) -> list[str]:
        """Return the names of the helper columns (to drop them after use)."""
        return [e.meta.output_name() for stage in self.stages for e in stage]

    def source_columns(self) -> set[str]:
        """Return the columns of the frame the rendering reads."""
        roots = {n for stage in self.stages for e in stage for n in e.meta.root_names()}
        roots |= set(self.text.meta.root_names()) | set(self.segments.meta.root_names())
        return roots - set(self.helper_columns())


#: A rendered part: a literal when it is the same on every row, else an expression.
_Part: TypeAlias = "str | pl.Expr"


def _lit(part: _Part) -> pl.Expr:
    return pl.lit(part, dtype=pl.String) if isinstance(part, str) else part


def _concat(parts: Sequence[_Part]) -> _Part:
    """Concatenate parts, null parts left out; literals stay literals."""
    merged: list[_Part] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        elif not (isinstance(p, str) and p == ""):
            merged.append(p)
    if not merged:
        return ""
    if len(merged) == 1 and isinstance(merged[0], str):
        return merged[0]
    return pl.concat_str([_lit(p) for p in merged], ignore_nulls=True)


def _solid(v: Value) -> bool:
    """Return True when ``v`` is never an empty string (it may still be null)."""
    if isinstance(v, str):
        return v != ""
    if isinstance(v, Composite):
        return any(isinstance(p, str) and p for p in v.parts)
    if isinstance(v, If):
        return _solid(v.value)
    return False


def _and(a: pl.Expr | None, b: pl.Expr | None) -> pl.Expr | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


class _Renderer:
    """Compiles templates for one set of delimiters into helper columns and expressions over them."""

    def __init__(self, delimiters: Delimiters, prefix: str) -> None:
        self.element = delimiters.element
        self.component = delimiters.component
        self.end = delimiters.segment + ("\n" if delimiters.newline else "")
        self.prefix = prefix
        self.stages: list[list[pl.Expr]] = []
        self._bound: list[tuple[pl.Expr, pl.Expr]] = []
        self._stage_of: dict[str, int] = {}

    def bind(self, expr: pl.Expr) -> pl.Expr:
        """Return a reference to ``expr`` computed once as a helper column (column references stay as they are)."""
        if expr.meta.is_column():
            return expr
        for seen, ref in self._bound:
            if seen.meta.eq(expr):
                return ref
        name = f"_{self.prefix}{len(self._bound)}"
        stage = 1 + max((self._stage_of[n] for n in expr.meta.root_names() if n in self._stage_of), default=-1)
        if stage == len(self.stages):
            self.stages.append([])
        self.stages[stage].append(expr.alias(name))
        self._stage_of[name] = stage
        ref = pl.col(name)
        self._bound.append((expr, ref))
        return ref

    def part(self, v: Value, sep: str) -> _Part:
        """Render one element or component as a literal or a (bound) expression."""
        p = self.value(v, sep)
        return p if isinstance(p, str) else self.bind(p)

    def value(self, v: Value, sep: str) -> _Part:
        """Render a value inside a container whose separator is ``sep``."""
        if v is None:
            return ""
        if isinstance(v, str | pl.Expr):
            return v
        if isinstance(v, Composite):
            parts = self.parts(v.parts, self.component)
            return self.join([p if isinstance(p, str) else self.bind(p) for p in parts], self.component)
        if isinstance(v, Run):
            return self.run(v, sep)
        if isinstance(v, Chars):
            return v.text.str.split("").list.join(sep)
        inner = self.value(v.value, sep)
        return pl.when(v.when).then(_lit(inner)).otherwise(pl.lit(None, dtype=pl.String))

    def run(self, r: Run, sep: str) -> _Part:
        """Render a run: its non-null items joined by ``sep``, trailing empty ones dropped.

        A run ends its container, so its trailing empty items are the container's
        trailing empty parts, which SegmentWriter drops. Items that cannot be
        empty (composites opening with a literal) need no such check.
        """
        items = [self.bind(_lit(self.value(item, sep))) for item in r.items]
        if not items:
            return ""
        if all(_solid(item) for item in r.items):
            return pl.concat_str(items, separator=sep, ignore_nulls=True)
        pieces: list[_Part] = []
        for i, item in enumerate(items):
            kept = item.is_not_null() & pl.any_horizontal([present(x) for x in items[i:]])
            text = item
            if i:
                earlier = pl.any_horizontal([x.is_not_null() for x in items[:i]])
                text = pl.when(earlier).then(pl.concat_str(pl.lit(sep), item)).otherwise(item)
            pieces.append(pl.when(kept).then(text))
        return _concat(pieces)

    def parts(self, values: Sequence[Value], sep: str) -> list[_Part]:
        """Render the parts of a segment or composite; a run may only come last."""
        if any(isinstance(v, Run) for v in values[:-1]):
            raise ValueError("a Run must be the last element or component of its segment or composite")
        return [self.value(v, sep) for v in values]

    def join(self, parts: Sequence[_Part], sep: str) -> _Part:
        """Join parts with ``sep`` and drop trailing empty ones, as SegmentWriter does.

        Everything up to the last non-empty literal is always written. After it,
        each stretch ending in an expression is written only where that
        expression or a later one is non-empty: no trailing separators, and no
        text-level stripping that could eat a value's own characters.
        """
        last_literal = max((i for i, p in enumerate(parts) if isinstance(p, str) and p), default=-1)
        out: list[_Part] = []
        for i, p in enumerate(parts[: last_literal + 1]):
            if i:
                out.append(sep)
            out.append(p if isinstance(p, str) else p.fill_null(""))
        dynamic = [i for i in range(last_literal + 1, len(parts)) if not isinstance(parts[i], str)]
        stretches: list[tuple[list[_Part], pl.Expr]] = []
        start = last_literal + 1
        for j in dynamic:
            text: list[_Part] = []
            for i in range(start, j + 1):
                if i:
                    text.append(sep)
                p = parts[i]
                text.append(p if isinstance(p, str) else p.fill_null(""))
            stretches.append((text, present(_lit(parts[j]))))
            start = j + 1
        later: pl.Expr | None = None
        tail: list[_Part] = []
        for text, here in reversed(stretches):
            later = here if later is None else here | later
            tail.append(pl.when(later).then(_lit(_concat(text))).otherwise(pl.lit(None, dtype=pl.String)))
        out.extend(reversed(tail))
        return _concat(out)

    def segment(self, s: Seg) -> _Part:
        """Render a segment's text, terminator included; its element values become helper columns."""
        elements = self.parts(s.elements, self.element)
        parts = [s.id, *(p if isinstance(p, str) else self.bind(p) for p in elements)]
        return _concat([self.join(parts, self.element), self.end])

    def condition(self, when: pl.Expr) -> pl.Expr:
        """Return a segment condition as a bound boolean column (null counts as false)."""
        return self.bind(when.fill_null(False))

    def pieces(self, pieces: Sequence[Piece], when: pl.Expr | None) -> list[tuple[_Part, int | pl.Expr]]:
        """Render pieces under ``when``: (text or null, segment count) per part."""
        out: list[tuple[_Part, int | pl.Expr]] = []
        for piece in pieces:
            if isinstance(piece, Seg):
                cond = _and(when, piece.when)
                text = self.segment(piece)
                if cond is None:
                    out.append((text, 1))
                else:
                    cond = self.condition(cond)
                    out.append((pl.when(cond).then(_lit(text)), cond.cast(pl.Int64)))
            elif isinstance(piece, Loop):
                out.extend(self.pieces(piece.pieces, _and(when, piece.when)))
            else:
                out.extend(self.cas(piece, when))
        return out

    def cas(self, cas: Cas, when: pl.Expr | None) -> list[tuple[_Part, int | pl.Expr]]:
        """Render CAS segments (see :class:`Cas`): one part per slot that opens a group."""
        e = self.element
        slots = cas.slots
        valid = [self.bind((present(g) & present(r) & a.is_not_null()).fill_null(False)) for g, r, a in slots]
        amounts = [self.bind(amount(a)) for _, _, a in slots]
        out: list[tuple[_Part, int | pl.Expr]] = []
        for i, (group, reason, _) in enumerate(slots):
            same = {j: valid[j] & (slots[j][0] == group).fill_null(False) for j in range(len(slots)) if j != i}
            opens = valid[i]
            if i:
                opens = opens & ~pl.any_horizontal([same[j] for j in range(i)])
            parts: list[_Part] = ["CAS", e, group, e, reason, e, amounts[i]]
            breaks: list[pl.Expr] = []
            for j in range(i + 1, len(slots)):
                r = slots[j][1]
                pair = pl.concat_str(pl.lit(e + e), r, pl.lit(e), amounts[j])
                if len(slots) > 6:
                    # Past six pairs the group goes on in a new CAS (only with more than six slots).
                    position = pl.sum_horizontal([pl.lit(1), *(same[k].cast(pl.Int64) for k in range(i + 1, j))])
                    new = same[j] & (position % 6 == 0)
                    breaks.append(new.cast(pl.Int64))
                    fresh = pl.concat_str(pl.lit(self.end + "CAS" + e), group, pl.lit(e), r, pl.lit(e), amounts[j])
                    pair = pl.when(new).then(fresh).otherwise(pair)
                parts.append(pl.when(same[j]).then(pair))
            parts.append(self.end)
            cond = self.condition(opens if when is None else opens & when)
            count = cond.cast(pl.Int64)
            if breaks:
                count = count * (1 + pl.sum_horizontal(breaks))
            out.append((pl.when(cond).then(_lit(_concat(parts))), count))
        return out


def render(pieces: Sequence[Piece], delimiters: Delimiters, prefix: str = "t") -> Rendered:
    """Render pieces into helper columns, per-row text and segment count expressions.

    Args:
        pieces: the templates, in output order.
        delimiters: the profile's separators.
        prefix: helper columns are named ``_{prefix}0``, ``_{prefix}1``...: give
            renders applied to the same frame different prefixes.
    """
    r = _Renderer(delimiters, prefix)
    parts = r.pieces(pieces, None)
    text = _concat([p for p, _ in parts])
    fixed = sum(n for _, n in parts if isinstance(n, int))
    counted = [n for _, n in parts if isinstance(n, pl.Expr)]
    segments = pl.sum_horizontal([pl.lit(fixed, dtype=pl.Int64), *counted]) if counted else pl.lit(fixed)
    return Rendered(tuple(tuple(stage) for stage in r.stages), _lit(text).fill_null(""), segments.cast(pl.Int64))


def render_static(pieces: Sequence[Piece], delimiters: Delimiters) -> tuple[str, int]:
    """Render pieces that hold only literals (envelope segments); return the text and the segment count.

    Raises:
        ValueError: a piece depends on a frame column or a condition.
    """
    r = _Renderer(delimiters, "static")
    parts = r.pieces(pieces, None)
    texts = [p for p, n in parts if isinstance(p, str) and isinstance(n, int)]
    if len(texts) != len(parts) or r.stages:
        raise ValueError("render_static needs pieces made of literals only")
    return "".join(texts), len(texts)


# -- envelope header ------------------------------------------------------------------------------


def transaction_header(
    s: PacdrSettings, version: str, st02: str, bht03: str, date: str, time: str
) -> tuple[Piece, ...]:
    """ST, BHT, 1000A submitter and 1000B receiver: the start of every transaction set."""
    return (
        seg("ST", "837", st02, version),
        seg("BHT", "0019", "00", bht03, date, time, "RP"),
        seg("NM1", "41", "2", s.submitter_name, None, None, None, None, "46", s.submitter_id),
        seg("PER", "IC", s.contact_name, "TE", s.contact_phone),
        seg("NM1", "40", "2", s.receiver_name, None, None, None, None, "46", s.receiver_id),
    )


def transaction_trailer(segments: int, st02: str) -> tuple[Piece, ...]:
    """SE: the transaction set's segment count (ST and SE included) and control number."""
    return (seg("SE", str(segments), st02),)


# -- shared pieces --------------------------------------------------------------------------------


def address(prefix: str) -> Loop:
    """N3/N4 of ``{prefix}_address/_city/_state/_zip``, sent only when all four are there."""
    street, city, state, zip_code = (pl.col(f"{prefix}_{p}") for p in ("address", "city", "state", "zip"))
    return loop(
        seg("N3", street),
        seg("N4", city, state, zip_code),
        when=present(street) & present(city) & present(state) & present(zip_code),
    )


def billing_provider() -> tuple[Piece, ...]:
    """Loop 2000A after its HL: PRV, 2010AA NM1*85 (its XX is sent even without an NPI), N3/N4, REF*EI."""
    return (
        seg("PRV", "BI", "PXC", col("billing_taxonomy"), when=has("billing_taxonomy")),
        seg("NM1", "85", "2", col("billing_org_name"), None, None, None, None, "XX", col("billing_npi")),
        address("billing"),
        seg("REF", "EI", col("billing_tax_id")),
    )


def member_name() -> Seg:
    """NM1*IL, the member as subscriber (2010BA) and again in 2330A."""
    return seg(
        "NM1", "IL", "1", col("member_last_name"), col("member_first_name"), None, None, None, "MI", col("member_id")
    )


def subscriber(s: PacdrSettings) -> tuple[Piece, ...]:
    """Loop 2000B after its HL: SBR, 2010BA member, 2010BB payer (the data receiver), REF*G2."""
    return (
        seg("SBR", s.subscriber_responsibility, "18", None, None, None, None, None, None, s.subscriber_filing_code),
        member_name(),
        address("member"),
        seg("DMG", "D8", date8(col("member_dob")), col("member_gender"), when=given("member_dob")),
        seg(
            "NM1",
            s.data_receiver_entity,
            "2",
            s.data_receiver_name,
            None,
            None,
            None,
            None,
            s.data_receiver_id_qualifier or None,
            s.data_receiver_id or None,
        ),
        # MassHealth provider id + service location as the billing provider's secondary
        # id, where MassHealth's legacy 837P guide put it.
        seg("REF", "G2", col("billing_pidsl"), when=has("billing_pidsl")),
    )


def person(entity: str, role: str) -> Seg:
    """NM1 of a claim-level person (2310A referring/attending, 2310B rendering), when any of its values is there."""
    npi, last, first = col(f"{role}_npi"), col(f"{role}_last_name"), col(f"{role}_first_name")
    return seg(
        "NM1",
        entity,
        "1",
        last,
        first,
        None,
        None,
        None,
        If(present(npi), "XX"),
        npi,
        when=npi.is_not_null() | last.is_not_null() | first.is_not_null(),
    )


def service_facility() -> Loop:
    """2310C (837P/D) or 2310E (837I) service facility: NM1*77 and N3/N4, only with a name and an address."""
    street_ok = address("facility").when
    return loop(
        seg(
            "NM1",
            "77",
            "2",
            col("facility_name"),
            None,
            None,
            None,
            None,
            If(has("facility_npi"), "XX"),
            col("facility_npi"),
        ),
        address("facility"),
        when=_and(has("facility_name"), street_ok),
    )


def claim_references() -> tuple[Piece, ...]:
    """CN1 contract type and REF*F8 (the claim a replacement or void adjusts)."""
    return (
        seg("CN1", col("contract_type"), when=has("contract_type")),
        seg(
            "REF",
            "F8",
            col("original_claim_id"),
            when=col("claim_frequency").is_in(["7", "8"]) & has("original_claim_id"),
        ),
    )


def adjudication_date() -> Seg:
    """DTP*573, the MCE's adjudication date (2320 and every 2430)."""
    return seg("DTP", "573", "D8", date8(col("adjudication_date")), when=given("adjudication_date"))


def payer_loops(s: PacdrSettings) -> tuple[Piece, ...]:
    """2320 (the MCE's adjudication: SBR, CAS, AMT) with 2330A subscriber and 2330B payer."""
    return (
        seg("SBR", s.payer_responsibility, "18", None, None, None, "6", None, None, s.payer_filing_code),
        Cas.of("claim_adj", 2),
        seg("AMT", "D", amount(col("total_paid").fill_null(0))),
        seg("AMT", "EAF", amount(col("patient_responsibility")), when=given("patient_responsibility")),
        member_name(),
        seg("NM1", "PR", "2", s.payer_name, None, None, None, None, s.payer_id_qualifier, s.payer_id),
        adjudication_date(),
    )


def claim_charge() -> pl.Expr:
    """CLM02, the billed amount (zero when missing)."""
    return amount(col("total_charge").fill_null(0))


#: The diagnosis slots and their present-on-admission indicators.
DIAGNOSES = Slots.of("dx", 12)
POA = tuple(pl.col(f"poa_{n}") for n in range(1, 13))
#: ICD-10-PCS procedure slots (837I): a procedure counts when its code is there.
PROCEDURES = Slots.of("icd_pcs", 6, truthy=True)
PROCEDURE_DATES = tuple(pl.col(f"icd_pcs_date_{n}") for n in range(1, 7))


def diagnosis_codes() -> Seg:
    """HI of the professional and dental guides: ABK for the first diagnosis, ABF for the others."""
    dx = DIAGNOSES
    codes = (
        code
        for i in range(len(dx))
        for code in (If(dx.first(i), comp("ABK", dx.col(i))), If(dx.later(i), comp("ABF", dx.col(i))))
    )
    return seg("HI", Run(*codes), when=dx.any())


# HI composites of the institutional guide carry the POA indicator in their ninth component.
_POA_GAP = (None,) * 6


def institutional_codes() -> Loop:
    """HI segments of the 837I in guide order: principal, admitting, DRG, other diagnoses, procedures.

    None is sent without a principal diagnosis, as in the object writer.
    """
    dx, pcs = DIAGNOSES, PROCEDURES

    def procedure(qualifier: str, i: int) -> Composite:
        date = PROCEDURE_DATES[i]
        return comp(qualifier, pcs.col(i), If(date.is_not_null(), "D8"), date8(date))

    first_date = pcs.at_first([date8(d) for d in PROCEDURE_DATES])
    return loop(
        seg("HI", comp("ABK", dx.at_first([dx.col(i) for i in range(len(dx))]), *_POA_GAP, dx.at_first(POA))),
        seg("HI", comp("ABJ", col("admitting_dx")), when=has("admitting_dx")),
        seg("HI", comp("DR", col("drg_code")), when=has("drg_code")),
        seg(
            "HI",
            Run(*(If(dx.later(i), comp("ABF", dx.col(i), *_POA_GAP, POA[i])) for i in range(len(dx)))),
            when=dx.several(),
        ),
        seg(
            "HI",
            comp(
                "BBR",
                pcs.at_first([pcs.col(i) for i in range(len(pcs))]),
                If(first_date.is_not_null(), "D8"),
                first_date,
            ),
            when=pcs.any(),
        ),
        seg("HI", Run(*(If(pcs.later(i), procedure("BBQ", i)) for i in range(len(pcs)))), when=pcs.several()),
        when=dx.any(),
    )


# -- loop 2300 per guide --------------------------------------------------------------------------


def professional_claim(s: PacdrSettings) -> tuple[Piece, ...]:
    """Loop 2300 of the 837P (and 837D): CLM, CN1, REF*F8, HI, 2310A/B/C, 2320/2330."""
    return (
        seg(
            "CLM",
            col("mce_claim_id"),
            claim_charge(),
            None,
            None,
            comp(col("place_of_service"), "B", col("claim_frequency")),
        ),
        *claim_references(),
        diagnosis_codes(),
        person("DN", "referring"),
        person("82", "rendering"),
        service_facility(),
        *payer_loops(s),
    )


def institutional_claim(s: PacdrSettings) -> tuple[Piece, ...]:
    """Loop 2300 of the 837I: CLM, DTP 096/434/435, CL1, CN1, REF*F8, HI, 2310A/E, 2310F, 2320/2330."""
    bill_type = col("type_of_bill")
    admitted, hour = col("admission_date"), col("admission_hour")
    statement_from = col("statement_from")
    return (
        seg(
            "CLM",
            col("mce_claim_id"),
            claim_charge(),
            None,
            None,
            comp(If(present(bill_type), bill_type.str.slice(0, 2)), "A", col("claim_frequency")),
        ),
        seg("DTP", "096", "TM", col("discharge_hour"), when=has("discharge_hour")),
        seg(
            "DTP",
            "434",
            "RD8",
            date_range(statement_from, pl.coalesce(col("statement_to"), statement_from)),
            when=statement_from.is_not_null(),
        ),
        seg(
            "DTP",
            "435",
            "DT",
            pl.concat_str(date8(admitted), hour),
            when=admitted.is_not_null() & present(hour),
        ),
        seg("DTP", "435", "D8", date8(admitted), when=admitted.is_not_null() & ~present(hour)),
        seg("CL1", col("admission_type"), col("admission_source"), col("patient_status")),
        *claim_references(),
        institutional_codes(),
        person("71", "attending"),
        service_facility(),
        person("DN", "referring"),
        *payer_loops(s),
    )


#: The dental guide's loop 2300 has the professional one's shape (CLM05-2 B, HI ABK/ABF, 2310A/B/C).
dental_claim = professional_claim


# -- loop 2400 and below --------------------------------------------------------------------------


def line_number() -> pl.Expr:
    """LX01: the line's position among its claim's service lines.

    A claim's lines are contiguous rows, so the position is the row's distance
    from the claim's first row (cheaper than a window over ``_claim_seq``).
    """
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    seq = pl.col("_claim_seq")
    first = pl.when((seq != seq.shift(1)).fill_null(True)).then(row).forward_fill()
    return (row - first + 1).cast(pl.String)


def procedure(qualifier: str) -> Composite:
    """The procedure composite (SV101, SV202, SV301 and SVD03): qualifier, code, the present modifiers."""
    modifiers = (col(f"modifier_{n}") for n in range(1, 5))
    return comp(qualifier, col("procedure_code"), Run(*modifiers))


def dx_pointers() -> Composite:
    """The diagnosis pointers composite (SV107, SV311): the present pointers."""
    return comp(Run(*(col(f"dx_pointer_{n}").cast(pl.String) for n in range(1, 5))))


def units() -> pl.Expr:
    """Service units (SV104, SV205, SV306, SVD05)."""
    return decimal(col("units"))


def service_dates() -> tuple[Piece, ...]:
    """DTP*472 as D8, or RD8 when the line spans several days."""
    start, end = col("line_from_date"), col("line_to_date")
    spans = end.is_not_null() & (end != start)
    return (
        seg("DTP", "472", "RD8", date_range(start, end), when=start.is_not_null() & spans),
        seg("DTP", "472", "D8", date8(start), when=start.is_not_null() & ~spans),
    )


def drug_identification() -> tuple[Piece, ...]:
    """2410 LIN (NDC) and CTP (its quantity and unit, when both are there)."""
    return (
        seg("LIN", None, "N4", col("ndc_code"), when=has("ndc_code")),
        seg(
            "CTP",
            None,
            None,
            None,
            decimal(col("ndc_quantity")),
            col("ndc_unit"),
            when=has("ndc_code") & given("ndc_quantity") & has("ndc_unit"),
        ),
    )


def line_rendering() -> Seg:
    """2420A NM1*82: the line's rendering NPI when it differs from the claim's (mce-v1 has no line name)."""
    npi = col("line_rendering_npi")
    return seg(
        "NM1",
        "82",
        "1",
        None,
        None,
        None,
        None,
        None,
        "XX",
        npi,
        when=present(npi) & npi.ne_missing(col("rendering_npi")),
    )


def line_adjudication(s: PacdrSettings, procedure: Value, revenue: Value, paid_units: Value) -> tuple[Piece, ...]:
    """Loop 2430: SVD (paid amount), the line's CAS and its DTP*573."""
    return (
        seg("SVD", s.payer_id, amount(col("line_paid").fill_null(0)), procedure, revenue, paid_units),
        Cas.of("line_adj", 3),
        adjudication_date(),
    )


def line_charge() -> pl.Expr:
    """The line's billed amount (zero when missing)."""
    return amount(col("line_charge").fill_null(0))


def professional_line(s: PacdrSettings) -> tuple[Piece, ...]:
    """Loop 2400 of the 837P: LX, SV1, DTP*472, LIN/CTP, 2420A, 2430."""
    proc = procedure("HC")
    place = col("line_place_of_service")
    return (
        seg("LX", line_number()),
        seg(
            "SV1",
            proc,
            line_charge(),
            col("unit_type"),
            units(),
            # SV105 only when the line's place of service differs from CLM05-1.
            If(present(place) & place.ne_missing(col("place_of_service")), place),
            None,
            dx_pointers(),
        ),
        *service_dates(),
        *drug_identification(),
        line_rendering(),
        *line_adjudication(s, proc, None, units()),
    )


def institutional_line(s: PacdrSettings) -> tuple[Piece, ...]:
    """Loop 2400 of the 837I: LX, SV2, DTP*472, LIN/CTP, 2430."""
    proc = If(has("procedure_code"), procedure("HC"))
    return (
        seg("LX", line_number()),
        seg("SV2", col("revenue_code"), proc, line_charge(), col("unit_type"), units()),
        *service_dates(),
        *drug_identification(),
        *line_adjudication(s, proc, col("revenue_code"), units()),
    )


def dental_line(s: PacdrSettings) -> tuple[Piece, ...]:
    """Loop 2400 of the 837D: LX, SV3, TOO, DTP*472, 2420A, 2430."""
    proc = procedure("AD")
    return (
        seg("LX", line_number()),
        seg("SV3", proc, line_charge(), None, col("oral_cavity_area"), None, units(), *(None,) * 4, dx_pointers()),
        seg("TOO", "JP", col("tooth_number"), comp(Chars(col("tooth_surfaces"))), when=has("tooth_number")),
        *service_dates(),
        line_rendering(),
        # SVD05 (paid units) is required; a dental line without a count is one procedure.
        *line_adjudication(s, proc, None, pl.coalesce(units(), pl.lit("1"))),
    )


# -- the guides -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guide:
    """One implementation guide's templates below the subscriber: loop 2300 (per claim) and 2400 (per line)."""

    claim_type: str
    version: str
    claim: tuple[Piece, ...]
    line: tuple[Piece, ...]


def guide(claim_type: str, s: PacdrSettings) -> Guide:
    """Return the templates of the guide for ``claim_type`` (P, I or D).

    Raises:
        ValueError: not a claim type with an 837 guide.
    """
    if claim_type == "P":
        return Guide("P", VERSION_837P, professional_claim(s), professional_line(s))
    if claim_type == "I":
        return Guide("I", VERSION_837I, institutional_claim(s), institutional_line(s))
    if claim_type == "D":
        return Guide("D", VERSION_837D, dental_claim(s), dental_line(s))
    raise ValueError(f"no 837 guide for claim type {claim_type!r} (P, I or D)")
