"""The ``concerns`` expressions of the line, institutional, dental and MassHealth (MH103, MH110) record rules.

Each rule's expression must select every claim its ``check`` reports (the
engine builds and checks only those), and on clean data next to none. The
differential tests run the default rules over randomized samples twice, with
claims selected and with every claim checked, and compare the issues; the
exactness tests compare, rule by rule, the claims an expression selects with
the claims the rule reports when run on every claim.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sendpro.flatfile.fixedwidth import write_fixed_width
from sendpro.flatfile.layout import Layout, load_layout
from sendpro.flatfile.reader import KIND_OTHER, FlatFileReader
from sendpro.model.typing import clean_text_frame, ensure_model_columns, type_frame
from sendpro.references import OrderedServices
from sendpro.resources import schemas_dir
from sendpro.sample import iter_sample_claims, write_sample
from sendpro.validate.rule import RecordRule, RuleContext
from sendpro.validate.rules.dental import DENTAL_RULES
from sendpro.validate.rules.institutional import INSTITUTIONAL_RULES
from sendpro.validate.rules.line import LINE_RULES
from sendpro.validate.rules.masshealth import LinesIncomplete, NewbornUnderOtherId
from tests.helpers import FIXED_NOW, INPATIENT, bundled_codesets, mce_text, typed_rows
from tests.validate.concerns_harness import issues_both_ways, mutate_delimited, run_issues

RULES: tuple[type[RecordRule], ...] = (
    *LINE_RULES,
    NewbornUnderOtherId,
    LinesIncomplete,
    *INSTITUTIONAL_RULES,
    *DENTAL_RULES,
)
CODES = frozenset(r.code for r in RULES)

#: The columns these rules read, by family: a targeted mutation randomizes one family only,
#: so each of its columns is hit often (and swapped for values of its neighbours).
LINE_COLUMNS: tuple[str, ...] = (
    "claim_type",
    "line_number",
    "unit_type",
    "line_from_date",
    "line_to_date",
    "line_charge",
    "line_paid",
    *(f"line_adj_{part}_{n}" for n in (1, 2, 3) for part in ("group", "reason", "amount")),
)
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_type",
    "claim_frequency",
    "type_of_bill",
    "statement_from",
    "statement_to",
    "admission_date",
    "attending_npi",
    "attending_last_name",
    "attending_first_name",
    "member_dob",
    "admitting_dx",
    "revenue_code",
    "line_from_date",
    *(f"dx_{n}" for n in range(1, 4)),
    *(f"poa_{n}" for n in range(1, 4)),
    *(f"icd_pcs_{n}" for n in range(1, 3)),
    *(f"icd_pcs_date_{n}" for n in range(1, 3)),
)
DENTAL_COLUMNS: tuple[str, ...] = (
    "claim_type",
    "procedure_code",
    "tooth_number",
    "tooth_surfaces",
    "oral_cavity_area",
    "unit_type",
)
READ_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *LINE_COLUMNS,
            *CLAIM_COLUMNS,
            *DENTAL_COLUMNS,
            *(f"dx_{n}" for n in range(1, 13)),
            *(f"poa_{n}" for n in range(1, 13)),
            *(f"icd_pcs_{n}" for n in range(1, 7)),
            *(f"icd_pcs_date_{n}" for n in range(1, 7)),
        )
    )
)
FAMILIES: dict[str, tuple[str, ...]] = {
    "line": LINE_COLUMNS,
    "claim": CLAIM_COLUMNS,
    "dental": DENTAL_COLUMNS,
    "all-read": READ_COLUMNS,
}


def _context() -> dict[str, Any]:
    """Return what the harness gives a run's rules."""
    return {
        "codesets": bundled_codesets(),
        "ordered_services": OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml"),
        "today": FIXED_NOW.strftime("%Y%m%d"),
    }


def _sample(path: Path, claims: int, seed: int, defect_rate: float = 0.3) -> Path:
    """Write an mce-v1 sample of every medical claim type."""
    with path.open("w", encoding="utf-8") as handle:
        write_sample(handle, claims, types=("P", "I", "D"), seed=seed, defect_rate=defect_rate, all_classes=True)
    return path


