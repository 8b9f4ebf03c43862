"""Loop 2300 and below of the dental PACDR guide, 005010X300A1."""

from __future__ import annotations

from sendpro.model.encounter import Encounter, ServiceLine
from sendpro.x12.segments import amount, date8, decimal
from sendpro.x12.writer import ClaimWriter

#: GS08 / ST03 of the dental PACDR guide.
VERSION_837D = "005010X300A1"


class Claim837D(ClaimWriter):
    """Writes dental encounters: CLM, HI, 2310A/B/C, 2320/2330, 2400 SV3 + TOO, 2430."""

    claim_type = "D"
    version = VERSION_837D

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
            w.segment("HI", *(w.composite("ABK" if i == 0 else "ABF", d.code) for i, d in enumerate(h.diagnoses[:12])))
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
        procedure = w.composite("AD", ln.procedure_code, *ln.modifiers)
        units = decimal(ln.units) if ln.units is not None else None
        pointers = w.composite(*(str(p) for p in ln.dx_pointers)) if ln.dx_pointers else None
        w.segment(
            "SV3",
            procedure,
            amount(ln.charge or 0),
            None,
            ln.oral_cavity_area,
            None,
            units,
            None,
            None,
            None,
            None,
            pointers,
        )
        if ln.tooth_number:
            surfaces = w.composite(*ln.tooth_surfaces) if ln.tooth_surfaces else None
            w.segment("TOO", "JP", ln.tooth_number, surfaces)
        self.service_dates(ln.from_date, ln.to_date)
        if ln.rendering_npi and ln.rendering_npi != rendering_npi:
            w.segment("NM1", "82", "1", None, None, None, None, None, "XX", ln.rendering_npi)
        # SVD05 (paid units) is required; a dental line without a count is one procedure.
        w.segment("SVD", self.s.payer_id, amount(ln.paid or 0), procedure, None, units or "1")
        self.cas(ln.adjustments)
        if h.adjudication_date is not None:
            w.segment("DTP", "573", "D8", date8(h.adjudication_date))
