"""The validation engine: batches in, checked batches (claims with their issues) out.

For each batch: free text is cleaned, frame rules run over the whole batch,
values are typed, and record rules run on the encounters of the claims they
concern (:meth:`~sendpro.validate.rule.RecordRule.concerns`); only those claims
become :class:`~sendpro.model.encounter.Encounter` objects. That is
:meth:`ValidationEngine.check_batch`, which needs nothing of the run's history and
can run in a worker process. :meth:`ValidationEngine.settle` then runs the
*ordered* rules (those that read what the run routed before: duplicates and
replacement chains) claim after claim, and gives every claim its one
:class:`Disposition`.

Issues that belong to no claim (an unknown column, a blank line) come out as bare
:class:`~sendpro.report.issue.Issue` objects in the same stream as the batches.
:meth:`ValidationEngine.run` is the claim-at-a-time view of the same work
(:class:`ClaimResult` per claim, every encounter built), for tests and tools.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import polars as pl

from sendpro.flatfile.layout import Layout
from sendpro.flatfile.reader import KIND_OTHER, Batch, FlatFileReader
from sendpro.model.build import iter_encounters
from sendpro.model.catalog import Catalog
from sendpro.model.encounter import Encounter
from sendpro.model.pharmacy import PharmacyEncounter, iter_rx_encounters
from sendpro.model.typing import clean_text_frame, control_columns, ensure_model_columns, type_frame
from sendpro.report.issue import Issue, Severity
from sendpro.validate.registry import RuleSet
from sendpro.validate.rule import RecordRule, RuleContext
from sendpro.validate.rules.fields import FieldRule

AnyEncounter = Encounter | PharmacyEncounter


class Disposition(StrEnum):
    """Where a claim goes: the output, the rejects file, or nowhere (a duplicate)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SKIPPED = "skipped"


@dataclass(slots=True)
class CheckedBatch:
    """One batch of whole claims after the batch-local rules.

    ``typed`` holds the batch's rows typed (every model field plus the reader's
    bookkeeping columns, ``_raw`` and ``_row`` among them), in file order;
    ``seqs`` the claims in order; ``issues`` the issues found so far per claim
    (claims without any are absent); ``encounters`` the claims that were built
    (those some record rule concerned; every claim of a pharmacy batch).
    After :meth:`ValidationEngine.settle`, ``dispositions`` holds each claim's
    disposition (aligned with ``seqs``) and ``issues`` the final, sorted lists.
    """

    file: str
    model: str
    typed: pl.DataFrame
    seqs: list[int]
    issues: dict[int, list[Issue]] = field(default_factory=dict)
    encounters: dict[int, AnyEncounter] = field(default_factory=dict)
    dispositions: list[Disposition] = field(default_factory=list)

    def build(self, seqs: Sequence[int]) -> None:
        """Build the encounters of ``seqs`` that are not built yet."""
        wanted = [s for s in seqs if s not in self.encounters]
        if not wanted:
            return
        rows = self.typed if len(wanted) == len(self.seqs) else self.typed.filter(pl.col("_claim_seq").is_in(wanted))
        build = iter_rx_encounters if self.model == "pharmacy" else iter_encounters
        self.encounters.update(build(self.file, rows))


