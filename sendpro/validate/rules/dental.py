"""Dental record rules: CDT codes, tooth numbers, surfaces and oral cavity areas."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sendpro.model.encounter import Encounter
from sendpro.report.issue import Issue
from sendpro.validate.rule import RecordRule, Scope

_CDT = re.compile(r"^D[0-9]{4}$")
# Permanent teeth 1-32, primary teeth A-T, supernumerary permanent 51-82 and primary AS-TS.
_TOOTH = re.compile(r"^([1-9]|[12][0-9]|3[0-2]|[A-T]|5[1-9]|[67][0-9]|8[0-2]|[A-T]S)$")
SURFACES = frozenset("MODBLIF")
#: Oral cavity designation codes (X12 element 1361).
ORAL_CAVITY_AREAS = frozenset({"00", "01", "02", "09", "10", "20", "30", "40", "L", "R"})


class _Dental(RecordRule):
    claim_types = frozenset({"D"})
    scope = Scope.LINE


class CdtCode(_Dental):
    """A dental procedure code is not a CDT code (``D`` and four digits).

    Bad: ``procedure_code`` = ``99213`` on a dental line.
    Good: ``procedure_code`` = ``D0120``.
    """

    code = "SV020"
    name = "line.cdt_code"
    template = "procedure_code is not a CDT code (D and four digits)"

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check the CDT format of dental procedure codes."""
        if encounter.claim_type != "D":
            return
        for ln in encounter.lines:
            if ln.procedure_code is not None and not _CDT.match(ln.procedure_code):
                yield self.claim_issue(encounter, record_no=ln.row_no, line_no=ln.line_number, field="procedure_code")


class ToothNumber(_Dental):
    """A tooth number is not a valid universal tooth designation.

    Permanent teeth 1-32, primary teeth A-T, supernumerary teeth 51-82 and AS-TS.

    Bad: ``tooth_number`` = ``33`` or ``U``.
    Good: ``tooth_number`` = ``14``, ``K`` or ``AS``.
    """

    code = "SV021"
    name = "line.tooth_number"
    guard = True
    template = "tooth_number is not a tooth (1-32, A-T, 51-82, AS-TS)"

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check tooth numbers of dental lines."""
        if encounter.claim_type != "D":
            return
        for ln in encounter.lines:
            if ln.tooth_number is not None and not _TOOTH.match(ln.tooth_number):
                yield self.claim_issue(
                    encounter, record_no=ln.row_no, line_no=ln.line_number, field="tooth_number", value=ln.tooth_number
                )


class ToothSurfaces(_Dental):
    """Tooth surfaces hold an unknown or repeated letter, or come without a tooth number.

    Surfaces are M mesial, O occlusal, D distal, B buccal, L lingual, I incisal,
    F facial, each at most once (TOO03), and belong to a tooth.

    Bad: ``tooth_surfaces`` = ``MOM`` or ``MX``; surfaces with no ``tooth_number``.
    Good: ``tooth_number`` = ``14``, ``tooth_surfaces`` = ``MOD``.
    """

    code = "SV022"
    name = "line.tooth_surfaces"
    guard = True
    template = "tooth_surfaces {problem}"

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check the surface letters of dental lines."""
        if encounter.claim_type != "D":
            return
        for ln in encounter.lines:
            s = ln.tooth_surfaces
            if s is None:
                continue
            problem = None
            if set(s) - SURFACES:
                problem = "holds a letter that is not a surface (M, O, D, B, L, I, F)"
            elif len(set(s)) != len(s):
                problem = "repeats a surface"
            elif ln.tooth_number is None:
                problem = "are given without a tooth_number"
            if problem:
                yield self.claim_issue(
                    encounter, record_no=ln.row_no, line_no=ln.line_number, field="tooth_surfaces", problem=problem
                )


class OralCavityArea(_Dental):
    """An oral cavity area is not one of the X12 codes.

    Codes: 00 entire oral cavity, 01 maxillary arch, 02 mandibular arch, 09 other,
    10/20/30/40 upper right/upper left/lower left/lower right quadrant, L left, R right.

    Bad: ``oral_cavity_area`` = ``05``.
    Good: ``oral_cavity_area`` = ``10``.
    """

    code = "SV023"
    name = "line.oral_cavity_area"
    guard = True
    template = "oral_cavity_area is not an oral cavity code (00, 01, 02, 09, 10, 20, 30, 40, L, R)"

    def check(self, encounter: Encounter) -> Iterator[Issue]:
        """Check oral cavity designation codes of dental lines."""
        if encounter.claim_type != "D":
            return
        for ln in encounter.lines:
            if ln.oral_cavity_area is not None and ln.oral_cavity_area not in ORAL_CAVITY_AREAS:
                yield self.claim_issue(
                    encounter,
                    record_no=ln.row_no,
                    line_no=ln.line_number,
                    field="oral_cavity_area",
                    value=ln.oral_cavity_area,
                )


DENTAL_RULES: tuple[type[RecordRule], ...] = (CdtCode, ToothNumber, ToothSurfaces, OralCavityArea)
