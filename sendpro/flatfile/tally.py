"""Control totals of a flat file, read back from disk (used to reconcile rejects files)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sendpro.flatfile.layout import Layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.model.catalog import CATALOGS
from sendpro.model.typing import control_columns
from sendpro.report.report import Totals

#: Bucket of claims whose claim type is missing or not P, I or D.
UNKNOWN_TYPE = "?"


#: Every claim type of every model (P, I, D, RX).
KNOWN_TYPES = frozenset(ct for c in CATALOGS.values() for ct in c.claim_types)


def claim_type_bucket(claim_type: str | None) -> str:
    """Return the reconciliation bucket of a claim type."""
    return claim_type if claim_type in KNOWN_TYPES else UNKNOWN_TYPE


def tally_file(
    path: Path, layout: Layout, *, encoding: str | None = None, temp_dir: Path | None = None
) -> dict[str, Totals]:
    """Count rows, claims, lines and money of a flat file, by claim type."""
    out: dict[str, Totals] = {}
    with FlatFileReader(path, layout, encoding=encoding, temp_dir=temp_dir) as reader:
        for batch in reader.iter_batches():
            f = batch.frame
            f = f.with_columns(control_columns(layout.catalog.totals, f.columns))
            claim_type = pl.col("claim_type") if "claim_type" in f.columns else pl.lit(None, pl.String)
            valid_type = claim_type.is_in(list(layout.catalog.claim_types)).fill_null(False)
            bucket = pl.when(valid_type).then(claim_type).otherwise(pl.lit(UNKNOWN_TYPE))
            # A pharmacy row is a claim (also one repeating a claim id); medical rows are lines.
            rows_are_claims = layout.catalog.rows_are_claims
            first = pl.col("_first") | pl.lit(rows_are_claims)
            line = ~pl.col("_nolines") & pl.lit(not rows_are_claims)
            claim_type_of_claim = bucket.first().over("_claim_seq")
            agg = (
                f.with_columns(claim_type_of_claim.alias("_bucket"))
                .group_by("_bucket")
                .agg(
                    (pl.col("_raw").str.count_matches("\n") + 1).sum().alias("rows"),
                    first.sum().alias("claims"),
                    line.sum().alias("lines"),
                    pl.col("_ctl_charge").filter(first).sum().alias("charge"),
                    pl.col("_ctl_paid").filter(first).sum().alias("paid"),
                    pl.col("_ctl_line_charge").filter(line).sum().alias("line_charge"),
                    pl.col("_ctl_line_paid").filter(line).sum().alias("line_paid"),
                    (
                        (pl.col("_bad_charge").cast(pl.Int64) + pl.col("_bad_paid").cast(pl.Int64)).filter(first).sum()
                        + (pl.col("_bad_line_charge").cast(pl.Int64) + pl.col("_bad_line_paid").cast(pl.Int64))
                        .filter(line)
                        .sum()
                    ).alias("unreadable"),
                )
            )
            for row in agg.iter_rows(named=True):
                t = out.setdefault(str(row["_bucket"]), Totals())
                t.add(
                    Totals(
                        *(
                            int(row[k] or 0)
                            for k in (
                                "rows",
                                "claims",
                                "lines",
                                "charge",
                                "paid",
                                "line_charge",
                                "line_paid",
                                "unreadable",
                            )
                        )
                    )
                )
    return out