@dataclass(slots=True)
class ClaimResult:
    """One claim, its issues and the raw lines it came from."""

    seq: int
    encounter: AnyEncounter
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


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the rules are told of the file being checked (from the first pass)."""

    name: str
    expected_fields: int
    claims: int


#: Called by :meth:`ValidationEngine.settle` with ``(start, end)``: the claims ``seqs[start:end]`` are final.
Settled = Callable[[int, int], None]


class ValidationEngine:
    """Runs a :class:`RuleSet` over the batches of one file at a time."""

    def __init__(self, rules: RuleSet, forbidden: str = "*~:^|", every_claim: bool = False) -> None:
        """Check with ``rules``; ``every_claim`` runs each record rule on every claim (the reference for tests)."""
        self.rules = rules
        self.forbidden = forbidden
        self.every_claim = every_claim
        self._skip_codes = frozenset(r.code for r in rules.all if r.skips)
        self._yielding = frozenset(r.code for r in rules.all if r.yields)
        self._active: RuleSet = rules

    # -- the file ----------------------------------------------------------------------------
    def open_file(self, reader: FlatFileReader, extra: dict[str, Any] | None = None) -> tuple[FileFacts, list[Issue]]:
        """Start the rules on ``reader``'s file; return its facts and the issues of its header (unknown columns)."""
        info = reader.open()
        facts = FileFacts(reader.name, info.expected_fields, reader.scan().claims)
        rules = self.begin_file(facts, reader.layout, extra, reader.claim_facts)
        found = list(rules.unknown_column.check_input(info)) if rules.unknown_column is not None else []
        return facts, found

    def begin_file(
        self,
        facts: FileFacts,
        layout: Layout,
        extra: dict[str, Any] | None = None,
        claim_facts: Callable[[str], tuple[str | None, int] | None] | None = None,
    ) -> RuleSet:
        """Start every rule on a file (in a worker: with the facts the parent's first pass found)."""
        context = RuleContext(
            file=facts.name,
            layout=layout,
            forbidden=self.forbidden,
            extra={
                "expected_fields": facts.expected_fields,
                "claims": facts.claims,
                "claim_facts": claim_facts,
                **(extra or {}),
            },
        )
        # Rules whose reference file the run lacks do not run (the API reports them as skipped).
        rules, _ = self.rules.runnable(context.extra.keys())
        self._active = rules
        for rule in rules.all:
            rule.start(context)
        return rules

    def blank_issues(self, batch: Batch) -> list[Issue]:
        """Return the issues of the blank lines the reader skipped in ``batch``."""
        rule = self._active.blank_line
        return list(rule.check_lines(batch.blank_lines)) if rule is not None and batch.blank_lines else []

    def end_file(self) -> Iterator[Issue]:
        """Yield what the rules found only at the end of the file."""
        for rule in self._active.all:
            yield from rule.finish()

    def run_batches(
        self, reader: FlatFileReader, extra: dict[str, Any] | None = None
    ) -> Iterator[CheckedBatch | Issue]:
        """Yield every batch of ``reader``'s file checked by the batch-local rules, and file-level issues.

        Each batch must be settled (:meth:`settle`) before the next one is asked
        for: the ordered rules of a batch read what the run routed before it.
        """
        facts, found = self.open_file(reader, extra)
        yield from found
        for batch in reader.iter_batches():
            yield from self.blank_issues(batch)
            yield self.check_batch(facts.name, batch.frame, facts.expected_fields, reader.layout.catalog)
        yield from self.end_file()

    def run(self, reader: FlatFileReader, extra: dict[str, Any] | None = None) -> Iterator[ClaimResult | Issue]:
        """Yield every claim of ``reader``'s file (and file-level issues) once, with its encounter."""
        for item in self.run_batches(reader, extra):
            if isinstance(item, Issue):
                yield item
                continue
            item.build(item.seqs)
            raws: dict[int, list[str]] = defaultdict(list)
            for seq, raw in zip(item.typed["_claim_seq"].to_list(), item.typed["_raw"].to_list(), strict=True):
                raws[seq].append(raw)
            # Claims come out one at a time, so a consumer routing each one before asking for the
            # next is what the ordered rules of the following claims see.
            results: list[ClaimResult] = []

            def settled(
                start: int,
                end: int,
                batch: CheckedBatch = item,
                out: list[ClaimResult] = results,
                raws: dict[int, list[str]] = raws,
            ) -> None:
                for k in range(start, end):
                    seq = batch.seqs[k]
                    out.append(
                        ClaimResult(
                            seq,
                            batch.encounters[seq],
                            batch.issues.get(seq, []),
                            "\n".join(raws.pop(seq)),
                            batch.dispositions[k] is Disposition.SKIPPED,
                        )
                    )

            for _ in self._settle_steps(item, settled):
                yield from results
                results.clear()
            yield from results

    # -- one batch ---------------------------------------------------------------------------
    def check_batch(self, file: str, frame: pl.DataFrame, expected_fields: int, catalog: Catalog) -> CheckedBatch:
        """Run the frame rules and the unordered record rules over one batch of whole claims."""
        rules = self._active
        # Every model field as a column (null when the layout does not map it),
        # so rules and the builder never meet a missing column.
        frame = ensure_model_columns(frame, catalog.fields)
        frame, notes = clean_text_frame(frame, catalog.fields, forbidden=self.forbidden)
        broken = pl.col("_kind") == KIND_OTHER
        if expected_fields:
            broken = broken | (pl.col("_nf") != expected_fields).fill_null(False)
        frame = frame.with_columns(broken.alias("_broken"))
        pending: dict[int, list[Issue]] = defaultdict(list)
        row_to_seq: dict[int, int] = {}

        def attach(issue: Issue) -> None:
            if not row_to_seq:  # built on the first issue: most batches of a clean file have none
                for row, claim_row, seq in frame.select("_row", "_claim_row", "_claim_seq").iter_rows():
                    row_to_seq[row] = seq
                    row_to_seq[claim_row] = seq
            seq = row_to_seq.get(issue.location.record_no or -1)
            if seq is None:  # pragma: no cover - every frame issue names a row of the batch
                raise AssertionError(f"issue {issue.code} names row {issue.location.record_no} outside the batch")
            pending[seq].append(issue)

        for issue in _frame_issues(rules, frame):
            attach(issue)
        if rules.text_cleaned is not None:
            for issue in rules.text_cleaned.check_notes(frame, notes):
                attach(issue)
        typed = type_frame(frame.with_columns(control_columns(catalog.totals, frame.columns)), catalog.fields)
        seqs = typed["_claim_seq"].unique(maintain_order=True).to_list()
        batch = CheckedBatch(file, catalog.name, typed, seqs)
        unordered = [r for r in rules.record_rules if not r.ordered]
        if catalog.name == "pharmacy":
            batch.build(seqs)  # pharmacy claims are one row each: nothing to gain by selecting
        self._check_records(batch, unordered, pending)
        batch.issues = dict(pending)
        return batch

    def _check_records(self, batch: CheckedBatch, rules: Sequence[RecordRule], pending: dict[int, list[Issue]]) -> None:
        """Run ``rules`` on the claims each concerns, building only those claims' encounters."""
        if not rules:
            return
        claim_ids = frozenset(batch.typed["mce_claim_id"].drop_nulls().unique().to_list())
        for rule in rules:
            rule.begin_batch(claim_ids)
        chosen = [None] * len(rules) if self.every_claim else _concerned(batch, rules)
        everyone = [s for s, r in zip(chosen, rules, strict=True) if s is None]
        needed = batch.seqs if everyone else sorted({s for seqs in chosen if seqs is not None for s in seqs})
        batch.build(needed)
        # Claim order, then rule order: the order in which issues were always found.
        for seq in batch.seqs if everyone else needed:
            encounter = batch.encounters.get(seq)
            if encounter is None:
                continue
            for rule, seqs in zip(rules, chosen, strict=True):
                if seqs is None or seq in seqs:
                    found = list(rule.check(encounter))
                    if found:
                        pending[seq].extend(found)

    # -- the run's order ---------------------------------------------------------------------
    def settle(self, batch: CheckedBatch, settled: Settled | None = None) -> None:
        """Run the ordered rules and give every claim of ``batch`` its disposition.

        ``settled(start, end)`` is called, in order, for the runs of claims that
        became final; the caller routes them (journals them) before the next
        ordered rule looks at the history.
        """
        for _ in self._settle_steps(batch, settled or (lambda start, end: None)):
            pass

    def _settle_steps(self, batch: CheckedBatch, settled: Settled) -> Iterator[None]:
        """:meth:`settle` as a generator: one step after every ``settled`` call."""
        ordered = [r for r in self._active.record_rules if r.ordered]
        batch.dispositions = [Disposition.ACCEPTED] * len(batch.seqs)
        concerned: list[int] = []
        chosen: list[set[int] | None] = []
        if ordered:
            claim_ids = frozenset(batch.typed["mce_claim_id"].drop_nulls().unique().to_list())
            for rule in ordered:
                rule.begin_batch(claim_ids)
            chosen = [None] * len(ordered) if self.every_claim else _concerned(batch, ordered)
            if any(s is None for s in chosen):
                concerned = list(range(len(batch.seqs)))
            else:
                wanted = {s for seqs in chosen if seqs is not None for s in seqs}
                concerned = [k for k, seq in enumerate(batch.seqs) if seq in wanted]
            batch.build([batch.seqs[k] for k in concerned])
        ids, originals = _claim_keys(batch) if concerned else ([], [])
        start = filled = 0
        waiting_ids: set[str] = set()
        waiting_originals: set[str] = set()
        for k in concerned:
            # Claims start..k-1 are checked but not yet routed. The ordered rules read the history of
            # a claim's own id and of its original (and the adjustments naming that original), so
            # claim k waits for them to be routed only when one of them shares such an id.
            for j in range(filled, k):
                if ids[j] is not None:
                    waiting_ids.add(ids[j])  # type: ignore[arg-type]
                if originals[j] is not None:
                    waiting_originals.add(originals[j])  # type: ignore[arg-type]
            filled = k
            own, original = ids[k], originals[k]
            if k > start and (
                own in waiting_ids
                or (original is not None and (original in waiting_ids or original in waiting_originals))
            ):
                self._finalize(batch, start, k)
                settled(start, k)
                yield
                start = k
                waiting_ids.clear()
                waiting_originals.clear()
            seq = batch.seqs[k]
            encounter = batch.encounters[seq]
            for rule, seqs in zip(ordered, chosen, strict=True):
                if seqs is None or seq in seqs:
                    found = list(rule.check(encounter))
                    if found:
                        batch.issues.setdefault(seq, []).extend(found)
        if start < len(batch.seqs):
            self._finalize(batch, start, len(batch.seqs))
            settled(start, len(batch.seqs))
            yield

    def _finalize(self, batch: CheckedBatch, start: int, end: int) -> None:
        """Sort the issues of ``seqs[start:end]`` and set their dispositions."""
        issues = batch.issues
        for k in range(start, end):
            found = issues.get(batch.seqs[k])
            if not found:
                continue
            if self._yielding:
                found = _without_yielded(found, self._yielding)
                issues[batch.seqs[k]] = found
            found.sort(key=lambda i: (i.location.record_no or 0, i.code))
            # One disposition, one story: a rejected claim is not also "skipped" (its
            # errors are what to fix), and a skipped one (sent before in this very
            # version) does not repeat the warnings its first run already reported.
            if any(i.severity is Severity.ERROR for i in found):
                batch.dispositions[k] = Disposition.REJECTED
                if self._skip_codes:
                    found[:] = [i for i in found if i.code not in self._skip_codes]
            elif any(i.code in self._skip_codes for i in found):
                batch.dispositions[k] = Disposition.SKIPPED
                found[:] = [i for i in found if i.code in self._skip_codes]


