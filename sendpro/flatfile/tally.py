"""Control totals of a flat file, read back from disk (used to reconcile rejects files)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sendpro.flatfile.layout import Layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.model.catalog import CATALOGS
from sendpro.model.typing import cents_expr
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
            charge, paid, line_charge, line_paid = layout.catalog.totals
            names = {
                "claim_type": "claim_type",
                "total_charge": charge,
                "total_paid": paid,
                "line_charge": line_charge,
                "line_paid": line_paid,
            }
            cols = {
                k: (pl.col(c) if c is not None and c in f.columns else pl.lit(None, pl.String))
                for k, c in names.items()
            }
            valid_type = cols["claim_type"].is_in(list(layout.catalog.claim_types)).fill_null(False)
            bucket = pl.when(valid_type).then(cols["claim_type"]).otherwise(pl.lit(UNKNOWN_TYPE))
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
                    cents_expr(cols["total_charge"]).filter(first).sum().alias("charge"),
                    cents_expr(cols["total_paid"]).filter(first).sum().alias("paid"),
                    cents_expr(cols["line_charge"]).filter(line).sum().alias("line_charge"),
                    cents_expr(cols["line_paid"]).filter(line).sum().alias("line_paid"),
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
                            )
                        )
                    )
                )
    return out
