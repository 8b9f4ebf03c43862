"""Counting the measures over a run's accepted claims, batch by batch, in bounded state.

:class:`DqAccumulator` takes each routed batch and the claims of it that are
being sent; one polars query per batch scores every claim (and its service
lines) and sums each measure's numerator and denominator by claim type (the
output file), claim group, record type and paid status. Only those sums are
kept: the state grows with the number of measures and groups, never with the input.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import polars as pl

from sendpro.dq.checks import FACILITY_GROUPS, HAS_LINES, Lists, facility_type, not_computable, npi_flags, score
from sendpro.dq.measures import CLAIM_GROUPS, RECORD_TYPES, Measure, MeasureSet
from sendpro.validate.engine import CheckedBatch, Disposition

#: The claim types whose accepted claims go to an output file (the three 837s and NCPDP).
OUTPUT_TYPES = ("P", "I", "D", "RX")
#: How many measures below threshold the run summary lists before "and N more".
SUMMARY_SHOWN = 10
#: The sums' group key, one integer per claim: claim type, claim group, record type and
#: paid, packed (one integer key groups much faster than four text columns).
_KEY = "_dq_key"

_Key = tuple[str, str, str, bool]


def _code(values: Sequence[str]) -> dict[str, int]:
    return {v: i for i, v in enumerate(values)}


_TYPE_CODE = _code(OUTPUT_TYPES)
_GROUP_CODE = _code(CLAIM_GROUPS)
_FACILITY_CODE = {t: _GROUP_CODE[g] for t, g in FACILITY_GROUPS.items()}


def _key(claim_type: pl.Expr, group: pl.Expr, frequency: pl.Expr, status: pl.Expr) -> pl.Expr:
    """Return the packed group key of a claim (see :func:`_unpack`)."""
    # Anything but 7 (replacement) and 8 (void) is an original.
    record = frequency.replace_strict({"7": 1, "8": 2}, default=0, return_dtype=pl.Int64)
    paid = (status == "P").fill_null(False).cast(pl.Int64)
    return (((claim_type * len(CLAIM_GROUPS) + group) * len(RECORD_TYPES) + record) * 2 + paid).alias(_KEY)


#: The key of a pharmacy claim: every one is of claim type RX, group pharmacy.
_RX_KEY = _key(
    pl.lit(_TYPE_CODE["RX"], dtype=pl.Int64),
    pl.lit(_GROUP_CODE["pharmacy"], dtype=pl.Int64),
    pl.col("claim_frequency"),
    pl.col("claim_status"),
)
#: The key of an 837 claim: the 837I's group by facility type; an institutional claim of
#: no facility type MassHealth groups is "other" (OT) to T-MSIS, here outpatient.
_MEDICAL_KEY = _key(
    pl.col("claim_type").replace_strict(_TYPE_CODE, default=None, return_dtype=pl.Int64),
    pl.when(pl.col("claim_type") == "P")
    .then(_GROUP_CODE["professional"])
    .when(pl.col("claim_type") == "D")
    .then(_GROUP_CODE["dental"])
    .otherwise(
        facility_type(pl.col("type_of_bill")).replace_strict(
            _FACILITY_CODE, default=_GROUP_CODE["outpatient"], return_dtype=pl.Int64
        )
    ),
    pl.col("claim_frequency"),
    pl.col("claim_status"),
)


def _unpack(key: int) -> _Key:
    """Return (claim type, claim group, record type, paid) of a packed key."""
    key, paid = divmod(key, 2)
    key, record = divmod(key, len(RECORD_TYPES))
    ctype, group = divmod(key, len(CLAIM_GROUPS))
    return OUTPUT_TYPES[ctype], CLAIM_GROUPS[group], RECORD_TYPES[record], bool(paid)


class DqAccumulator:
    """Sums of every computable measure for one run (see the module docstring)."""

    def __init__(self, measures: MeasureSet, lists: Lists, pharmacy: bool) -> None:
        """Prepare the measures of a medical (837) or pharmacy (NCPDP) run."""
        self.pharmacy = pharmacy
        self.computed: list[Measure] = []
        #: ``{"measure", "name", "reason"}`` for every measure of this kind of run it cannot compute.
        self.not_computed: list[dict[str, str]] = []
        for m in measures.measures:
            if m.pharmacy != pharmacy:
                continue
            why = not_computable(m, lists)
            if why is None:
                self.computed.append(m)
            else:
                self.not_computed.append({"measure": m.id, "name": m.name, "reason": why})
        for u in measures.uncomputable:
            if u.pharmacy == pharmacy:
                self.not_computed.append({"measure": u.id, "name": u.name, "reason": u.reason})
        self._claim = [(i, m) for i, m in enumerate(self.computed) if m.level == "claim"]
        self._line = [(i, m) for i, m in enumerate(self.computed) if m.level == "line"]
        #: The NPI fields the measures check (flagged once per batch, see npi_flags).
        self._npi_fields = sorted({f for m in self.computed if m.check == "npi" for f in m.fields})
        self._claim_exprs = self._exprs(self._claim, lists)
        self._line_exprs = self._exprs(self._line, lists)
        self._indexes = [i for i, _ in [*self._claim, *self._line]]
        #: (claim type, group, record type, paid) -> [numerator, denominator] per computed measure.
        self.sums: dict[_Key, list[list[int]]] = {}

    @staticmethod
    def _exprs(measures: Sequence[tuple[int, Measure]], lists: Lists) -> list[pl.Expr]:
        out: list[pl.Expr] = []
        for i, m in measures:
            num, den = score(m, lists)
            per_row = den if isinstance(den, pl.Expr) else pl.lit(den, dtype=pl.Int64)
            out += [num.alias(f"_n{i}"), per_row.alias(f"_d{i}")]
        return out

    def add_routed(self, batch: CheckedBatch, claim_ids: Sequence[str | None], held: Collection[str]) -> None:
        """Count the claims of a settled batch that are being sent.

        Those are the accepted ones, less the claims ``held`` back by id (the
        router rejects those, see :class:`~sendpro.convert.sinks.Router`);
        ``claim_ids`` is aligned with the batch's ``seqs``.
        """
        sent = [
            seq
            for seq, disposition, claim_id in zip(batch.seqs, batch.dispositions, claim_ids, strict=True)
            if disposition is Disposition.ACCEPTED and not (held and claim_id in held)
        ]
        self.add(batch.typed, None if len(sent) == len(batch.seqs) else sent)

    def add(self, typed: pl.DataFrame, seqs: Sequence[int] | None) -> None:
        """Count the claims ``seqs`` (``_claim_seq`` values; None: every claim) of a batch's typed frame.

        One lazy query, so that polars reads only the columns the measures name (the
        frame has every model field) and plans both levels' sums at once.
        """
        if not self.computed:
            return
        if seqs is not None and not seqs:
            return
        frame = typed.lazy().with_columns(npi_flags(typed, self._npi_fields))
        if seqs is not None:
            frame = frame.filter(
                pl.col("_claim_seq").is_in(pl.Series(seqs, dtype=typed.schema["_claim_seq"]).implode())
            )
        if self.pharmacy:
            # Every pharmacy row is a claim (also one repeating a claim id), as the NCPDP file holds it.
            self._sum(frame.select_seq(_RX_KEY, *self._claim_exprs))
            return
        # Claim-level values are the claim's first row's, as the encounter reads them. A
        # claim's first row is a claim record only when the claim has no line records.
        heads = frame.filter(pl.col("_first") & pl.col("claim_type").is_in(["P", "I", "D"])).with_columns(
            (~pl.col("_nolines")).fill_null(True).alias(HAS_LINES)
        )
        # Sequential: the batch is small, and the other threads are the workers' cores.
        scored = heads.select_seq("_claim_seq", _MEDICAL_KEY, *self._claim_exprs)
        if self._line:
            # Lines are scored, summed per claim, then joined to their claim's key (a
            # join of claims, not of lines).
            per_claim = (
                frame.filter((~pl.col("_nolines")).fill_null(True))
                .select_seq("_claim_seq", *self._line_exprs)
                .group_by("_claim_seq")
                .agg(pl.exclude("_claim_seq").sum())
            )
            scored = scored.join(per_claim, on="_claim_seq", how="left")
        self._sum(scored.drop("_claim_seq"))

    def _sum(self, scored: pl.LazyFrame) -> None:
        """Add the scored rows' sums to the state, by group key."""
        # Every row is scored first (vectorised), then summed by key: an expression inside
        # a group-by aggregation may be evaluated group by group, a plain sum never is.
        # A batch is small: the in-memory engine answers it in half the streaming engine's time.
        sums = scored.group_by(_KEY).agg(pl.exclude(_KEY).fill_null(0).sum()).collect(engine="in-memory")
        for row in sums.iter_rows(named=True):
            key = _unpack(int(row[_KEY]))
            counts = self.sums.get(key)
            if counts is None:
                counts = self.sums[key] = [[0, 0] for _ in self.computed]
            for i in self._indexes:
                counts[i][0] += int(row[f"_n{i}"])
                counts[i][1] += int(row[f"_d{i}"])

    def results(self, files: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return ``report.json``'s ``dq_measures``: one row per output file, group, record type and measure.

        ``files`` names the output file of each claim type. Every measure that
        applies to a group and record type the file holds claims of is listed,
        also when no row of it was scored (rate and met are then null).
        """
        # Per file, group and record type: the sums over every claim, and over the paid ones.
        totals: dict[tuple[str, str, str], tuple[list[list[int]], list[list[int]]]] = {}
        for (ctype, group, record, paid), counts in self.sums.items():
            every, paid_only = totals.setdefault(
                (ctype, group, record), ([[0, 0] for _ in counts], [[0, 0] for _ in counts])
            )
            for i, (num, den) in enumerate(counts):
                every[i][0] += num
                every[i][1] += den
                if paid:
                    paid_only[i][0] += num
                    paid_only[i][1] += den
        rows: list[dict[str, Any]] = []
        order = {g: i for i, g in enumerate(CLAIM_GROUPS)}
        rorder = {r: i for i, r in enumerate(RECORD_TYPES)}
        for ctype, group, record in sorted(
            totals, key=lambda k: (OUTPUT_TYPES.index(k[0]) if k[0] in OUTPUT_TYPES else 9, order[k[1]], rorder[k[2]])
        ):
            every, paid_only = totals[(ctype, group, record)]
            for i, m in enumerate(self.computed):
                if group not in m.claim_groups or record not in m.record_types:
                    continue
                num, den = (paid_only if m.paid_only else every)[i]
                rate = round(num / den, 6) if den else None
                rows.append(
                    {
                        "measure": m.id,
                        "name": m.name,
                        "claim_group": group,
                        "record_type": record,
                        "file": files.get(ctype, ctype),
                        "numerator": num,
                        "denominator": den,
                        "rate": rate,
                        "threshold": m.threshold,
                        "met": None if not den else _met(num, den, m.threshold),
                        "source": m.source,
                    }
                )
        return rows


def _met(num: int, den: int, threshold: float) -> bool:
    """Return True when num/den reaches the threshold (in whole hundredths of a percent: no float error)."""
    return num * 10_000 >= round(threshold * 10_000) * den


def summary_lines(measures: Sequence[Mapping[str, Any]], shown: int = SUMMARY_SHOWN) -> list[str]:
    """Return the run summary's lines for the measures below threshold (at most ``shown``, then "and N more")."""
    below = [m for m in measures if m.get("met") is False]
    if not below:
        return []
    lines = [f"  MassHealth data-quality measures below threshold: {len(below)} (report.json dq_measures)"]
    for m in below[:shown]:
        lines.append(
            f"    {m['measure']:<28} {m['file']} {m['claim_group']}/{m['record_type']}: "
            f"{m['rate']:.2%} < {m['threshold'] * 100:g}% ({m['numerator']}/{m['denominator']})"
        )
    if len(below) > shown:
        lines.append(f"    ... and {len(below) - shown} more")
    return lines
