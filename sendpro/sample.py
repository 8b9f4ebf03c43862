"""Synthetic ``mce-v1`` encounters for demos, tests and benchmarks.

Everything here is invented: member ids, names, providers and claims are drawn
from a seeded random generator and small made-up word lists, so a sample never
holds a real member, provider or claim. NPIs carry valid check digits so that a
clean sample passes validation; ``defect_rate`` seeds known defects, each tagged
with the rule code that must catch it.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sendpro.flatfile.fixedwidth import write_fixed_width
from sendpro.flatfile.layout import Format, Layout
from sendpro.model.fields import FIELDS
from sendpro.model.rx_fields import RX_FIELDS
from sendpro.references import PROVIDER_COLUMNS, OrderedServices
from sendpro.resources import schemas_dir

COLUMNS: tuple[str, ...] = tuple(fd.name for fd in FIELDS)
#: The mce-rx-v1 columns (the pharmacy model without the optional extra paid components).
RX_COLUMNS: tuple[str, ...] = tuple(fd.name for fd in RX_FIELDS)[:29]

_SURNAMES = (
    "ALDER",
    "BIRCHWOOD",
    "CALLOWAY",
    "DUNMORE",
    "ELLSWORTH",
    "FAIRBANK",
    "GARROWAY",
    "HOLLIS",
    "IVERSEN",
    "JESSUP",
    "KINCAID",
    "LANGLEY",
    "MERRIWEATHER",
    "NORCROSS",
    "OAKHURST",
    "PEMBERTON",
    "QUINCEY",
    "RADCLIFFE",
    "STANWOOD",
    "THORNBURY",
    "UPTON",
    "VANCE",
    "WHITLOCK",
    "YARDLEY",
)
_GIVEN = (
    "ADA",
    "BRAM",
    "CORA",
    "DEV",
    "ELLA",
    "FINN",
    "GWEN",
    "HUGO",
    "IRIS",
    "JUDE",
    "KAI",
    "LENA",
    "MILO",
    "NORA",
    "OTIS",
    "PIA",
    "REX",
    "SAGE",
    "TESS",
    "VIGO",
)
_ODD_NAMES = ("MUÑOZ-ALDER", "O'HOLLIS", "BØRRESEN", "LANGLEY*VANCE", "CÔTÉ")
_STREETS = (
    "ELM",
    "MAPLE",
    "HARBOR",
    "MILL",
    "ORCHARD",
    "SUMMIT",
    "RIVER",
    "CEDAR",
    "WILLOW",
    "BEACON",
)
_CITIES = (
    ("BOSTON", "02118"),
    ("WORCESTER", "01608"),
    ("SPRINGFIELD", "01103"),
    ("LOWELL", "01852"),
    ("BROCKTON", "02301"),
    ("NEW BEDFORD", "02740"),
    ("QUINCY", "02169"),
    ("FALL RIVER", "02720"),
)
_ORG_WORDS = (
    "HARBORVIEW",
    "RIVERBEND",
    "NORTHFIELD",
    "SUMMIT",
    "CEDAR HILL",
    "BAYSIDE",
    "GREENWAY",
    "OLD MILL",
)
_ORG_KINDS = (
    "FAMILY PRACTICE",
    "MEDICAL GROUP",
    "HEALTH CENTER",
    "PEDIATRICS",
    "BEHAVIORAL HEALTH",
    "CLINIC",
)
_TAXONOMY = ("207Q00000X", "208D00000X", "261QF0400X", "207R00000X", "103T00000X", "363LF0000X")
# Procedure, typical charge in dollars, dx used with it.
_PROCEDURES = (
    ("99213", 120),
    ("99214", 180),
    ("99203", 150),
    ("36415", 15),
    ("85025", 25),
    ("80053", 40),
    ("93000", 60),
    ("90834", 140),
    ("97110", 55),
    ("G0439", 170),
    ("90471", 30),
    ("81002", 12),
    ("99396", 210),
    ("96127", 20),
)
_DIAGNOSES = (
    "J069",
    "E119",
    "I10",
    "M5450",
    "Z0000",
    "F329",
    "R509",
    "K219",
    "E785",
    "J45909",
    "F411",
    "M25561",
    "R1084",
    "Z23",
    "N390",
)
_POS = ("11", "11", "11", "22", "23", "02", "12", "19")
# Revenue code, HCPCS (or "") and a charge in dollars per unit.
_OUTPATIENT_REVENUE = (
    ("0450", "99283", 900),
    ("0300", "85025", 40),
    ("0320", "71046", 180),
    ("0250", "", 60),
    ("0636", "J1885", 25),
    ("0730", "93005", 120),
)
_INPATIENT_REVENUE = (
    ("0120", "", 1800),
    ("0250", "", 90),
    ("0300", "80053", 55),
    ("0360", "", 4200),
    ("0270", "", 150),
)
_DRGS = ("470", "291", "392", "871", "690")
_PCS = ("0SRD0JZ", "0DTJ4ZZ", "02703ZZ", "0W9G3ZZ")
# NDC, unit, typical quantity and ingredient cost per unit in cents.
_DRUGS = (
    ("00093505601", "EA", 30, 12),
    ("00378180110", "EA", 90, 4),
    ("00071015523", "EA", 30, 310),
    ("00173068220", "EA", 1, 32000),
    ("59762331804", "ML", 150, 9),
    ("00591540401", "EA", 60, 7),
)
# CDT code, charge in dollars, what the line needs (tooth, surfaces, quadrant or nothing).
_DENTAL = (
    ("D0120", 65, ""),
    ("D1110", 110, ""),
    ("D0274", 80, ""),
    ("D2391", 190, "surfaces"),
    ("D2392", 240, "surfaces"),
    ("D7140", 210, "tooth"),
    ("D4341", 260, "quadrant"),
    ("D1206", 45, ""),
)


def npi_with_check_digit(nine: str) -> str:
    """Append the NPI check digit (Luhn with the 80840 prefix) to nine digits."""
    total = 24
    for i, ch in enumerate(reversed(nine)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return nine + str((10 - total % 10) % 10)


@dataclass
class SampleSummary:
    """What a generated sample holds, for tests and benchmarks."""

    claims: int = 0
    rows: int = 0
    charge_cents: int = 0
    paid_cents: int = 0
    defects: list[tuple[str, str]] = field(default_factory=list)  # (claim id, rule code)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{(-cents) // 100}.{(-cents) % 100:02d}"


class _Generator:
    def __init__(self, seed: int, start: dt.date) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.ordered = _ordered()
        rng = self.rng
        self.billing = []
        for _ in range(60):
            city, zip_code = rng.choice(_CITIES)
            self.billing.append(
                {
                    "billing_npi": npi_with_check_digit("1" + "".join(rng.choice("0123456789") for _ in range(8))),
                    "billing_org_name": f"{rng.choice(_ORG_WORDS)} {rng.choice(_ORG_KINDS)}",
                    "billing_tax_id": "".join(rng.choice("0123456789") for _ in range(9)),
                    "billing_taxonomy": rng.choice(_TAXONOMY),
                    "billing_address": f"{rng.randint(1, 999)} {rng.choice(_STREETS)} ST",
                    "billing_city": city,
                    "billing_state": "MA",
                    "billing_zip": zip_code + "1234",
                }
            )
        self.rendering = [
            (
                npi_with_check_digit("1" + "".join(rng.choice("0123456789") for _ in range(8))),
                rng.choice(_SURNAMES),
                rng.choice(_GIVEN),
            )
            for _ in range(150)
        ]

    def member(self) -> dict[str, str]:
        rng = self.rng
        city, zip_code = rng.choice(_CITIES)
        dob = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 80))
        last = rng.choice(_ODD_NAMES) if rng.random() < 0.01 else rng.choice(_SURNAMES)
        return {
            "member_id": "1" + "".join(rng.choice("0123456789") for _ in range(11)),
            "member_last_name": last,
            "member_first_name": rng.choice(_GIVEN),
            "member_dob": dob.strftime("%Y%m%d"),
            "member_gender": rng.choice("MF"),
            "member_address": f"{rng.randint(1, 999)} {rng.choice(_STREETS)} AVE",
            "member_city": city,
            "member_state": "MA",
            "member_zip": zip_code,
        }

    def claim(self, claim_id: str, claim_type: str) -> list[dict[str, str]]:
        rng = self.rng
        service = self.start + dt.timedelta(days=rng.randint(0, 200))
        adjudicated = service + dt.timedelta(days=rng.randint(5, 40))
        denied = rng.random() < 0.03
        head: dict[str, str] = {
            "claim_type": claim_type,
            "mce_claim_id": claim_id,
            "claim_frequency": "1",
            "claim_status": "D" if denied else "P",
            "contract_type": rng.choice(("01", "01", "02", "05")),
            "adjudication_date": adjudicated.strftime("%Y%m%d"),
            "place_of_service": rng.choice(_POS),
        }
        head.update(self.member())
        head.update(rng.choice(self.billing))
        if claim_type == "I":
            return self._institutional(head, claim_id, service, denied)
        if claim_type == "D":
            head["place_of_service"] = "11"
            return self._dental(head, claim_id, service, denied)
        if rng.random() < 0.8:
            npi, last, first = rng.choice(self.rendering)
            head.update(rendering_npi=npi, rendering_last_name=last, rendering_first_name=first)
        self._referring(head)
        n_dx = rng.randint(1, 4)
        for i, dx in enumerate(rng.sample(_DIAGNOSES, n_dx), start=1):
            head[f"dx_{i}"] = dx
        self._adjustment_of(head, claim_id)
        lines = []
        for n in range(1, rng.choice((1, 2, 2, 3, 3, 3, 4, 5)) + 1):
            proc, base = rng.choice(_PROCEDURES)
            units = rng.choice((1, 1, 1, 2))
            line: dict[str, str] = {
                "line_number": str(n),
                "procedure_code": proc,
                "units": str(units),
                "unit_type": "UN",
                "line_from_date": service.strftime("%Y%m%d"),
                "line_to_date": service.strftime("%Y%m%d"),
            }
            charge = base * 100 * units + rng.choice((0, 0, 50, 99))
            self._price(line, charge, denied)
            line["dx_pointer_1"] = str(rng.randint(1, n_dx))
            if rng.random() < 0.1:
                line["modifier_1"] = rng.choice(("25", "59", "GT", "95"))
            self._adjust(line, denied)
            lines.append(line)
        return self._finish(head, lines)

    def pharmacy(self, claim_id: str, originals: list[dict[str, str]]) -> list[dict[str, str]]:
        """One pharmacy claim row; sometimes a reversal of an earlier claim in ``originals``.

        A reversed claim leaves ``originals``: a second reversal of it would be a
        void of a voided claim, which the ledger rightly rejects (CL053).
        """
        rng = self.rng
        if originals and rng.random() < 0.05:
            original = originals.pop(rng.randrange(len(originals)))
            row = dict(original)
            adjudicated = dt.datetime.strptime(original["adjudication_date"], "%Y%m%d").date()
            row.update(
                mce_claim_id=claim_id,
                claim_frequency="8",
                original_claim_id=original["mce_claim_id"],
                adjudication_date=(adjudicated + dt.timedelta(days=rng.randint(1, 20))).strftime("%Y%m%d"),
            )
            return [row]
        service = self.start + dt.timedelta(days=rng.randint(0, 200))
        written = service - dt.timedelta(days=rng.randint(0, 60))
        adjudicated = service + dt.timedelta(days=rng.randint(0, 5))
        ndc, unit, qty, unit_cost = rng.choice(_DRUGS)
        denied = rng.random() < 0.03
        ingredient = 0 if denied else qty * unit_cost
        fee = 0 if denied else rng.choice((175, 250, 1000))
        pay = 0 if denied else min(ingredient + fee, rng.choice((0, 0, 100, 365)))
        member = self.member()
        row = {
            "mce_claim_id": claim_id,
            "claim_frequency": "1",
            "claim_status": "D" if denied else "P",
            "adjudication_date": adjudicated.strftime("%Y%m%d"),
            "member_id": member["member_id"],
            "member_last_name": member["member_last_name"],
            "member_first_name": member["member_first_name"],
            "member_dob": member["member_dob"],
            "member_gender": member["member_gender"],
            "pharmacy_npi": rng.choice(self.billing)["billing_npi"],
            "prescriber_npi": rng.choice(self.rendering)[0],
            "rx_number": str(rng.randint(1_000_000, 999_999_999_999)),
            "fill_number": str(rng.choice((0, 0, 1, 2, 5))),
            "date_of_service": service.strftime("%Y%m%d"),
            "date_written": written.strftime("%Y%m%d"),
            "ndc": ndc,
            "quantity_dispensed": str(qty),
            "quantity_unit": unit,
            "days_supply": str(rng.choice((30, 30, 90, 7))),
            "daw_code": rng.choice("0001"),
            "compound_code": "1",
            "ingredient_cost_paid": _money(ingredient),
            "dispensing_fee_paid": _money(fee),
            "patient_pay_amount": _money(pay),
            "usual_customary_charge": _money(qty * unit_cost + fee + 500),
            "gross_amount_due": _money(qty * unit_cost + fee),
            "total_amount_paid": _money(ingredient + fee - pay),
        }
        return [row]

    def _referring(self, head: dict[str, str]) -> None:
        if self.rng.random() < 0.15:
            npi, last, first = self.rng.choice(self.rendering)
            head.update(referring_npi=npi, referring_last_name=last, referring_first_name=first)

    def _adjustment_of(self, head: dict[str, str], claim_id: str) -> None:
        if self.rng.random() < 0.05:
            head["claim_frequency"] = self.rng.choice("78")
            head["original_claim_id"] = claim_id + "A"

    def _price(self, line: dict[str, str], charge: int, denied: bool) -> None:
        paid = 0 if denied else int(charge * self.rng.uniform(0.4, 0.9))
        line["line_charge"] = _money(charge)
        line["line_paid"] = _money(paid)

    def _adjust(self, line: dict[str, str], denied: bool) -> None:
        """Explain charge - paid with a PR copay and/or a CO contractual adjustment."""
        rng = self.rng
        charge = int(round(float(line["line_charge"]) * 100))
        remaining = charge - int(round(float(line["line_paid"]) * 100))
        n = 1
        if remaining and not denied and rng.random() < 0.3:
            copay = min(remaining, rng.choice((500, 1000, 2000)))
            line.update(
                {f"line_adj_group_{n}": "PR", f"line_adj_reason_{n}": "3", f"line_adj_amount_{n}": _money(copay)}
            )
            remaining -= copay
            n += 1
        if remaining or denied:
            line.update(
                {
                    f"line_adj_group_{n}": "CO",
                    f"line_adj_reason_{n}": "96" if denied else "45",
                    f"line_adj_amount_{n}": _money(remaining),
                }
            )

    def _finish(self, head: dict[str, str], lines: list[dict[str, str]]) -> list[dict[str, str]]:
        if "referring_npi" not in head and any(self.ordered.category_of(x.get("procedure_code", "")) for x in lines):
            # Ordered services (labs, therapy, DME...) name who ordered them (edit 1200).
            # No random draw here, so the rest of the sample stays as it was.
            npi, last, first = self.rendering[0]
            head.update(referring_npi=npi, referring_last_name=last, referring_first_name=first)
        head["total_charge"] = _money(sum(int(round(float(x["line_charge"]) * 100)) for x in lines))
        head["total_paid"] = _money(sum(int(round(float(x["line_paid"]) * 100)) for x in lines))
        return [{**head, **line} for line in lines]

    def _institutional(
        self, head: dict[str, str], claim_id: str, service: dt.date, denied: bool
    ) -> list[dict[str, str]]:
        rng = self.rng
        del head["place_of_service"]
        inpatient = rng.random() < 0.3
        kind = rng.choice(("11", "12")) if inpatient else rng.choice(("13", "13", "14", "85", "72"))
        self._adjustment_of(head, claim_id)
        days = rng.randint(1, 6) if inpatient else 0
        end = service + dt.timedelta(days=days)
        head.update(
            {
                "type_of_bill": kind + head["claim_frequency"],
                "statement_from": service.strftime("%Y%m%d"),
                "statement_to": end.strftime("%Y%m%d"),
                "admission_type": rng.choice("123") if inpatient else "3",
                "admission_source": rng.choice("127") if inpatient else "1",
                "patient_status": "01",
            }
        )
        self._referring(head)
        n_dx = rng.randint(1, 4)
        for i, dx in enumerate(rng.sample(_DIAGNOSES, n_dx), start=1):
            head[f"dx_{i}"] = dx
            if inpatient:
                head[f"poa_{i}"] = rng.choice("YYYN")
        if inpatient:
            npi, last, first = rng.choice(self.rendering)
            head.update(
                attending_npi=npi,
                attending_last_name=last,
                attending_first_name=first,
                admission_date=service.strftime("%Y%m%d"),
                admission_hour=rng.choice(("0815", "1342", "2210")),
                discharge_hour=rng.choice(("1100", "1530")),
                admitting_dx=rng.choice(_DIAGNOSES),
                drg_code=rng.choice(_DRGS),
            )
            if rng.random() < 0.4:
                head["icd_pcs_1"] = rng.choice(_PCS)
                head["icd_pcs_date_1"] = service.strftime("%Y%m%d")
        revenue = _INPATIENT_REVENUE if inpatient else _OUTPATIENT_REVENUE
        lines = []
        for n, (rev, hcpcs, base) in enumerate(rng.sample(revenue, rng.randint(1, min(4, len(revenue)))), start=1):
            room = rev.startswith("01")
            units = days if room else rng.choice((1, 1, 2))
            line: dict[str, str] = {
                "line_number": str(n),
                "revenue_code": rev,
                "units": str(units or 1),
                "unit_type": "DA" if room else "UN",
                "line_from_date": service.strftime("%Y%m%d"),
                "line_to_date": (end if room else service).strftime("%Y%m%d"),
            }
            if hcpcs:
                line["procedure_code"] = hcpcs
            self._price(line, base * 100 * int(line["units"]), denied)
            self._adjust(line, denied)
            lines.append(line)
        return self._finish(head, lines)

    def _dental(self, head: dict[str, str], claim_id: str, service: dt.date, denied: bool) -> list[dict[str, str]]:
        rng = self.rng
        npi, last, first = rng.choice(self.rendering)
        head.update(rendering_npi=npi, rendering_last_name=last, rendering_first_name=first)
        self._adjustment_of(head, claim_id)
        if rng.random() < 0.3:
            head["dx_1"] = rng.choice(("K029", "K0530", "K0889"))
        lines = []
        for n, (cdt, base, needs) in enumerate(rng.sample(_DENTAL, rng.randint(1, 4)), start=1):
            line: dict[str, str] = {
                "line_number": str(n),
                "procedure_code": cdt,
                "units": "1",
                "line_from_date": service.strftime("%Y%m%d"),
                "line_to_date": service.strftime("%Y%m%d"),
            }
            if needs == "tooth":
                line["tooth_number"] = str(rng.choice((3, 14, 19, 30, 8, 9)))
            elif needs == "surfaces":
                line["tooth_number"] = str(rng.choice((3, 14, 19, 30)))
                line["tooth_surfaces"] = rng.choice(("O", "MO", "DO", "MOD"))
            elif needs == "quadrant":
                line["oral_cavity_area"] = rng.choice(("10", "20", "30", "40"))
            self._price(line, base * 100, denied)
            self._adjust(line, denied)
            lines.append(line)
        return self._finish(head, lines)


def _defect_npi(rows: list[dict[str, str]]) -> str | None:
    npi = rows[0]["billing_npi"]
    bad = npi[:9] + str((int(npi[9]) + 1) % 10)
    for r in rows:
        r["billing_npi"] = bad
    return "PV010"


def _defect_total_charge(rows: list[dict[str, str]]) -> str | None:
    for r in rows:
        r["total_charge"] = _money(int(round(float(r["total_charge"]) * 100)) + 1000)
    return "CL015"


def _defect_date(rows: list[dict[str, str]]) -> str | None:
    rows[0]["line_from_date"] = rows[0]["line_from_date"][:4] + "0230"
    return "SV003"


def _defect_dob(rows: list[dict[str, str]]) -> str | None:
    for r in rows:
        r["member_dob"] = ""
    return "MB001"


def _defect_line_balance(rows: list[dict[str, str]]) -> str | None:
    r = rows[-1]
    for n in (1, 2, 3):
        r.pop(f"line_adj_group_{n}", None)
        r.pop(f"line_adj_reason_{n}", None)
        r.pop(f"line_adj_amount_{n}", None)
    if r["line_charge"] == r["line_paid"]:
        r["line_paid"] = "0.00"
        paid_total = sum(int(round(float(x["line_paid"]) * 100)) for x in rows)
        for x in rows:
            x["total_paid"] = _money(paid_total)
        if all(x["line_paid"] == "0.00" for x in rows):
            for x in rows:
                x["claim_status"] = "P"
    return "SV010"


def _defect_original(rows: list[dict[str, str]]) -> str | None:
    for r in rows:
        r["claim_frequency"] = "7"
        r.pop("original_claim_id", None)
    return "CL012"


def _defect_contract(rows: list[dict[str, str]]) -> str | None:
    for r in rows:
        r["contract_type"] = "07"
    return "CL011"


def _defect_dx_dot(rows: list[dict[str, str]]) -> str | None:
    dx = rows[0].get("dx_1")
    if not dx:
        return None
    for r in rows:
        r["dx_1"] = dx[:3] + "." + (dx[3:] or "0")
    return "CL002"


def _defect_truncated(rows: list[dict[str, str]]) -> str | None:
    rows[-1]["__truncate__"] = "1"
    return "FF010"


def _defect_bill_type(rows: list[dict[str, str]]) -> str | None:
    if rows[0]["claim_type"] != "I":
        return None
    for r in rows:
        r["type_of_bill"] = r["type_of_bill"][:2] + ("7" if r["claim_frequency"] != "7" else "1")
    return "CL040"


def _defect_revenue_code(rows: list[dict[str, str]]) -> str | None:
    if rows[0]["claim_type"] != "I":
        return None
    rows[0]["revenue_code"] = rows[0]["revenue_code"].lstrip("0")
    return "SV002"


def _defect_cdt(rows: list[dict[str, str]]) -> str | None:
    if rows[0]["claim_type"] != "D":
        return None
    rows[0]["procedure_code"] = "99213"
    return "SV020"


def _defect_tooth(rows: list[dict[str, str]]) -> str | None:
    if rows[0]["claim_type"] != "D":
        return None
    rows[0]["tooth_number"] = "33"
    return "SV021"


def _defect_surfaces(rows: list[dict[str, str]]) -> str | None:
    if rows[0]["claim_type"] != "D":
        return None
    rows[0]["tooth_number"] = rows[0].get("tooth_number") or "14"
    rows[0]["tooth_surfaces"] = "MOM"
    return "SV022"


def _rx(rows: list[dict[str, str]]) -> bool:
    return "ndc" in rows[0]


def _defect_rx_ndc(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    rows[0]["ndc"] = rows[0]["ndc"][1:]
    return "RX002"


def _defect_rx_npi(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    npi = rows[0]["pharmacy_npi"]
    rows[0]["pharmacy_npi"] = npi[:9] + str((int(npi[9]) + 1) % 10)
    return "RX010"


def _defect_rx_total(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    rows[0]["total_amount_paid"] = _money(int(round(float(rows[0]["total_amount_paid"]) * 100)) + 100)
    return "RX013"


def _defect_rx_days(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    rows[0]["days_supply"] = "400"
    return "RX012"


def _defect_rx_original(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    rows[0]["claim_frequency"] = "8"
    rows[0]["original_claim_id"] = ""
    return "RX014"


def _defect_rx_service_date(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    adjudicated = dt.datetime.strptime(rows[0]["adjudication_date"], "%Y%m%d").date()
    rows[0]["date_of_service"] = (adjudicated + dt.timedelta(days=3)).strftime("%Y%m%d")
    rows[0]["date_written"] = rows[0]["date_of_service"]
    return "RX011"


def _defect_rx_duplicate(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    rows.append(dict(rows[0]))
    return "RX020"


def _defect_rx_dob(rows: list[dict[str, str]]) -> str | None:
    if not _rx(rows):
        return None
    rows[0]["member_dob"] = ""
    return "RX001"


#: Pharmacy defects (each returns None for medical claims).
RX_DEFECTS: tuple[Callable[[list[dict[str, str]]], str | None], ...] = (
    _defect_rx_ndc,
    _defect_rx_npi,
    _defect_rx_total,
    _defect_rx_days,
    _defect_rx_original,
    _defect_rx_service_date,
    _defect_rx_duplicate,
    _defect_rx_dob,
)

#: Defects only some claim types can carry (each returns None when it does not apply).
TYPE_DEFECTS: tuple[Callable[[list[dict[str, str]]], str | None], ...] = (
    _defect_bill_type,
    _defect_revenue_code,
    _defect_cdt,
    _defect_tooth,
    _defect_surfaces,
)

DEFECTS: tuple[Callable[[list[dict[str, str]]], str | None], ...] = (
    _defect_npi,
    _defect_total_charge,
    _defect_date,
    _defect_dob,
    _defect_line_balance,
    _defect_original,
    _defect_contract,
    _defect_dx_dot,
    _defect_truncated,
)


# -- every rule class: code sets, MassHealth edits, situational and balancing rules ----------------------
#
# These defects make a sample that exercises each rule class, and none of them is
# in DEFECTS, TYPE_DEFECTS or RX_DEFECTS: a sample written without ``all_classes``
# stays byte for byte what it was (fixtures/x12/make_inputs.py and the demo extract
# are generated from those pools). Each defect changes one thing that exactly one
# rule reports. Those that need a code list or a reference file work with
# SampleReferences: the defect puts a code in the claim that the sample's lists
# leave out on purpose (UNLISTED), or gives the claim a provider or member of its
# own that the reference files describe so that they disagree with this claim only.

Defect = Callable[[list[dict[str, str]]], str | None]

#: Codes the all-classes defects put into claims and the sample's code lists leave
#: out on purpose, by code set, so each is reported by its list rule (CS001...).
UNLISTED: dict[str, str] = {
    "icd10cm": "J0699",  # no such ICD-10-CM code (J06.9 has no subcodes)
    "icd10pcs": "0DTJ0ZZ",
    "cpt": "99499",
    "cdt": "D9999",
    "ndc": "00071015599",
    "revenue": "0999",
    "taxonomy": "207Q00001X",
}
#: A MassHealth provider type that may not order or refer (edit #16): not in ORP_TYPES.
_UNAUTHORIZED_TYPE = "20"
_PHYSICIAN_TYPE = "01"


def _cents(text: str | None) -> int:
    return int(round(float(text or 0) * 100))


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.datetime.strptime(text or "", "%Y%m%d").date()
    except ValueError:
        return None


def _ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _set(rows: list[dict[str, str]], **values: str) -> None:
    """Set claim-level values: every row of a claim repeats them."""
    for r in rows:
        r.update(values)


def _service_dates(rows: list[dict[str, str]]) -> list[dt.date]:
    """Return the real dates of service of a claim (line dates, statement period, fill date)."""
    keys = ("line_from_date", "line_to_date", "statement_from", "statement_to", "date_of_service")
    return [d for r in rows for k in keys if (d := _date(r.get(k))) is not None]


def _claim_number(rows: list[dict[str, str]]) -> int:
    """Return the claim's position in its sample (claim ids end with it, 9 digits)."""
    return int(rows[0]["mce_claim_id"][-9:])


