"""Read acknowledgments: TA1, 999 (005010X231A1) and 277 claim acknowledgments (005010X214, 005010X364).

:func:`iter_ack` streams a file and yields one item per acknowledged thing, in
file order: the interchange header it came in, each TA1, each 999 functional
group response (with its transaction set responses), each 277 claim status and
each 277 batch total. Memory holds one functional group response or one claim
at a time, so a 277 for a million encounters reads in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sendpro.x12.ackcodes import (
    CLAIM_ACCEPTED,
    CLAIM_CATEGORIES,
    CLAIM_RECEIVED,
    CLAIM_REJECTED,
    ELEMENT_CODES,
    INTERCHANGE_NOTES,
    SEGMENT_CODES,
    TRANSACTION_ACCEPTED,
    TRANSACTION_ERRORS,
)
from sendpro.x12.scan import iter_segments

#: 277 hierarchical levels (HL03) that carry one claim: patient, or subscriber/dependent.
_CLAIM_LEVELS = frozenset({"PT", "22", "23"})


@dataclass(frozen=True, slots=True)
class AckInterchange:
    """The envelope an acknowledgment came in; ``receiver`` is the submitter it answers."""

    sender: str  # "X12:<ISA05>:<ISA06>" of the acknowledging party
    receiver: str  # "X12:<ISA07>:<ISA08>": the submitter's sender key
    control: str
    date: str
    usage: str


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """A TA1: the acknowledged interchange (ISA13) and its verdict."""

    isa13: int
    code: str  # A, E or R
    note: str

    @property
    def accepted(self) -> bool:
        """Return True unless the interchange was rejected."""
        return self.code != "R"

    def describe(self) -> str:
        """Return a readable verdict."""
        return f"TA1 {self.code}: {INTERCHANGE_NOTES.get(self.note, 'note ' + self.note)}"


@dataclass
class TransactionAck:
    """A 999 AK2 loop: one acknowledged transaction set (ST02) and its errors."""

    st01: str
    st02: str
    code: str = ""
    errors: list[str] = field(default_factory=list)
    #: Errors inside a claim (a business-unit CTX named its CLM01).
    claim_errors: dict[str, list[str]] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)  # IK502-IK506

    @property
    def accepted(self) -> bool:
        """Return True when the transaction set was accepted (IK501 A or E)."""
        return self.code in TRANSACTION_ACCEPTED

    def describe(self) -> str:
        """Return a readable summary of why the transaction set was rejected."""
        reasons = [TRANSACTION_ERRORS.get(c, f"code {c}") for c in self.codes]
        return "; ".join([*reasons, *self.errors[:5]]) + (
            f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        )


@dataclass
class GroupAck:
    """A 999 response to one functional group (AK1 ... AK9)."""

    functional_id: str
    gs06: int
    version: str
    transactions: list[TransactionAck] = field(default_factory=list)
    code: str = ""
    included: int = 0
    received: int = 0
    accepted: int = 0
    codes: list[str] = field(default_factory=list)


@dataclass
class ClaimAck:
    """One claim's status in a 277 claim acknowledgment."""

    version: str
    claim_id: str = ""
    #: STC01 / STC10 / STC11 composites as (category, status code, entity).
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    action: str = ""
    amount: int | None = None  # STC04 in cents: the claim's total charge
    payer_claim_id: str | None = None
    line_statuses: list[str] = field(default_factory=list)
    trace: str | None = None  # the batch trace (2200B TRN02) it came under

    @property
    def outcome(self) -> str | None:
        """Return ``rejected``, ``accepted``, ``acknowledged`` or None (no usable status)."""
        categories = {c for c, _, _ in self.statuses}
        if categories & CLAIM_REJECTED:
            return "rejected"
        if categories & CLAIM_ACCEPTED:
            return "accepted"
        if categories & CLAIM_RECEIVED:
            return "acknowledged"
        return None

    def describe(self) -> str:
        """Return the statuses as readable text: ``A7:21 rejected for invalid information``."""
        parts = []
        for category, status, entity in self.statuses:
            code = ":".join(p for p in (category, status, entity) if p)
            parts.append(f"{code} {CLAIM_CATEGORIES.get(category, 'category ' + category)}")
        parts += self.line_statuses[:5]
        return "; ".join(parts)


@dataclass
class BatchTotals:
    """A 277's control totals for one information receiver (2200B QTY/AMT)."""

    version: str
    trace: str | None = None
    accepted: int | None = None
    rejected: int | None = None
    accepted_amount: int | None = None
    rejected_amount: int | None = None


AckItem = AckInterchange | InterchangeAck | GroupAck | ClaimAck | BatchTotals


def _cents(text: str) -> int | None:
    try:
        return int(Decimal(text) * 100)
    except (InvalidOperation, ValueError):
        return None


def _int(text: str) -> int | None:
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _get(el: list[str], i: int) -> str:
    return el[i].strip() if len(el) > i else ""


