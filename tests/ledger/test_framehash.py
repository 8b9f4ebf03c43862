"""The frame-computed content hash equals the ledger's hash of the built encounter, claim for claim."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import random
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from sendpro.flatfile.layout import load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.ledger.framehash import _ENCOUNTER, _compile, _concat, _fixed_tuple, content_hashes
from sendpro.ledger.history import content_hash
from sendpro.model.build import iter_encounters
from sendpro.model.encounter import Encounter, Member
from sendpro.model.fields import FIELDS
from sendpro.model.typing import clean_text_frame, ensure_model_columns, type_frame
from sendpro.sample import write_sample
from tests.helpers import claim_rows, mce_text, typed_rows

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x12"
GOLDEN = sorted(p for p in FIXTURES.glob("*/input.*"))
MODEL_COLUMNS = [fd.name for fd in FIELDS]
#: Printable ASCII, with the characters repr() escapes or that pick its quote drawn more often.
PRINTABLE = [chr(c) for c in range(32, 127)] + ["'", '"', "\\"] * 10


def typed_batches(path: Path, layout: str = "mce-v1", chunk_lines: int = 20_000) -> Iterator[pl.DataFrame]:
    """Yield the typed frames of a file's batches, as ValidationEngine._run_batch makes them."""
    lay = load_layout(layout)
    fields = lay.catalog.fields
    with FlatFileReader(path, lay, chunk_lines=chunk_lines) as reader:
        reader.open()
        for batch in reader.iter_batches():
            frame = ensure_model_columns(batch.frame, fields)
            frame, _ = clean_text_frame(frame, fields)
            yield type_frame(frame, fields)


def expected(typed: pl.DataFrame) -> list[tuple[int, str]]:
    return [(seq, content_hash(enc)) for seq, enc in iter_encounters("input", typed)]


def assert_same(typed: pl.DataFrame) -> None:
    want = expected(typed)
    got = content_hashes(typed)
    assert [s for s, _ in got] == [s for s, _ in want]
    bad = [s for (s, a), (_, b) in zip(got, want, strict=True) if a != b]
    assert not bad, f"{len(bad)} of {len(want)} claims hash differently, first claim_seq {bad[0]}"


def typed_of(tmp_path: Path, rows: list[dict[str, str]], name: str = "edge.txt") -> pl.DataFrame:
    path = tmp_path / name
    path.write_text(mce_text(rows), encoding="utf-8")
    frames = list(typed_batches(path))
    assert len(frames) == 1
    return frames[0]


# -- real inputs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_inputs(path: Path) -> None:
    layout = "mce-fw-example" if path.suffix == ".dat" else "mce-v1"
    frames = list(typed_batches(path, layout))
    assert frames and sum(f.height for f in frames)
    for typed in frames:
        assert_same(typed)


@pytest.mark.parametrize(
    ("types", "seed", "claims"),
    [(("P",), 11, 1200), (("I",), 12, 800), (("D",), 13, 800), (("P", "I", "D"), 14, 1200)],
)
def test_generated_samples_with_defects_of_every_class(
    tmp_path: Path, types: tuple[str, ...], seed: int, claims: int
) -> None:
    path = tmp_path / "sample.txt"
    with path.open("w", encoding="utf-8") as out:
        summary = write_sample(out, claims, types=types, seed=seed, defect_rate=0.6, all_classes=True)
    assert len({code for _, code in summary.defects}) >= 20
    # Small chunks: several batches, claim numbers carried on from batch to batch.
    frames = list(typed_batches(path, chunk_lines=1500))
    assert len(frames) > 1 and sum(f.filter(pl.col("_first")).height for f in frames) == claims
    for typed in frames:
        assert_same(typed)


def test_the_pinned_hash(tmp_path: Path) -> None:
    """The value tests/ledger/test_history.py pins for the base claim."""
    (pair,) = content_hashes(typed_of(tmp_path, claim_rows()))
    assert pair[1] == "aaa1a0c5f7346433f43a255d822aa507"


