"""Loop 2300 and below of the professional PACDR guide, 005010X298A1."""

from __future__ import annotations

from sendpro.model.encounter import Encounter, ServiceLine
from sendpro.x12.segments import amount, date8, decimal
from sendpro.x12.writer import ClaimWriter

#: GS08 / ST03 of the professional PACDR guide.
VERSION_837P = "005010X298A1"


class Claim837P(ClaimWriter):
    """Writes professional encounters: CLM, HI, 2310A/B/C, 2320/2330, 2400 SV1, 2430."""

    claim_type = "P"
    version = VERSION_837P

    def write_claim(self, enc: Encounter) -> int:
        """Write 2300 and below; return the number of service lines."""
        w, h = self.w, enc.header
        w.segment(
            "CLM",
            h.claim_id,
            amount(h.total_charge or 0),
            None,
            None,
            w.composite(h.place_of_service, "B", h.frequency),
        )
        if h.contract_type:
            w.segment("CN1", h.contract_type)
        if h.frequency in ("7", "8") and h.original_claim_id:
            w.segment("REF", "F8", h.original_claim_id)
        if h.diagnoses:
            codes = [w.composite("ABK" if i == 0 else "ABF", d.code) for i, d in enumerate(h.diagnoses[:12])]
            w.segment("HI", *codes)
        if enc.referring is not None:
            self.person("DN", enc.referring)
        if enc.rendering is not None:
            self.person("82", enc.rendering)
        f = enc.facility
        if f is not None and f.last_name and f.address is not None and f.address.present:
            self.person("77", f)
            self.address(f.address)
        self.payer_loops(enc)
        rendering_npi = enc.rendering.npi if enc.rendering else None
        for n, line in enumerate(enc.lines, start=1):
            self._line(enc, n, line, rendering_npi)
        return len(enc.lines)

    def _line(self, enc: Encounter, n: int, ln: ServiceLine, rendering_npi: str | None) -> None:
        w, h = self.w, enc.header
        w.segment("LX", str(n))
        procedure = w.composite("HC", ln.procedure_code, *ln.modifiers)
        pos = ln.place_of_service if ln.place_of_service and ln.place_of_service != h.place_of_service else None
        pointers = w.composite(*(str(p) for p in ln.dx_pointers))
        w.segment(
            "SV1",
            procedure,
            amount(ln.charge or 0),
            ln.unit_type,
            decimal(ln.units) if ln.units is not None else None,
            pos,
            None,
            pointers or None,
        )
        self.service_dates(ln.from_date, ln.to_date)
        if ln.ndc_code:
            w.segment("LIN", None, "N4", ln.ndc_code)
            if ln.ndc_quantity is not None and ln.ndc_unit:
                w.segment("CTP", None, None, None, decimal(ln.ndc_quantity), ln.ndc_unit)
        if ln.rendering_npi and ln.rendering_npi != rendering_npi:
            # mce-v1 carries only the line rendering NPI, not a name (see the X298A1 map difference).
            w.segment("NM1", "82", "1", None, None, None, None, None, "XX", ln.rendering_npi)
        units = decimal(ln.units) if ln.units is not None else None
        w.segment("SVD", self.s.payer_id, amount(ln.paid or 0), procedure, None, units)
        self.cas(ln.adjustments)
        if h.adjudication_date is not None:
            w.segment("DTP", "573", "D8", date8(h.adjudication_date))
