"""Builders shared by the X12 tests: encounters from mce-v1 rows, 837P text from encounters, segment parsing.

Encounters always come from the real reader and validation engine (``tests.helpers``),
so the writer is tested on exactly what a run would hand it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sendpro.model.encounter import Encounter
from sendpro.profiles import load_profile
from sendpro.x12.claim_837p import Claim837P
from sendpro.x12.envelope import ControlNumbers, SequentialControlNumbers
from sendpro.x12.writer import PacdrSettings, PacdrWriter, WriteSummary
from tests.helpers import BASE_LINES, FIXED_NOW, claim_rows, run_engine, write_mce

#: The mce-v1 rows of one claim.
Rows = list[dict[str, str]]


def claim(
    claim_id: str,
    claim: Mapping[str, str] | None = None,
    lines: Sequence[Mapping[str, str]] | None = None,
    line_count: int | None = None,
) -> Rows:
    """Return the rows of one claim with ``mce_claim_id`` set (see ``tests.helpers.claim_rows``).

    ``line_count`` 1 starts from the first base line only (the base claim has two).
    """
    base_lines = BASE_LINES[:line_count] if line_count else BASE_LINES
    return claim_rows({"mce_claim_id": claim_id, **(claim or {})}, lines, base_lines=base_lines)


def encounters(tmp_path: Path, *claims: Rows, name: str = "in.txt") -> list[Encounter]:
    """Run the claims through the reader and engine; every claim must be accepted."""
    path = write_mce(tmp_path / name, [row for rows in claims for row in rows])
    results, file_issues = run_engine(path)
    assert not file_issues, [(i.code, i.message) for i in file_issues]
    rejected = [(r.encounter.claim_id, [(i.code, i.message) for i in r.issues]) for r in results if r.rejected]
    assert not rejected, rejected
    assert len(results) == len(claims)
    return [r.encounter for r in results]


def settings(**changes: Any) -> PacdrSettings:
    """Return the masshealth-sendpro writer settings, with ``changes`` applied."""
    s = load_profile("masshealth-sendpro").pacdr_settings()
    return dataclasses.replace(s, **changes) if changes else s


def write_837(
    encs: Sequence[Encounter],
    pacdr: PacdrSettings | None = None,
    control: ControlNumbers | None = None,
) -> tuple[str, WriteSummary]:
    """Write the encounters as one 837P interchange (fixed clock); return the text and the summary."""
    out = io.StringIO()
    writer = PacdrWriter(out, Claim837P, pacdr or settings(), control or SequentialControlNumbers(1), lambda: FIXED_NOW)
    for enc in encs:
        writer.write(enc)
    summary = writer.close()
    return out.getvalue(), summary


def parse(text: str, element: str = "*", terminator: str = "~") -> list[list[str]]:
    """Split X12 text into segments of elements (line breaks between segments ignored)."""
    out = []
    for part in text.split(terminator):
        part = part.strip("\r\n")
        if part:
            out.append(part.split(element))
    return out


def find(segs: Sequence[Sequence[str]], seg_id: str, *qualifiers: str) -> list[list[str]]:
    """Return the segments with ``seg_id`` whose leading elements equal ``qualifiers``."""
    n = len(qualifiers)
    return [list(s) for s in segs if s[0] == seg_id and tuple(s[1 : 1 + n]) == qualifiers]


def claim_segments(segs: Sequence[Sequence[str]], claim_id: str) -> list[list[str]]:
    """Return the segments from ``CLM*claim_id`` up to the next HL, SE or CLM."""
    out: list[list[str]] = []
    inside = False
    for s in segs:
        if s[0] == "CLM":
            inside = s[1] == claim_id
        elif s[0] in ("HL", "SE"):
            inside = False
        if inside:
            out.append(list(s))
    assert out, f"claim {claim_id} not found"
    return out
