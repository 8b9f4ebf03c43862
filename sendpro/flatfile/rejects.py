"""Rejects files: rejected claims in the input's own layout, ready to fix and re-run.

A rejects file is itself a valid input: a delimited file starts with the
original header row; a fixed-width file gets the original header record and a
trailer record whose count and totals are recomputed for the claims it holds.
The claims' rows are copied byte for byte (as decoded), so an analyst edits the
very rows the MCE's extract produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TextIO

from sendpro.flatfile.layout import Format, Layout, Role
from sendpro.flatfile.picture import encode_number


class RejectsWriter:
    """Streams rejected claims into a file of the input's layout."""

    def __init__(self, out: TextIO, layout: Layout, header: str | None, trailer: str | None) -> None:
        self.out = out
        self.layout = layout
        self.trailer_template = trailer
        self.records = 0
        self.data_records = 0
        self.claim_records = 0
        self.claims = 0
        self.sums: dict[str, int] = {}
        if header is not None:
            out.write(header + "\n")
            self.records += 1

    def _claim_record_count(self, raw: str) -> int:
        lay = self.layout
        if lay.format is not Format.FIXED_WIDTH:
            return 0
        claim = lay.record(Role.CLAIM)
        assert claim is not None
        start = lay.record_type_start - 1
        return sum(1 for line in raw.split("\n") if line[start : start + lay.record_type_length] == claim.type)

    def write(self, raw: str, amounts: Mapping[str, int | None]) -> None:
        """Write one claim's raw records; ``amounts`` feed the trailer's sum checks (cents)."""
        self.out.write(raw + "\n")
        n = raw.count("\n") + 1
        self.records += n
        self.data_records += n
        self.claim_records += self._claim_record_count(raw)
        self.claims += 1
        for name, cents in amounts.items():
            self.sums[name] = self.sums.get(name, 0) + (cents or 0)

    def close(self) -> None:
        """Write the recomputed trailer record (fixed-width layouts that have one)."""
        lay = self.layout
        spec = lay.record(Role.TRAILER) if lay.format is Format.FIXED_WIDTH else None
        if spec is None or self.trailer_template is None:
            return
        self.records += 1
        chars = list(self.trailer_template)
        for f in spec.fields:
            if not f.check or f.picture is None or f.start is None or f.length is None:
                continue
            if f.check.startswith("count:"):
                value = {
                    "count:records": self.records,
                    "count:data": self.data_records,
                    "count:claims": self.claim_records,
                }[f.check]
                text = encode_number(value, f.picture)
            else:
                cents = self.sums.get(f.check[4:], 0)
                text = encode_number(Decimal(cents) / 100, f.picture)
            end = f.start - 1 + f.length
            if len(chars) < end:
                chars.extend(" " * (end - len(chars)))
            chars[f.start - 1 : end] = list(text)
        self.out.write("".join(chars) + "\n")


def trailer_amount_fields(layout: Layout) -> tuple[str, ...]:
    """Return the model fields a fixed-width trailer sums (``sum:<field>`` checks)."""
    spec = layout.record(Role.TRAILER) if layout.format is Format.FIXED_WIDTH else None
    if spec is None:
        return ()
    return tuple(f.check[4:] for f in spec.fields if f.check and f.check.startswith("sum:"))
