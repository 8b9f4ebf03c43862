"""Differential tests: the frame-native 837 writer against PacdrWriter, byte for byte.

Both writers get the same typed batch frames, the ones the validation engine itself
typed (captured from its ``type_frame`` call), and the same choice of claims:
PacdrWriter gets ``iter_encounters`` of each frame, FramePacdrWriter gets
``claim_blocks`` of the frame with a ``keep`` flag per claim. The texts, the
WriteSummary and the ST02 each claim went into must be equal. Claims are chosen
as a run would (accepted by the engine, of the writer's claim type) and, to
reach every branch, as every claim the object writer can write at all, whatever
its type or defects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import io
import pickle
import random
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest

from sendpro.api import detect_layout
from sendpro.flatfile.layout import Layout, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.model.build import iter_encounters
from sendpro.model.encounter import Adjustment, Encounter
from sendpro.model.fields import FIELDS, Kind
from sendpro.profiles import load_profile
from sendpro.references import OrderedServices
from sendpro.resources import schemas_dir
from sendpro.sample import COLUMNS, iter_sample_claims, npi_with_check_digit, write_sample
from sendpro.validate import engine as engine_module
from sendpro.validate.engine import ClaimResult, ValidationEngine
from sendpro.validate.registry import RuleRegistry
from sendpro.x12 import templates as t
from sendpro.x12.claim_837d import Claim837D
from sendpro.x12.claim_837i import Claim837I
from sendpro.x12.claim_837p import Claim837P
from sendpro.x12.envelope import SequentialControlNumbers
from sendpro.x12.frame_writer import ClaimBlocks, FramePacdrWriter, claim_blocks
from sendpro.x12.segments import Delimiters, SegmentWriter, amount, date8, decimal
from sendpro.x12.writer import ClaimWriter, PacdrSettings, PacdrWriter, WriteSummary
from tests.helpers import FIXED_NOW, bundled_codesets, write_mce
from tests.x12.builders import claim

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "x12"
WRITERS: dict[str, type[ClaimWriter]] = {"P": Claim837P, "I": Claim837I, "D": Claim837D}
DEFAULT_FORBIDDEN = "*~:^|"

#: Chooses the claims a writer gets: ``(claim_seq, encounter) -> write it?``.
Choose = Callable[[int, Encounter], bool]


# -- typed frames, as the engine made them ------------------------------------------------------------
@dataclass(frozen=True)
class Typed:
    """The typed batch frames the engine built for one file, and the claims it accepted."""

    batches: tuple[pl.DataFrame, ...]
    accepted: frozenset[int]
    claims: int


def engine_batches(
    path: Path, layout: Layout, *, chunk_lines: int = 20_000, forbidden: str = DEFAULT_FORBIDDEN
) -> Typed:
    """Run the default rules over a file (as tests.helpers.run_engine does); keep the frames it typed."""
    frames: list[pl.DataFrame] = []
    real = engine_module.type_frame

    def capture(*args: Any, **kwargs: Any) -> pl.DataFrame:
        typed = real(*args, **kwargs)
        frames.append(typed)
        return typed

    context: dict[str, Any] = {
        "codesets": bundled_codesets(),
        "ordered_services": OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml"),
        "today": FIXED_NOW.strftime("%Y%m%d"),
    }
    with mock.patch.object(engine_module, "type_frame", capture):
        with FlatFileReader(path, layout, chunk_lines=chunk_lines) as reader:
            rules = RuleRegistry().select(model=layout.model)
            results = [
                item
                for item in ValidationEngine(rules, forbidden=forbidden).run(reader, context)
                if isinstance(item, ClaimResult)
            ]
    accepted = frozenset(r.seq for r in results if not r.rejected and not r.skipped)
    return Typed(tuple(frames), accepted, len(results))


# -- the two writers ----------------------------------------------------------------------------------
@dataclass
class Written:
    text: str
    summary: WriteSummary
    placed: list[str]


def object_837(batches: Sequence[pl.DataFrame], ct: str, s: PacdrSettings, choose: Choose, start: int = 1) -> Written:
    out = io.StringIO()
    w = PacdrWriter(out, WRITERS[ct], s, SequentialControlNumbers(start), lambda: FIXED_NOW)
    placed = [w.write(enc) for typed in batches for seq, enc in iter_encounters("in.txt", typed) if choose(seq, enc)]
    summary = w.close()
    return Written(out.getvalue(), summary, placed)


def frame_837(batches: Sequence[pl.DataFrame], ct: str, s: PacdrSettings, choose: Choose, start: int = 1) -> Written:
    out = io.StringIO()
    w = FramePacdrWriter(out, ct, s, SequentialControlNumbers(start), lambda: FIXED_NOW)
    placed: list[str] = []
    for typed in batches:
        blocks = claim_blocks(typed, ct, s)
        encounters = dict(iter_encounters("in.txt", typed))
        assert blocks.seqs == list(encounters)
        placed += w.write(blocks, [choose(seq, encounters[seq]) for seq in blocks.seqs])
    summary = w.close()
    return Written(out.getvalue(), summary, placed)


def _first_difference(a: str, b: str) -> str:
    diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "PacdrWriter", "FramePacdrWriter", lineterm="", n=3)
    return "\n".join(list(diff)[:40])


def assert_same(batches: Sequence[pl.DataFrame], ct: str, s: PacdrSettings, choose: Choose, start: int = 1) -> Written:
    """Write the chosen claims with both writers; assert equal bytes, summaries and placements."""
    expected = object_837(batches, ct, s, choose, start)
    got = frame_837(batches, ct, s, choose, start)
    if got.text != expected.text:
        # With newline=False the diff is one line; split at terminators to make it readable.
        term = s.envelope.delimiters.segment
        a, b = expected.text, got.text
        if not s.envelope.delimiters.newline:
            a, b = a.replace(term, term + "\n"), b.replace(term, term + "\n")
        pytest.fail("837 text differs:\n" + _first_difference(a, b))
    assert got.summary == expected.summary
    assert got.placed == expected.placed
    return got


def accepted_of(typed: Typed, ct: str) -> Choose:
    """The claims a run writes into the ``ct`` 837: accepted ones of that type."""
    return lambda seq, enc: seq in typed.accepted and enc.claim_type == ct


def writable(ct: str, s: PacdrSettings) -> Choose:
    """Every claim the object writer writes without raising, whatever its type or defects."""

    def choose(seq: int, enc: Encounter) -> bool:
        try:
            PacdrWriter(io.StringIO(), WRITERS[ct], s, SequentialControlNumbers(1), lambda: FIXED_NOW).write(enc)
        except Exception:  # a claim the object writer cannot write is left out of both
            return False
        return True

    return choose


def segments_of(text: str) -> list[str]:
    """The segments of default-delimiter 837 text."""
    return [s for s in text.replace("\n", "").split("~") if s]


def settings(**changes: Any) -> PacdrSettings:
    s = load_profile("masshealth-sendpro").pacdr_settings("T")
    return dataclasses.replace(s, **changes) if changes else s


# -- golden inputs ------------------------------------------------------------------------------------
def _golden_inputs() -> Iterator[tuple[Path, str]]:
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        for path in sorted(case.glob("input.*")):
            yield case, path.name


def _case_options(case: Path) -> dict[str, Any]:
    path = case / "case.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@pytest.mark.parametrize(("case", "name"), list(_golden_inputs()), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_golden_inputs(case: Path, name: str) -> None:
    opts = _case_options(case)
    profile = load_profile(case / opts["profile"]) if "profile" in opts else load_profile("masshealth-sendpro")
    s = profile.pacdr_settings()
    start = int(opts.get("control_number", 1))
    path = case / name
    typed = engine_batches(path, detect_layout(path))
    written = 0
    for ct in ("P", "I", "D"):
        got = assert_same(typed.batches, ct, s, accepted_of(typed, ct), start)
        written += got.summary.claims
        if got.summary.claims:
            # The accepted claims are the ones the golden run wrote: the very same file.
            assert got.text == (case / "expected.x12").read_text(encoding="ascii")
        assert_same(typed.batches, ct, s, writable(ct, s), start)
    assert written > 0


# -- generated samples --------------------------------------------------------------------------------
_DIAGNOSES = ("J069", "E119", "I10", "M5450", "Z0000", "F329", "R509", "K219", "E785", "J45909", "F411", "M25561")
_PCS = ("0SRD0JZ", "0DTJ4ZZ", "02703ZZ", "0W9G3ZZ")


def _npi(rng: random.Random) -> str:
    return npi_with_check_digit(f"1{rng.randrange(10**8):08d}")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _enrich(rows: list[dict[str, str]], rng: random.Random) -> None:
    """Give some claims the situational values the generator never writes (most stay acceptable)."""
    ct = rows[0].get("claim_type")
    head: dict[str, str] = {}
    if rng.random() < 0.25:
        head["billing_pidsl"] = f"{rng.randrange(10**9):09d}A"
    if rng.random() < 0.25:
        head.update(
            facility_name="BAYSIDE SURGERY CENTER",
            facility_address="9 PIER RD",
            facility_city="QUINCY",
            facility_state="MA",
            facility_zip="02169",
        )
        if rng.random() < 0.7:
            head["facility_npi"] = _npi(rng)
        if rng.random() < 0.2:
            head["facility_city"] = ""  # no complete address: no 2310C
    if rng.random() < 0.2:
        head["patient_responsibility"] = rng.choice(("0", "12.50", "7.05"))
    if rng.random() < 0.15:
        head.update(claim_adj_group_1="CO", claim_adj_reason_1="45", claim_adj_amount_1="0")
        if rng.random() < 0.5:
            head.update(claim_adj_group_2=rng.choice(("CO", "OA")), claim_adj_reason_2="23", claim_adj_amount_2="1.10")
    if rng.random() < 0.2:
        codes = rng.sample(_DIAGNOSES, rng.randint(5, 12))
        inpatient = bool(rows[0].get("poa_1"))
        for n in range(1, 13):
            head[f"dx_{n}"] = codes[n - 1] if n <= len(codes) else ""
            if inpatient:
                head[f"poa_{n}"] = rng.choice("YNU") if n <= len(codes) else ""
    if ct == "I" and rows[0].get("icd_pcs_1") and rng.random() < 0.6:
        for n in range(2, rng.randint(3, 7)):
            head[f"icd_pcs_{n}"] = rng.choice(_PCS)
            head[f"icd_pcs_date_{n}"] = rows[0]["icd_pcs_date_1"] if rng.random() < 0.7 else ""
    if rng.random() < 0.05:
        head["billing_taxonomy"] = ""
    if rng.random() < 0.05:
        head["member_address"] = ""
    if rng.random() < 0.05:
        head["member_first_name"] = ""
    for row in rows:
        row.update(head)
        if ct in ("P", "I") and rng.random() < 0.15:
            row.update(ndc_code="00093505601", ndc_quantity=rng.choice(("30", "2.500", "0.75")), ndc_unit="UN")
            if rng.random() < 0.2:
                row["ndc_unit"] = ""  # LIN without CTP
        if ct == "P" and rng.random() < 0.15:
            row["line_place_of_service"] = rng.choice(("22", row.get("place_of_service", "")))
        if ct in ("P", "D") and rng.random() < 0.12:
            row["line_rendering_npi"] = rng.choice((_npi(rng), row.get("rendering_npi", "")))
        if ct != "D" and row.get("procedure_code") and rng.random() < 0.1:
            row["modifier_2"] = "59"
            if rng.random() < 0.5:
                row["modifier_4"] = "GT"
        if row.get("line_from_date") and rng.random() < 0.1:
            try:
                start = dt.datetime.strptime(row["line_from_date"], "%Y%m%d").date()
            except ValueError:  # a seeded bad date stays as it is
                pass
            else:
                row["line_to_date"] = (start + dt.timedelta(days=1)).strftime("%Y%m%d")  # RD8
        if rng.random() < 0.1:
            row["units"] = rng.choice(("1.500", "2.0", "01"))
        if ct in ("P", "D") and rng.random() < 0.1:
            row["dx_pointer_2"] = "1"
        if row.get("line_adj_group_1") == "CO" and row.get("line_adj_amount_1") and rng.random() < 0.3:
            # Split the contractual adjustment over slots 1 and 3 around slot 2: two CO
            # pairs in one CAS, and sometimes a PR CAS between them in slot order.
            cents = round(Decimal(row["line_adj_amount_1"]) * 100)
            if cents >= 200:
                row["line_adj_amount_1"] = _money(cents - 100)
                row.update(line_adj_group_3="CO", line_adj_reason_3="253", line_adj_amount_3="1.00")
    return None


def _write_rows(path: Path, claims: Sequence[list[dict[str, str]]]) -> None:
    """Write claims as mce-v1, truncated rows included (as sendpro.sample.write_sample does)."""
    out = ["|".join(COLUMNS)]
    for rows in claims:
        for row in rows:
            line = "|".join(row.get(c, "") for c in COLUMNS)
            if row.get("__truncate__"):
                line = line[: len(line) // 2].rsplit("|", 1)[0]
            out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


@functools.cache
def sample(
    types: tuple[str, ...], claims: int, seed: int, chunk_lines: int, forbidden: str = DEFAULT_FORBIDDEN
) -> Typed:
    """A seeded all-classes sample with situational values added, run through the engine in small batches."""
    rng = random.Random(seed * 31 + 7)
    generated = []
    for rows, _ in iter_sample_claims(claims, types=types, seed=seed, defect_rate=0.25, all_classes=True):
        _enrich(rows, rng)
        generated.append(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.txt"
        _write_rows(path, generated)
        return engine_batches(path, load_layout("mce-v1"), chunk_lines=chunk_lines, forbidden=forbidden)


#: Segments each guide's sample must contain, so the comparison covers them (default delimiters).
SITUATIONAL: dict[str, dict[str, str]] = {
    "P": {
        "NDC": r"^LIN\*\*N4\*\d{11}$",
        "NDC quantity": r"^CTP\*\*\*\*[0-9.]+\*UN$",
        "line place of service": r"^SV1\*[^*]*\*[^*]*\*[^*]*\*[^*]*\*\d\d",
        "line rendering": r"^NM1\*82\*1\*{6}XX\*\d{10}$",
        "pidsl": r"^REF\*G2\*",
        "service facility": r"^NM1\*77\*2\*",
        "patient responsibility": r"^AMT\*EAF\*",
        "modifiers with a gap": r"^SV1\*HC:\w{5}:\w\w:\w\w\*",
        "date range": r"^DTP\*472\*RD8\*\d{8}-\d{8}$",
        "contract": r"^CN1\*",
        "original claim": r"^REF\*F8\*",
        "many diagnoses": r"^HI(\*AB[KF]:\w+){6,}$",
        "two pairs of a group": r"^CAS\*CO\*\w+\*[0-9.]+\*\*253\*1$",
        "two pointers": r"^SV1\*.*\*\d:\d$",
        "claim adjustment": r"^CAS\*CO\*45\*0",
        "quantity normalized": r"^SV1\*[^*]*\*[^*]*\*UN\*1\.5\*",
    },
    "I": {
        "admission hour": r"^DTP\*435\*DT\*\d{12}$",
        "discharge hour": r"^DTP\*096\*TM\*\d{4}$",
        "principal with POA": r"^HI\*ABK:\w+:{7}[YNU]$",
        "other diagnoses": r"^HI(\*ABF:\w+(:{7}[YNU])?){4,}$",
        "admitting": r"^HI\*ABJ:",
        "DRG": r"^HI\*DR:",
        "principal procedure": r"^HI\*BBR:\w{7}:D8:\d{8}$",
        "other procedures": r"^HI\*BBQ:\w{7}(:D8:\d{8})?\*BBQ",
        "procedure without date": r"BBQ:\w{7}(\*|$)",
        "attending": r"^NM1\*71\*1\*",
        "service facility": r"^NM1\*77\*2\*",
        "NDC": r"^LIN\*\*N4\*",
        "revenue line without HCPCS": r"^SV2\*\d{4}\*\*",
        "modifiers": r"^SV2\*\d{4}\*HC:\w{5}:\w\w",
    },
    "D": {
        "tooth surfaces": r"^TOO\*JP\*\w+\*\w(:\w)+$",
        "tooth without surfaces": r"^TOO\*JP\*\w+$",
        "oral cavity": r"^SV3\*AD:\w{5}\*[0-9.]+\*\*\d\d",
        "line rendering": r"^NM1\*82\*1\*{6}XX\*\d{10}$",
        "pointers": r"^SV3\*.*\*{5}\d(:\d)?$",
        "service facility": r"^NM1\*77\*2\*",
        "paid units": r"^SVD\*[^*]+\*[0-9.]+\*AD:\w{5}\*\*1$",
    },
}


def _assert_covers(text: str, ct: str) -> None:
    segs = segments_of(text)
    missing = [name for name, pattern in SITUATIONAL[ct].items() if not any(re.search(pattern, s) for s in segs)]
    assert not missing, f"the {ct} sample never writes: {missing}"


@pytest.mark.parametrize("ct", ["P", "I", "D"])
def test_generated_sample(ct: str) -> None:
    typed = sample((ct,), 1500, 11, 1200)
    assert len(typed.batches) > 2  # several batches through one writer
    s = settings()
    run = assert_same(typed.batches, ct, s, accepted_of(typed, ct))
    assert 0 < run.summary.claims < typed.claims  # the defects keep some claims out
    everything = assert_same(typed.batches, ct, s, writable(ct, s))
    assert everything.summary.claims == typed.claims
    _assert_covers(everything.text, ct)


def test_mixed_sample_through_every_guide() -> None:
    """A P/I/D file: each guide's writer keeps its own claims; every claim also goes through every guide."""
    typed = sample(("P", "I", "D"), 900, 5, 700)
    s = settings(max_claims_per_transaction=97)
    for ct in ("P", "I", "D"):
        run = assert_same(typed.batches, ct, s, accepted_of(typed, ct))
        assert run.summary.transactions > 1
        assert_same(typed.batches, ct, s, writable(ct, s))


