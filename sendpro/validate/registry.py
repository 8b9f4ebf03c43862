"""Choosing the rules of a run: select / ignore by code prefix, severity overrides.

As in flake8's DecisionEngine, ``--select`` and ``--ignore`` take code prefixes
(``CL``, ``SV01``, ``PV010``); when both match a code, the longer prefix wins and
an explicit selection wins a tie. Guard rules (see :attr:`Rule.guard`) always run
as errors: naming one in ``ignore`` or lowering its severity is a usage error.
Every run gets fresh rule instances, so no rule state leaks between runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sendpro.errors import UsageError
from sendpro.report.issue import Severity
from sendpro.validate.rule import FrameRule, RecordRule, Rule
from sendpro.validate.rules import DEFAULT_RULES
from sendpro.validate.rules.structure import BlankLine, TextCleaned, UnknownColumn


def _longest(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=-1)


def is_selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """Return True when ``code`` runs under ``select`` / ``ignore`` (longest prefix wins)."""
    sel = _longest(code, select) if select else 0
    ign = _longest(code, ignore)
    if sel < 0:
        return False
    return sel >= ign


@dataclass(frozen=True)
class RuleSet:
    """The instantiated rules of one run, split by shape."""

    frame_rules: tuple[FrameRule, ...]
    record_rules: tuple[RecordRule, ...]
    unknown_column: UnknownColumn | None
    blank_line: BlankLine | None
    text_cleaned: TextCleaned | None

    @property
    def all(self) -> tuple[Rule, ...]:
        """Return every rule instance."""
        extra = [r for r in (self.unknown_column, self.blank_line, self.text_cleaned) if r is not None]
        return (*self.frame_rules, *self.record_rules, *extra)

    def runnable(self, available: Collection[str]) -> tuple[RuleSet, list[Rule]]:
        """Split off the rules that need a reference file not in ``available``; return (kept, left out)."""
        unmet = [r for r in (*self.frame_rules, *self.record_rules) if not r.needs <= set(available)]
        kept = dataclasses.replace(
            self,
            frame_rules=tuple(r for r in self.frame_rules if r not in unmet),
            record_rules=tuple(r for r in self.record_rules if r not in unmet),
        )
        return kept, unmet


class RuleRegistry:
    """The rule classes a run may choose from."""

    def __init__(self, rules: Sequence[type[Rule]] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)
        codes = [r.code for r in self.rules]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:  # a programming error: codes are unique forever
            raise ValueError(f"duplicate rule codes: {sorted(dup)}")

    def by_code(self) -> dict[str, type[Rule]]:
        """Return the rule classes by code (aliases included)."""
        out: dict[str, type[Rule]] = {}
        for r in self.rules:
            out[r.code] = r
            for alias in r.aliases:
                out[alias] = r
        return out

    def select(
        self,
        select: Sequence[str] = (),
        ignore: Sequence[str] = (),
        severities: Mapping[str, Severity] | None = None,
        model: str = "medical",
    ) -> RuleSet:
        """Return fresh instances of the selected rules with severity overrides applied.

        Raises:
            UsageError: a severity override names a code no rule has.
        """
        severities = dict(severities or {})
        known = self.by_code()
        for code in severities:
            if code not in known:
                raise UsageError(f"severity override for unknown rule code {code}")
            if known[code].guard and severities[code] is not Severity.ERROR:
                raise UsageError(f"{code} guards the 837 against values its guide forbids; it stays an error")
        for code in ignore:
            if code in known and known[code].guard:
                raise UsageError(f"{code} guards the 837 against values its guide forbids; it cannot be ignored")
        frame: list[FrameRule] = []
        record: list[RecordRule] = []
        specials: dict[type[Rule], Rule] = {}
        for cls in self.rules:
            if model not in cls.models:
                continue
            if not cls.guard and not is_selected(cls.code, select, ignore):
                continue
            rule = cls(severities.get(cls.code))
            if isinstance(rule, FrameRule):
                frame.append(rule)
            elif isinstance(rule, RecordRule):
                record.append(rule)
            else:
                specials[cls] = rule
        unknown = specials.get(UnknownColumn)
        blank = specials.get(BlankLine)
        cleaned = specials.get(TextCleaned)
        return RuleSet(
            tuple(frame),
            tuple(record),
            unknown if isinstance(unknown, UnknownColumn) else None,
            blank if isinstance(blank, BlankLine) else None,
            cleaned if isinstance(cleaned, TextCleaned) else None,
        )
