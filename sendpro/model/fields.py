"""The encounter field catalogue: every model field, its format and its usage per claim type.

This is the contract of ``input-layout.md`` turned into data. Layouts map their
columns or positions onto these names; the typing stage validates and converts
values by :class:`Kind`; the required / not-used rules read :attr:`FieldDef.usage`.
A layout naming a field that is not here fails to load.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

#: Claim types of the medical/dental layout: professional, institutional, dental.
CLAIM_TYPES: tuple[str, ...] = ("P", "I", "D")

CLAIM_TYPE_NAMES: Mapping[str, str] = MappingProxyType({"P": "professional", "I": "institutional", "D": "dental"})


class Level(StrEnum):
    """Whether a field is repeated on every line row (claim) or belongs to one line."""

    CLAIM = "claim"
    LINE = "line"


class Usage(StrEnum):
    """Usage of a field for one claim type, as in the layout spec's R/S/O/– columns."""

    REQUIRED = "R"
    SITUATIONAL = "S"
    OPTIONAL = "O"
    NOT_USED = "-"


class Kind(StrEnum):
    """How a canonical text value is checked and typed."""

    TEXT = "text"  # free text or identifier, length-checked
    CODE = "code"  # one of a fixed set of codes
    PATTERN = "pattern"  # a regular expression (digits, ICD-10, HCPCS, ZIP...)
    DATE = "date"  # CCYYMMDD, a real calendar date
    HOUR = "hour"  # HHMM
    AMOUNT = "amount"  # money, up to 2 decimals, typed as integer cents
    DECIMAL = "decimal"  # a non-negative quantity, typed as Decimal
    INTEGER = "integer"  # a positive whole number (line numbers, pointers)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One model field.

    Attributes:
        name: model field name (also the ``mce-v1`` column name).
        level: claim-level (repeated on every row of a claim) or line-level.
        group: rule-code group the field's issues are filed under
            (``MB`` member, ``PV`` provider, ``CL`` claim, ``SV`` service line).
        kind: how values are checked and typed.
        usage: usage per claim type.
        min_len / max_len: length bounds for text.
        codes: the allowed codes for :attr:`Kind.CODE`.
        pattern: the regular expression for :attr:`Kind.PATTERN`.
        expect: a short human description of the format, used in messages.
        free_text: names and addresses: X12 separators and non-ASCII letters are
            replaced (with a warning) rather than rejected.
        max_decimals: decimals allowed for amounts and quantities.
        description: what the field means and where it goes in the output.
    """

    name: str
    level: Level
    group: str
    kind: Kind
    usage: Mapping[str, Usage]
    expect: str
    min_len: int = 1
    max_len: int | None = None
    codes: frozenset[str] | None = None
    pattern: str | None = None
    free_text: bool = False
    max_decimals: int = 2
    description: str = ""

    def usage_for(self, claim_type: str) -> Usage:
        """Return the usage for ``claim_type`` (unknown types: optional)."""
        return self.usage.get(claim_type, Usage.OPTIONAL)


# Characters an identifier may hold: printable ASCII without the X12 separators
# sendpro uses or that are common (* ~ : ^) and without the pipe of mce-v1.
# Identifiers are never rewritten (that would break replacement/void linkage), so
# a bad character is an error, not a warning.
_IDENT_CHARS = r"!-)+-9;-\]_-{}"
IDENT_PATTERN = rf"^[{_IDENT_CHARS}]([{_IDENT_CHARS} ]*[{_IDENT_CHARS}])?$"

_USAGE_LETTERS = {
    "R": Usage.REQUIRED,
    "S": Usage.SITUATIONAL,
    "O": Usage.OPTIONAL,
    "-": Usage.NOT_USED,
}


def _u(pid: str) -> Mapping[str, Usage]:
    """Turn a three-letter P/I/D usage string such as ``"RS-"`` into a mapping."""
    return MappingProxyType({t: _USAGE_LETTERS[c] for t, c in zip(CLAIM_TYPES, pid, strict=True)})


def _text(
    name: str,
    level: Level,
    group: str,
    usage: str,
    min_len: int,
    max_len: int,
    description: str = "",
) -> FieldDef:
    expect = f"text of {min_len}-{max_len} characters" if min_len else f"text of up to {max_len} characters"
    return FieldDef(
        name,
        level,
        group,
        Kind.TEXT,
        _u(usage),
        expect,
        min_len=max(min_len, 1),
        max_len=max_len,
        free_text=True,
        description=description,
    )


def _ident(name: str, level: Level, group: str, usage: str, max_len: int, description: str = "") -> FieldDef:
    return FieldDef(
        name,
        level,
        group,
        Kind.PATTERN,
        _u(usage),
        f"1-{max_len} characters without X12 separators (* ~ : ^ |)",
        max_len=max_len,
        pattern=IDENT_PATTERN,
        description=description,
    )


def _pat(
    name: str,
    level: Level,
    group: str,
    usage: str,
    pattern: str,
    expect: str,
    description: str = "",
) -> FieldDef:
    return FieldDef(
        name,
        level,
        group,
        Kind.PATTERN,
        _u(usage),
        expect,
        pattern=pattern,
        description=description,
    )


def _code(name: str, level: Level, group: str, usage: str, codes: str, description: str = "") -> FieldDef:
    code_set = frozenset(codes.split())
    return FieldDef(
        name,
        level,
        group,
        Kind.CODE,
        _u(usage),
        "one of " + ", ".join(sorted(code_set)),
        codes=code_set,
        description=description,
    )


def _date(name: str, level: Level, group: str, usage: str, description: str = "") -> FieldDef:
    return FieldDef(name, level, group, Kind.DATE, _u(usage), "a real date CCYYMMDD", description=description)


def _hour(name: str, usage: str, description: str = "") -> FieldDef:
    return FieldDef(
        name,
        Level.CLAIM,
        "CL",
        Kind.HOUR,
        _u(usage),
        "a time HHMM (0000-2359)",
        description=description,
    )


def _amount(name: str, level: Level, usage: str, description: str = "") -> FieldDef:
    group = "CL" if level is Level.CLAIM else "SV"
    return FieldDef(
        name,
        level,
        group,
        Kind.AMOUNT,
        _u(usage),
        "an amount with up to 2 decimals (150, 150.00, -5.25)",
        description=description,
    )


C, L = Level.CLAIM, Level.LINE

_NPI = r"^[0-9]{10}$"
_ZIP = r"^[0-9]{5}([0-9]{4})?$"
_STATE = r"^[A-Z]{2}$"
_DX = r"^[A-Z][0-9][0-9A-Z]{1,5}$"
_PCS = r"^[0-9A-HJ-NP-Z]{7}$"


def _provider(role: str, usage: str, x12: str) -> list[FieldDef]:
    return [
        _pat(f"{role}_npi", C, "PV", usage, _NPI, "10 digits", f"{role} provider NPI -> {x12}"),
        _text(f"{role}_last_name", C, "PV", usage, 1, 60, description=f"{role} provider last name"),
        _text(
            f"{role}_first_name",
            C,
            "PV",
            usage.replace("R", "O").replace("S", "O"),
            0,
            35,
            description=f"{role} provider first name",
        ),
    ]


def _build() -> tuple[FieldDef, ...]:
    f: list[FieldDef] = [
        _code("claim_type", C, "CL", "RRR", "P I D", "P, I or D: which 837 the claim becomes"),
        _ident("mce_claim_id", C, "CL", "RRR", 38, "MCE claim control number -> CLM01"),
        _code(
            "claim_frequency",
            C,
            "CL",
            "RRR",
            "1 2 3 4 5 7 8",
            "1 original, 7 replacement, 8 void (institutional also 2-5) -> CLM05-3",
        ),
        _ident("original_claim_id", C, "CL", "SSS", 38, "claim being replaced or voided -> REF*F8"),
        _code("claim_status", C, "CL", "RRR", "P D", "P paid, D denied"),
        _pat("contract_type", C, "CL", "RRR", r"^[0-9]{2}$", "2 digits", "contract type -> CN101"),
        _date("adjudication_date", C, "CL", "RRR", "date the MCE adjudicated the claim -> DTP*573"),
        _ident("member_id", C, "MB", "RRR", 20, "MassHealth member ID -> NM1*IL MI"),
        _text("member_last_name", C, "MB", "RRR", 1, 60, description="member last name"),
        _text("member_first_name", C, "MB", "OOO", 0, 35, description="member first name"),
        _date("member_dob", C, "MB", "RRR", "member date of birth -> DMG02"),
        _code("member_gender", C, "MB", "RRR", "M F U", "member gender -> DMG03"),
        _text("member_address", C, "MB", "OOO", 1, 55, description="member street address -> N301"),
        _text("member_city", C, "MB", "OOO", 2, 30, description="member city -> N401"),
        _pat("member_state", C, "MB", "OOO", _STATE, "a 2-letter state code"),
        _pat("member_zip", C, "MB", "OOO", _ZIP, "5 or 9 digits"),
        _pat("billing_npi", C, "PV", "RRR", _NPI, "10 digits", "billing provider NPI -> NM1*85 XX"),
        _text(
            "billing_org_name",
            C,
            "PV",
            "RRR",
            1,
            60,
            description="billing provider organization name",
        ),
        _pat(
            "billing_tax_id",
            C,
            "PV",
            "RRR",
            r"^[0-9]{9}$",
            "9 digits",
            "billing provider EIN -> REF*EI",
        ),
        _pat(
            "billing_taxonomy",
            C,
            "PV",
            "OOO",
            r"^[0-9]{3}[0-9A-Z]{6}X$",
            "a 10-character provider taxonomy code ending in X",
            "-> PRV*BI*PXC",
        ),
        _text("billing_address", C, "PV", "RRR", 1, 55, description="billing provider street -> N301"),
        _text("billing_city", C, "PV", "RRR", 2, 30, description="billing provider city -> N401"),
        _pat("billing_state", C, "PV", "RRR", _STATE, "a 2-letter state code"),
        _pat("billing_zip", C, "PV", "RRR", _ZIP, "5 or 9 digits"),
        _ident("billing_pidsl", C, "PV", "OOO", 10, "MassHealth provider id + service location"),
        *_provider("rendering", "S-S", "2310B NM1*82"),
        *_provider("referring", "SSS", "2310A NM1*DN"),
        *_provider("attending", "-S-", "2310A NM1*71 (837I)"),
        _pat(
            "facility_npi",
            C,
            "PV",
            "OOO",
            _NPI,
            "10 digits",
            "service facility NPI -> 2310C NM1*77",
        ),
        _text("facility_name", C, "PV", "OOO", 1, 60, description="service facility name"),
        _text("facility_address", C, "PV", "OOO", 1, 55, description="service facility street"),
        _text("facility_city", C, "PV", "OOO", 2, 30, description="service facility city"),
        _pat("facility_state", C, "PV", "OOO", _STATE, "a 2-letter state code"),
        _pat("facility_zip", C, "PV", "OOO", _ZIP, "5 or 9 digits"),
        _pat("place_of_service", C, "CL", "R-R", r"^[0-9]{2}$", "2 digits", "-> CLM05-1"),
        _pat(
            "type_of_bill",
            C,
            "CL",
            "-R-",
            r"^[0-9]{3}$",
            "3 digits",
            "-> CLM05-1 (first two digits)",
        ),
        _date("statement_from", C, "CL", "ORO", "statement period start -> DTP*434"),
        _date("statement_to", C, "CL", "ORO", "statement period end -> DTP*434"),
        _date("admission_date", C, "CL", "-S-", "-> DTP*435"),
        _hour("admission_hour", "-S-", "-> DTP*435"),
        _pat("admission_type", C, "CL", "-R-", r"^[0-9]$", "1 digit", "-> CL101"),
        _pat("admission_source", C, "CL", "-R-", r"^[0-9A-Z]$", "1 character", "-> CL102"),
        _pat("patient_status", C, "CL", "-R-", r"^[0-9]{2}$", "2 digits", "-> CL103"),
        _hour("discharge_hour", "-S-", "-> DTP*096"),
        _pat("drg_code", C, "CL", "-O-", r"^[0-9A-Z]{3,4}$", "3 or 4 characters", "-> HI*DR"),
    ]
    for n in range(1, 13):
        f.append(
            _pat(
                f"dx_{n}",
                C,
                "CL",
                "RRO" if n == 1 else "OOO",
                _DX,
                "an ICD-10-CM code of 3-7 characters without a dot",
                "principal diagnosis -> HI*ABK" if n == 1 else f"diagnosis {n} -> HI*ABF",
            )
        )
    for n in range(1, 13):
        f.append(_code(f"poa_{n}", C, "CL", "-S-", "Y N U W 1", f"present on admission for dx_{n}"))
    f.append(
        _pat(
            "admitting_dx",
            C,
            "CL",
            "-S-",
            _DX,
            "an ICD-10-CM code of 3-7 characters without a dot",
            "-> HI*ABJ",
        )
    )
    for n in range(1, 7):
        f.append(
            _pat(
                f"icd_pcs_{n}",
                C,
                "CL",
                "-S-",
                _PCS,
                "a 7-character ICD-10-PCS code",
                "-> HI*BBR/BBQ",
            )
        )
    for n in range(1, 7):
        f.append(_date(f"icd_pcs_date_{n}", C, "CL", "-S-", f"date of icd_pcs_{n}"))
    f += [
        _amount("total_charge", C, "RRR", "claim billed amount -> CLM02"),
        _amount("total_paid", C, "RRR", "MCE paid amount -> 2320 AMT*D"),
        _amount("total_allowed", C, "OOO", "allowed amount"),
        _amount("patient_responsibility", C, "OOO", "member cost share -> 2320 AMT*EAF"),
        _amount("tpl_paid", C, "OOO", "amount paid by other insurance"),
    ]
    for n in (1, 2):
        f += [
            _code(
                f"claim_adj_group_{n}",
                C,
                "CL",
                "OOO",
                "CO PR OA PI CR",
                "claim adjustment group -> CAS01",
            ),
            _pat(
                f"claim_adj_reason_{n}",
                C,
                "CL",
                "OOO",
                r"^[0-9A-Z]{1,5}$",
                "a CARC code of 1-5 characters",
                "claim adjustment reason -> CAS02",
            ),
            _amount(f"claim_adj_amount_{n}", C, "OOO", "claim adjustment amount -> CAS03"),
        ]
    # Line-level fields.
    f += [
        FieldDef(
            "line_number",
            L,
            "SV",
            Kind.INTEGER,
            _u("RRR"),
            "a line number of 1-4 digits",
            max_len=4,
            description="line number within the claim -> LX",
        ),
        _pat(
            "procedure_code",
            L,
            "SV",
            "RSR",
            r"^[0-9A-Z]{5}$",
            "5 letters or digits",
            "HCPCS/CPT (P, I) or CDT (D) -> SV101 / SV202 / SV301",
        ),
    ]
    for n in range(1, 5):
        f.append(
            _pat(
                f"modifier_{n}",
                L,
                "SV",
                "OOO",
                r"^[0-9A-Z]{2}$",
                "2 letters or digits",
                "procedure modifier",
            )
        )
    f += [
        _pat("revenue_code", L, "SV", "-R-", r"^[0-9]{4}$", "4 digits", "-> SV201"),
        FieldDef(
            "units",
            L,
            "SV",
            Kind.DECIMAL,
            _u("RRO"),
            "a number above zero with up to 3 decimals",
            max_decimals=3,
            description="service units or minutes -> SV104 / SV205 / SV306",
        ),
        _code("unit_type", L, "SV", "RR-", "UN MJ DA", "UN units, MJ minutes (P); UN or DA days (I)"),
        _date("line_from_date", L, "SV", "RSR", "service date -> DTP*472"),
        _date("line_to_date", L, "SV", "RSR", "service end date -> DTP*472 RD8"),
        _amount("line_charge", L, "RRR", "line billed amount -> SV102"),
        _amount("line_paid", L, "RRR", "MCE paid amount for the line -> SVD02"),
        _amount("line_allowed", L, "OOO", "line allowed amount"),
    ]
    for n in range(1, 4):
        f += [
            _code(
                f"line_adj_group_{n}",
                L,
                "SV",
                "SSS",
                "CO PR OA PI CR",
                "line adjustment group -> CAS01",
            ),
            _pat(
                f"line_adj_reason_{n}",
                L,
                "SV",
                "SSS",
                r"^[0-9A-Z]{1,5}$",
                "a CARC code of 1-5 characters",
                "line adjustment reason -> CAS02",
            ),
            _amount(f"line_adj_amount_{n}", L, "SSS", "line adjustment amount -> CAS03"),
        ]
    for n in range(1, 5):
        f.append(
            FieldDef(
                f"dx_pointer_{n}",
                L,
                "SV",
                Kind.INTEGER,
                _u("R-O" if n == 1 else "O-O"),
                "a diagnosis number 1-12",
                max_len=2,
                description="-> SV107",
            )
        )
    f += [
        _pat("line_place_of_service", L, "SV", "O--", r"^[0-9]{2}$", "2 digits", "-> SV105"),
        _pat(
            "line_rendering_npi",
            L,
            "PV",
            "OOO",
            _NPI,
            "10 digits",
            "line rendering provider -> 2420A",
        ),
        _pat("ndc_code", L, "SV", "OO-", r"^[0-9]{11}$", "11 digits", "-> LIN*N4"),
        FieldDef(
            "ndc_quantity",
            L,
            "SV",
            Kind.DECIMAL,
            _u("OO-"),
            "a number above zero with up to 3 decimals",
            max_decimals=3,
            description="-> CTP04",
        ),
        _code("ndc_unit", L, "SV", "OO-", "UN ML GR F2 ME", "-> CTP05-1"),
        _pat(
            "tooth_number",
            L,
            "SV",
            "--S",
            r"^[0-9A-Z]{1,2}$",
            "1 or 2 letters or digits",
            "-> TOO02",
        ),
        _pat("tooth_surfaces", L, "SV", "--S", r"^[A-Z]{1,5}$", "1 to 5 surface letters", "-> TOO03"),
        _pat("oral_cavity_area", L, "SV", "--S", r"^[0-9A-Z]{1,2}$", "2 characters", "-> SV304"),
    ]
    return tuple(f)


#: Every medical/dental model field, in ``mce-v1`` column order.
FIELDS: tuple[FieldDef, ...] = _build()

#: Model fields by name.
FIELDS_BY_NAME: Mapping[str, FieldDef] = MappingProxyType({fd.name: fd for fd in FIELDS})

#: Claim-level field names, in catalogue order.
CLAIM_FIELDS: tuple[str, ...] = tuple(fd.name for fd in FIELDS if fd.level is Level.CLAIM)

#: Line-level field names, in catalogue order.
LINE_FIELDS: tuple[str, ...] = tuple(fd.name for fd in FIELDS if fd.level is Level.LINE)


def required_fields(claim_type: str) -> Iterator[FieldDef]:
    """Yield the fields a claim of ``claim_type`` always requires."""
    for fd in FIELDS:
        if fd.usage_for(claim_type) is Usage.REQUIRED:
            yield fd