def test_random_keep_and_control_numbers() -> None:
    typed = sample(("P",), 1500, 11, 1200)
    rng = random.Random(3)
    dropped = frozenset(
        seq for batch in typed.batches for seq in batch["_claim_seq"].unique().to_list() if rng.random() < 0.4
    )
    run = assert_same(
        typed.batches, "P", settings(max_claims_per_transaction=50), lambda seq, _: seq not in dropped, 77
    )
    assert run.summary.interchange_control == 77
    assert run.summary.transactions > 3


def test_fixed_width_claims_with_and_without_line_records(tmp_path: Path) -> None:
    """mce-fw-example folds claim records into lines; a claim record without lines is a _nolines row."""
    layout = load_layout("mce-fw-example")
    buf = io.StringIO()
    write_sample(buf, 60, types=("P",), seed=9, layout=layout)
    records = buf.getvalue().splitlines()
    claim_starts = [i for i, r in enumerate(records) if r.startswith("CL")]
    # Claim 3 loses its line records; claim 5's claim record gets the wrong length.
    third, fourth = claim_starts[2], claim_starts[3]
    records = records[: third + 1] + records[fourth:]
    fifth = [i for i, r in enumerate(records) if r.startswith("CL")][4]
    records[fifth] = records[fifth][:-20]
    records[-1] = records[-1][:2] + f"{len(records):09d}" + records[-1][11:]  # the trailer's record count
    path = tmp_path / "claims.dat"
    path.write_text("\n".join(records) + "\n", encoding="utf-8")
    typed = engine_batches(path, layout, chunk_lines=50)
    nolines = pl.concat(typed.batches).filter(pl.col("_nolines"))
    assert nolines.height == 2 and nolines["_first"].to_list().count(True) == 1
    s = settings()
    assert_same(typed.batches, "P", s, accepted_of(typed, "P"))
    everything = assert_same(typed.batches, "P", s, writable("P", s))
    assert everything.summary.claims == typed.claims == 60