def _own_npi(rows: list[dict[str, str]]) -> str:
    """Return a valid NPI no other claim of the sample uses (the generator's NPIs all start with 1)."""
    return npi_with_check_digit(f"2{_claim_number(rows) % 10**8:08d}")


def _own_member(rows: list[dict[str, str]]) -> str:
    """Return a 12-digit member id no other claim uses (the generator's start with 1)."""
    return f"2{_claim_number(rows) % 10**11:011d}"


def _medical(rows: list[dict[str, str]], *types: str) -> bool:
    return not _rx(rows) and rows[0].get("claim_type") in types


def _inpatient(rows: list[dict[str, str]]) -> bool:
    return _medical(rows, "I") and rows[0].get("type_of_bill", "")[:2] in ("11", "12")


@functools.cache
def _ordered() -> OrderedServices:
    return OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml")


def _defect_cs_icd10cm(rows: list[dict[str, str]]) -> str | None:
    """The last diagnosis is a code the ICD-10-CM list does not hold."""
    if not _medical(rows, "P", "I", "D"):
        return None
    slots = [n for n in range(1, 13) if rows[0].get(f"dx_{n}")]
    if not slots:
        return None
    _set(rows, **{f"dx_{slots[-1]}": UNLISTED["icd10cm"]})
    return "CS001"


