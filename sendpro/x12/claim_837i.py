"""Loop 2300 and below of the institutional PACDR guide, 005010X299A1."""

from __future__ import annotations

from sendpro.model.encounter import Encounter, ServiceLine
from sendpro.x12.segments import amount, date8, decimal
from sendpro.x12.writer import ClaimWriter

#: GS08 / ST03 of the institutional PACDR guide.
VERSION_837I = "005010X299A1"

# HI composites carry the present-on-admission indicator in their ninth component.
_POA_GAP = (None,) * 6


class Claim837I(ClaimWriter):
    """Writes institutional encounters: CLM, DTP 096/434/435, CL1, HI, 2310A/E/F, 2320/2330, 2400 SV2, 2430."""

    claim_type = "I"
    version = VERSION_837I

    def write_claim(self, enc: Encounter) -> int:
        """Write 2300 and below; return the number of service lines."""
        w, h = self.w, enc.header
        facility_type = h.type_of_bill[:2] if h.type_of_bill else None
        w.segment(
            "CLM", h.claim_id, amount(h.total_charge or 0), None, None, w.composite(facility_type, "A", h.frequency)
        )
        if h.discharge_hour:
            w.segment("DTP", "096", "TM", h.discharge_hour)
        if h.statement_from is not None:
            to = h.statement_to or h.statement_from
            w.segment("DTP", "434", "RD8", f"{date8(h.statement_from)}-{date8(to)}")
        if h.admission_date is not None:
            if h.admission_hour:
                w.segment("DTP", "435", "DT", date8(h.admission_date) + h.admission_hour)
            else:
                w.segment("DTP", "435", "D8", date8(h.admission_date))
        w.segment("CL1", h.admission_type, h.admission_source, h.patient_status)
        if h.contract_type:
            w.segment("CN1", h.contract_type)
        if h.frequency in ("7", "8") and h.original_claim_id:
            w.segment("REF", "F8", h.original_claim_id)
        self._diagnoses(enc)
        if enc.attending is not None:
            self.person("71", enc.attending)
        f = enc.facility
        if f is not None and f.last_name and f.address is not None and f.address.present:
            self.person("77", f)
            self.address(f.address)
        if enc.referring is not None:
            self.person("DN", enc.referring)
        self.payer_loops(enc)
        for n, line in enumerate(enc.lines, start=1):
            self._line(enc, n, line)
        return len(enc.lines)

    def _diagnoses(self, enc: Encounter) -> None:
        """HI segments in guide order: principal, admitting, DRG, others, procedures."""
        w, h = self.w, enc.header
        if not h.diagnoses:
            return
        principal, others = h.diagnoses[0], h.diagnoses[1:]
        w.segment("HI", w.composite("ABK", principal.code, *_POA_GAP, principal.poa))
        if h.admitting_dx:
            w.segment("HI", w.composite("ABJ", h.admitting_dx))
        if h.drg_code:
            w.segment("HI", w.composite("DR", h.drg_code))
        if others:
            w.segment("HI", *(w.composite("ABF", d.code, *_POA_GAP, d.poa) for d in others[:12]))
        procedures = [p for p in h.procedures if p.code]
        if procedures:
            first, rest = procedures[0], procedures[1:]
            w.segment(
                "HI",
                w.composite("BBR", first.code, "D8" if first.date else None, date8(first.date) if first.date else None),
            )
            if rest:
                w.segment(
                    "HI",
                    *(
                        w.composite("BBQ", p.code, "D8" if p.date else None, date8(p.date) if p.date else None)
                        for p in rest[:12]
                    ),
                )

    def _line(self, enc: Encounter, n: int, ln: ServiceLine) -> None:
        w, h = self.w, enc.header
        w.segment("LX", str(n))
        procedure = w.composite("HC", ln.procedure_code, *ln.modifiers) if ln.procedure_code else None
        units = decimal(ln.units) if ln.units is not None else None
        w.segment("SV2", ln.revenue_code, procedure, amount(ln.charge or 0), ln.unit_type, units)
        if ln.from_date is not None:
            self.service_dates(ln.from_date, ln.to_date)
        if ln.ndc_code:
            w.segment("LIN", None, "N4", ln.ndc_code)
            if ln.ndc_quantity is not None and ln.ndc_unit:
                w.segment("CTP", None, None, None, decimal(ln.ndc_quantity), ln.ndc_unit)
        w.segment("SVD", self.s.payer_id, amount(ln.paid or 0), procedure, ln.revenue_code, units)
        self.cas(ln.adjustments)
        if h.adjudication_date is not None:
            w.segment("DTP", "573", "D8", date8(h.adjudication_date))