# -- hand-made edge cases -----------------------------------------------------------------------------------
def _edge_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    names = ["O'BRIEN", 'THE "BEST" CLINIC', 'O\'NEIL "JR"', "BACK\\SLASH", "\\'", "'", '"', "A\\\\B'"]
    for n, name in enumerate(names):
        rows += claim_rows(
            {
                "mce_claim_id": f"EDGE{n:03d}",
                "member_last_name": name,
                "member_first_name": name[::-1],
                "billing_org_name": name,
                "member_address": f"{n} {name} ST",
                "original_claim_id": f"ID'{n}\\\"" if n % 2 else "",
            }
        )
    quantities = ["1.50", "010", "0.5", "100", "2.000", "0.001", "999999999.999", "1"]
    rows += claim_rows(
        {"mce_claim_id": "EDGEQTY"},
        [
            {"units": q, "ndc_code": "00002143380", "ndc_quantity": q[::-1].strip("."), "ndc_unit": "UN"}
            for q in quantities
        ],
    )
    adjustments = {
        **{f"line_adj_group_{n}": "CO" for n in (1, 2, 3)},
        **{f"line_adj_reason_{n}": str(40 + n) for n in (1, 2, 3)},
        **{f"line_adj_amount_{n}": f"{n}.25" for n in (1, 2, 3)},
    }
    rows += claim_rows(
        {
            "mce_claim_id": "EDGEADJ",
            "claim_adj_group_1": "PR",
            "claim_adj_reason_1": "1",
            "claim_adj_amount_1": "10.00",
            "claim_adj_amount_2": "-3.5",
        },
        [adjustments, {"line_adj_amount_2": "7"}, {"line_adj_reason_3": "45"}],
    )
    rows += claim_rows(  # one of everything: one-item tuples are written "(x,)"
        {"mce_claim_id": "EDGEONE", "dx_2": "", "dx_3": "", "dx_4": ""},
        [{"modifier_1": "", "modifier_2": "25", "dx_pointer_1": "", "dx_pointer_3": "1"}],
    )
    rows += claim_rows(  # every optional provider partly there; no rendering provider at all
        {
            "mce_claim_id": "EDGEPROV",
            "rendering_npi": "",
            "rendering_last_name": "",
            "rendering_first_name": "",
            "referring_first_name": "ONLY'FIRST",
            "facility_zip": "02110",
        }
    )
    for claim_type in ("I", "D"):
        rows += typed_rows(claim_type, {"mce_claim_id": f"EDGE{claim_type}"})
    rows += typed_rows(
        "I",
        {
            "mce_claim_id": "EDGEDX",
            **{f"dx_{n}": f"J{n:02d}9" for n in range(1, 13)},
            **{f"poa_{n}": "YNUW1"[n % 5] for n in range(1, 13)},
            **{f"icd_pcs_{n}": "0DTJ4ZZ" for n in (1, 3)},
            "icd_pcs_date_2": "20260102",
            "icd_pcs_date_3": "20260103",
        },
    )
    return rows


def test_hand_made_edge_cases(tmp_path: Path) -> None:
    typed = typed_of(tmp_path, _edge_rows())
    # The odd values came through the reader and typing: these are real inputs.
    assert {"O'BRIEN", 'THE "BEST" CLINIC', "BACK\\SLASH"} <= set(typed["member_last_name"].to_list())
    assert {"1.50", "010", "2.000"} <= set(typed["units"].to_list())
    assert typed["line_adj_amount_3"].is_not_null().any() and typed["claim_adj_amount_2"].is_not_null().any()
    assert_same(typed)


def _edited(typed: pl.DataFrame, **columns: list[object]) -> pl.DataFrame:
    """Set columns to values cycled over the rows, bypassing typing (any value a frame could hold)."""
    return typed.with_columns(
        pl.Series(name, [values[i % len(values)] for i in range(typed.height)], dtype=typed.schema[name])
        for name, values in columns.items()
    )


def test_values_typing_never_lets_through(tmp_path: Path) -> None:
    """Python's repr of anything a text column holds: controls, non-ASCII, empty text; Decimal of odd quantities."""
    typed = typed_of(tmp_path, _edge_rows())
    texts: list[object] = ["", "é", "tab\there", "new\nline\r", "\x00\x1f\x7f", "\u2028", "\x85\xa0", "€'\"", "😀\\"]
    texts += ["'", '"', "'\"", "\\", "\\'", "O'B", 'say "x"', None]
    quantities: list[object] = ["0.0", "0", "00.000", "010", "1.50", "1.", " 1 ", "1_000", "1e3", "-0", "+2.50"]
    quantities += ["12345678901234567890.123456789012", "0000000000000000000000000000001.10", None]
    edited = _edited(
        typed,
        member_last_name=texts,
        mce_claim_id=texts[::-1],
        procedure_code=texts[3:] + texts[:3],
        modifier_1=texts[5:] + texts[:5],
        billing_npi=texts[7:] + texts[:7],
        units=quantities,
        ndc_quantity=quantities[::-1],
    )
    assert_same(edited)


