"""A frame-native 837 PACDR writer: a whole typed batch formatted by polars, byte-identical to PacdrWriter.

:func:`claim_blocks` formats every claim of a typed batch frame with the templates
of :mod:`sendpro.x12.templates`: the text of its 2000A (after the HL), its 2000B
(after the HL) and its loop 2300 with everything below it, plus the segment
counts. It returns plain lists, so blocks can be built in another process.

:class:`FramePacdrWriter` strings blocks together with what only a sequential
writer can know: control numbers, HL numbers, where a new 2000A or a new ST
begins, SE counts and the write summary. It follows :class:`PacdrWriter` step for
step (same control-number calls in the same order, same splitting rule), so both
writers give the same bytes for the same claims.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TextIO

import polars as pl

from sendpro.model.fields import LINE_FIELDS
from sendpro.x12.claim_837d import VERSION_837D
from sendpro.x12.claim_837i import VERSION_837I
from sendpro.x12.claim_837p import VERSION_837P
from sendpro.x12.envelope import Clock, ControlNumbers, write_ge, write_gs, write_iea, write_isa
from sendpro.x12.segments import SegmentWriter
from sendpro.x12.templates import (
    billing_provider,
    guide,
    render,
    render_static,
    subscriber,
    transaction_header,
    transaction_trailer,
)
from sendpro.x12.writer import PacdrSettings, WriteSummary

#: GS08 / ST03 per claim type.
_VERSIONS = MappingProxyType({"P": VERSION_837P, "I": VERSION_837I, "D": VERSION_837D})

#: What PacdrWriter's ``_billing_key`` compares: NPI, name, tax id, taxonomy and the address.
_BILLING_KEY = (
    "billing_npi",
    "billing_org_name",
    "billing_tax_id",
    "billing_taxonomy",
    "billing_address",
    "billing_city",
    "billing_state",
    "billing_zip",
)


@dataclass(frozen=True, slots=True)
class ClaimBlocks:
    """Per claim, in claim order: the text of its 837 pieces (segment terminators included) and their segment counts."""

    seqs: list[int]  # _claim_seq
    billing_keys: list[str]  # two claims share a 2000A exactly when PacdrWriter's _billing_key would be equal
    billing: list[str]  # 2000A after its HL segment (PRV?, NM1*85, N3/N4?, REF*EI)
    billing_segments: list[int]
    subscriber: list[str]  # 2000B after its HL segment (SBR ... REF*G2?)
    subscriber_segments: list[int]
    claim: list[str]  # loop 2300 and everything below it
    claim_segments: list[int]
    lines: list[int]  # service lines of the claim

    def __len__(self) -> int:
        return len(self.seqs)


def _billing_key() -> pl.Expr:
    """Return one text per billing provider, equal exactly when PacdrWriter's key tuples are equal.

    Each value is written as its length, a colon and the value (null as ``-``), so
    no two different tuples can give the same text whatever the values hold.
    """
    parts = [
        pl.when(c.is_null())
        .then(pl.lit("-"))
        .otherwise(pl.concat_str(c.str.len_chars().cast(pl.String), pl.lit(":"), c))
        for c in (pl.col(name) for name in _BILLING_KEY)
    ]
    return pl.concat_str(parts)


def claim_blocks(typed: pl.DataFrame, claim_type: str, settings: PacdrSettings) -> ClaimBlocks:
    """Format every claim of a typed batch frame with the guide of ``claim_type``.

    Claims are those :func:`sendpro.model.build.iter_encounters` yields: one per
    ``_first`` row, claim-level values from that row, service lines from the
    claim's rows that are not ``_nolines`` records. Every claim is formatted, of
    whatever type it is; the caller chooses which to write (``keep``).

    Args:
        typed: a batch frame after :func:`sendpro.model.typing.type_frame`.
        claim_type: P, I or D: the guide to format with.
        settings: the profile's 837 settings (delimiters, payer and receiver ids).

    Returns:
        The blocks, as plain lists (picklable).

    Raises:
        ValueError: ``claim_type`` has no 837 guide.
    """
    g = guide(claim_type, settings)
    d = settings.envelope.delimiters
    billing = render(billing_provider(), d, "b")
    member = render(subscriber(settings), d, "s")
    claim = render(g.claim, d, "c")
    line = render(g.line, d, "l")

    frame = typed.lazy()
    heads = frame.filter(pl.col("_first"))
    # A line's claim-level values (place of service, rendering NPI, adjudication
    # date) are its claim's first row's, as in the builder: join them from there.
    used = line.source_columns()
    line_columns = sorted(used & set(LINE_FIELDS))
    claim_columns = sorted(used - set(LINE_FIELDS) - {"_claim_seq"})
    lines = frame.filter(~pl.col("_nolines").fill_null(False)).select("_claim_seq", *line_columns)
    lines = lines.join(heads.select("_claim_seq", *claim_columns), on="_claim_seq", how="left", maintain_order="left")
    per_claim = (
        line.apply(lines, "_line_text", "_line_segments")
        .group_by("_claim_seq", maintain_order=True)
        .agg(pl.col("_line_text").str.join(""), pl.col("_line_segments").sum(), pl.len().alias("_lines"))
    )
    read = {"_claim_seq", *_BILLING_KEY} | billing.source_columns() | member.source_columns() | claim.source_columns()
    claims = heads.select(sorted(read))
    claims = billing.apply(claims.with_columns(_billing_key().alias("billing_key")), "billing", "billing_segments")
    claims = member.apply(claims, "subscriber", "subscriber_segments")
    claims = claim.apply(claims, "_claim_text", "_claim_segments")
    out = (
        claims.join(per_claim, on="_claim_seq", how="left", maintain_order="left")
        .select(
            "_claim_seq",
            "billing_key",
            "billing",
            "billing_segments",
            "subscriber",
            "subscriber_segments",
            pl.concat_str(pl.col("_claim_text"), pl.col("_line_text").fill_null("")).alias("claim"),
            (pl.col("_claim_segments") + pl.col("_line_segments").fill_null(0)).alias("claim_segments"),
            pl.col("_lines").fill_null(0).cast(pl.Int64).alias("lines"),
        )
        # The in-memory engine runs this wide, expression-heavy plan faster than streaming.
        .collect(engine="in-memory")
    )
    return ClaimBlocks(
        seqs=out["_claim_seq"].to_list(),
        billing_keys=out["billing_key"].to_list(),
        billing=out["billing"].to_list(),
        billing_segments=out["billing_segments"].to_list(),
        subscriber=out["subscriber"].to_list(),
        subscriber_segments=out["subscriber_segments"].to_list(),
        claim=out["claim"].to_list(),
        claim_segments=out["claim_segments"].to_list(),
        lines=out["lines"].to_list(),
    )


class FramePacdrWriter:
    """Writes :class:`ClaimBlocks` of one claim type into one interchange, as PacdrWriter writes encounters."""

    def __init__(
        self,
        out: TextIO,
        claim_type: str,
        settings: PacdrSettings,
        control: ControlNumbers,
        clock: Clock,
        on_transaction: Callable[[int, int], None] | None = None,
    ) -> None:
        """Start the interchange on ``out``.

        ``on_transaction``, when given, is called with the byte offsets (start, end)
        of each transaction set once its SE is written and flushed (``out`` must be
        a file whose ``tell`` is a byte offset: an ASCII text file), so the sets can
        be validated while the rest is written.
        """
        if claim_type not in _VERSIONS:
            raise ValueError(f"no 837 guide for claim type {claim_type!r} (P, I or D)")
        self.settings = settings
        self.version = _VERSIONS[claim_type]
        self.now = clock()
        d = settings.envelope.delimiters
        self.w = SegmentWriter(out, d)
        self.summary = WriteSummary(claim_type, self.version)
        self._element = d.element
        self._end = d.segment + ("\n" if d.newline else "")
        self._control = control
        self._isa = control.next_interchange()
        self._gs = control.next_group()
        self.summary.interchange_control = self._isa
        self.summary.group_control = self._gs
        self._st_open = False
        self._st_control = ""
        self._st_claims = 0
        self._hl = 0
        self._billing_hl = 0
        self._billing_key: str | None = None
        self._closed = False
        self._on_transaction = on_transaction
        self._st_start = 0
        write_isa(self.w, settings.envelope, self._isa, self.now)
        write_gs(self.w, settings.envelope, self._gs, self.now, self.version)
        #: Byte offset just after the GS (with ``on_transaction``): the envelope head of every set.
        self.head_end = self._offset() if on_transaction is not None else 0

    # -- transaction set ----------------------------------------------------------------
    def _emit(self, text: str, segments: int) -> None:
        self.w.out.write(text)
        self.w.count += segments
        self.w.total += segments

    def _offset(self) -> int:
        self.w.out.flush()
        return self.w.out.tell()

    def _open_st(self) -> None:
        if self._on_transaction is not None:
            self._st_start = self._offset()
        self.summary.transactions += 1
        self._st_control = f"{self._control.next_transaction():04d}"
        self.w.reset_count()
        header = transaction_header(
            self.settings,
            self.version,
            self._st_control,
            f"{self._isa:09d}{self._st_control}",
            self.now.strftime("%Y%m%d"),
            self.now.strftime("%H%M"),
        )
        self._emit(*render_static(header, self.settings.envelope.delimiters))
        self._st_open = True
        self._st_claims = 0
        self._hl = 0
        self._billing_key = None

    def _close_st(self) -> None:
        trailer = transaction_trailer(self.w.count + 1, self._st_control)
        self._emit(*render_static(trailer, self.settings.envelope.delimiters))
        self._st_open = False
        if self._on_transaction is not None:
            self._on_transaction(self._st_start, self._offset())

    # -- public API -------------------------------------------------------------------------
    def write(
        self, blocks: ClaimBlocks, keep: Sequence[bool] | None = None, indices: Sequence[int] | None = None
    ) -> list[str]:
        """Write the kept claims in order; return the ST02 each kept claim went into.

        Args:
            blocks: the claims, from :func:`claim_blocks` (of this writer's claim type and settings).
            keep: one flag per claim of ``blocks``; None writes them all.
            indices: instead of ``keep``, the positions in ``blocks`` of the claims to write, ascending
                (a few claims of a large batch, without a flag per claim).

        Raises:
            RuntimeError: the writer is closed.
            ValueError: ``keep`` does not have one flag per claim.
        """
        if self._closed:
            raise RuntimeError("writer is closed")
        if keep is not None and len(keep) != len(blocks.seqs):
            raise ValueError(f"keep has {len(keep)} flags for {len(blocks.seqs)} claims")
        if indices is None:
            indices = range(len(blocks.seqs)) if keep is None else [i for i, k in enumerate(keep) if k]
        write = self.w.out.write
        e, end = self._element, self._end
        limit = self.settings.max_claims_per_transaction
        keys, billing, billing_segments = blocks.billing_keys, blocks.billing, blocks.billing_segments
        member, member_segments = blocks.subscriber, blocks.subscriber_segments
        claim, claim_segments, line_counts = blocks.claim, blocks.claim_segments, blocks.lines
        placed: list[str] = []
        # The loop keeps the hierarchy state in locals and hands it back to the
        # writer only around an ST change: it runs once per claim.
        hl, parent, current, st_claims, st_control = (
            self._hl,
            self._billing_hl,
            self._billing_key,
            self._st_claims,
            self._st_control,
        )
        segments = lines = 0
        try:
            for i in indices:
                if not self._st_open or st_claims >= limit:
                    self.w.count += segments
                    self.w.total += segments
                    segments = 0
                    if self._st_open:
                        self._close_st()
                    self._open_st()
                    hl, current, st_claims, st_control = 0, None, 0, self._st_control
                key = keys[i]
                if key != current:
                    hl += 1
                    parent = hl
                    current = key
                    # The HL numbers are the one thing the writer adds to a claim's text.
                    write(f"HL{e}{hl}{e}{e}20{e}1{end}{billing[i]}")
                    segments += 1 + billing_segments[i]
                hl += 1
                write(f"HL{e}{hl}{e}{parent}{e}22{e}0{end}{member[i]}{claim[i]}")
                segments += 1 + member_segments[i] + claim_segments[i]
                lines += line_counts[i]
                st_claims += 1
                placed.append(st_control)
        finally:
            self.w.count += segments
            self.w.total += segments
            self._hl, self._billing_hl, self._billing_key, self._st_claims = hl, parent, current, st_claims
            self.summary.lines += lines
            self.summary.claims += len(placed)
        return placed

    def trailer(self, transactions: int) -> str:
        """Return the GE and IEA this writer ends its interchange with, for ``transactions`` sets."""
        buf = io.StringIO()
        w = SegmentWriter(buf, self.settings.envelope.delimiters)
        write_ge(w, transactions, self._gs)
        write_iea(w, 1, self._isa)
        return buf.getvalue()

    def close(self) -> WriteSummary:
        """Close the open transaction set and the envelope; return the summary."""
        if self._closed:
            return self.summary
        if self._st_open:
            self._close_st()
        write_ge(self.w, self.summary.transactions, self._gs)
        write_iea(self.w, 1, self._isa)
        self._closed = True
        self.summary.segments = self.w.total
        return self.summary
