"""Streaming NCPDP writer for both layout shapes (fixed records, Batch 1.2 / D.0).

Like the 837 writer it takes an open text stream and encounters pushed one at a
time; the header is written at once, the trailer (with its counts and total) on
:meth:`NcpdpWriter.close`. For batch files a cross-reference of transaction
reference numbers to MCE claim ids is written to a second stream.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.ncpdp.codec import ETX, GROUP_SEP, STX, encode_record, encode_segment
from sendpro.ncpdp.layout import NcpdpLayout, RecordRole
from sendpro.x12.envelope import Clock


@dataclass(frozen=True, slots=True)
class NcpdpSettings:
    """Envelope values from the submission profile's ``[ncpdp]`` table."""

    sender_id: str
    receiver_id: str
    file_type: str = "T"
    bin: str = ""
    pcn: str = ""
    software_id: str = ""


@dataclass
class NcpdpSummary:
    """What the writer wrote."""

    layout: str
    batch_number: int
    records: int = 0
    details: int = 0
    paid: int = 0
    charge: int = 0


class NcpdpWriter:
    """Writes pharmacy encounters through one NCPDP layout."""

    def __init__(
        self,
        out: TextIO,
        layout: NcpdpLayout,
        settings: NcpdpSettings,
        batch_number: int,
        clock: Clock,
        xref: TextIO | None = None,
    ) -> None:
        self.out = out
        self.layout = layout
        self.summary = NcpdpSummary(layout.name, batch_number)
        now = clock()
        self.context: dict[str, str] = {
            "sender_id": settings.sender_id,
            "receiver_id": settings.receiver_id,
            "file_type": settings.file_type,
            "bin": settings.bin,
            "pcn": settings.pcn,
            "software_id": settings.software_id,
            "batch_number": str(batch_number % 10_000_000),
            "creation_date": now.strftime("%Y%m%d"),
            "creation_time": now.strftime("%H%M"),
        }
        self._xref = csv.writer(xref, lineterminator="\n") if xref is not None else None
        if self._xref is not None:
            self._xref.writerow(
                ["transaction_reference", "mce_claim_id", "transaction_code", "claim_frequency", "input_row"]
            )
        self._paid_field = layout.totals["paid"]
        self._charge_field = layout.totals.get("charge")
        self._closed = False
        self._emit(encode_record(layout.record(RecordRole.HEADER), {}, self.context))

    def _emit(self, record: str) -> None:
        if self.layout.batch:
            self.out.write(STX + record + ETX + self.layout.record_separator)
        else:
            self.out.write(record + self.layout.record_separator)
        self.summary.records += 1

    def write(self, enc: PharmacyEncounter) -> str:
        """Write one encounter (it must have passed validation); return its record or transaction reference."""
        if self._closed:
            raise RuntimeError("writer is closed")
        values = enc.values()
        context = {**self.context, "transaction_code": self.layout.transaction_codes[enc.frequency or "1"]}
        detail = self.layout.record(RecordRole.DETAIL)
        self.summary.details += 1
        if self.layout.batch:
            reference = f"{self.summary.details:0{self.layout.reference_length}d}"
            body = encode_record(detail, values, context) + self._segments(values, context)
            self._emit(detail.type + reference + body)
            if self._xref is not None:
                self._xref.writerow([reference, enc.claim_id, context["transaction_code"], enc.frequency, enc.row_no])
        else:
            self._emit(encode_record(detail, values, context))
        self.summary.paid += _cents(values.get(self._paid_field))
        if self._charge_field:
            self.summary.charge += _cents(values.get(self._charge_field))
        if self.layout.batch:
            return f"{self.summary.details:0{self.layout.reference_length}d}"
        return str(self.summary.details)

    def _segments(self, values: Mapping[str, object], context: Mapping[str, str]) -> str:
        transaction = [encode_segment(s, values, context) for s in self.layout.segments if s.level == "transaction"]
        claim = [encode_segment(s, values, context) for s in self.layout.segments if s.level == "claim"]
        return "".join(transaction) + (GROUP_SEP + "".join(claim) if claim else "")

    def close(self) -> NcpdpSummary:
        """Write the trailer and return the summary."""
        if self._closed:
            return self.summary
        self._closed = True
        context = {
            **self.context,
            "record_count": str(self.summary.records + 1),
            "detail_count": str(self.summary.details),
            "total_amount_paid": str(Decimal(self.summary.paid).scaleb(-2)),
        }
        self._emit(encode_record(self.layout.record(RecordRole.TRAILER), {}, context))
        return self.summary


def _cents(value: object) -> int:
    return int(Decimal(str(value)).scaleb(2)) if value is not None else 0
