"""Rules that need the submission ledger: duplicates, and replacement/void chains.

They run only when the run has a ledger (``context.extra["history"]``). MassHealth
forbids duplicate billing and requires automated submitters never to submit a
transaction twice (MassHealth edit #13); replacements and voids must name an
original that was submitted before (edit #9).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import polars as pl

from sendpro.ledger.history import History
from sendpro.report.issue import Issue, Severity
from sendpro.validate.rule import RecordRule

_BOTH = frozenset({"medical", "pharmacy"})
_ADJUSTMENTS = ("7", "8")


class _LedgerRule(RecordRule):
    models: ClassVar[frozenset[str]] = _BOTH
    source = "MassHealth RPA policy (no duplicate transactions); MassHealth SENDPro (edits #9, #13)"
    ordered = True

    def concerns(self) -> pl.Expr | None:
        """Replacements and voids naming an original (the chain rules); nothing without a ledger."""
        if self.history() is None:
            return pl.lit(False)
        return (
            pl.col("claim_frequency").is_in(list(_ADJUSTMENTS)) & pl.col("original_claim_id").is_not_null()
        ).fill_null(False)

    def history(self) -> History | None:
        """Return the run's history (None without a ledger)."""
        assert self.context is not None
        history = self.context.extra.get("history")
        return history if isinstance(history, History) else None

    def begin_batch(self, claim_ids: frozenset[str]) -> None:
        """Read the ledger's versions of the batch's claims in one query."""
        history = self.history()
        if history is not None:
            history.prefetch(claim_ids)

    def adjustment(self, encounter: Any) -> tuple[History, str] | None:
        """Return (history, original claim id) for a replacement or void under a ledger, else None."""
        history = self.history()
        original = encounter.original_claim_id
        if history is None or encounter.frequency not in _ADJUSTMENTS or original is None:
            return None
        return history, str(original)


def _seen_before(history: History) -> pl.Expr:
    """Claims whose id has an earlier version: in the ledger, perhaps in this run, or earlier in this batch."""
    # A claim without an id is never checked (the checks return at once).
    known = pl.col("mce_claim_id").is_in(sorted(history.seen_in_batch()))
    again = pl.col("_claim_seq").n_unique().over("mce_claim_id") > 1
    return (known | again).fill_null(False)


class DuplicateSubmission(_LedgerRule):
    """This exact version of the claim was submitted before; it is skipped, not sent again.

    The claim is neither written nor rejected: the report names the earlier file.
    Pass ``--resubmit`` to send it again on purpose.

    Bad: converting the same extract twice with the same ledger.
    Good: each claim version submitted once; changes sent as replacements.
    """

    code = "CL050"
    name = "claim.duplicate_submission"
    severity = Severity.INFO
    skips = True
    template = "this version of the claim was already submitted in {where}; skipped (use --resubmit to send it again)"

    def concerns(self) -> pl.Expr | None:
        """Claims whose id has an earlier version (in the ledger, or perhaps earlier in this run)."""
        history = self.history()
        assert self.context is not None
        if history is None or self.context.extra.get("resubmit"):
            return pl.lit(False)
        return _seen_before(history)

    def check(self, encounter: Any) -> Iterator[Issue]:
        """Skip versions the ledger already holds."""
        history = self.history()
        assert self.context is not None
        if history is None or self.context.extra.get("resubmit") or encounter.claim_id is None:
            return
        h = history.hash_of(encounter)
        for earlier in history.versions(encounter.claim_id):
            if earlier.content_hash == h and not earlier.rejected:
                yield self.claim_issue(encounter, field="mce_claim_id", where=earlier.where)
                return


