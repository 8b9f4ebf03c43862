"""What the rules may ask about earlier submissions: the ledger plus this run's journal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sendpro.ledger.db import REJECTED, Ledger, PriorVersion
from sendpro.ledger.journal import RunJournal
from sendpro.model.encounter import Encounter
from sendpro.model.pharmacy import PharmacyEncounter

# Provenance is not content: the same claim read from another file or line is the same version.
# Nor are the amounts of rows repeating a pharmacy claim id (control totals only).
_PROVENANCE = frozenset({"file", "rows", "row_no", "repeated_charge", "repeated_paid"})


@functools.cache
def _flattener(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """Return a function turning a model dataclass into nested tuples of its content fields.

    Generated once per class from its type hints (as :mod:`dataclasses` generates
    ``__init__``), so flattening costs one call per nested object: it runs for
    every encounter of every run.
    """
    hints = typing.get_type_hints(cls)
    namespace: dict[str, Any] = {}
    items = []
    for n, f in enumerate(dataclasses.fields(cls)):
        if f.name in _PROVENANCE:
            continue
        hint = hints[f.name]
        inner = _dataclass_in(hint)
        member = _dataclass_in(typing.get_args(hint)[0]) if typing.get_origin(hint) is tuple else None
        if inner is not None:
            namespace[f"f{n}"] = _flattener(inner)
            items.append(f"(None if o.{f.name} is None else f{n}(o.{f.name}))")
        elif member is not None:
            namespace[f"f{n}"] = _flattener(member)
            items.append(f"tuple(map(f{n}, o.{f.name}))")
        elif _is(hint, dt.date):
            # Dates and decimals as text: their repr is several times slower than a string's.
            items.append(f"(None if o.{f.name} is None else o.{f.name}.isoformat())")
        elif _is(hint, Decimal):
            # Normalized: 1, 1.0 and 1.000 units are the same content (fixed-width pictures pad decimals).
            items.append(f"(None if o.{f.name} is None else format(o.{f.name}.normalize(), 'f'))")
        else:
            items.append(f"o.{f.name}")
    source = f"def flatten(o):\n    return ({', '.join(items)},)\n"
    exec(source, namespace)  # noqa: S102 - the source is built from the model's own field names
    return typing.cast(Callable[[Any], tuple[Any, ...]], namespace["flatten"])


def _alternatives(hint: Any) -> tuple[Any, ...]:
    """Return the members of a union hint (``X | None``), or the hint itself."""
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)


def _is(hint: Any, kind: type) -> bool:
    """Return True when a hint is ``kind`` or ``kind | None``."""
    return kind in _alternatives(hint)


def _dataclass_in(hint: Any) -> type | None:
    """Return the dataclass a hint names (``X`` or ``X | None``), else None."""
    for c in _alternatives(hint):
        if isinstance(c, type) and dataclasses.is_dataclass(c):
            return c
    return None


def content_hash(encounter: Encounter | PharmacyEncounter) -> str:
    """Return a stable hash of an encounter's content (values, not where they were read).

    The flattened values are str, int, bool and None (dates as ISO text, decimals
    as plain normalized text), whose ``repr`` is stable across runs and Python versions, so
    the hash of a claim read again from an unchanged extract, or of the same claim
    in another layout, is the same.
    """
    cls: type = type(encounter)
    text = f"{cls.__name__}{_flattener(cls)(encounter)!r}"
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
        self._last: tuple[object, str] | None = None
        self._versions: tuple[tuple[str, int], list[Earlier]] | None = None
        # The ledger's versions of the current batch's claims, read in one query.
        self._batch: tuple[frozenset[str], dict[str, list[PriorVersion]]] | None = None

    def prefetch(self, claim_ids: frozenset[str]) -> None:
        """Read the ledger's versions of a batch's claims in one query (again for the same set: free)."""
        if self._batch is not None and self._batch[0] is claim_ids:
            return
        self._batch = (claim_ids, self.ledger.versions_of(sorted(claim_ids)))

    def seen_in_batch(self) -> set[str]:
        """Return the prefetched batch's claim ids that have some earlier version (ledger, or maybe this run)."""
        if self._batch is None:
            return set()
        ids, found = self._batch
        return {c for c in ids if found.get(c) or self.journal.might_have(c)}

    def hash_of(self, encounter: Encounter | PharmacyEncounter) -> str:
        """Return the encounter's content hash, computed once however many rules ask."""
        if self._last is not None and self._last[0] is encounter:
            return self._last[1]
        value = content_hash(encounter)
        self._last = (encounter, value)
        return value

    def versions(self, claim_id: str) -> list[Earlier]:
        """Return every earlier written version of ``claim_id``, oldest first (cached until the journal grows)."""
        key = (claim_id, self.journal.added)
        if self._versions is not None and self._versions[0] == key:
            return self._versions[1]
        prior = None
        if self._batch is not None and claim_id in self._batch[0]:
            prior = self._batch[1].get(claim_id, [])
        out = [
            Earlier(
                v.content_hash,
                v.frequency,
                f"{v.file_name} (run {v.run_id}, {v.recorded_at[:10]})",
                v.status == REJECTED,
            )
            for v in (prior if prior is not None else self.ledger.versions(claim_id))
        ]
        if self.journal.might_have(claim_id):
            out += [Earlier(h, f, f"{o} (this run)", False) for h, f, o in self.journal.versions(claim_id)]
        self._versions = (key, out)
        return out

    def known(self, claim_id: str) -> bool:
        """Return True when some version of ``claim_id`` was written before (or earlier in this run)."""
        return bool(self.versions(claim_id))

    def rejected_in_run(self, claim_id: str) -> list[str]:
        """Return the error codes of this run's rejected versions of ``claim_id`` (empty: none)."""
        return self.journal.rejected(claim_id)

    def voided(self, original_claim_id: str) -> list[str]:
        """Return the claim ids of voids already written for ``original_claim_id``."""
        return [v.claim_id for v in self.ledger.voids_of(original_claim_id)] + self.journal.voids_of(original_claim_id)
