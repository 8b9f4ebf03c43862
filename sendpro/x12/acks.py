"""Read acknowledgments: TA1, 999 (005010X231A1) and 277 claim acknowledgments (005010X214, 005010X364).

:func:`iter_ack` streams a file and yields one item per acknowledged thing, in
file order: the interchange header it came in, each TA1, each 999 functional
group response (with its transaction set responses), each 277 claim status and
each 277 batch total. Memory holds one functional group response or one claim
at a time, so a 277 for a million encounters reads in bounded memory.

The envelope is checked on the way (:class:`_Envelope`): every ST closed by its
SE, GS by its GE and ISA by its IEA, with matching counts and control numbers,
and the last segment terminated. A file that fails is cut short or damaged and
:class:`AckFileError` is raised, possibly after items were yielded: a consumer
applies them in one transaction and rolls it back on the error.
"""

from __future__ import annotations

import re
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


class AckFileError(ValueError):
    """The file cannot be taken as an acknowledgment: not X12, or its envelope is cut short or inconsistent.

    The message is the reason only; the caller names the file.
    """


#: X12 numbers have at most 18 digits (R and N0 elements): a larger one is a damaged file,
#: not a count or an amount (and would not fit the ledger's integers).
_LARGEST = 10**18


def _plausible(value: int) -> int:
    if abs(value) >= _LARGEST:
        raise AckFileError("a number has more digits than X12 allows (18): the file is damaged")
    return value


