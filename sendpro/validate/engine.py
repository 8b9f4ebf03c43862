"""The validation engine: batches in, claims with their issues out.

For each batch: free text is cleaned, frame rules run over the whole batch,
values are typed, encounters are built, and record rules run on each encounter.
Every claim comes out exactly once as a :class:`ClaimResult`; issues that belong
to no claim (an unknown column, a blank line) come out as bare
:class:`~sendpro.report.issue.Issue` objects in the same stream.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sendpro.flatfile.reader import KIND_OTHER, FlatFileReader
from sendpro.model.build import iter_encounters
from sendpro.model.catalog import Catalog
from sendpro.model.encounter import Encounter
from sendpro.model.pharmacy import PharmacyEncounter, iter_rx_encounters
from sendpro.model.typing import clean_text_frame, ensure_model_columns, type_frame
from sendpro.report.issue import Issue, Severity
from sendpro.validate.registry import RuleSet
from sendpro.validate.rule import RuleContext
from sendpro.validate.rules.fields import FieldRule


@dataclass(slots=True)
class ClaimResult:
    """One claim, its issues and the raw lines it came from."""

    seq: int
    encounter: Encounter | PharmacyEncounter
    issues: list[Issue] = field(default_factory=list)
    raw: str = ""
    skipped: bool = False

    @property
    def rejected(self) -> bool:
        """Return True when an error keeps the claim out of the submission."""
        return any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def raw_line_count(self) -> int:
        """Return the number of physical input records of the claim."""
        return self.raw.count("\n") + 1 if self.raw else 0


class ValidationEngine:
    """Runs a :class:`RuleSet` over the batches of one file at a time."""

    def __init__(self, rules: RuleSet, forbidden: str = "*~:^|") -> None:
        self.rules = rules
        self.forbidden = forbidden
        self._skip_codes = frozenset(r.code for r in rules.all if r.skips)
        self._yielding = frozenset(r.code for r in rules.all if r.yields)

    def run(self, reader: FlatFileReader, extra: dict[str, Any] | None = None) -> Iterator[ClaimResult | Issue]:
        """Yield every claim of ``reader``'s file (and file-level issues) once."""
        info = reader.open()
        scan = reader.scan()
        context = RuleContext(
            file=reader.name,
            layout=reader.layout,
            forbidden=self.forbidden,
            extra={
                "expected_fields": info.expected_fields,
                "claims": scan.claims,
                "claim_facts": reader.claim_facts,
                **(extra or {}),
            },
        )
        # Rules whose reference file the run lacks do not run (the API reports them as skipped).
        rules, _ = self.rules.runnable(context.extra.keys())
        for rule in rules.all:
            rule.start(context)
        if rules.unknown_column is not None:
            yield from rules.unknown_column.check_input(info)
        for batch in reader.iter_batches():
            if rules.blank_line is not None and batch.blank_lines:
                yield from rules.blank_line.check_lines(batch.blank_lines)
            yield from self._run_batch(rules, reader.name, batch.frame, info.expected_fields, reader.layout.catalog)
        for rule in rules.all:
            yield from rule.finish()

    def _run_batch(
        self, rules: RuleSet, file: str, frame: pl.DataFrame, expected_fields: int, catalog: Catalog
    ) -> Iterator[ClaimResult]:
        # Every model field as a column (null when the layout does not map it),
        # so rules and the builder never meet a missing column.
        frame = ensure_model_columns(frame, catalog.fields)
        frame, notes = clean_text_frame(frame, catalog.fields, forbidden=self.forbidden)
        broken = pl.col("_kind") == KIND_OTHER
        if expected_fields:
            broken = broken | (pl.col("_nf") != expected_fields).fill_null(False)
        frame = frame.with_columns(broken.alias("_broken"))
        seqs = frame["_claim_seq"].to_list()
        raws = frame["_raw"].to_list()
        row_to_seq: dict[int, int] = {}
        for row, claim_row, seq in zip(frame["_row"].to_list(), frame["_claim_row"].to_list(), seqs, strict=True):
            row_to_seq[row] = seq
            row_to_seq[claim_row] = seq
        pending: dict[int, list[Issue]] = defaultdict(list)

        def attach(issue: Issue) -> None:
            seq = row_to_seq.get(issue.location.record_no or -1)
            if seq is None:  # pragma: no cover - every frame issue names a row of the batch
                raise AssertionError(f"issue {issue.code} names row {issue.location.record_no} outside the batch")
            pending[seq].append(issue)

        for issue in _frame_issues(rules, frame):
            attach(issue)
        if rules.text_cleaned is not None:
            for issue in rules.text_cleaned.check_notes(frame, notes):
                attach(issue)
        raw_by_seq: dict[int, list[str]] = defaultdict(list)
        for seq, raw in zip(seqs, raws, strict=True):
            raw_by_seq[seq].append(raw)
        typed = type_frame(frame, catalog.fields)
        claim_ids = frozenset(typed["mce_claim_id"].drop_nulls().unique().to_list())
        for record_rule in rules.record_rules:
            record_rule.begin_batch(claim_ids)
        build = iter_rx_encounters if catalog.name == "pharmacy" else iter_encounters
        for seq, encounter in build(file, typed):
            issues = pending.pop(seq, [])
            for record_rule in rules.record_rules:
                issues.extend(record_rule.check(encounter))
            if self._yielding:
                issues = _without_yielded(issues, self._yielding)
            issues.sort(key=lambda i: (i.location.record_no or 0, i.code))
            result = ClaimResult(seq, encounter, issues, "\n".join(raw_by_seq.pop(seq)))
            result.skipped = not result.rejected and any(i.code in self._skip_codes for i in issues)
            yield result


def _without_yielded(issues: list[Issue], yielding: frozenset[str]) -> list[Issue]:
    """Drop yielding rules' issues on fields another rule already found in error."""
    taken = {
        i.location.field for i in issues if i.code not in yielding and i.severity is Severity.ERROR and i.location.field
    }
    return [i for i in issues if i.code not in yielding or i.location.field not in taken]


def _frame_issues(rules: RuleSet, frame: pl.DataFrame) -> Iterator[Issue]:
    """Run the batch's frame rules; the per-field ones share one pass that counts every failing field.

    Forty-odd field rules each counting their failures would be forty polars
    queries per batch; one ``select`` of all the counts, then a query only per
    field that fails, keeps the batch cost flat as rules are added.
    """
    planned: list[tuple[FieldRule, str, pl.Expr]] = []
    for rule in rules.frame_rules:
        if isinstance(rule, FieldRule):
            planned += [(rule, name, mask) for name, mask in rule.masks().items()]
        else:
            yield from rule.check_frame(frame)
    if not planned or frame.height == 0:
        return
    counts = frame.select([mask.sum().alias(f"_{i}") for i, (_, _, mask) in enumerate(planned)]).row(0)
    for (rule, name, mask), count in zip(planned, counts, strict=True):
        if count:
            yield from rule.field_issues(frame, name, mask)