def test_claims_without_lines(tmp_path: Path) -> None:
    typed = typed_of(tmp_path, _edge_rows())
    rng = random.Random(5)
    # Claim records without service lines, also the first row of a claim that has lines (fixed-width layouts).
    nolines = [rng.random() < 0.5 for _ in range(typed.height)]
    edited = typed.with_columns(pl.Series("_nolines", nolines))
    assert_same(edited)
    unknown = typed.with_columns(pl.Series("_nolines", [None if n else False for n in nolines], dtype=pl.Boolean))
    assert_same(unknown)  # a null flag counts as a line, as in iter_encounters
    everything = typed.with_columns(pl.lit(True).alias("_nolines"))
    assert_same(everything)
    assert content_hashes(typed.head(0)) == []


# -- property style ----------------------------------------------------------------------------------------
def _random_value(rng: random.Random, dtype: pl.DataType) -> object:
    if rng.random() < 0.35:
        return None
    if dtype == pl.String:
        return "".join(rng.choices(PRINTABLE, k=rng.choice([0, 1, 1, 2, 5, 12, 40])))
    if dtype == pl.Date:
        return dt.date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
    if dtype == pl.Boolean:
        return rng.random() < 0.5
    assert dtype.is_integer(), dtype
    return rng.choice([0, 1, 12, -5, 10**12, -(10**15)]) + rng.randint(0, 99)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_printable_values_in_every_column(tmp_path: Path, seed: int) -> None:
    """Random text of printable ASCII (quotes and backslashes often) and random values in every model column."""
    rng = random.Random(seed)
    with (tmp_path / "s.txt").open("w", encoding="utf-8") as out:
        write_sample(out, 150, types=("P", "I", "D"), seed=seed)
    (typed,) = typed_batches(tmp_path / "s.txt")
    quantities = {"units", "ndc_quantity"}  # canonical decimal text: digits, maybe a point
    columns = {}
    for name in MODEL_COLUMNS:
        dtype = typed.schema[name]
        if name in quantities:
            values = [
                None if rng.random() < 0.3 else f"{rng.randint(0, 10**6)}.{rng.randint(0, 999):03d}"
                for _ in range(typed.height)
            ]
        else:
            values = [_random_value(rng, dtype) for _ in range(typed.height)]
        columns[name] = pl.Series(name, values, dtype=dtype)
    columns["_nolines"] = pl.Series("_nolines", [rng.random() < 0.1 for _ in range(typed.height)])
    assert_same(typed.with_columns(columns.values()))


# -- the model and the frame ------------------------------------------------------------------------------
def _variant(
    cls: type, name: str, change: Callable[[list[tuple[str, typing.Any]]], list[tuple[str, typing.Any]]]
) -> type:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(name, change(fields), frozen=True)


def test_a_field_added_to_the_model_must_be_taught() -> None:
    member = _variant(Member, "Member", lambda fs: [*fs, ("middle_name", str | None)])
    encounter = _variant(Encounter, "Encounter", lambda fs: [(n, member if n == "member" else h) for n, h in fs])
    with pytest.raises(ValueError, match=r"Member\.middle_name is not bound"):
        _compile(encounter, _ENCOUNTER)


def test_a_field_removed_from_the_model_must_be_unbound() -> None:
    member = _variant(Member, "Member", lambda fs: [(n, h) for n, h in fs if n != "gender"])
    encounter = _variant(Encounter, "Encounter", lambda fs: [(n, member if n == "member" else h) for n, h in fs])
    with pytest.raises(ValueError, match="Member has no content field gender"):
        _compile(encounter, _ENCOUNTER)


def test_a_changed_type_is_refused() -> None:
    member = _variant(Member, "Member", lambda fs: [(n, float if n == "gender" else h) for n, h in fs])
    encounter = _variant(Encounter, "Encounter", lambda fs: [(n, member if n == "member" else h) for n, h in fs])
    with pytest.raises(TypeError, match="Member.gender"):
        _compile(encounter, _ENCOUNTER)


def test_an_untyped_frame_is_refused(tmp_path: Path) -> None:
    typed = typed_of(tmp_path, claim_rows())
    with pytest.raises(TypeError, match="member_dob"):
        content_hashes(typed.with_columns(pl.col("member_dob").cast(pl.String)))


def test_tuples_of_every_length() -> None:
    """No model dataclass has a single content field yet: the one-item tuple is checked here."""
    for items in ([], ["'a'"], ["'a'", "None"], ["1", "True", "'b'"]):
        text = pl.select(_concat(_fixed_tuple([[i] for i in items]))).item()
        assert text == repr(tuple(ast.literal_eval(i) for i in items))
