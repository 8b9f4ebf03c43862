"""Rule base classes.

A rule has a stable code (two capital letters and three digits, never reused), a
dotted name, a default severity, a category, a message template and a docstring
that is its user documentation (one-line summary, then ``Bad:`` / ``Good:``).

Two shapes:

* :class:`FrameRule` looks at a whole batch at once with polars expressions and
  yields an issue per failing row (format, required, consistency checks).
* :class:`RecordRule` looks at one built :class:`~sendpro.model.encounter.Encounter`
  (balancing, check digits, cross-field logic). Per-run state lives on the
  instance; :meth:`Rule.finish` may report at the end of a file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import polars as pl

from sendpro.flatfile.layout import Format, Layout
from sendpro.model.encounter import Encounter
from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.report.issue import Category, Issue, Location, Severity


class Scope(StrEnum):
    """What a rule looks at."""

    ROW = "row"
    CLAIM = "claim"
    LINE = "line"
    FILE = "file"


@dataclass(frozen=True)
class RuleContext:
    """What rules may know about the file being checked."""

    file: str
    layout: Layout
    forbidden: str = "*~:^|"
    extra: Mapping[str, Any] = field(default_factory=dict)
    _templates: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def _renames(self) -> tuple[re.Pattern[str], dict[str, str]] | None:
        """Return a pattern of the model field names a delimited layout calls otherwise, and their columns."""
        if self.layout.format is not Format.DELIMITED:
            return None  # fixed-width layouts name fields by model name
        renames = {f.field: self.layout.column_for(f.field) for f in self.layout.fields if f.field}
        renames = {name: column for name, column in renames.items() if column != name}
        if not renames:
            return None
        words = "|".join(sorted(map(re.escape, renames), key=len, reverse=True))
        return re.compile(rf"(?<![{{\w])({words})(?![\w}}!:])"), renames

    def relabel(self, text: str, *, cache: bool = True) -> str:
        """Return ``text`` with the model field names it spells out put as the file's column names.

        An analyst with their own delimited layout reads ``BILL_NPI``, not
        ``billing_npi``. ``{placeholders}`` are left alone. Templates are cached;
        other text (a rendered parameter) is not, so the cache never grows with the data.
        """
        if self._renames is None:
            return text
        found = self._templates.get(text) if cache else None
        if found is None:
            pattern, renames = self._renames
            found = pattern.sub(lambda m: renames[m.group(1)], text)
            if cache:
                self._templates[text] = found
        return found


class Rule:
    """Base class of every rule (see the module docstring)."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    category: ClassVar[Category] = Category.DATA
    scope: ClassVar[Scope] = Scope.CLAIM
    template: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    claim_types: ClassVar[frozenset[str]] = frozenset({"P", "I", "D"})
    source: ClassVar[str] = "sendpro"
    #: A guard keeps out of the output values its implementation guide forbids
    #: (or that a writer cannot express). Guards always run, as errors: turning
    #: one off would produce a file pyx12, and MassHealth, reject as a whole.
    guard: ClassVar[bool] = False
    #: A skipping rule's issue sends the claim nowhere (neither output nor rejects): a duplicate.
    skips: ClassVar[bool] = False
    #: A yielding rule's issue on a field is dropped when another rule found an error in
    #: that field of the claim: one problem, reported once, by the more specific rule.
    yields: ClassVar[bool] = False
    #: The field catalogues (``medical``, ``pharmacy``) whose files the rule checks.
    models: ClassVar[frozenset[str]] = frozenset({"medical"})
    #: Reference files the rule needs (``providers``, ``members``); without them the run skips it.
    needs: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, severity: Severity | None = None) -> None:
        self.effective_severity = severity or type(self).severity
        self.context: RuleContext | None = None

    def start(self, context: RuleContext) -> None:
        """Begin a file; reset per-file state."""
        self.context = context

    def finish(self) -> Iterator[Issue]:
        """End a file; yield issues that needed the whole file."""
        return iter(())

    def begin_batch(self, claim_ids: frozenset[str]) -> None:
        """Prepare for a batch's claims (e.g. look them all up at once); the default does nothing."""

    @classmethod
    def summary(cls) -> str:
        """Return the first line of the rule's docstring."""
        first = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        return first.replace("``", "")

    def issue(
        self,
        *,
        record_no: int | None = None,
        field: str | None = None,
        claim_id: str | None = None,
        line_no: int | None = None,
        value: object = None,
        member_id: str | None = None,
        detail: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Issue:
        """Render the message template with ``params`` and return the issue."""
        params.setdefault("field", field)
        template = self.template
        if self.context is not None:
            template = self.context.relabel(template)
            # Parameters that name fields (a column, "... in original_claim_id") read as the file's names too.
            params = {k: self.context.relabel(v, cache=False) if isinstance(v, str) else v for k, v in params.items()}
        message = template.format(**params)
        file = self.context.file if self.context else None
        return Issue(
            code=self.code,
            severity=self.effective_severity,
            message=message,
            location=Location(file=file, record_no=record_no, field=field, claim_id=claim_id, line_no=line_no),
            rule_name=self.name,
            category=self.category,
            detail=dict(detail or {}),
            value=None if value is None else str(value),
            member_id=member_id,
        )


class FrameRule(Rule):
    """A rule evaluated on a whole batch frame of canonical text."""

    scope = Scope.ROW

    def check_frame(self, frame: pl.DataFrame) -> Iterator[Issue]:
        """Yield issues for the failing rows of ``frame``."""
        raise NotImplementedError


class RecordRule(Rule):
    """A rule evaluated on one built encounter.

    Building encounters costs more than checking them, so a record rule may say,
    as a polars expression over the typed batch frame, which claims it concerns:
    :meth:`concerns` returns an expression that is True on some row of every
    claim the rule could report (it may be True on more; a null counts as True).
    The engine builds encounters only for the claims some rule concerns and runs
    each rule only on its own, so the issues are the same as running it on all.
    """

    #: An ordered rule reads what this run routed before (the ledger's history): it runs
    #: claim after claim in input order, in the process that routes them, never in a worker.
    ordered: ClassVar[bool] = False

    def concerns(self) -> pl.Expr | None:
        """Return a row-level expression on the typed batch frame selecting the claims to check (None: all).

        Called once per batch, after :meth:`begin_batch`.
        """
        return None

    def check(self, encounter: Any) -> Iterator[Issue]:
        """Yield issues for ``encounter`` (an Encounter, or a PharmacyEncounter for pharmacy rules)."""
        raise NotImplementedError

    def claim_issue(self, encounter: Encounter | PharmacyEncounter, **kwargs: Any) -> Issue:
        """Return an issue located on ``encounter`` (claim row unless given)."""
        row = encounter.header.row_no if isinstance(encounter, Encounter) else encounter.row_no
        kwargs.setdefault("record_no", row)
        return self.issue(claim_id=encounter.claim_id, member_id=encounter.member.member_id, **kwargs)