def _defect_cs_icd10pcs(rows: list[dict[str, str]]) -> str | None:
    """An inpatient stay's procedure is not in the ICD-10-PCS list (added, dated, when the stay had none)."""
    if not _inpatient(rows):
        return None
    day = rows[0].get("icd_pcs_date_1") or rows[0]["statement_from"]
    _set(rows, icd_pcs_1=UNLISTED["icd10pcs"], icd_pcs_date_1=day)
    return "CS002"


def _defect_cs_procedure_shape(rows: list[dict[str, str]]) -> str | None:
    """A professional line's procedure code is neither HCPCS nor CPT in shape (a mistyped CPT code)."""
    if not _medical(rows, "P"):
        return None
    rows[-1]["procedure_code"] = "9921A"
    return "CS003"


def _defect_cs_cpt(rows: list[dict[str, str]]) -> str | None:
    """A professional line's CPT code is not in the CPT list (not an ordered service, so MH150 stays quiet)."""
    if not _medical(rows, "P"):
        return None
    rows[-1]["procedure_code"] = UNLISTED["cpt"]
    return "CS003"


def _defect_cs_cdt(rows: list[dict[str, str]]) -> str | None:
    """A dental line's procedure is not in the CDT list."""
    if not _medical(rows, "D"):
        return None
    rows[0]["procedure_code"] = UNLISTED["cdt"]
    return "CS004"