def _typed_batches(path: Path, layout: Layout) -> Iterator[pl.DataFrame]:
    """Yield the typed batch frames of ``path`` as :meth:`ValidationEngine.check_batch` builds them."""
    fields = layout.catalog.fields
    with FlatFileReader(path, layout, chunk_lines=5_000) as reader:
        info = reader.open()
        reader.scan()
        for batch in reader.iter_batches():
            frame = ensure_model_columns(batch.frame, fields)
            frame, _ = clean_text_frame(frame, fields)
            broken = pl.col("_kind") == KIND_OTHER
            if info.expected_fields:
                broken = broken | (pl.col("_nf") != info.expected_fields).fill_null(False)
            yield type_frame(frame.with_columns(broken.alias("_broken")), fields)


def _selections(path: Path, layout: Layout) -> tuple[dict[str, set[int]], int]:
    """Return the claims (seqs) each rule's expression selects, and the number of claims."""
    rules = [cls() for cls in RULES]
    context = RuleContext(file=path.name, layout=layout, extra=_context())
    for rule in rules:
        rule.start(context)
    chosen: dict[str, set[int]] = {rule.code: set() for rule in rules}
    claims = 0
    for typed in _typed_batches(path, layout):
        claims += typed["_claim_seq"].n_unique()
        ids = frozenset(typed["mce_claim_id"].drop_nulls().unique().to_list())
        for rule in rules:
            rule.begin_batch(ids)
            expr = rule.concerns()
            assert expr is not None, f"{rule.code} selects every claim"
            picked = typed.filter(expr.fill_null(True))["_claim_seq"].unique().to_list()
            chosen[rule.code].update(picked)
    return chosen, claims


def _reported(issues: list[tuple[object, ...]]) -> dict[str, set[int]]:
    """Return, per rule of :data:`RULES`, the claims (seqs) it reported."""
    out: dict[str, set[int]] = {code: set() for code in CODES}
    for issue in issues:
        seq, code = issue[0], issue[2]
        if code in CODES:
            assert isinstance(seq, int), issue  # these rules report claims, never the file
            out[str(code)].add(seq)
    return out


def _assert_same_issues(path: Path, layout: str | Layout = "mce-v1") -> list[tuple[object, ...]]:
    """Assert selecting claims changes no issue (those of these rules first, for a readable failure)."""
    selected, everyone = issues_both_ways(path, layout)
    assert [i for i in selected if i[2] in CODES] == [i for i in everyone if i[2] in CODES]
    assert selected == everyone
    return everyone


def _assert_exact(path: Path, layout: Layout, everyone: list[tuple[object, ...]]) -> None:
    """Assert each rule's expression selects exactly the claims the rule reports on every claim."""
    chosen, _ = _selections(path, layout)
    reported = _reported(everyone)
    for code in sorted(CODES):
        assert reported[code] <= chosen[code], f"{code} misses claims {sorted(reported[code] - chosen[code])}"
        assert chosen[code] == reported[code], (
            f"{code} selects claims it does not report: {chosen[code] - reported[code]}"
        )


# -- differential tests on randomized samples ------------------------------------------------------
@pytest.mark.parametrize("seed", [101, 102, 103])
def test_random_mutations_change_no_issue(tmp_path: Path, seed: int) -> None:
    source = _sample(tmp_path / "sample.txt", 240, seed)
    mutated = mutate_delimited(source, tmp_path / "mutated.txt", seed)
    _assert_same_issues(mutated)


def _targeted(tmp_path: Path, seed: int, family: str) -> Path:
    """Write a sample with the columns of ``family`` randomized on half its rows."""
    source = _sample(tmp_path / f"sample-{seed}.txt", 240, seed)
    target = tmp_path / f"mutated-{seed}-{family}.txt"
    return mutate_delimited(source, target, seed, share=0.5, columns=FAMILIES[family])


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("seed", [201, 202])
def test_targeted_mutations_change_no_issue_and_select_exactly(tmp_path: Path, seed: int, family: str) -> None:
    mutated = _targeted(tmp_path, seed, family)
    everyone = _assert_same_issues(mutated)
    _assert_exact(mutated, load_layout("mce-v1"), everyone)


def test_targeted_mutations_reach_every_rule(tmp_path: Path) -> None:
    """The targeted and hand-made inputs make every rule here report something: the tests above test them all."""
    found = {i[2] for i in run_issues(_tricky(tmp_path / "tricky.txt"), True)}
    for seed in (201, 202):
        for family in FAMILIES:
            found |= {i[2] for i in run_issues(_targeted(tmp_path, seed, family), True)}
    assert CODES <= found, sorted(CODES - found)


