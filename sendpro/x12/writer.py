"""The 837 PACDR transaction writer shared by the professional, institutional and dental guides.

The writer streams: encounters are pushed one at a time and segments go straight
to the text stream it was given; nothing is buffered beyond the current claim.
It owns the envelope (ISA/GS/ST...SE/GE/IEA), the header (BHT, 1000A submitter,
1000B receiver) and the hierarchy (2000A billing provider, 2000B subscriber with
2010BA/2010BB); a :class:`ClaimWriter` for the claim's guide writes loop 2300 and
everything under it. A new 2000A opens whenever the billing provider changes, a
new ST whenever the profile's maximum claims per transaction is reached.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from sendpro.model.encounter import Address, Adjustment, Encounter, Provider
from sendpro.x12.envelope import (
    Clock,
    ControlNumbers,
    EnvelopeSettings,
    write_ge,
    write_gs,
    write_iea,
    write_isa,
)
from sendpro.x12.segments import SegmentWriter, amount, date8


@dataclass(frozen=True, slots=True)
class PacdrSettings:
    """Everything from the submission profile the 837 writers need."""

    envelope: EnvelopeSettings
    submitter_name: str
    submitter_id: str
    contact_name: str
    contact_phone: str
    receiver_name: str
    receiver_id: str
    data_receiver_entity: str
    data_receiver_name: str
    data_receiver_id_qualifier: str
    data_receiver_id: str
    payer_name: str
    payer_id_qualifier: str
    payer_id: str
    subscriber_responsibility: str = "P"
    subscriber_filing_code: str = "MC"
    payer_responsibility: str = "P"
    payer_filing_code: str = "MC"
    max_claims_per_transaction: int = 5000


@dataclass
class WriteSummary:
    """What a writer wrote: counts and control numbers (reconciliation re-reads the file)."""

    claim_type: str
    version: str
    interchange_control: int = 0
    group_control: int = 0
    transactions: int = 0
    claims: int = 0
    lines: int = 0
    segments: int = 0


class ClaimWriter(ABC):
    """Writes loop 2300 and below for one implementation guide."""

    claim_type: str
    version: str

    def __init__(self, w: SegmentWriter, settings: PacdrSettings) -> None:
        self.w = w
        self.s = settings

    @abstractmethod
    def write_claim(self, enc: Encounter) -> int:
        """Write one claim's 2300 loop and below; return the number of service lines."""

    # -- helpers shared by the guides ---------------------------------------------------
    def person(self, entity: str, p: Provider, qualifier: str = "XX") -> None:
        """Write an NM1 for a provider person (``NM102`` 1) or organization (2)."""
        kind = "2" if p.is_organization else "1"
        first = None if p.is_organization else p.first_name
        self.w.segment(
            "NM1",
            entity,
            kind,
            p.last_name,
            first,
            None,
            None,
            None,
            qualifier if p.npi else None,
            p.npi,
        )

    def address(self, a: Address | None) -> None:
        """Write N3/N4 when the address is complete enough to send."""
        if a is None or not a.present:
            return
        self.w.segment("N3", a.line)
        self.w.segment("N4", a.city, a.state, a.zip)

    def cas(self, adjustments: Iterable[Adjustment]) -> None:
        """Write CAS segments: one per group code, up to six reason/amount pairs each."""
        groups: dict[str, list[Adjustment]] = {}
        for adj in adjustments:
            if adj.group and adj.reason and adj.amount is not None:
                groups.setdefault(adj.group, []).append(adj)
        for group, items in groups.items():
            for start in range(0, len(items), 6):
                elements: list[str | None] = ["CAS", group]
                for adj in items[start : start + 6]:
                    elements += [adj.reason, amount(adj.amount or 0), None]
                self.w.segment(*elements)

    def payer_loops(self, enc: Encounter) -> None:
        """Write 2320 (the MCE's adjudication) with 2330A subscriber and 2330B payer."""
        h, m, s = enc.header, enc.member, self.s
        self.w.segment(
            "SBR",
            s.payer_responsibility,
            "18",
            None,
            None,
            None,
            "6",
            None,
            None,
            s.payer_filing_code,
        )
        self.cas(h.adjustments)
        self.w.segment("AMT", "D", amount(h.total_paid or 0))
        if h.patient_responsibility is not None:
            self.w.segment("AMT", "EAF", amount(h.patient_responsibility))
        self.w.segment("NM1", "IL", "1", m.last_name, m.first_name, None, None, None, "MI", m.member_id)
        self.w.segment("NM1", "PR", "2", s.payer_name, None, None, None, None, s.payer_id_qualifier, s.payer_id)
        if h.adjudication_date is not None:
            self.w.segment("DTP", "573", "D8", date8(h.adjudication_date))

    def service_dates(self, from_date: dt.date | None, to_date: dt.date | None) -> None:
        """Write DTP*472 as D8, or RD8 when the line spans several days."""
        if from_date is None:
            return
        if to_date is not None and to_date != from_date:
            self.w.segment("DTP", "472", "RD8", f"{date8(from_date)}-{date8(to_date)}")
        else:
            self.w.segment("DTP", "472", "D8", date8(from_date))