def _defect_cs_ndc(rows: list[dict[str, str]]) -> str | None:
    """A drug line (revenue 0636) or a fill carries an NDC the NDC list does not hold."""
    if _rx(rows):
        rows[0]["ndc"] = UNLISTED["ndc"]
        return "CS005"
    if not _medical(rows, "I"):
        return None
    for r in rows:
        if r.get("revenue_code") == "0636":
            r.update(ndc_code=UNLISTED["ndc"], ndc_quantity="1", ndc_unit="UN")
            return "CS005"
    return None


def _defect_cs_revenue(rows: list[dict[str, str]]) -> str | None:
    """An institutional line's revenue code is not in the revenue code list (never a room line: units are days)."""
    if not _medical(rows, "I"):
        return None
    for r in reversed(rows):
        if not r.get("revenue_code", "").startswith("01"):
            r["revenue_code"] = UNLISTED["revenue"]
            return "CS006"
    return None


def _defect_cs_pos(rows: list[dict[str, str]]) -> str | None:
    """The place of service is not a CMS place of service code (the bundled list)."""
    if not _medical(rows, "P", "D"):
        return None
    _set(rows, place_of_service="98")
    return "CS007"


def _defect_cs_carc(rows: list[dict[str, str]]) -> str | None:
    """A line adjustment reason carries its group too (``CO45``): not a CARC."""
    if not _medical(rows, "P", "I", "D"):
        return None
    for r in rows:
        if r.get("line_adj_reason_1"):
            r["line_adj_reason_1"] = r["line_adj_group_1"] + r["line_adj_reason_1"]
            return "CS008"
    return None