# -- hierarchy, splitting, keep -----------------------------------------------------------------------
A: dict[str, str] = {}
B = {"billing_org_name": "SEASIDE CLINIC", "billing_tax_id": "987654321"}
C = {"billing_address": "2 MAIN ST"}  # the same provider elsewhere: a 2000A of its own
D = {"billing_taxonomy": ""}


def test_transaction_split_and_billing_changes(tmp_path: Path) -> None:
    providers = [A, A, B, B, C, A, D, D, A, A, A]
    rows = [row for n, p in enumerate(providers) for row in claim(f"C{n}", p)]
    typed = engine_batches(write_mce(tmp_path / "in.txt", rows), load_layout("mce-v1"), chunk_lines=4)
    assert len(typed.batches) > 1 and len(typed.accepted) == len(providers)
    s = settings(max_claims_per_transaction=3)
    run = assert_same(typed.batches, "P", s, accepted_of(typed, "P"))
    segs = segments_of(run.text)
    assert run.summary.transactions == 4
    # ST1 A A B | ST2 B C A | ST3 D D A | ST4 A A: a new ST opens a new 2000A even for the same provider.
    billing_hls = [s for s in segs if re.fullmatch(r"HL\*\d+\*\*20\*1", s)]
    assert len(billing_hls) == 8
    assert [x.split("*")[2] for x in segs if x.startswith("SE*")] == ["0001", "0002", "0003", "0004"]
    # Dropping claims changes where the STs split and which 2000A a claim joins.
    keep = [True, False, True, False, True, True, False, True, True, False, True]
    seqs = sorted(typed.accepted)
    kept = {seq for seq, k in zip(seqs, keep, strict=True) if k}
    assert_same(typed.batches, "P", s, lambda seq, _: seq in kept)