def _claim_keys(batch: CheckedBatch) -> tuple[list[str | None], list[str | None]]:
    """Return each claim's id and original claim id (its ``_first`` row's), aligned with ``batch.seqs``."""
    first = pl.col("_first")
    per = batch.typed.group_by("_claim_seq", maintain_order=True).agg(
        pl.col("mce_claim_id").filter(first).first(), pl.col("original_claim_id").filter(first).first()
    )
    return per["mce_claim_id"].to_list(), per["original_claim_id"].to_list()


def _concerned(batch: CheckedBatch, rules: Sequence[RecordRule]) -> list[set[int] | None]:
    """Per rule, the claims (seqs) its :meth:`~RecordRule.concerns` expression selects; None: every claim."""
    exprs = [rule.concerns() for rule in rules]
    planned = [(k, e) for k, e in enumerate(exprs) if e is not None]
    out: list[set[int] | None] = [None] * len(rules)
    if not planned:
        return out
    flags = batch.typed.select(pl.col("_claim_seq"), *[e.fill_null(True).alias(f"_c{k}") for k, e in planned]).filter(
        pl.any_horizontal(*[pl.col(f"_c{k}") for k, _ in planned])
    )
    for k, _ in planned:
        out[k] = set(flags.filter(pl.col(f"_c{k}"))["_claim_seq"].to_list())
    return out


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
