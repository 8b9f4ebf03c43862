"""Preparing a checked batch for the sinks: its claim table and, for 837s, each claim's text.

Both are built with polars over the whole batch and are plain, picklable data:
a worker process prepares a batch, the parent only routes and writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from sendpro.flatfile.tally import claim_type_bucket
from sendpro.ledger.framehash import content_hashes
from sendpro.ledger.history import content_hash
from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.report.issue import Severity
from sendpro.report.report import Totals
from sendpro.validate.engine import CheckedBatch
from sendpro.x12.frame_writer import ClaimBlocks, claim_blocks
from sendpro.x12.writer import PacdrSettings

#: Claim types written as 837s (one interchange each).
X12_TYPES = ("P", "I", "D")


@dataclass(slots=True)
class ClaimTable:
    """Claim-level values of one batch, one entry per claim, aligned with the batch's ``seqs``."""

    buckets: list[str]
    claim_ids: list[str | None]
    claim_types: list[str | None]
    frequencies: list[str | None]
    originals: list[str | None]
    rows: list[int]
    claims: list[int]
    lines: list[int]
    charge: list[int]
    paid: list[int]
    line_charge: list[int]
    line_paid: list[int]
    npis: list[str | None]
    names: list[str | None]
    #: Content hash per claim, for the ledger's journal (empty in a run without a ledger).
    hashes: list[str] = field(default_factory=list)
    #: Amounts written that are no number at all, per claim (see :attr:`Totals.unreadable`).
    unreadable: list[int] = field(default_factory=list)
    #: Each claim's physical rows in its input ("11-13", or "4,9,10" when apart), for the
    #: ledger (empty in a run without one): `sendpro rejected` copies them back out.
    input_rows: list[str] = field(default_factory=list)

    def totals(self, k: int) -> Totals:
        """Return claim ``k``'s control totals."""
        return Totals(
            self.rows[k],
            self.claims[k],
            self.lines[k],
            self.charge[k],
            self.paid[k],
            self.line_charge[k],
            self.line_paid[k],
            self.unreadable[k],
        )


def input_rows(typed: pl.DataFrame) -> list[str]:
    """Return each claim's physical input rows as text, in ``_claim_seq`` order of first appearance.

    A range ``first-last`` when the rows follow one another (almost always), else
    every row, comma-separated (a claim split across the file). A fixed-width
    claim record's own row is its ``_claim_row`` (it travels with its first line).
    """
    per = typed.group_by("_claim_seq", maintain_order=True).agg(
        pl.concat_list("_row", "_claim_row")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
        .alias("rows")
    )
    rows = pl.col("rows")
    apart = rows.list.len() != rows.list.max() - rows.list.min() + 1
    text = (
        pl.when(rows.list.len() == 1)
        .then(rows.list.first().cast(pl.String))
        .when(apart)
        .then(rows.list.eval(pl.element().cast(pl.String)).list.join(","))
        .otherwise(pl.concat_str([rows.list.min().cast(pl.String), pl.lit("-"), rows.list.max().cast(pl.String)]))
    )
    return per.select(text.alias("t"))["t"].to_list()