def test_blocks_of_several_batches_through_one_writer(tmp_path: Path) -> None:
    """The writer carries its state (open ST, 2000A, HL numbers) from one block to the next."""
    providers = [A] * 17 + [B] * 13
    rows = [row for n, p in enumerate(providers) for row in claim(f"C{n}", p)]
    # The reader's smallest chunk is 16 lines: eight two-line claims a batch.
    typed = engine_batches(write_mce(tmp_path / "in.txt", rows), load_layout("mce-v1"), chunk_lines=16)
    assert len(typed.batches) >= 3
    s = settings(max_claims_per_transaction=5)
    run = assert_same(typed.batches, "P", s, accepted_of(typed, "P"))
    segs = segments_of(run.text)
    # STs of five: A | A | A | A A B B B | B | B, whatever the batches.
    assert len([x for x in segs if re.fullmatch(r"HL\*\d+\*\*20\*1", x)]) == 7


# -- delimiters ---------------------------------------------------------------------------------------
def test_profile_delimiters(tmp_path: Path) -> None:
    bundled = (schemas_dir() / "profiles" / "masshealth-sendpro.toml").read_text(encoding="utf-8")
    text = (
        bundled.replace('element_separator = "*"', 'element_separator = "!"')
        .replace('component_separator = ":"', 'component_separator = "}"')
        .replace('repetition_separator = "^"', 'repetition_separator = "{"')
        .replace('segment_terminator = "~"', 'segment_terminator = "\'"')
        .replace("segment_newline = true", "segment_newline = false")
    )
    assert text != bundled
    profile_path = tmp_path / "odd.toml"
    profile_path.write_text(text, encoding="utf-8")
    s = load_profile(profile_path).pacdr_settings("T")
    assert s.envelope.delimiters == Delimiters("!", "}", "{", "'", newline=False)
    path = CASES / "basic-professional" / "input.txt"
    typed = engine_batches(path, detect_layout(path), forbidden=s.envelope.delimiters.chars + "|")
    run = assert_same(typed.batches, "P", s, accepted_of(typed, "P"))
    # ("*" is no separator now: the fixture's "O'NEIL*SONS" keeps its star.)
    assert "\n" not in run.text and "~" not in run.text
    assert "CLM!" in run.text and "!11}B}1'" in run.text


