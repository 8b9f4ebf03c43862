"""Synthetic ``mce-v1`` encounters for demos, tests and benchmarks.

Everything here is invented: member ids, names, providers and claims are drawn
from a seeded random generator and small made-up word lists, so a sample never
holds a real member, provider or claim. NPIs carry valid check digits so that a
clean sample passes validation; ``defect_rate`` seeds known defects, each tagged
with the rule code that must catch it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from sendpro.flatfile.fixedwidth import write_fixed_width
from sendpro.flatfile.layout import Format, Layout
from sendpro.model.fields import FIELDS
from sendpro.model.rx_fields import RX_FIELDS
from sendpro.references import OrderedServices
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
    "M545",
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
        self.ordered = OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml")
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
        """One pharmacy claim row; sometimes a reversal of an earlier claim in ``originals``."""
        rng = self.rng
        if originals and rng.random() < 0.05:
            original = rng.choice(originals)
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


def iter_sample_claims(
    claims: int,
    *,
    types: Sequence[str] = ("P",),
    seed: int = 1,
    defect_rate: float = 0.0,
    start: dt.date = dt.date(2026, 1, 5),
) -> Iterator[tuple[list[dict[str, str]], str | None]]:
    """Yield ``(rows, seeded defect code or None)`` for ``claims`` synthetic claims."""
    gen = _Generator(seed, start)
    defect_rng = random.Random(seed + 7919)
    pharmacy = "RX" in types
    if pharmacy and len(types) > 1:
        raise ValueError("pharmacy (RX) samples use the mce-rx-v1 layout and cannot mix with P, I or D")
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
        code = None
        if defect_rate and defect_rng.random() < defect_rate:
            # Each type's own defects are as likely as the common ones.
            pool = list(RX_DEFECTS) if pharmacy else list(DEFECTS) + [d for d in TYPE_DEFECTS for _ in range(2)]
            defect_rng.shuffle(pool)
            for defect in pool:
                code = defect(rows)
                if code is not None:
                    break
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
) -> SampleSummary:
    """Write ``claims`` synthetic claims to ``out`` and return what was written.

    The default encoding is ``mce-v1``; a fixed-width ``layout`` writes its
    records instead (fields the layout does not map are left out). ``defect_rate``
    is the share of claims that get exactly one seeded defect; each is listed in
    :attr:`SampleSummary.defects` with the rule code that must report it.
    """
    summary = SampleSummary()
    generated = iter_sample_claims(claims, types=types, seed=seed, defect_rate=defect_rate, start=start)
    if layout is not None and layout.format is Format.FIXED_WIDTH:
        if defect_rate:
            raise ValueError("seeded defects are only available for mce-v1 samples")
        mapped = set(layout.model_fields)

        def claims_only() -> Iterator[list[dict[str, str]]]:
            for rows, _ in generated:
                kept = [{k: v for k, v in r.items() if k in mapped} for r in rows]
                _count(summary, kept)
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
        for row in rows:
            line = "|".join(row.get(c, "") for c in columns)
            if row.get("__truncate__"):
                line = line[: len(line) // 2].rsplit("|", 1)[0]
            out.write(line + "\n")
        _count(summary, rows)
    return summary


def _count(summary: SampleSummary, rows: list[dict[str, str]]) -> None:
    summary.claims += 1
    summary.rows += len(rows)
    charge, paid = ("gross_amount_due", "total_amount_paid") if "ndc" in rows[0] else ("total_charge", "total_paid")
    summary.charge_cents += int(round(float(rows[0][charge] or 0) * 100))
    summary.paid_cents += int(round(float(rows[0][paid] or 0) * 100))
