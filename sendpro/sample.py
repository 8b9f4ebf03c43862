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

COLUMNS: tuple[str, ...] = tuple(fd.name for fd in FIELDS)

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
        if rng.random() < 0.8:
            npi, last, first = rng.choice(self.rendering)
            head.update(rendering_npi=npi, rendering_last_name=last, rendering_first_name=first)
        if rng.random() < 0.15:
            npi, last, first = rng.choice(self.rendering)
            head.update(referring_npi=npi, referring_last_name=last, referring_first_name=first)
        n_dx = rng.randint(1, 4)
        for i, dx in enumerate(rng.sample(_DIAGNOSES, n_dx), start=1):
            head[f"dx_{i}"] = dx
        if rng.random() < 0.05:
            head["claim_frequency"] = rng.choice("78")
            head["original_claim_id"] = claim_id + "A"
        n_lines = rng.choice((1, 2, 2, 3, 3, 3, 4, 5))
        lines = []
        total_charge = total_paid = 0
        for n in range(1, n_lines + 1):
            proc, base = rng.choice(_PROCEDURES)
            units = rng.choice((1, 1, 1, 2))
            charge = base * 100 * units + rng.choice((0, 0, 50, 99))
            paid = 0 if denied else int(charge * rng.uniform(0.4, 0.9))
            line: dict[str, str] = {
                "line_number": str(n),
                "procedure_code": proc,
                "units": str(units),
                "unit_type": "UN",
                "line_from_date": service.strftime("%Y%m%d"),
                "line_to_date": service.strftime("%Y%m%d"),
                "line_charge": _money(charge),
                "line_paid": _money(paid),
                "dx_pointer_1": str(rng.randint(1, n_dx)),
            }
            if rng.random() < 0.1:
                line["modifier_1"] = rng.choice(("25", "59", "GT", "95"))
            remaining = charge - paid
            adj_n = 1
            if remaining and not denied and rng.random() < 0.3:
                copay = min(remaining, rng.choice((500, 1000, 2000)))
                line.update(
                    {
                        f"line_adj_group_{adj_n}": "PR",
                        f"line_adj_reason_{adj_n}": "3",
                        f"line_adj_amount_{adj_n}": _money(copay),
                    }
                )
                remaining -= copay
                adj_n += 1
            if remaining or denied:
                reason = "96" if denied else "45"
                line.update(
                    {
                        f"line_adj_group_{adj_n}": "CO",
                        f"line_adj_reason_{adj_n}": reason,
                        f"line_adj_amount_{adj_n}": _money(remaining),
                    }
                )
            total_charge += charge
            total_paid += paid
            lines.append(line)
        head["total_charge"] = _money(total_charge)
        head["total_paid"] = _money(total_paid)
        return [{**head, **line} for line in lines]


def _defect_npi(rows: list[dict[str, str]]) -> str:
    npi = rows[0]["billing_npi"]
    bad = npi[:9] + str((int(npi[9]) + 1) % 10)
    for r in rows:
        r["billing_npi"] = bad
    return "PV010"


def _defect_total_charge(rows: list[dict[str, str]]) -> str:
    for r in rows:
        r["total_charge"] = _money(int(round(float(r["total_charge"]) * 100)) + 1000)
    return "CL015"


def _defect_date(rows: list[dict[str, str]]) -> str:
    rows[0]["line_from_date"] = rows[0]["line_from_date"][:4] + "0230"
    return "SV003"


def _defect_dob(rows: list[dict[str, str]]) -> str:
    for r in rows:
        r["member_dob"] = ""
    return "MB001"


def _defect_line_balance(rows: list[dict[str, str]]) -> str:
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


def _defect_original(rows: list[dict[str, str]]) -> str:
    for r in rows:
        r["claim_frequency"] = "7"
        r.pop("original_claim_id", None)
    return "CL012"


def _defect_contract(rows: list[dict[str, str]]) -> str:
    for r in rows:
        r["contract_type"] = "07"
    return "CL011"


def _defect_dx_dot(rows: list[dict[str, str]]) -> str:
    dx = rows[0]["dx_1"]
    for r in rows:
        r["dx_1"] = dx[:3] + "." + (dx[3:] or "0")
    return "CL002"


def _defect_truncated(rows: list[dict[str, str]]) -> str:
    rows[-1]["__truncate__"] = "1"
    return "FF010"


DEFECTS: tuple[Callable[[list[dict[str, str]]], str], ...] = (
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
    for i in range(claims):
        claim_type = types[i % len(types)]
        claim_id = f"SP{seed % 1000:03d}{i + 1:09d}"
        rows = gen.claim(claim_id, claim_type)
        code = None
        if defect_rate and defect_rng.random() < defect_rate:
            code = defect_rng.choice(DEFECTS)(rows)
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
    out.write("|".join(COLUMNS) + "\n")
    for rows, code in generated:
        if code is not None:
            summary.defects.append((rows[0]["mce_claim_id"], code))
        for row in rows:
            line = "|".join(row.get(c, "") for c in COLUMNS)
            if row.get("__truncate__"):
                line = line[: len(line) // 2].rsplit("|", 1)[0]
            out.write(line + "\n")
        _count(summary, rows)
    return summary


def _count(summary: SampleSummary, rows: list[dict[str, str]]) -> None:
    summary.claims += 1
    summary.rows += len(rows)
    summary.charge_cents += int(round(float(rows[0]["total_charge"]) * 100))
    summary.paid_cents += int(round(float(rows[0]["total_paid"]) * 100))
