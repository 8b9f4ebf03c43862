"""Differential check of record rules' ``concerns`` expressions: selected claims vs every claim.

A record rule's :meth:`~sendpro.validate.rule.RecordRule.concerns` must select at
least every claim the rule reports. :func:`issues_both_ways` runs the default
rules over a file twice, once with the engine selecting claims by the rules'
expressions and once running every record rule on every claim
(``ValidationEngine(every_claim=True)``), and returns both issue lists to compare.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sendpro.flatfile.layout import Layout, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.references import OrderedServices
from sendpro.report.issue import Issue
from sendpro.resources import schemas_dir
from sendpro.validate.engine import ClaimResult, ValidationEngine
from sendpro.validate.registry import RuleRegistry
from tests.helpers import FIXED_NOW, bundled_codesets


def _issue_key(i: Issue) -> tuple[object, ...]:
    loc = i.location
    return (i.code, i.severity.value, i.message, loc.record_no, loc.field, loc.claim_id, loc.line_no, i.value)


def run_issues(
    path: Path, every_claim: bool, layout: str | Layout = "mce-v1", extra: Mapping[str, Any] | None = None
) -> list[tuple[object, ...]]:
    """Return every issue of a run of the default rules over ``path`` (claims in order, then file issues)."""
    lay = load_layout(layout) if isinstance(layout, str) else layout
    context: dict[str, Any] = {
        "codesets": bundled_codesets(),
        "ordered_services": OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml"),
        "today": FIXED_NOW.strftime("%Y%m%d"),
        **(extra or {}),
    }
    out: list[tuple[object, ...]] = []
    with FlatFileReader(path, lay, chunk_lines=5_000) as reader:
        rules = RuleRegistry().select(model=lay.model)
        for item in ValidationEngine(rules, every_claim=every_claim).run(reader, context):
            if isinstance(item, ClaimResult):
                out += [(item.seq, item.skipped, *_issue_key(i)) for i in item.issues]
            else:
                out.append((None, None, *_issue_key(item)))
    return out


def issues_both_ways(
    path: Path, layout: str | Layout = "mce-v1", extra: Mapping[str, Any] | None = None
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Return (issues with claims selected by the rules' expressions, issues with every claim checked)."""
    return run_issues(path, False, layout, extra), run_issues(path, True, layout, extra)


def mutate_delimited(
    source: Path, target: Path, seed: int, share: float = 0.3, columns: Sequence[str] | None = None
) -> Path:
    """Write ``source`` (a delimited file with a header) with random cells blanked or replaced by others.

    Each data row, with probability ``share``, gets one to three of its cells
    (of ``columns`` when given) blanked, swapped for the value of another row's
    same column, or for a value of another column: enough to make every rule fire
    somewhere while keeping the file readable.
    """
    rng = random.Random(seed)
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    names = list(columns) if columns else header
    index = [header.index(c) for c in names if c in header]
    rows = [line.split("|") for line in lines[1:]]
    pool = [r for r in rows if len(r) == len(header)]
    for row in rows:
        if len(row) != len(header) or rng.random() >= share:
            continue
        for _ in range(rng.randint(1, 3)):
            k = rng.choice(index)
            how = rng.random()
            if how < 0.35:
                row[k] = ""
            elif how < 0.75:
                row[k] = rng.choice(pool)[k]
            else:
                row[k] = rng.choice(pool)[rng.choice(index)]
    target.write_text("\n".join(["|".join(header), *("|".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return target