def _defect_cs_state(rows: list[dict[str, str]]) -> str | None:
    """The member's state is not a US state or territory code."""
    if not _medical(rows, "P", "I", "D"):
        return None
    _set(rows, member_state="ZZ")
    return "CS009"


def _defect_cs_taxonomy(rows: list[dict[str, str]]) -> str | None:
    """The billing taxonomy is well formed but not in the taxonomy list."""
    if not _medical(rows, "P", "I", "D"):
        return None
    _set(rows, billing_taxonomy=UNLISTED["taxonomy"])
    return "CS010"


def _defect_mh_billing_individual(rows: list[dict[str, str]]) -> str | None:
    """The billing NPI is an individual's (its own NPI, which the provider file lists as entity type 1)."""
    if not _medical(rows, "P", "I", "D"):
        return None
    _set(rows, billing_npi=_own_npi(rows))
    return "MH040"


def _defect_mh_negative_line(rows: list[dict[str, str]]) -> str | None:
    """A recoupment booked as a negative line paid amount (adjustments and totals still balance)."""
    if not _medical(rows, "P", "I", "D") or rows[0]["claim_status"] != "P":
        return None
    paid = [r for r in rows if _cents(r["line_paid"]) > 0 and r.get("line_adj_amount_1")]
    if not paid:
        return None
    line = paid[-1]
    cents = _cents(line["line_paid"])
    line["line_paid"] = _money(-cents)
    # charge - paid grew by twice the amount: the line's last adjustment takes it, so SV010 still holds.
    last = max(n for n in (1, 2, 3) if line.get(f"line_adj_amount_{n}"))
    line[f"line_adj_amount_{last}"] = _money(_cents(line[f"line_adj_amount_{last}"]) + 2 * cents)
    _set(rows, total_paid=_money(sum(_cents(r["line_paid"]) for r in rows)))
    return "MH060"


def _defect_mh_service_after_adjudication(rows: list[dict[str, str]]) -> str | None:
    """The claim was adjudicated the day before its first date of service."""
    if not _medical(rows, "P", "I", "D"):
        return None
    dates = _service_dates(rows)
    if not dates:
        return None
    _set(rows, adjudication_date=_ymd(min(dates) - dt.timedelta(days=1)))
    return "MH070"


def _defect_mh_member_id_format(rows: list[dict[str, str]]) -> str | None:
    """The MCE's own member number instead of the 12-digit MassHealth ID (the member file holds it too)."""
    _set(rows, member_id=f"MCE{_claim_number(rows) % 10**9:09d}")
    return "MH100"


def _defect_mh_member_unknown(rows: list[dict[str, str]]) -> str | None:
    """A member id the member file does not hold."""
    _set(rows, member_id=_own_member(rows))
    return "MH101"


def _defect_mh_member_not_eligible(rows: list[dict[str, str]]) -> str | None:
    """A member whose only eligibility span ended the day before the first date of service."""
    if not _service_dates(rows):
        return None
    _set(rows, member_id=_own_member(rows))
    return "MH102"


def _defect_mh_newborn(rows: list[dict[str, str]]) -> str | None:
    """A liveborn infant diagnosis (Z38) as principal diagnosis under an adult member's id."""
    if not _medical(rows, "P"):
        return None
    dob, dates = _date(rows[0].get("member_dob")), _service_dates(rows)
    if dob is None or not dates or min(dates) - dob <= dt.timedelta(days=366):
        return None
    _set(rows, dx_1="Z3800")
    return "MH103"


def _defect_mh_line_gap(rows: list[dict[str, str]]) -> str | None:
    """The last line is numbered one past its place: a line seems missing."""
    if not _medical(rows, "P", "I", "D"):
        return None
    rows[-1]["line_number"] = str(int(rows[-1]["line_number"]) + 1)
    return "MH110"


def _defect_mh_rendering_unlinked(rows: list[dict[str, str]]) -> str | None:
    """The rendering clinician joined the billing group the day after the service (provider file)."""
    if not _medical(rows, "P", "D") or not rows[0].get("rendering_npi"):
        return None
    _set(rows, rendering_npi=_own_npi(rows))
    return "MH140"


def _defect_mh_referring_missing(rows: list[dict[str, str]]) -> str | None:
    """A lab test on a professional claim that names no ordering provider."""
    if not _medical(rows, "P"):
        return None
    ordered = _ordered()
    if not any(ordered.category_of(r.get("procedure_code", "")) for r in rows):
        rows[-1]["procedure_code"] = "85025"
    for r in rows:
        for key in ("referring_npi", "referring_last_name", "referring_first_name"):
            r.pop(key, None)
    return "MH150"


def _defect_mh_referring_unauthorized(rows: list[dict[str, str]]) -> str | None:
    """The referring provider (or prescriber) may not order or refer: wrong provider type, or enrollment ended."""
    n = _claim_number(rows)
    if _rx(rows):
        rows[0]["prescriber_npi"] = _own_npi(rows)
        return "MH160"
    if not _medical(rows, "P", "I"):
        return None
    _set(
        rows,
        referring_npi=_own_npi(rows),
        referring_last_name=_SURNAMES[n % len(_SURNAMES)],
        referring_first_name=_GIVEN[n % len(_GIVEN)],
    )
    return "MH160"


def _defect_mh_urgent_care(rows: list[dict[str, str]]) -> str | None:
    """An urgent care center (provider file) bills in the office, or as an elective outpatient visit."""
    if _medical(rows, "P") and rows[0].get("place_of_service") != "20":
        for r in rows:  # an urgent care center bills as an entity: no rendering provider (MH140)
            for key in ("rendering_npi", "rendering_last_name", "rendering_first_name"):
                r.pop(key, None)
    elif not _medical(rows, "I") or _inpatient(rows) or rows[0].get("admission_type") == "2":
        return None
    _set(rows, billing_npi=_own_npi(rows))
    return "MH170"