def _damaged_fixed_width(path: Path, seed: int) -> Path:
    """Write a fixed-width sample with seeded defects, then drop, repeat and renumber line records.

    Claims left without line records become claim rows that are not lines
    (``_nolines``); a claim record cut short is kept apart from its first line.
    """
    layout = load_layout("mce-fw-example")
    mapped = set(layout.model_fields)
    claims = [
        [{k: v for k, v in row.items() if k in mapped} for row in rows]
        for rows, _ in iter_sample_claims(160, types=("P",), seed=seed, defect_rate=0.3, all_classes=True)
    ]
    buffer = io.StringIO()
    write_fixed_width(buffer, layout, claims, {"submitter_id": "SAMPLE", "file_date": "20260105"})
    rng = random.Random(seed)
    out: list[str] = []
    for record in buffer.getvalue().splitlines():
        how = rng.random()
        if record.startswith("LN") and how < 0.3:
            if how < 0.1:
                continue  # a missing line (a claim may lose all of them)
            if how < 0.2:
                out += [record, record]  # a repeated line number
                continue
            record = f"{record[:2]}{rng.randint(0, 6):04d}{record[6:]}"  # renumbered (0 is invalid)
        elif record.startswith("CL") and how < 0.08:
            record = record[:-1]  # a claim record of the wrong length
        out.append(record)
    # The trailer counts the records (no claim record is dropped, so its control total holds).
    assert out[-1].startswith("TR")
    out[-1] = f"TR{len(out):09d}{out[-1][11:]}"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("seed", [301, 302])
def test_fixed_width_claim_rows_change_no_issue(tmp_path: Path, seed: int) -> None:
    layout = load_layout("mce-fw-example")
    path = _damaged_fixed_width(tmp_path / "sample.dat", seed)
    everyone = _assert_same_issues(path, layout)
    _assert_exact(path, layout, everyone)
    assert _reported(everyone)["MH110"] and _reported(everyone)["SV011"]


def _tricky(path: Path) -> Path:
    """Write claims whose rows disagree on claim-level values, and other cases random cells rarely make."""
    rows = [
        # Dental by its first row: the second row's bad tooth is checked (SV021) though that row says P.
        *typed_rows("D", lines=[{}, {"claim_type": "P", "tooth_number": "33"}]),
        # Professional by its first row: the second row's claim type D does not make its tooth checked.
        *typed_rows("P", {"mce_claim_id": "C200"}, lines=[{}, {"claim_type": "D", "tooth_number": "33"}]),
        # The statement period of the first row holds the lines; the second row's would not (CL042 silent).
        *typed_rows(
            "I",
            {"mce_claim_id": "I200", "statement_from": "20260210", "statement_to": "20260213"},
            lines=[{}, {"statement_from": "20260212"}],
        ),
        # A principal diagnosis of a newborn on the first row only, an adult member (MH103).
        *typed_rows("P", {"mce_claim_id": "C300"}, lines=[{"dx_1": "Z3800"}, {}]),
        # Line 2 is missing (MH110), and a line number repeats (SV011).
        *typed_rows("P", {"mce_claim_id": "C400"}, lines=[{}, {"line_number": "3"}, {"line_number": "3"}]),
        # An inpatient stay naming no attending provider on its first row, only on its second (CL043).
        *typed_rows(
            "I",
            {"mce_claim_id": "I300", **INPATIENT},
            lines=[{"attending_npi": "", "attending_last_name": "", "attending_first_name": ""}, {}],
        ),
    ]
    path.write_text(mce_text(rows), encoding="utf-8")
    return path


def test_rows_disagreeing_on_claim_values_are_read_from_the_first(tmp_path: Path) -> None:
    """Claim-level values come from the claim's first row, as the encounter reads them."""
    path = _tricky(tmp_path / "in.txt")
    everyone = _assert_same_issues(path)
    _assert_exact(path, load_layout("mce-v1"), everyone)
    reported = _reported(everyone)
    assert reported["SV021"] == {0}
    assert not reported["CL042"]
    assert reported["MH103"] == {3}
    assert reported["MH110"] == reported["SV011"] == {4}
    assert reported["CL043"] == {5}


# -- clean data ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_selections(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, set[int]], int]:
    """Return what each rule selects on a clean sample of 900 claims (P, I and D)."""
    path = _sample(tmp_path_factory.mktemp("clean") / "clean.txt", 900, seed=5, defect_rate=0)
    return _selections(path, load_layout("mce-v1"))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_clean_sample_selects_few_claims(
    rule: type[RecordRule], clean_selections: tuple[dict[str, set[int]], int]
) -> None:
    chosen, claims = clean_selections
    assert claims == 900
    assert len(chosen[rule.code]) <= 0.03 * claims, f"{rule.code} selects {len(chosen[rule.code])} of {claims}"
