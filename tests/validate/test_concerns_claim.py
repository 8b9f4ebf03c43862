"""The ``concerns`` expressions of the claim, situational and provider record rules.

Differential: the default rules run over mutated P/I/D samples once with claims
selected by the rules' expressions and once on every claim; the issues of the
rules of claim.py, situational.py and provider.py must be the same (and so must
all issues). Economy: on a clean sample each expression selects few claims.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sendpro.flatfile.layout import load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.references import OrderedServices
from sendpro.resources import schemas_dir
from sendpro.sample import iter_sample_claims, write_sample
from sendpro.validate.engine import CheckedBatch, ValidationEngine
from sendpro.validate.registry import RuleRegistry
from sendpro.validate.rule import RecordRule
from sendpro.validate.rules.claim import CLAIM_RULES
from sendpro.validate.rules.provider import PROVIDER_RULES
from sendpro.validate.rules.situational import SITUATIONAL_RULES
from tests.helpers import FIXED_NOW, bundled_codesets, fw_text
from tests.validate.concerns_harness import issues_both_ways, mutate_delimited

RULES: tuple[type[RecordRule], ...] = (*CLAIM_RULES, *SITUATIONAL_RULES, *PROVIDER_RULES)
CODES = frozenset(r.code for r in RULES)

NPI_COLUMNS = tuple(
    f"{r}_npi" for r in ("billing", "rendering", "referring", "attending", "facility", "line_rendering")
)
FACILITY_COLUMNS = tuple(f"facility_{p}" for p in ("npi", "name", "address", "city", "state", "zip"))

#: The columns the rules read: mutating only these makes them fire far more often.
COLUMNS = (
    "claim_type",
    "mce_claim_id",
    "claim_frequency",
    "original_claim_id",
    "claim_status",
    "contract_type",
    "type_of_bill",
    "patient_status",
    "discharge_hour",
    "statement_from",
    "member_dob",
    "member_address",
    "member_city",
    "member_state",
    "member_zip",
    "total_charge",
    "total_paid",
    "line_charge",
    "line_paid",
    "line_from_date",
    *(f"claim_adj_{p}_{n}" for n in (1, 2) for p in ("group", "reason", "amount")),
    *(f"line_adj_{p}_{n}" for n in (1, 2, 3) for p in ("group", "reason", "amount")),
    *NPI_COLUMNS,
    *(f"{r}_{p}" for r in ("rendering", "referring", "attending") for p in ("last_name", "first_name")),
    *FACILITY_COLUMNS[1:],
    # Not read, but single digits: swapped into claim_frequency they give every frequency code.
    "line_number",
    "dx_pointer_1",
)

#: Every issue of these rules the differential runs found, per code (filled by the tests, read last).
FIRED: Counter[str] = Counter()
#: How many differential runs there are (the tests calling ``_compare``), and how many ran.
DIFFERENTIAL_RUNS = 19
RAN: list[Path] = []


def _sample(path: Path, claims: int, seed: int, defect_rate: float) -> Path:
    handle = io.StringIO()
    write_sample(handle, claims, types=("P", "I", "D"), seed=seed, defect_rate=defect_rate, all_classes=True)
    path.write_text(handle.getvalue(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-claim P/I/D sample with 30% of the claims seeded with a defect of some class."""
    return _sample(tmp_path_factory.mktemp("concerns") / "seeded.txt", 300, 11, 0.3)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600-claim P/I/D sample without seeded defects."""
    return _sample(tmp_path_factory.mktemp("concerns") / "clean.txt", 600, 5, 0.0)


def _compare(path: Path, layout: str = "mce-v1", extra: dict[str, Any] | None = None) -> None:
    """Assert that selecting claims changes no issue: of these rules first, then of any rule."""
    selected, every = issues_both_ways(path, layout, extra)
    mine_every = [i for i in every if i[2] in CODES]
    assert [i for i in selected if i[2] in CODES] == mine_every
    assert selected == every
    FIRED.update(str(i[2]) for i in mine_every)
    RAN.append(path)


def test_seeded_sample_as_written(seeded: Path) -> None:
    _compare(seeded)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_randomly_mutated(seeded: Path, tmp_path: Path, seed: int) -> None:
    _compare(mutate_delimited(seeded, tmp_path / "mutated.txt", seed))


@pytest.mark.parametrize("seed", [21, 22, 23, 24, 25, 26])
def test_mutated_in_the_columns_read(seeded: Path, tmp_path: Path, seed: int) -> None:
    _compare(mutate_delimited(seeded, tmp_path / "mutated.txt", seed, share=0.5, columns=COLUMNS))


@pytest.mark.parametrize("seed", [31, 32])
def test_clean_sample_mutated_in_the_columns_read(clean: Path, tmp_path: Path, seed: int) -> None:
    _compare(mutate_delimited(clean, tmp_path / "mutated.txt", seed, share=0.4, columns=COLUMNS))


def test_writable_types_given(seeded: Path, tmp_path: Path) -> None:
    """CL019 reads the run's writable types: dental claims are not writable here."""
    mutated = mutate_delimited(seeded, tmp_path / "mutated.txt", 41, columns=["claim_type", "claim_frequency"])
    _compare(mutated, extra={"writable_types": frozenset({"P", "I"})})