def _billing_key(enc: Encounter) -> tuple[object, ...]:
    b = enc.billing
    return (b.npi, b.last_name, b.tax_id, b.taxonomy, b.address)


class PacdrWriter:
    """Streams encounters of one claim type into one interchange (see the module docstring)."""

    def __init__(
        self,
        out: TextIO,
        claim_writer: type[ClaimWriter],
        settings: PacdrSettings,
        control: ControlNumbers,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.now = clock()
        self.w = SegmentWriter(out, settings.envelope.delimiters)
        self.claims = claim_writer(self.w, settings)
        self.summary = WriteSummary(self.claims.claim_type, self.claims.version)
        self._control = control
        self._isa = control.next_interchange()
        self._gs = control.next_group()
        self.summary.interchange_control = self._isa
        self.summary.group_control = self._gs
        self._st_open = False
        self._st_claims = 0
        self._hl = 0
        self._billing_hl = 0
        self._billing_key: tuple[object, ...] | None = None
        self._closed = False
        write_isa(self.w, settings.envelope, self._isa, self.now)
        write_gs(self.w, settings.envelope, self._gs, self.now, self.claims.version)

    # -- transaction set ----------------------------------------------------------------
    def _open_st(self) -> None:
        s = self.settings
        self.summary.transactions += 1
        self._st_control = f"{self._control.next_transaction():04d}"
        self.w.reset_count()
        self.w.segment("ST", "837", self._st_control, self.claims.version)
        self.w.segment(
            "BHT",
            "0019",
            "00",
            f"{self._isa:09d}{self._st_control}",
            self.now.strftime("%Y%m%d"),
            self.now.strftime("%H%M"),
            "RP",
        )
        self.w.segment("NM1", "41", "2", s.submitter_name, None, None, None, None, "46", s.submitter_id)
        self.w.segment("PER", "IC", s.contact_name, "TE", s.contact_phone)
        self.w.segment("NM1", "40", "2", s.receiver_name, None, None, None, None, "46", s.receiver_id)
        self._st_open = True
        self._st_claims = 0
        self._hl = 0
        self._billing_key = None

    def _close_st(self) -> None:
        self.w.segment("SE", str(self.w.count + 1), self._st_control)
        self._st_open = False

    # -- hierarchy ------------------------------------------------------------------------
    def _billing_provider(self, enc: Encounter) -> None:
        b = enc.billing
        self._hl += 1
        self._billing_hl = self._hl
        self.w.segment("HL", str(self._hl), None, "20", "1")
        if b.taxonomy:
            self.w.segment("PRV", "BI", "PXC", b.taxonomy)
        self.w.segment("NM1", "85", "2", b.last_name, None, None, None, None, "XX", b.npi)
        self.claims.address(b.address)
        self.w.segment("REF", "EI", b.tax_id)

    def _subscriber(self, enc: Encounter) -> None:
        s, m = self.settings, enc.member
        self._hl += 1
        self.w.segment("HL", str(self._hl), str(self._billing_hl), "22", "0")
        self.w.segment(
            "SBR",
            s.subscriber_responsibility,
            "18",
            None,
            None,
            None,
            None,
            None,
            None,
            s.subscriber_filing_code,
        )
        self.w.segment("NM1", "IL", "1", m.last_name, m.first_name, None, None, None, "MI", m.member_id)
        self.claims.address(m.address)
        if m.dob is not None:
            self.w.segment("DMG", "D8", date8(m.dob), m.gender)
        self.w.segment(
            "NM1",
            s.data_receiver_entity,
            "2",
            s.data_receiver_name,
            None,
            None,
            None,
            None,
            s.data_receiver_id_qualifier or None,
            s.data_receiver_id or None,
        )
        if enc.billing.pidsl:
            # MassHealth provider id + service location as the billing provider's
            # secondary id, where MassHealth's legacy 837P guide put it.
            self.w.segment("REF", "G2", enc.billing.pidsl)

    # -- public API -------------------------------------------------------------------------
    def write(self, enc: Encounter) -> str:
        """Write one encounter (it must have passed validation); return the ST02 it went into."""
        if self._closed:
            raise RuntimeError("writer is closed")
        if self._st_open and self._st_claims >= self.settings.max_claims_per_transaction:
            self._close_st()
        if not self._st_open:
            self._open_st()
        key = _billing_key(enc)
        if key != self._billing_key:
            self._billing_provider(enc)
            self._billing_key = key
        self._subscriber(enc)
        self.summary.lines += self.claims.write_claim(enc)
        self.summary.claims += 1
        self._st_claims += 1
        return self._st_control

    def close(self) -> WriteSummary:
        """Close the open transaction set and the envelope; return the summary."""
        if self._closed:
            return self.summary
        if self._st_open:
            self._close_st()
        write_ge(self.w, self.summary.transactions, self._gs)
        write_iea(self.w, 1, self._isa)
        self._closed = True
        self.summary.segments = self.w.total
        return self.summary