def _defect_cl_outpatient_line_date(rows: list[dict[str, str]]) -> str | None:
    """An outpatient institutional line without its service date."""
    if not _medical(rows, "I") or _inpatient(rows):
        return None
    rows[-1].update(line_from_date="", line_to_date="")
    return "CL047"


def _defect_cl_discharge_hour(rows: list[dict[str, str]]) -> str | None:
    """A final inpatient claim of a discharged member without the discharge hour."""
    first = rows[0]
    if not _inpatient(rows) or first["claim_frequency"] not in "147" or first.get("patient_status") == "30":
        return None
    _set(rows, discharge_hour="")
    return "CL048"


def _defect_cl_born_after_service(rows: list[dict[str, str]]) -> str | None:
    """The member was born the day after the first date of service."""
    if not _medical(rows, "P", "I", "D"):
        return None
    dates = _service_dates(rows)
    if not dates:
        return None
    _set(rows, member_dob=_ymd(min(dates) + dt.timedelta(days=1)))
    return "CL049"


def _defect_cl_claim_adjustment(rows: list[dict[str, str]]) -> str | None:
    """A claim-level copay that repeats money the lines already adjust."""
    if not _medical(rows, "P", "I", "D"):
        return None
    _set(rows, claim_adj_group_1="PR", claim_adj_reason_1="3", claim_adj_amount_1="10.00")
    return "CL060"


def _defect_rx_negative_paid(rows: list[dict[str, str]]) -> str | None:
    """An original fill whose ingredient cost is booked negative (the total still follows its formula)."""
    row = rows[0]
    if not _rx(rows) or row["claim_frequency"] != "1" or _cents(row["ingredient_cost_paid"]) <= 0:
        return None
    ingredient = -_cents(row["ingredient_cost_paid"])
    total = ingredient + _cents(row["dispensing_fee_paid"]) - _cents(row["patient_pay_amount"])
    row.update(ingredient_cost_paid=_money(ingredient), total_amount_paid=_money(total))
    return "MH060"


def _defect_rx_future_fill(rows: list[dict[str, str]]) -> str | None:
    """A fill dated ten years ahead (a mistyped year), adjudicated the same day.

    That is in the future for any run before then: sample dates lie in the months after ``start``.
    """
    row = rows[0]
    day = _date(row["date_of_service"]) if _rx(rows) else None
    if day is None:
        return None
    ahead = day.replace(year=day.year + 10, day=28 if (day.month, day.day) == (2, 29) else day.day)
    row.update(date_of_service=_ymd(ahead), adjudication_date=_ymd(ahead))
    return "MH070"


#: Defects of the code set, MassHealth, situational and balancing classes for P, I and D claims
#: (each returns None when it does not apply). Only ``all_classes`` samples use them.
CLASS_DEFECTS: tuple[Defect, ...] = (
    _defect_cs_icd10cm,
    _defect_cs_icd10pcs,
    _defect_cs_procedure_shape,
    _defect_cs_cpt,
    _defect_cs_cdt,
    _defect_cs_ndc,
    _defect_cs_revenue,
    _defect_cs_pos,
    _defect_cs_carc,
    _defect_cs_state,
    _defect_cs_taxonomy,
    _defect_mh_billing_individual,
    _defect_mh_negative_line,
    _defect_mh_service_after_adjudication,
    _defect_mh_member_id_format,
    _defect_mh_member_unknown,
    _defect_mh_member_not_eligible,
    _defect_mh_newborn,
    _defect_mh_line_gap,
    _defect_mh_rendering_unlinked,
    _defect_mh_referring_missing,
    _defect_mh_referring_unauthorized,
    _defect_mh_urgent_care,
    _defect_cl_outpatient_line_date,
    _defect_cl_discharge_hour,
    _defect_cl_born_after_service,
    _defect_cl_claim_adjustment,
)

#: The same for pharmacy claims: the rules whose models include pharmacy.
RX_CLASS_DEFECTS: tuple[Defect, ...] = (
    _defect_cs_ndc,
    _defect_rx_negative_paid,
    _defect_rx_future_fill,
    _defect_mh_member_id_format,
    _defect_mh_member_unknown,
    _defect_mh_member_not_eligible,
    _defect_mh_referring_unauthorized,
)

#: Every class an ``all_classes`` sample seeds: the basic pools and the ones above.
ALL_DEFECTS: tuple[Defect, ...] = (*DEFECTS, *TYPE_DEFECTS, *CLASS_DEFECTS)
RX_ALL_DEFECTS: tuple[Defect, ...] = (*RX_DEFECTS, *RX_CLASS_DEFECTS)


def _adjudicated_after_service(rows: list[dict[str, str]]) -> None:
    """Date the adjudication after the last date of service when an inpatient stay ends later.

    The generator may adjudicate a six-day stay five days after admission, which
    MH070 reports: an unseeded reject (about 5 claims in 10,000). Moving the date
    draws no random number, so the claims that follow do not change.
    """
    last = max(_service_dates(rows), default=None)
    adjudicated = _date(rows[0]["adjudication_date"])
    if last is not None and adjudicated is not None and last > adjudicated:
        _set(rows, adjudication_date=_ymd(last + dt.timedelta(days=1)))


class _ClassSeeder:
    """Seeds, on each claim, the class seeded least so far among those the claim can carry.

    Classes that fit few claims (an inpatient stay's discharge hour, a drug line's
    NDC) wait at the front until a claim they fit comes, so a sample seeds every
    class once it has a few times as many seeded claims as there are classes.
    """

    def __init__(self, pool: Sequence[Defect], rng: random.Random) -> None:
        self.pool = tuple(pool)
        self.rng = rng
        self.counts = [0] * len(self.pool)

    def seed(self, rows: list[dict[str, str]]) -> str | None:
        """Apply one defect to ``rows`` and return its code (None when no class fits the claim)."""
        order = list(range(len(self.pool)))
        self.rng.shuffle(order)
        order.sort(key=self.counts.__getitem__)  # stable: ties stay in shuffled order
        for i in order:
            code = self.pool[i](rows)
            if code is not None:
                self.counts[i] += 1
                return code
        return None


# -- reference files and code lists that agree with a sample ---------------------------------------------
#: The code lists write_references writes, each as NAME.txt with one code per line.
CODE_LISTS: tuple[str, ...] = ("icd10cm", "icd10pcs", "hcpcs", "cpt", "cdt", "ndc", "revenue", "carc", "taxonomy")
#: The shapes CS003 and CS008 check: a value without its shape goes into no list.
_SHAPES = {
    "hcpcs": re.compile(r"^[A-V][0-9]{4}$"),
    "cpt": re.compile(r"^[0-9]{4}[0-9FTU]$"),
    "carc": re.compile(r"^([0-9]{1,3}|[A-Z][0-9]{1,2})$"),
}


def _pool_codes() -> dict[str, set[str]]:
    """Every code the generator may write, by code list, so no list is ever empty."""
    procedures = [p for p, _ in _PROCEDURES] + [h for _, h, _ in (*_OUTPATIENT_REVENUE, *_INPATIENT_REVENUE) if h]
    return {
        "icd10cm": {*_DIAGNOSES, "K029", "K0530", "K0889"},
        "icd10pcs": set(_PCS),
        "hcpcs": {p for p in procedures if p[0].isalpha()},
        "cpt": {p for p in procedures if not p[0].isalpha()},
        "cdt": {c for c, _, _ in _DENTAL},
        "ndc": {d[0] for d in _DRUGS},
        "revenue": {r for r, _, _ in (*_OUTPATIENT_REVENUE, *_INPATIENT_REVENUE)},
        "carc": {"3", "45", "96"},
        "taxonomy": set(_TAXONOMY),
    }