def _rewrite(source: Path, target: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> Path:
    """Write ``source`` (delimited, with a header) with each claim's rows (dicts) passed through ``edit``.

    A claim is a run of rows with the same claim id; rows of the wrong width are copied as they are.
    """
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("|")
    out = ["|".join(header)]
    rows: list[dict[str, str]] = []

    def flush() -> None:
        out.extend("|".join(r[c] for c in header) for r in edit(rows))
        rows.clear()

    for line in lines[1:]:
        cells = line.split("|")
        if len(cells) != len(header):
            if rows:
                flush()
            out.append(line)
            continue
        row = dict(zip(header, cells, strict=True))
        if rows and rows[-1]["mce_claim_id"] != row["mce_claim_id"]:
            flush()
        rows.append(row)
    if rows:
        flush()
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


@pytest.mark.parametrize("seed", [51, 52, 53])
def test_targeted_edits(seeded: Path, tmp_path: Path, seed: int) -> None:
    """Every frequency code (and none), denied claims, bad NPIs, bare facilities; later rows may differ."""
    rng = random.Random(seed)

    def edit(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        frequency = rng.choice([*"123456789", ""])
        for k, row in enumerate(rows):
            if k == 0 or rng.random() < 0.7:
                row["claim_frequency"] = frequency
            if rng.random() < 0.3:
                row["original_claim_id"] = rng.choice(["", row["mce_claim_id"], "SP999"])
        if rng.random() < 0.3:  # denied, paying nothing or something, lines with or without adjustments
            paid = rng.choice(["0", "0.00", "", "12.50"])
            for k, row in enumerate(rows):
                if k == 0 or rng.random() < 0.7:
                    row["claim_status"], row["total_paid"] = "D", paid
                if rng.random() < 0.5:
                    for n in (1, 2, 3):
                        row[f"line_adj_group_{n}"] = row[f"line_adj_reason_{n}"] = row[f"line_adj_amount_{n}"] = ""
        for row in rows:  # NPIs of the right shape, a third with a wrong check digit, on any row
            if rng.random() < 0.15:
                row[rng.choice(NPI_COLUMNS)] = rng.choice(["1234567890", "1234567893", "1245319599", "1245319590"])
        if rng.random() < 0.2:  # no discharge hour (on an inpatient claim: CL048 with any frequency)
            rows[0]["discharge_hour"] = ""
        if rng.random() < 0.1:  # a statement period starting before the member's birth, the lines after it
            for row in rows:
                row["statement_from"], row["member_dob"] = "20250101", "20250601"
        if rng.random() < 0.1:  # a facility known by its NPI alone
            for name in FACILITY_COLUMNS:
                rows[0][name] = "1234567893" if name == "facility_npi" else ""
        return rows

    _compare(_rewrite(seeded, tmp_path / "edited.txt", edit))


def test_long_claims(seeded: Path, tmp_path: Path) -> None:
    """Claims around their type's line maximum (50 for P and D, 999 for I), some lines without a charge."""
    lengths = {"P": iter([50, 51, 80]), "D": iter([50, 51]), "I": iter([999, 1000])}

    def edit(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        n = next(lengths.get(rows[0]["claim_type"], iter(())), None)
        if n is None:
            return rows
        longer = [dict(rows[k % len(rows)], line_number=str(k + 1)) for k in range(n)]
        if n == 51:
            longer[-1]["line_charge"] = ""
        return longer

    _compare(_rewrite(seeded, tmp_path / "long.txt", edit))
    assert FIRED["CL018"] >= 4


def test_fixed_width(tmp_path: Path) -> None:
    """Fixed-width claims: claim records without lines, or of the wrong length, and mutated values."""
    rng = random.Random(61)
    claims = [rows for rows, _ in iter_sample_claims(300, types=("P",), seed=61, defect_rate=0.3, all_classes=True)]
    pool = [dict(row) for rows in claims for row in rows]  # values to swap in, taken before any change
    for rows in claims:
        for row in rows:
            if rng.random() < 0.3:
                name = rng.choice([c for c in COLUMNS if c in row])
                row[name] = rng.choice(["", rng.choice(pool).get(name, "")])
    kept: list[str] = []
    for line in fw_text(claims).splitlines():
        if line.startswith("LN") and rng.random() < 0.25:
            continue  # a claim may lose every line: its claim record becomes a row without a line
        if line.startswith("CL") and rng.random() < 0.05:
            line = line[:-3]  # a claim record of the wrong length stays a row of its own
        kept.append(line)
    assert kept[-1].startswith("TR")
    kept[-1] = f"TR{len(kept):09d}{kept[-1][11:]}"  # the trailer counts the records left
    path = tmp_path / "claims.fw"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with FlatFileReader(path, load_layout("mce-fw-example")) as reader:
        reader.open()
        reader.scan()
        frames = [batch.frame for batch in reader.iter_batches()]
    nolines = sum(int(f["_nolines"].sum()) for f in frames)
    assert nolines >= 5, nolines  # claim records without a line, or kept apart
    _compare(path, layout="mce-fw-example")


def test_every_rule_fired_somewhere() -> None:
    """The differential runs above exercised every rule (else they prove little); run after them."""
    if len(RAN) < DIFFERENTIAL_RUNS:
        pytest.skip(f"only {len(RAN)} of the {DIFFERENTIAL_RUNS} differential runs ran")
    assert CODES <= set(FIRED), sorted(CODES - set(FIRED))


# -- economy ----------------------------------------------------------------------------------


def selected_shares(path: Path, extra: dict[str, Any] | None = None) -> dict[str, float]:
    """Return, per record rule of RULES, the share of the file's claims its ``concerns`` selects.

    The expressions are evaluated as the engine does: on each batch's typed frame,
    after ``begin_batch``, nulls counting as selected, a claim selected by any row.
    """
    layout = load_layout("mce-v1")
    context: dict[str, Any] = {
        "codesets": bundled_codesets(),
        "ordered_services": OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml"),
        "today": FIXED_NOW.strftime("%Y%m%d"),
        **(extra or {}),
    }
    rules = RuleRegistry().select(model=layout.model)
    engine = ValidationEngine(rules)
    wanted = tuple(RULES)
    selected: Counter[str] = Counter()
    claims = 0
    with FlatFileReader(path, layout, chunk_lines=2_000) as reader:
        for item in engine.run_batches(reader, context):
            if not isinstance(item, CheckedBatch):
                continue
            claims += len(item.seqs)
            for rule in engine._active.record_rules:
                if isinstance(rule, wanted):
                    expr = rule.concerns()
                    assert expr is not None, f"{rule.code} has no concerns expression"
                    flags = item.typed.select(pl.col("_claim_seq"), expr.fill_null(True).alias("_c"))
                    selected[rule.code] += flags.filter(pl.col("_c"))["_claim_seq"].n_unique()
            engine.settle(item)
    assert claims
    return {r.code: selected[r.code] / claims for r in RULES}


def test_clean_sample_selects_few_claims(clean: Path) -> None:
    shares = selected_shares(clean, extra={"writable_types": frozenset({"P", "I", "D"})})
    assert set(shares) == CODES
    too_many = {code: share for code, share in shares.items() if share > 0.03}
    assert not too_many, too_many


def test_seeded_claims_are_selected_but_not_all(seeded: Path) -> None:
    """On a seeded sample the expressions still leave most claims alone (and select some)."""
    shares = selected_shares(seeded)
    assert max(shares.values()) < 0.5, shares
    assert sum(shares.values()) > 0
