"""Dental record rules: CDT codes, tooth numbers, surfaces and oral cavity areas."""

from __future__ import annotations

import re
from collections.abc import Iterator

import polars as pl

from sendpro.model.encounter import Encounter
from sendpro.report.issue import Issue
from sendpro.validate.rule import RecordRule, Scope
from sendpro.validate.rules._line_exprs import claim_type_is, is_line

_CDT = re.compile(r"^D[0-9]{4}$")
# Permanent teeth 1-32, primary teeth A-T, supernumerary permanent 51-82 and primary AS-TS.
_TOOTH = re.compile(r"^([1-9]|[12][0-9]|3[0-2]|[A-T]|5[1-9]|[67][0-9]|8[0-2]|[A-T]S)$")
SURFACES = frozenset("MODBLIF")
#: Oral cavity designation codes (X12 element 1361).
ORAL_CAVITY_AREAS = frozenset({"00", "01", "02", "09", "10", "20", "30", "40", "L", "R"})


def dental_line(condition: pl.Expr) -> pl.Expr:
    """Return True on the lines of dental claims where ``condition`` (on the line's values) holds."""
    return (is_line() & claim_type_is("D") & condition).fill_null(False)


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

    def concerns(self) -> pl.Expr | None:
        """Dental lines whose procedure code is not D and four digits."""
        code = pl.col("procedure_code")
        return dental_line(code.is_not_null() & ~code.str.contains(_CDT.pattern))

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

    def concerns(self) -> pl.Expr | None:
        """Dental lines whose tooth number is not a universal tooth designation."""
        tooth = pl.col("tooth_number")
        return dental_line(tooth.is_not_null() & ~tooth.str.contains(_TOOTH.pattern))

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

    def concerns(self) -> pl.Expr | None:
        """Dental lines whose surfaces hold a non-surface or repeated letter, or have no tooth number."""
        s = pl.col("tooth_surfaces")
        unknown = s.str.contains(f"[^{''.join(sorted(SURFACES))}]")
        repeated = pl.any_horizontal(*(s.str.count_matches(letter, literal=True) > 1 for letter in sorted(SURFACES)))
        return dental_line(s.is_not_null() & (unknown | repeated | pl.col("tooth_number").is_null()))

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

    def concerns(self) -> pl.Expr | None:
        """Dental lines whose oral cavity area is not an X12 oral cavity code."""
        area = pl.col("oral_cavity_area")
        return dental_line(area.is_not_null() & ~area.is_in(sorted(ORAL_CAVITY_AREAS)))

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