def _npi_ok(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_with_check_digit(npi[:9]) == npi


@dataclass(frozen=True)
class ReferenceFiles:
    """The files :func:`write_references` wrote."""

    directory: Path
    config: Path  # sendpro.toml wiring the others (paths relative to it)
    providers: Path
    members: Path
    codesets: dict[str, Path]


@dataclass
class SampleReferences:
    """Provider and member reference files and code lists that agree with a sample's claims.

    Fill it while writing a sample (``write_sample(..., references=refs)``) or with
    :meth:`add` for each ``(rows, code)`` of :func:`iter_sample_claims`, then
    :func:`write_references`. It describes every claim as valid: each member
    eligible from January 1 of the year before the sample's first service on, each
    billing NPI an enrolled organization (a group practice; pharmacies are
    ``other``), each rendering, referring, attending clinician and prescriber an
    enrolled physician (type 01) with the rendering clinicians linked to their
    billing groups, and every code the claims carry in its list. The exceptions are
    the claims seeded with a defect that needs the references to show: there the
    files disagree with that one claim (see the ``_defect_mh_*`` and ``_defect_cs_*``
    functions), and the lists leave out the codes in :data:`UNLISTED`.
    """

    members: dict[str, set[dt.date | None]] = field(default_factory=dict)  # id -> ends of its spans (None: open)
    organizations: dict[str, str] = field(default_factory=dict)  # npi -> category
    clinicians: dict[str, tuple[str, dt.date | None]] = field(default_factory=dict)  # npi -> (type, enrolled_to)
    affiliations: dict[tuple[str, str], dt.date | None] = field(default_factory=dict)  # (npi, group) -> from
    codes: dict[str, set[str]] = field(default_factory=_pool_codes)
    earliest: dt.date | None = None

    def add(self, rows: list[dict[str, str]], code: str | None = None) -> None:
        """Describe one claim.

        Args:
            rows: the claim's rows, as :func:`iter_sample_claims` yields them.
            code: the claim's seeded defect, if any: MH040, MH101, MH102, MH140,
                MH160 and MH170 make the reference files disagree with this claim.
        """
        first = rows[0]
        dates = _service_dates(rows)
        start, end = (min(dates), max(dates)) if dates else (None, None)
        if start is not None and (self.earliest is None or start < self.earliest):
            self.earliest = start
        member = first.get("member_id")
        if member and code != "MH101":  # MH101: the member file does not know the member
            ends = self.members.setdefault(member, set())
            ends.add(start - dt.timedelta(days=1) if code == "MH102" and start else None)
        self._codes(rows)
        if "ndc" in first:  # pharmacy: the pharmacy and the prescriber
            self._organization(first.get("pharmacy_npi"), "other")
            ended = start - dt.timedelta(days=1) if code == "MH160" and start else None
            self._clinician(first.get("prescriber_npi"), _PHYSICIAN_TYPE, ended)
            return
        billing = first.get("billing_npi", "")
        if code == "MH040":
            self._clinician(billing, _PHYSICIAN_TYPE)  # an individual's NPI as billing provider
        else:
            self._organization(billing, "urgent_care" if code == "MH170" else "group_practice")
        rendering = first.get("rendering_npi", "")
        self._clinician(rendering, _PHYSICIAN_TYPE)
        if _npi_ok(rendering) and billing in self.organizations:
            # MH140: the clinician joined the group only the day after the service.
            joined = end + dt.timedelta(days=1) if code == "MH140" and end else None
            self.affiliations.setdefault((rendering, billing), joined)
        referring_type = _UNAUTHORIZED_TYPE if code == "MH160" else _PHYSICIAN_TYPE
        self._clinician(first.get("referring_npi"), referring_type)
        self._clinician(first.get("attending_npi"), _PHYSICIAN_TYPE)

    def _organization(self, npi: str | None, category: str) -> None:
        if npi and _npi_ok(npi):  # a seeded bad check digit (PV010, RX010) is no provider's NPI
            self.organizations.setdefault(npi, category)

    def _clinician(self, npi: str | None, provider_type: str, enrolled_to: dt.date | None = None) -> None:
        if npi and _npi_ok(npi):
            self.clinicians.setdefault(npi, (provider_type, enrolled_to))

    def _codes(self, rows: list[dict[str, str]]) -> None:
        first = rows[0]
        claim_level = {
            "icd10cm": [f"dx_{n}" for n in range(1, 13)] + ["admitting_dx"],
            "icd10pcs": [f"icd_pcs_{n}" for n in range(1, 7)],
            "carc": ["claim_adj_reason_1", "claim_adj_reason_2"],
            "taxonomy": ["billing_taxonomy"],
            "ndc": ["ndc"],
        }
        found: list[tuple[str, str]] = [(name, first.get(k, "")) for name, keys in claim_level.items() for k in keys]
        dental = first.get("claim_type") == "D"
        for r in rows:
            procedure = r.get("procedure_code", "")
            kind = "cdt" if dental else "hcpcs" if procedure[:1].isalpha() else "cpt"
            found += [(kind, procedure), ("ndc", r.get("ndc_code", "")), ("revenue", r.get("revenue_code", ""))]
            found += [("carc", r.get(f"line_adj_reason_{n}", "")) for n in (1, 2, 3)]
        for name, value in found:
            shape = _SHAPES.get(name)
            # Malformed codes (seeded for CS003, CS008) belong in no list, nor do the UNLISTED ones.
            if value and value != UNLISTED.get(name) and (shape is None or shape.match(value)):
                self.codes[name].add(value)


def write_references(directory: Path, references: SampleReferences) -> ReferenceFiles:
    """Write ``providers.csv``, ``members.csv``, the code lists and a ``sendpro.toml`` wiring them into ``directory``.

    ``sendpro convert SAMPLE --config DIR/sendpro.toml`` then runs every rule,
    including those that need a reference file or a code list. Files of the same
    names in ``directory`` are replaced.

    Args:
        directory: where to write (created if missing).
        references: what a sample's claims need (see :class:`SampleReferences`).

    Returns:
        The paths written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    since = dt.date((references.earliest or dt.date(2026, 1, 5)).year - 1, 1, 1)

    def iso(day: dt.date | None) -> str:
        return "" if day is None else day.isoformat()

    lines = [",".join(PROVIDER_COLUMNS)]
    for npi, category in sorted(references.organizations.items()):
        lines.append(f"{npi},2,,{category},,,,{since.isoformat()},")
    groups: dict[str, list[tuple[str, dt.date | None]]] = {}
    for (npi, group), joined in sorted(references.affiliations.items()):
        groups.setdefault(npi, []).append((group, joined))
    for npi, (provider_type, ended) in sorted(references.clinicians.items()):
        person = f"{npi},1,{provider_type},other"
        enrolled = f"{since.isoformat()},{iso(ended)}"
        for group, joined in groups.get(npi) or [("", None)]:
            aff_from = (joined or since).isoformat() if group else ""
            lines.append(f"{person},{group},{aff_from},,{enrolled}")
    providers = directory / "providers.csv"
    providers.write_text("\n".join(lines) + "\n", encoding="utf-8")

    lines = ["member_id,eligible_from,eligible_to"]
    for member, ends in sorted(references.members.items()):
        for end in sorted(ends, key=lambda d: d or dt.date.max):
            lines.append(f"{member},{since.isoformat()},{iso(end)}")
    members = directory / "members.csv"
    members.write_text("\n".join(lines) + "\n", encoding="utf-8")

    codesets = {}
    for name in CODE_LISTS:
        path = directory / f"{name}.txt"
        path.write_text("".join(f"{c}\n" for c in sorted(references.codes[name])), encoding="utf-8")
        codesets[name] = path
    toml = [
        "# Reference files and code lists of a synthetic sendpro sample (every value is invented).",
        "# sendpro convert SAMPLE --config " + str(directory / "sendpro.toml"),
        "",
        "[codesets]",
        *(f'{name} = "{path.name}"' for name, path in codesets.items()),
        "",
        "[references]",
        f'providers = "{providers.name}"',
        f'members = "{members.name}"',
    ]
    config = directory / "sendpro.toml"
    config.write_text("\n".join(toml) + "\n", encoding="utf-8")
    return ReferenceFiles(directory, config, providers, members, codesets)


def iter_sample_claims(
    claims: int,
    *,
    types: Sequence[str] = ("P",),
    seed: int = 1,
    defect_rate: float = 0.0,
    start: dt.date = dt.date(2026, 1, 5),
    all_classes: bool = False,
) -> Iterator[tuple[list[dict[str, str]], str | None]]:
    """Yield ``(rows, seeded defect code or None)`` for ``claims`` synthetic claims.

    Args:
        claims: how many claims.
        types: claim types, taken in turn (``P``, ``I``, ``D``; or ``RX`` alone).
        seed: the random seed: the same arguments give the same claims.
        defect_rate: the share of claims that get one seeded defect.
        start: the earliest date of service.
        all_classes: seed defects of every rule class (:data:`ALL_DEFECTS`, or
            :data:`RX_ALL_DEFECTS` for pharmacy), each claim taking the class seeded
            least so far among those it can carry; without it only the basic
            pools are drawn from. Either way every claim is adjudicated on or
            after its last date of service (see ``_adjudicated_after_service``).
            The code set and MassHealth defects that need a code list or a
            reference file show only with the sample's :class:`SampleReferences`.

    Raises:
        ValueError: RX mixed with other claim types.
    """
    gen = _Generator(seed, start)
    defect_rng = random.Random(seed + 7919)
    pharmacy = "RX" in types
    if pharmacy and len(types) > 1:
        raise ValueError("pharmacy (RX) samples use the mce-rx-v1 layout and cannot mix with P, I or D")
    seeder = _ClassSeeder(RX_ALL_DEFECTS if pharmacy else ALL_DEFECTS, defect_rng) if all_classes else None
    originals: list[dict[str, str]] = []
    for i in range(claims):
        claim_type = types[i % len(types)]
        claim_id = f"{'RX' if pharmacy else 'SP'}{seed % 1000:03d}{i + 1:09d}"
        if pharmacy:
            rows = gen.pharmacy(claim_id, originals)
            if rows[0]["claim_frequency"] == "1" and len(originals) < 1000:
                originals.append(dict(rows[0]))
        else:
            rows = gen.claim(claim_id, claim_type)
            _adjudicated_after_service(rows)
        code = None
        if defect_rate and defect_rng.random() < defect_rate:
            if seeder is not None:
                code = seeder.seed(rows)
            else:
                # Each type's own defects are as likely as the common ones.
                pool = list(RX_DEFECTS) if pharmacy else list(DEFECTS) + [d for d in TYPE_DEFECTS for _ in range(2)]
                defect_rng.shuffle(pool)
                for defect in pool:
                    code = defect(rows)
                    if code is not None:
                        break
            if code is not None and originals and originals[-1]["mce_claim_id"] == claim_id:
                # No later reversal names a seeded (rejected) fill: it would be checked against
                # it (RX015, CL054), and each defect must show on its own claim only.
                originals.pop()
        yield rows, code


def write_sample(
    out: TextIO,
    claims: int,
    *,
    types: Sequence[str] = ("P",),
    seed: int = 1,
    defect_rate: float = 0.0,
    start: dt.date = dt.date(2026, 1, 5),
    layout: Layout | None = None,
    all_classes: bool = False,
    references: SampleReferences | None = None,
) -> SampleSummary:
    """Write ``claims`` synthetic claims to ``out`` and return what was written.

    The default encoding is ``mce-v1``; a fixed-width ``layout`` writes its
    records instead (fields the layout does not map are left out). ``defect_rate``
    is the share of claims that get exactly one seeded defect; each is listed in
    :attr:`SampleSummary.defects` with the rule code that must report it.
    ``all_classes`` draws them from every rule class (see :func:`iter_sample_claims`).
    ``references``, when given, is filled with every claim written, for
    :func:`write_references`.

    Raises:
        ValueError: RX mixed with other claim types, or seeded defects in a fixed-width sample.
    """
    summary = SampleSummary()
    generated = iter_sample_claims(
        claims, types=types, seed=seed, defect_rate=defect_rate, start=start, all_classes=all_classes
    )
    if layout is not None and layout.format is Format.FIXED_WIDTH:
        if defect_rate:
            raise ValueError("seeded defects are only available for mce-v1 samples")
        mapped = set(layout.model_fields)
        # A layout that cannot name the referring provider cannot send an ordered service
        # without MassHealth's edit 1200 (MH150): its sample bills an office visit instead.
        ordered = None if "referring_npi" in mapped else _ordered()

        def claims_only() -> Iterator[list[dict[str, str]]]:
            for rows, _ in generated:
                if ordered is not None:
                    rows = [_unordered(r, ordered) for r in rows]
                if references is not None:
                    references.add(rows)
                kept = [{k: v for k, v in r.items() if k in mapped} for r in rows]
                _count(summary, kept)
                # The claim's own record comes before its line records: rows are records,
                # as convert counts them (the header and trailer records are not rows).
                summary.rows += 1
                yield kept

        write_fixed_width(
            out,
            layout,
            claims_only(),
            {"submitter_id": "SAMPLE", "file_date": start.strftime("%Y%m%d")},
        )
        return summary
    columns = RX_COLUMNS if "RX" in types else COLUMNS
    out.write("|".join(columns) + "\n")
    for rows, code in generated:
        if code is not None:
            summary.defects.append((rows[0]["mce_claim_id"], code))
        if references is not None:
            references.add(rows, code)
        for row in rows:
            line = "|".join(row.get(c, "") for c in columns)
            if row.get("__truncate__"):
                line = line[: len(line) // 2].rsplit("|", 1)[0]
            out.write(line + "\n")
        _count(summary, rows)
    return summary


def _unordered(row: dict[str, str], ordered: OrderedServices) -> dict[str, str]:
    """Return ``row`` with an ordered service (lab, therapy, DME...) billed as an office visit."""
    if not ordered.category_of(row.get("procedure_code", "")):
        return row
    return {**row, "procedure_code": "99213"}


def _count(summary: SampleSummary, rows: list[dict[str, str]]) -> None:
    summary.rows += len(rows)
    if "ndc" in rows[0]:
        # Each pharmacy row is a claim, also a seeded repeat of a claim id (RX020).
        counted, charge, paid = rows, "gross_amount_due", "total_amount_paid"
    else:
        # Medical rows are lines repeating their claim's totals.
        counted, charge, paid = rows[:1], "total_charge", "total_paid"
    summary.claims += len(counted)
    summary.charge_cents += sum(int(round(float(r[charge] or 0) * 100)) for r in counted)
    summary.paid_cents += sum(int(round(float(r[paid] or 0) * 100)) for r in counted)