class ChangedOriginal(_LedgerRule):
    """A claim id already submitted comes again as an original with different content.

    A change to a submitted claim is a replacement: send it with
    ``claim_frequency`` 7 and ``original_claim_id`` naming the claim. (If
    MassHealth rejected every earlier version, a corrected original is fine.)

    Bad: claim C1 submitted, then C1 again with another paid amount and frequency 1.
    Good: a new claim id with frequency 7 and ``original_claim_id`` = C1.
    """

    code = "CL051"
    name = "claim.changed_original"
    template = (
        "claim id {claim} was already submitted with different content in {where}; send the change as a "
        "replacement (claim_frequency 7) naming it in original_claim_id"
    )

    def concerns(self) -> pl.Expr | None:
        """Claims whose id has an earlier version (in the ledger, or perhaps earlier in this run)."""
        history = self.history()
        if history is None:
            return pl.lit(False)
        return _seen_before(history)

    def check(self, encounter: Any) -> Iterator[Issue]:
        """Refuse changed originals under a submitted claim id."""
        history = self.history()
        if history is None or encounter.claim_id is None or encounter.frequency in _ADJUSTMENTS:
            return
        h = history.hash_of(encounter)
        earlier = [v for v in history.versions(encounter.claim_id) if not v.rejected]
        if earlier and all(v.content_hash != h for v in earlier):
            yield self.claim_issue(encounter, field="mce_claim_id", claim=encounter.claim_id, where=earlier[-1].where)


class UnknownOriginal(_LedgerRule):
    """A replacement or void names an original the ledger has never seen.

    The original may predate the ledger, so this is a warning; check the id.

    Bad: ``original_claim_id`` = a claim never submitted through this ledger.
    Good: the MCE claim id of a submitted claim.
    """

    code = "CL052"
    name = "claim.unknown_original"
    severity = Severity.WARNING
    template = "original claim {original} is not in the submission ledger (it may predate the ledger)"

    def check(self, encounter: Any) -> Iterator[Issue]:
        """Warn when the original of an adjustment is unknown."""
        found = self.adjustment(encounter)
        if found is None:
            return
        history, original = found
        if not history.known(original) and not history.rejected_in_run(original):
            yield self.claim_issue(encounter, field="original_claim_id", original=original)


class OriginalAlreadyVoided(_LedgerRule):
    """A replacement or void names an original that was already voided.

    Bad: a second void, or a replacement, of a claim whose void was submitted.
    Good: adjust a claim only while it stands; after a void, submit a new original.
    """

    code = "CL053"
    name = "claim.original_voided"
    template = "original claim {original} was already voided by {voids}"

    def check(self, encounter: Any) -> Iterator[Issue]:
        """Refuse adjustments of voided originals."""
        found = self.adjustment(encounter)
        if found is None:
            return
        history, original = found
        h = history.hash_of(encounter)
        if any(v.content_hash == h and not v.rejected for v in history.versions(encounter.claim_id or "")):
            return  # a resubmitted duplicate of the void itself: CL050's business
        voids = [v for v in history.voided(original) if v != encounter.claim_id]
        if voids:
            yield self.claim_issue(encounter, field="original_claim_id", original=original, voids=", ".join(voids))


class OriginalRejectedInRun(_LedgerRule):
    """A replacement or void names an original that this run rejected and never sent.

    MassHealth would reject the adjustment of a claim it does not hold. Fix the
    original's errors and re-run both (the rejects file holds the original; this
    claim goes to it too). An original submitted by an earlier run is fine.

    Bad: original C1 rejected for a bad NDC, and its reversal C2 in the same extract.
    Good: C1 corrected so that it is sent, then C2.
    """

    code = "CL054"
    name = "claim.original_rejected"
    template = "original claim {original} was rejected in this run ({codes}) and not sent; fix it and send both"

    def check(self, encounter: Any) -> Iterator[Issue]:
        """Hold back adjustments of originals this run rejected (unless an earlier run sent the original)."""
        found = self.adjustment(encounter)
        if found is None:
            return
        history, original = found
        codes = history.rejected_in_run(original)
        if codes and not history.known(original):
            shown = sorted({c for detail in codes for c in detail.split(",") if c}) or ["errors"]
            yield self.claim_issue(encounter, field="original_claim_id", original=original, codes=", ".join(shown))


LEDGER_RULES: tuple[type[RecordRule], ...] = (
    DuplicateSubmission,
    ChangedOriginal,
    UnknownOriginal,
    OriginalAlreadyVoided,
    OriginalRejectedInRun,
)