class _Reader:
    """The state machine behind :func:`iter_ack`."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.version = ""
        self.st01 = ""
        self.group: GroupAck | None = None
        self.transaction: TransactionAck | None = None
        self.segment_error: str | None = None
        self.segment_claim: str | None = None
        self.claim: ClaimAck | None = None
        self.totals: BatchTotals | None = None
        self.level = ""
        self.trace: str | None = None
        self.in_line = False

    def feed(self, el: list[str]) -> Iterator[AckItem]:
        seg = el[0]
        if seg == "ISA":
            yield AckInterchange(
                f"X12:{_get(el, 5)}:{_get(el, 6)}",
                f"X12:{_get(el, 7)}:{_get(el, 8)}",
                _get(el, 13),
                _get(el, 9),
                _get(el, 15),
            )
        elif seg == "TA1":
            number = _int(_get(el, 1))
            if number is not None:
                yield InterchangeAck(number, _get(el, 4), _get(el, 5))
        elif seg == "ST":
            self.st01, self.version = _get(el, 1), _get(el, 3)
            self.level, self.trace = "", None
        elif seg == "SE":
            yield from self._flush_277()
        elif self.st01 == "999":
            yield from self._feed_999(seg, el)
        elif self.st01 == "277":
            yield from self._feed_277(seg, el)

    # -- 999 ---------------------------------------------------------------------------------
    def _feed_999(self, seg: str, el: list[str]) -> Iterator[AckItem]:
        if seg == "AK1":
            self.group = GroupAck(_get(el, 1), _int(_get(el, 2)) or 0, _get(el, 3))
        elif seg == "AK2" and self.group is not None:
            self.transaction = TransactionAck(_get(el, 1), _get(el, 2))
            self.group.transactions.append(self.transaction)
        elif seg == "IK3" and self.transaction is not None:
            self._close_segment_error()
            where = f"segment {_get(el, 1)} #{_get(el, 2)}" + (f" (loop {_get(el, 3)})" if _get(el, 3) else "")
            code = _get(el, 4)
            self.segment_error = f"{where}: {SEGMENT_CODES.get(code, 'code ' + code)}"
            self.segment_claim = None
        elif seg == "CTX" and self.segment_error is not None:
            name, _, value = _get(el, 1).partition(self.component)
            if name == "CLM01" and value:
                self.segment_claim = value
        elif seg == "IK4" and self.segment_error is not None:
            position = _get(el, 1).replace(self.component, ".")
            code = _get(el, 3)
            self.segment_error += f"; element {position} ({_get(el, 2)}): {ELEMENT_CODES.get(code, 'code ' + code)}"
        elif seg == "IK5" and self.transaction is not None:
            self._close_segment_error()
            self.transaction.code = _get(el, 1)
            self.transaction.codes = [c for c in (_get(el, i) for i in range(2, 7)) if c]
        elif seg == "AK9" and self.group is not None:
            self._close_segment_error()
            self.group.code = _get(el, 1)
            self.group.included = _int(_get(el, 2)) or 0
            self.group.received = _int(_get(el, 3)) or 0
            self.group.accepted = _int(_get(el, 4)) or 0
            self.group.codes = [c for c in (_get(el, i) for i in range(5, 10)) if c]
            yield self.group
            self.group = self.transaction = None

    def _close_segment_error(self) -> None:
        if self.segment_error is None or self.transaction is None:
            return
        self.transaction.errors.append(self.segment_error)
        if self.segment_claim is not None:
            self.transaction.claim_errors.setdefault(self.segment_claim, []).append(self.segment_error)
        self.segment_error = self.segment_claim = None

    # -- 277 ---------------------------------------------------------------------------------
    def _feed_277(self, seg: str, el: list[str]) -> Iterator[AckItem]:
        if seg == "HL":
            yield from self._flush_277()
            self.level = _get(el, 3)
            self.in_line = False
            if self.level in _CLAIM_LEVELS:
                self.claim = ClaimAck(self.version, trace=self.trace)
            elif self.level == "21":
                self.totals = BatchTotals(self.version)
            return
        if seg == "TRN" and _get(el, 1) == "2":
            if self.claim is not None:
                self.claim.claim_id = _get(el, 2)
            elif self.totals is not None:
                self.trace = self.totals.trace = _get(el, 2)
        elif seg == "STC" and self.claim is not None:
            statuses = [self._status(_get(el, i)) for i in (1, 10, 11) if _get(el, i)]
            if self.in_line:
                codes = ", ".join(":".join(p for p in s if p) for s in statuses)
                self.claim.line_statuses.append(f"line {len(self.claim.line_statuses) + 1}: {codes}")
            else:
                self.claim.statuses += statuses
                self.claim.action = self.claim.action or _get(el, 3)
                if self.claim.amount is None and _get(el, 4):
                    self.claim.amount = _cents(_get(el, 4))
        elif seg == "REF" and self.claim is not None and _get(el, 1) == "1K":
            self.claim.payer_claim_id = _get(el, 2)
        elif seg == "SVC":
            self.in_line = True
        elif seg == "QTY" and self.totals is not None and self.claim is None:
            if _get(el, 1) == "90":
                self.totals.accepted = _int(_get(el, 2))
            elif _get(el, 1) == "AA":
                self.totals.rejected = _int(_get(el, 2))
        elif seg == "AMT" and self.totals is not None and self.claim is None:
            if _get(el, 1) == "YU":
                self.totals.accepted_amount = _cents(_get(el, 2))
            elif _get(el, 1) == "YY":
                self.totals.rejected_amount = _cents(_get(el, 2))

    def _status(self, composite: str) -> tuple[str, str, str]:
        parts = [*composite.split(self.component), "", ""]
        return parts[0], parts[1], parts[2]

    def _flush_277(self) -> Iterator[AckItem]:
        if self.claim is not None:
            if self.claim.claim_id:
                yield self.claim
            self.claim = None
        if self.totals is not None:
            yield self.totals
            self.totals = None


def iter_ack(path: Path) -> Iterator[AckItem]:
    """Yield what an acknowledgment file says, item by item (see the module docstring).

    Raises:
        ValueError: the file is not X12.
    """
    with path.open("rb") as handle:
        head = handle.read(106)
    if len(head) < 106 or not head.startswith(b"ISA"):
        raise ValueError(f"{path.name} is not an X12 file (it does not start with ISA)")
    reader = _Reader(chr(head[104]))
    for _, el in iter_segments(path):
        yield from reader.feed(el)
    yield from reader._flush_277()