def claim_table(batch: CheckedBatch, hashes: bool = True) -> ClaimTable:
    """Return the claim-level values of a checked batch (medical: from the frame; pharmacy: its encounters).

    ``hashes`` computes each claim's content hash (only a run with a ledger journals them).
    """
    typed = batch.typed
    physical = (pl.col("_raw").str.count_matches("\n") + 1).sum()
    if batch.model == "pharmacy":
        # Each pharmacy row is a claim, also when it repeats a claim id (RX020): its
        # money counts on every row, as read (see control_columns).
        per = typed.group_by("_claim_seq", maintain_order=True).agg(
            physical.alias("rows"),
            pl.col("_ctl_charge").fill_null(0).sum().alias("charge"),
            pl.col("_ctl_paid").fill_null(0).sum().alias("paid"),
            (pl.col("_bad_charge").cast(pl.Int64) + pl.col("_bad_paid").cast(pl.Int64)).sum().alias("unreadable"),
        )
        encs = [batch.encounters[s] for s in batch.seqs]
        table = ClaimTable(
            [],
            [],
            [],
            [],
            [],
            per["rows"].to_list(),
            [],
            [],
            per["charge"].to_list(),
            per["paid"].to_list(),
            [],
            [],
            [],
            [],
            unreadable=per["unreadable"].to_list(),
        )
        for enc in encs:
            assert isinstance(enc, PharmacyEncounter)
            table.buckets.append(claim_type_bucket(enc.claim_type))
            table.claim_ids.append(enc.claim_id)
            table.claim_types.append(enc.claim_type)
            table.frequencies.append(enc.frequency)
            table.originals.append(enc.original_claim_id)
            # Each pharmacy row is a claim, also when it repeats a claim id (RX020).
            table.claims.append(len(enc.rows))
            table.lines.append(0)
            table.line_charge.append(0)
            table.line_paid.append(0)
            table.npis.append(enc.pharmacy_npi)
            table.names.append(None)
            if hashes:
                table.hashes.append(content_hash(enc))
        if hashes:
            table.input_rows = input_rows(typed)
        return table
    # A row whose _nolines is unknown is a line, as the encounter builder counts it.
    line = (~pl.col("_nolines")).fill_null(True)

    def head(name: str) -> pl.Expr:
        # Claim-level values are the claim's ``_first`` row's, as the encounter reads them.
        return pl.col(name).filter(pl.col("_first")).first()

    per = typed.group_by("_claim_seq", maintain_order=True).agg(
        head("claim_type"),
        head("mce_claim_id"),
        head("claim_frequency"),
        head("original_claim_id"),
        head("_ctl_charge").fill_null(0),
        head("_ctl_paid").fill_null(0),
        (head("_bad_charge").cast(pl.Int64) + head("_bad_paid").cast(pl.Int64)).fill_null(0).alias("_bad_head"),
        head("billing_npi"),
        head("billing_org_name"),
        physical.alias("rows"),
        line.sum().alias("lines"),
        pl.col("_ctl_line_charge").filter(line).fill_null(0).sum().alias("line_charge"),
        pl.col("_ctl_line_paid").filter(line).fill_null(0).sum().alias("line_paid"),
        (pl.col("_bad_line_charge").cast(pl.Int64) + pl.col("_bad_line_paid").cast(pl.Int64))
        .filter(line)
        .sum()
        .alias("_bad_lines"),
    )
    types = per["claim_type"].to_list()
    return ClaimTable(
        [claim_type_bucket(t) for t in types],
        per["mce_claim_id"].to_list(),
        types,
        per["claim_frequency"].to_list(),
        per["original_claim_id"].to_list(),
        per["rows"].to_list(),
        [1] * per.height,
        per["lines"].to_list(),
        per["_ctl_charge"].to_list(),
        per["_ctl_paid"].to_list(),
        per["line_charge"].to_list(),
        per["line_paid"].to_list(),
        per["billing_npi"].to_list(),
        per["billing_org_name"].to_list(),
        [h for _, h in content_hashes(typed)] if hashes else [],
        (per["_bad_head"] + per["_bad_lines"]).to_list(),
        input_rows(typed) if hashes else [],
    )


@dataclass(slots=True)
class Prepared:
    """A checked batch with its claim table and the 837 text of its claims that may be written, by claim type."""

    batch: CheckedBatch
    table: ClaimTable
    blocks: dict[str, ClaimBlocks] = field(default_factory=dict)
    _index: dict[str, dict[int, int]] = field(default_factory=dict)
    _raws: dict[int, list[tuple[int, str]]] | None = None

    def block_index(self, bucket: str) -> dict[int, int]:
        """Return where each claim (by seq) is in the blocks of ``bucket`` (made once per batch)."""
        found = self._index.get(bucket)
        if found is None:
            found = self._index[bucket] = {seq: i for i, seq in enumerate(self.blocks[bucket].seqs)}
        return found

    def records(self, seq: int) -> list[tuple[int, str]]:
        """Return the physical records of claim ``seq`` as read, with their input rows (for its rejects file).

        The batch's records are grouped once, at the first rejected claim: a filter
        of the frame per rejected claim would cost a pass over the batch each.
        """
        if self._raws is None:
            self._raws = {}
            for s, row, first, raw in self.batch.typed.select("_claim_seq", "_row", "_claim_row", "_raw").iter_rows():
                records = self._raws.setdefault(s, [])
                if "\n" not in raw:
                    records.append((row, raw))
                    continue
                # A fixed-width claim record travels with its first line record ("CL\nLN",
                # the row being the LN's): the claim's first record is on its claim row,
                # any other just before the line record it came with.
                pieces = raw.split("\n")
                for i, piece in enumerate(pieces):
                    at = first if i == 0 and not records and first is not None else row - (len(pieces) - 1 - i)
                    records.append((at, piece))
        return self._raws[seq]

    def raw(self, seq: int) -> str:
        """Return the physical records of claim ``seq`` as read, one per line."""
        return "\n".join(raw for _, raw in self.records(seq))


def prepare(batch: CheckedBatch, settings: PacdrSettings, hashes: bool = True) -> Prepared:
    """Return the batch's claim table and the 837 blocks of its claims not already rejected.

    ``hashes``: compute the claims' content hashes (for a run with a ledger).
    """
    table = claim_table(batch, hashes)
    found = Prepared(batch, table)
    if batch.model == "pharmacy":
        return found
    rejected = {seq for seq, issues in batch.issues.items() if any(i.severity is Severity.ERROR for i in issues)}
    wanted: dict[str, list[int]] = {}
    for seq, bucket in zip(batch.seqs, table.buckets, strict=True):
        if bucket in X12_TYPES and seq not in rejected:
            wanted.setdefault(bucket, []).append(seq)
    for bucket, seqs in wanted.items():
        rows = batch.typed if len(seqs) == len(batch.seqs) else batch.typed.filter(pl.col("_claim_seq").is_in(seqs))
        found.blocks[bucket] = claim_blocks(rows, bucket, settings)
    return found