def test_other_delimiters_on_every_guide() -> None:
    d = Delimiters(element="^", component="&", repetition="#", segment="!", newline=False)
    forbidden = d.chars + "|"
    typed = sample(("P", "I", "D"), 600, 21, 500, forbidden)
    s = dataclasses.replace(settings(), envelope=dataclasses.replace(settings().envelope, delimiters=d))
    for ct in ("P", "I", "D"):
        run = assert_same(typed.batches, ct, s, accepted_of(typed, ct))
        assert run.summary.claims and "~" not in run.text and "\n" not in run.text
        assert_same(typed.batches, ct, s, writable(ct, s))


# -- frames no validator would pass -------------------------------------------------------------------
_DECIMALS = frozenset(fd.name for fd in FIELDS if fd.kind is Kind.DECIMAL)


def _scramble(frame: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Null out some values and empty some texts, column by column (never the bookkeeping columns).

    Empty quantities are left out: the builder cannot make a Decimal of "".
    """
    n = frame.height
    changed = []
    for fd in FIELDS:
        series = frame[fd.name]
        nulls = pl.Series([rng.random() < 0.08 for _ in range(n)])
        values = pl.when(pl.lit(nulls)).then(None).otherwise(pl.col(fd.name))
        if series.dtype == pl.String and fd.name not in _DECIMALS:
            empties = pl.Series([rng.random() < 0.05 for _ in range(n)])
            values = pl.when(pl.lit(empties)).then(pl.lit("")).otherwise(values)
        changed.append(values.alias(fd.name))
    return frame.with_columns(changed)


def test_scrambled_frames_every_guide() -> None:
    """Nulls and empty strings anywhere: the trailing-empty rule and every condition still agree."""
    typed = sample(("P", "I", "D"), 600, 8, 500)
    rng = random.Random(12)
    batches = [_scramble(b, rng) for b in typed.batches]
    s = settings(max_claims_per_transaction=40)
    for ct in ("P", "I", "D"):
        run = assert_same(batches, ct, s, writable(ct, s))
        assert run.summary.claims == typed.claims


# -- templates ----------------------------------------------------------------------------------------
def test_amount_decimal_and_date_expressions_match_the_object_formatting() -> None:
    cents = [*range(-1050, 1051, 7), 0, 1, -1, 10, -10, 100, 15000, -525, 1050, 99_999_999_999_99, None]
    got = pl.DataFrame({"c": cents}, schema={"c": pl.Int64}).select(t.amount(pl.col("c")).alias("c"))["c"].to_list()
    assert got == [None if c is None else amount(c) for c in cents]
    texts = ["0", "00", "1", "01", "10", "100", "1.0", "1.500", "0.5", "0.001", "000.000", "123456789.999", None]
    got = pl.DataFrame({"q": texts}).select(t.decimal(pl.col("q")).alias("q"))["q"].to_list()
    assert got == [None if q is None else decimal(Decimal(q)) for q in texts]
    dates = [dt.date(2026, 1, 5), dt.date(1, 2, 3), dt.date(999, 12, 31), None]
    got = pl.DataFrame({"d": dates}).select(t.date8(pl.col("d")).alias("d"))["d"].to_list()
    assert got == [None if d is None else date8(d) for d in dates]


def test_cas_of_more_than_six_adjustments_matches_the_object_writer() -> None:
    """The field catalogue has at most three slots; the CAS template splits like ClaimWriter.cas at six pairs."""
    rng = random.Random(4)
    slots = 14
    rows: list[dict[str, Any]] = []
    for _ in range(300):
        row: dict[str, Any] = {}
        for n in range(1, slots + 1):
            row[f"x_group_{n}"] = rng.choice(("CO", "CO", "CO", "CO", "PR", "OA", None, ""))
            row[f"x_reason_{n}"] = rng.choice(("45", "3", "253", None, ""))
            row[f"x_amount_{n}"] = rng.choice((None, 0, 1500, -525, 1050, 7))
        rows.append(row)
    schema = {k: (pl.Int64 if "amount" in k else pl.String) for k in rows[0]}
    frame = pl.DataFrame(rows, schema=schema)
    d = Delimiters()
    r = t.render((t.Cas.of("x", slots),), d)
    out = r.apply(frame.lazy(), "text", "segments").collect()
    s = settings()
    for row, text, count in zip(rows, out["text"], out["segments"], strict=True):
        buf = io.StringIO()
        w = SegmentWriter(buf, d)
        adjustments = [
            Adjustment(row[f"x_group_{n}"], row[f"x_reason_{n}"], row[f"x_amount_{n}"]) for n in range(1, 15)
        ]
        Claim837P(w, s).cas(adjustments)
        assert text == buf.getvalue()
        assert count == w.count
    # Some rows had a group of more than six pairs: more CAS segments than groups.
    groups = [
        len(
            {
                row[f"x_group_{n}"]
                for n in range(1, 15)
                if row[f"x_group_{n}"] and row[f"x_reason_{n}"] and row[f"x_amount_{n}"] is not None
            }
        )
        for row in rows
    ]
    assert any(c > g for c, g in zip(out["segments"], groups, strict=True))


def test_run_must_end_its_container_and_static_render_refuses_columns() -> None:
    d = Delimiters()
    with pytest.raises(ValueError, match="last"):
        t.render((t.seg("X", t.Run(pl.col("a")), "B"),), d)
    with pytest.raises(ValueError, match="literals"):
        t.render_static((t.seg("X", pl.col("a")),), d)
    assert t.render_static((t.seg("SE", "5", "0001", None, ""),), d) == ("SE*5*0001~\n", 1)


def test_empty_segments_and_components_trail_off() -> None:
    """Trailing empties go at every level; inner ones stay, null or empty alike."""
    frame = pl.DataFrame({"a": ["x", None, "", None, ""], "b": ["y", "y", None, None, ""]})
    r = t.render((t.seg("S", pl.col("a"), None, t.comp("Q", pl.col("b"), pl.col("a")), pl.col("b")),), Delimiters())
    got = r.apply(frame.lazy(), "text", "n").collect()["text"].to_list()
    assert got == ["S*x**Q:y:x*y~\n", "S***Q:y*y~\n", "S***Q~\n", "S***Q~\n", "S***Q~\n"]


# -- the writer's own behaviour -----------------------------------------------------------------------
def test_blocks_cross_a_process_boundary() -> None:
    typed = sample(("P",), 1500, 11, 1200)
    blocks = claim_blocks(typed.batches[0], "P", settings())
    assert isinstance(blocks, ClaimBlocks)
    assert pickle.loads(pickle.dumps(blocks)) == blocks
    assert all(type(x) is str for x in blocks.claim[:5]) and all(type(n) is int for n in blocks.claim_segments[:5])


def test_empty_frame_and_no_claims_close_like_the_object_writer() -> None:
    typed = sample(("P",), 1500, 11, 1200)
    empty = typed.batches[0].head(0)
    blocks = claim_blocks(empty, "P", settings())
    assert blocks.seqs == [] and blocks.claim == []
    assert_same([empty], "P", settings(), lambda *_: True)
    assert_same(typed.batches[:1], "P", settings(), lambda *_: False)


def test_writer_refusals() -> None:
    typed = sample(("P",), 1500, 11, 1200)
    s = settings()
    blocks = claim_blocks(typed.batches[0], "P", s)
    with pytest.raises(ValueError, match="claim type"):
        claim_blocks(typed.batches[0], "RX", s)
    with pytest.raises(ValueError, match="claim type"):
        FramePacdrWriter(io.StringIO(), "RX", s, SequentialControlNumbers(1), lambda: FIXED_NOW)
    w = FramePacdrWriter(io.StringIO(), "P", s, SequentialControlNumbers(1), lambda: FIXED_NOW)
    with pytest.raises(ValueError, match="flags"):
        w.write(blocks, [True])
    w.write(blocks)
    first = w.close()
    assert w.close() is first
    with pytest.raises(RuntimeError, match="closed"):
        w.write(blocks)
