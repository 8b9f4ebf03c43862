"""What the rules may ask about earlier submissions: the ledger plus this run's journal."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sendpro.ledger.db import REJECTED, Ledger
from sendpro.ledger.journal import RunJournal
from sendpro.model.encounter import Encounter
from sendpro.model.pharmacy import PharmacyEncounter

# Provenance is not content: the same claim read from another file or line is the same version.
_PROVENANCE = frozenset({"file", "rows", "row_no"})


def _content(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _content(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in _PROVENANCE
        }
    if isinstance(value, tuple | list):
        return [_content(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _content(v) for k, v in value.items()}
    return value


def content_hash(encounter: Encounter | PharmacyEncounter) -> str:
    """Return a stable hash of an encounter's content (values, not where they were read)."""
    text = json.dumps(_content(encounter), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Earlier:
    """An earlier version of a claim: where it went and whether MassHealth rejected it."""

    content_hash: str
    frequency: str | None
    where: str
    rejected: bool


class History:
    """Earlier submitted versions of claims, from the ledger and from this run."""

    def __init__(self, ledger: Ledger, journal: RunJournal) -> None:
        self.ledger = ledger
        self.journal = journal

    def versions(self, claim_id: str) -> list[Earlier]:
        """Return every earlier written version of ``claim_id``, oldest first."""
        out = [
            Earlier(
                v.content_hash,
                v.frequency,
                f"{v.file_name} (run {v.run_id}, {v.recorded_at[:10]})",
                v.status == REJECTED,
            )
            for v in self.ledger.versions(claim_id)
        ]
        out += [Earlier(h, f, f"{o} (this run)", False) for h, f, o in self.journal.versions(claim_id)]
        return out

    def known(self, claim_id: str) -> bool:
        """Return True when some version of ``claim_id`` was written before (or earlier in this run)."""
        return bool(self.versions(claim_id))

    def voided(self, original_claim_id: str) -> list[str]:
        """Return the claim ids of voids already written for ``original_claim_id``."""
        return [v.claim_id for v in self.ledger.voids_of(original_claim_id)] + self.journal.voids_of(original_claim_id)
