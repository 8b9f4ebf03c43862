"""Control numbers allocated from the ledger: strictly increasing per sender, never reused."""

from __future__ import annotations

from sendpro.ledger.db import Ledger


class LedgerControlNumbers:
    """ISA13 / GS06 / ST02 (or an NCPDP batch number) reserved one by one in the ledger.

    Each reservation commits at once, so a run that dies after reserving burns
    its numbers; the next run continues above them.
    """

    def __init__(self, ledger: Ledger, sender: str, token: str, start: int | None = None) -> None:
        self.ledger = ledger
        self.sender = sender
        self.token = token
        # An explicit start applies to the first number of each kind this run takes.
        self._start = dict.fromkeys(("ISA13", "GS06"), start) if start else {}

    def _next(self, kind: str) -> int:
        return self.ledger.reserve(self.sender, kind, self.token, self._start.pop(kind, None))

    def next_interchange(self) -> int:
        """Reserve the next interchange control number (ISA13, or an NCPDP batch number)."""
        return self._next("ISA13")

    def next_group(self) -> int:
        """Reserve the next group control number (GS06)."""
        return self._next("GS06")

    def next_transaction(self) -> int:
        """Reserve the next transaction set control number (ST02)."""
        return self._next("ST02")