def _cents(text: str) -> int | None:
    try:
        cents = int(Decimal(text) * 100)
    except (InvalidOperation, ValueError, OverflowError):
        return None
    _plausible(cents // 100)
    return cents


def _int(text: str) -> int | None:
    try:
        value = int(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return _plausible(value)


def _get(el: list[str], i: int) -> str:
    return el[i].strip() if len(el) > i else ""


def _count(text: str) -> int | None:
    """Return an envelope count (SE01, GE01, IEA01): digits only, unlike amounts."""
    return _plausible(int(text)) if text.isdigit() else None


#: An X12 segment id: two or three upper-case letters or digits.
_SEGMENT_ID = re.compile(r"[A-Z0-9]{2,3}")


class _Envelope:
    """Check ISA/IEA, GS/GE and ST/SE as the segments go by (see the module docstring).

    A file cut short ends inside an envelope, or in a trailer whose count or
    control number no longer agrees; either way the whole file is refused, since
    the part that did arrive cannot be told from the whole.
    """

    def __init__(self) -> None:
        self.isa13: str | None = None  # the open interchange
        self.groups = 0
        self.gs06: str | None = None  # the open functional group
        self.transactions = 0
        self.st02: str | None = None  # the open transaction set
        self.st_at = 0  # its ST's segment number
        self.last = (0, "")  # the last segment seen: number, id

    def _inside(self) -> str:
        """Name the innermost open envelope, for messages."""
        if self.st02 is not None:
            return f"transaction set {self.st02}"
        if self.gs06 is not None:
            return f"functional group {self.gs06}"
        return f"interchange {self.isa13}"

    def _misplaced(self, number: int, seg: str, closer: str) -> AckFileError:
        return AckFileError(f"segment {number} ({seg}) comes inside {self._inside()}, which has no {closer} before it")

    @staticmethod
    def _agree(number: int, seg: str, said: str, counted: int, what: str) -> None:
        if _count(said) != counted:
            said_text = f"says {said} {what}" if _count(said) is not None else "is not a number"
            raise AckFileError(
                f"segment {number} ({seg}): {seg}01 {said_text}, the file holds {counted}: it is damaged or cut short"
            )

    @staticmethod
    def _same(number: int, seg: str, element: str, value: str, opener: str, expected: str) -> None:
        # Numbers compare as numbers: a sender that pads GE02 unlike GS06 is not cut short, while a
        # control number cut mid-way always changes its value (control numbers start at 1).
        if _count(value) is not None and _count(value) == _count(expected):
            return
        if value != expected:
            raise AckFileError(
                f"segment {number} ({seg}): {element} {value or '(empty)'} does not match {opener} {expected}: "
                "it is damaged or cut short"
            )

    def feed(self, number: int, el: list[str]) -> None:
        """Check one segment's place in the envelope.

        Raises:
            AckFileError: the segment is out of place, or a trailer disagrees with what it closes.
        """
        seg = el[0]
        if not _SEGMENT_ID.fullmatch(seg):
            # An empty segment, or text where an id should be: pyx12 stops reading there.
            raise AckFileError(f"segment {number} has no segment id: the file is damaged")
        self.last = (number, seg)
        if seg == "ISA":
            if self.isa13 is not None:
                raise self._misplaced(number, seg, "SE" if self.st02 else "GE" if self.gs06 else "IEA")
            self.isa13, self.groups = _get(el, 13), 0
            return
        if self.isa13 is None:
            raise AckFileError(f"segment {number} ({seg}) comes after the IEA: only an ISA may follow an interchange")
        if seg == "ST":
            if self.st02 is not None:
                raise self._misplaced(number, seg, "SE")
            if self.gs06 is None:
                raise AckFileError(f"segment {number} (ST) comes outside a functional group (no GS before it)")
            self.st02, self.st_at = _get(el, 2), number
            self.transactions += 1
        elif seg == "SE":
            if self.st02 is None:
                raise AckFileError(f"segment {number} (SE) closes no transaction set (no ST before it)")
            self._agree(number, seg, _get(el, 1), number - self.st_at + 1, "segments")
            self._same(number, seg, "SE02", _get(el, 2), "ST02", self.st02)
            self.st02 = None
        elif seg == "GS":
            if self.gs06 is not None:
                raise self._misplaced(number, seg, "SE" if self.st02 else "GE")
            self.gs06, self.transactions = _get(el, 6), 0
            self.groups += 1
        elif seg == "GE":
            if self.st02 is not None:
                raise self._misplaced(number, seg, "SE")
            if self.gs06 is None:
                raise AckFileError(f"segment {number} (GE) closes no functional group (no GS before it)")
            self._agree(number, seg, _get(el, 1), self.transactions, "transaction sets")
            self._same(number, seg, "GE02", _get(el, 2), "GS06", self.gs06)
            self.gs06 = None
        elif seg == "IEA":
            if self.gs06 is not None:
                raise self._misplaced(number, seg, "SE" if self.st02 else "GE")
            self._agree(number, seg, _get(el, 1), self.groups, "functional groups")
            self._same(number, seg, "IEA02", _get(el, 2), "ISA13", self.isa13)
            self.isa13 = None
        elif self.st02 is None and not (seg == "TA1" and self.gs06 is None):
            # Only a TA1 may stand between the ISA and the first GS; nothing stands between ST sets.
            raise AckFileError(f"segment {number} ({seg}) comes outside a transaction set")

    def finish(self, terminated: bool) -> None:
        """Check the file did not end inside an envelope, or inside its last segment.

        Raises:
            AckFileError: the file is cut short.
        """
        number, seg = self.last
        if self.isa13 is not None:
            closers = "SE, GE and IEA" if self.st02 else "GE and IEA" if self.gs06 else "IEA"
            raise AckFileError(
                f"the file ends inside {self._inside()} after segment {number} ({seg}), with no {closers}: "
                "it is cut short"
            )
        if not terminated:
            raise AckFileError(f"its last segment {number} ({seg}) has no segment terminator: it is cut short")


def _ends_with(path: Path, terminator: bytes) -> bool:
    """Return True when the file's last character other than white space is ``terminator``."""
    if terminator.isspace():
        return True  # a line-break terminator cannot be told from the white space after it
    with path.open("rb") as handle:
        end = handle.seek(0, 2)
        while end > 0:
            start = max(0, end - 4096)
            handle.seek(start)
            tail = handle.read(end - start).rstrip()
            if tail:
                return tail.endswith(terminator)
            end = start
    return False


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
        AckFileError: the file is not X12, or it is cut short or its envelope is
            inconsistent; raised when found, so possibly after items were yielded.
    """
    with path.open("rb") as handle:
        head = handle.read(106)
    if not head.strip():
        raise AckFileError("the file is empty")
    if not head.startswith(b"ISA"):
        raise AckFileError("not an X12 file (it does not start with ISA)")
    if len(head) < 106:
        raise AckFileError(f"the ISA segment is cut short ({len(head)} of 106 characters)")
    reader = _Reader(chr(head[104]))
    envelope = _Envelope()
    for number, el in iter_segments(path):
        envelope.feed(number, el)
        yield from reader.feed(el)
    # Every claim and total was yielded at its SE, which the envelope check requires.
    envelope.finish(_ends_with(path, head[105:106]))
