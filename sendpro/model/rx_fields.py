"""The pharmacy encounter field catalogue (``mce-rx-v1``): one row per paid or reversed prescription.

Field names are the ``mce-rx-v1`` column names; NCPDP Data Dictionary field ids
(``407-D7``...) are noted where one exists. Every field belongs to the ``RX``
rule group and to the single pharmacy claim type ``RX``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sendpro.model.fields import IDENT_PATTERN, FieldDef, Kind, Level, Usage

#: The pharmacy claim type.
RX = "RX"

_R = MappingProxyType({RX: Usage.REQUIRED})
_S = MappingProxyType({RX: Usage.SITUATIONAL})
_O = MappingProxyType({RX: Usage.OPTIONAL})
_NPI = r"^[0-9]{10}$"


def _f(name: str, kind: Kind, usage: Mapping[str, Usage], expect: str, description: str, **kw: Any) -> FieldDef:
    return FieldDef(name, Level.CLAIM, "RX", kind, usage, expect, description=description, **kw)


def _ident(name: str, usage: Mapping[str, Usage], max_len: int, description: str) -> FieldDef:
    return _f(
        name,
        Kind.PATTERN,
        usage,
        f"1-{max_len} characters without X12 separators",
        description,
        pattern=IDENT_PATTERN,
        max_len=max_len,
    )


def _amount(name: str, usage: Mapping[str, Usage], description: str) -> FieldDef:
    return _f(name, Kind.AMOUNT, usage, "an amount with up to 2 decimals (150, 150.00, -5.25)", description)


#: Every pharmacy model field, in ``mce-rx-v1`` column order.
RX_FIELDS: tuple[FieldDef, ...] = (
    _ident("mce_claim_id", _R, 38, "MCE claim id"),
    _f(
        "claim_frequency",
        Kind.CODE,
        _R,
        "one of 1, 7, 8",
        "1 original, 7 replacement, 8 void/reversal",
        codes=frozenset("178"),
    ),
    _ident("original_claim_id", _S, 38, "claim being replaced or reversed"),
    _f("claim_status", Kind.CODE, _R, "one of D, P", "P paid, D denied", codes=frozenset("PD")),
    _f("adjudication_date", Kind.DATE, _R, "a real date CCYYMMDD", "date adjudicated/paid"),
    _ident("member_id", _R, 20, "MassHealth member ID (302-C2 cardholder ID)"),
    _f(
        "member_last_name",
        Kind.TEXT,
        _R,
        "text of 1-35 characters",
        "patient last name (311-CB)",
        max_len=35,
        free_text=True,
    ),
    _f(
        "member_first_name",
        Kind.TEXT,
        _O,
        "text of up to 35 characters",
        "patient first name (310-CA)",
        max_len=35,
        free_text=True,
    ),
    _f("member_dob", Kind.DATE, _R, "a real date CCYYMMDD", "patient date of birth (304-C4)"),
    _f(
        "member_gender",
        Kind.CODE,
        _R,
        "one of F, M, U",
        "patient gender (305-C5: M 1, F 2, U 0)",
        codes=frozenset("MFU"),
    ),
    _f("pharmacy_npi", Kind.PATTERN, _R, "10 digits", "service provider ID (201-B1, qualifier 01)", pattern=_NPI),
    _f("prescriber_npi", Kind.PATTERN, _R, "10 digits", "prescriber ID (411-DB, qualifier 01)", pattern=_NPI),
    _f(
        "rx_number",
        Kind.PATTERN,
        _R,
        "1-12 digits",
        "prescription/service reference number (402-D2)",
        pattern=r"^[0-9]{1,12}$",
    ),
    _f("fill_number", Kind.PATTERN, _R, "0-99", "fill number (403-D3): 0 new, 1-99 refills", pattern=r"^[0-9]{1,2}$"),
    _f("date_of_service", Kind.DATE, _R, "a real date CCYYMMDD", "date filled (401-D1)"),
    _f("date_written", Kind.DATE, _O, "a real date CCYYMMDD", "date prescription written (414-DE)"),
    _f("ndc", Kind.PATTERN, _R, "11 digits", "product ID (407-D7, qualifier 03)", pattern=r"^[0-9]{11}$"),
    _f(
        "quantity_dispensed",
        Kind.DECIMAL,
        _R,
        "a number above zero with up to 3 decimals",
        "quantity dispensed (442-E7)",
        max_decimals=3,
    ),
    _f("quantity_unit", Kind.CODE, _O, "one of EA, GM, ML", "unit of measure", codes=frozenset({"EA", "GM", "ML"})),
    _f("days_supply", Kind.PATTERN, _R, "1-3 digits", "days supply (405-D5)", pattern=r"^[0-9]{1,3}$"),
    _f("daw_code", Kind.CODE, _R, "one digit 0-9", "dispense as written (408-D8)", codes=frozenset("0123456789")),
    _f(
        "compound_code",
        Kind.CODE,
        _R,
        "1 or 2",
        "compound code (406-D6): 1 not compound, 2 compound",
        codes=frozenset("12"),
    ),
    _amount("ingredient_cost_paid", _R, "ingredient cost paid (506-F6)"),
    _amount("dispensing_fee_paid", _R, "dispensing fee paid (507-F7)"),
    _amount("patient_pay_amount", _O, "patient pay amount (505-F5)"),
    _amount("other_payer_amount_paid", _O, "other payer amount paid (431-DV)"),
    _amount("usual_customary_charge", _O, "usual and customary charge (426-DQ)"),
    _amount("gross_amount_due", _O, "gross amount due (430-DU)"),
    _amount("total_amount_paid", _R, "total amount paid (509-F9)"),
    # Further paid components a custom layout may map and declare in paid_components.
    _amount("incentive_amount_paid", _O, "incentive amount paid (521-FL)"),
    _amount("professional_service_fee_paid", _O, "professional service fee paid (562-J1)"),
    _amount("flat_sales_tax_paid", _O, "flat sales tax amount paid (558-AW)"),
    _amount("percentage_sales_tax_paid", _O, "percentage sales tax amount paid (559-AX)"),
)

RX_FIELDS_BY_NAME: Mapping[str, FieldDef] = MappingProxyType({fd.name: fd for fd in RX_FIELDS})
