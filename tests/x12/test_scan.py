"""Unit tests for sendpro.x12.scan: reading back written 837 files."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from sendpro.model.encounter import Encounter
from sendpro.x12.envelope import SequentialControlNumbers, write_isa
from sendpro.x12.scan import claims_at_segments, iter_segments, tally_837
from sendpro.x12.segments import Delimiters, SegmentWriter
from sendpro.x12.writer import PacdrSettings
from tests.helpers import FIXED_NOW
from tests.x12.builders import claim, encounters, parse, settings, write_837

CUSTOM = Delimiters(element="|", component=">", repetition="{", segment="!", newline=False)

CENTS_CLAIM = claim(
    "Z1",
    {"total_charge": "110.55", "total_paid": "60.55", "patient_responsibility": "0.05"},
    [
        {"line_charge": "100.05", "line_paid": "60.50", "line_adj_amount_1": "39.55"},
        {"line_charge": "10.50", "line_paid": "0.05", "line_adj_amount_1": "10.45"},
    ],
)
DENIED_CLAIM = claim(
    "D1",
    {"claim_status": "D", "total_paid": "0.00"},
    [{"line_paid": "0.00", "line_adj_amount_1": "200.00"}, {"line_paid": "0.00", "line_adj_amount_1": "50.00"}],
)
ONE_LINE_CLAIM = claim("O1", {"total_charge": "200.00", "total_paid": "140.00"}, line_count=1)


def _with_delimiters(d: Delimiters) -> PacdrSettings:
    s = settings(max_claims_per_transaction=2)
    return dataclasses.replace(s, envelope=dataclasses.replace(s.envelope, delimiters=d))


@pytest.fixture(scope="module")
def encs(tmp_path_factory: pytest.TempPathFactory) -> list[Encounter]:
    tmp = tmp_path_factory.mktemp("scan")
    return encounters(
        tmp, claim("C1"), CENTS_CLAIM, DENIED_CLAIM, ONE_LINE_CLAIM, claim("C5", {"billing_tax_id": "987654321"})
    )


@pytest.fixture(scope="module")
def written(encs: list[Encounter], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    text, _ = write_837(encs, settings(max_claims_per_transaction=2), SequentialControlNumbers(314))
    path = tmp_path_factory.mktemp("scan-out") / "837P.x12"
    path.write_text(text, encoding="ascii")
    return path, text


# -- tally_837 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "delimiters",
    [Delimiters(), Delimiters(newline=False), CUSTOM],
    ids=["newline", "one-line", "pipe-bang"],
)
def test_tally_matches_the_writer_and_the_encounters(
    encs: list[Encounter], tmp_path: Path, delimiters: Delimiters
) -> None:
    text, summary = write_837(encs, _with_delimiters(delimiters), SequentialControlNumbers(314))
    path = tmp_path / "837P.x12"
    path.write_text(text, encoding="ascii")
    t = tally_837(path)
    assert (t.interchanges, t.groups) == (1, 1)
    assert t.transactions == summary.transactions == 3
    assert t.segments == summary.segments
    assert t.claims == summary.claims == len(encs)
    assert t.lines == summary.lines == sum(len(e.lines) for e in encs)
    assert t.charge == sum(e.header.total_charge or 0 for e in encs)
    assert t.paid == sum(e.header.total_paid or 0 for e in encs)
    assert t.line_charge == sum(ln.charge or 0 for e in encs for ln in e.lines)
    assert t.line_paid == sum(ln.paid or 0 for e in encs for ln in e.lines)
    assert t.versions == {"005010X298A1"}
    assert t.control_numbers == ["000000314"]


def test_tally_counts_cents_exactly(encs: list[Encounter], written: tuple[Path, str]) -> None:
    t = tally_837(written[0])
    # C1 250.00/175.00, Z1 110.55/60.55, D1 250.00/0, O1 200.00/140.00, C5 250.00/175.00
    assert t.charge == 25000 + 11055 + 25000 + 20000 + 25000
    assert t.paid == 17500 + 6055 + 0 + 14000 + 17500
    assert t.line_charge == 25000 + 11055 + 25000 + 20000 + 25000
    assert t.line_paid == 17500 + 6055 + 0 + 14000 + 17500
    assert t.lines == 2 + 2 + 2 + 1 + 2


def _isa(d: Delimiters) -> str:
    out = io.StringIO()
    write_isa(SegmentWriter(out, d), dataclasses.replace(settings().envelope, delimiters=d), 9, FIXED_NOW)
    return out.getvalue()


def _file(tmp_path: Path, body: str, d: Delimiters | None = None) -> Path:
    d = d or Delimiters()
    path = tmp_path / "x.x12"
    path.write_text(_isa(d) + body, encoding="ascii")
    return path


def test_tally_reads_institutional_and_dental_line_charges(tmp_path: Path) -> None:
    body = (
        "GS*HC*A*B*20261123*1030*9*X*005010X299A1~\n"
        "ST*837*0001*005010X299A1~\n"
        "CLM*I1*300.1***13:A:1~\n"
        "AMT*D*99.99~\n"
        "AMT*EAF*5~\n"
        "LX*1~\n"
        "SV2*0450*HC:99283*150.05*UN*1~\n"
        "SVD*P*100*HC:99283**1~\n"
        "LX*2~\n"
        "SV3*AD:D0120*150.05~\n"
        "SVD*P*-0.01*AD:D0120**1~\n"
        "SE*10*0001~\n"
        "GE*1*9~\n"
        "IEA*1*000000009~\n"
    )
    t = tally_837(_file(tmp_path, body))
    assert (t.claims, t.lines) == (1, 2)
    assert t.charge == 30010
    assert t.paid == 9999  # AMT*EAF is not paid
    assert t.line_charge == 15005 * 2
    assert t.line_paid == 10000 - 1
    assert t.versions == {"005010X299A1"}
    assert t.segments == 15


@pytest.mark.parametrize("bad", ["1.234", "ABC", ""])
def test_tally_rejects_amounts_it_cannot_count(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        tally_837(_file(tmp_path, f"CLM*X*{bad}***11:B:1~\n"))


# -- iter_segments --------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [1, 2, 7, 105, 106, 107, 4096, 1 << 20])
@pytest.mark.parametrize(
    ("delimiters", "newline"),
    [(Delimiters(), "\n"), (Delimiters(newline=False), ""), (CUSTOM, ""), (Delimiters(), "\r\n")],
    ids=["lf", "none", "pipe-bang", "crlf"],
)
def test_iter_segments_with_any_separators_and_chunking(
    encs: list[Encounter], tmp_path: Path, delimiters: Delimiters, newline: str, chunk_size: int
) -> None:
    text, summary = write_837(encs[:2], _with_delimiters(delimiters))
    if newline == "\r\n":
        text = text.replace("\n", "\r\n")
    path = tmp_path / "f.x12"
    path.write_bytes(text.encode("ascii"))
    got = list(iter_segments(path, chunk_size=chunk_size))
    expected = parse(text.replace("\r", ""), delimiters.element, delimiters.segment)
    assert [n for n, _ in got] == list(range(1, len(expected) + 1))
    assert [el for _, el in got] == expected
    assert len(got) == summary.segments
    assert got[0][1][0] == "ISA" and got[-1][1] == ["IEA", "1", "000000001"]


def test_iter_segments_keeps_isa_elements_intact(written: tuple[Path, str]) -> None:
    _, isa = next(iter_segments(written[0]))
    assert len(isa) == 17
    assert isa[6] == "PLACEHOLDER    "
    assert isa[16] == ":"


def test_iter_segments_yields_a_last_segment_without_terminator(tmp_path: Path) -> None:
    path = _file(tmp_path, "GS*HC*A~\nIEA*1*000000009")
    assert [el for _, el in iter_segments(path)][1:] == [["GS", "HC", "A"], ["IEA", "1", "000000009"]]


def test_iter_segments_skips_blank_lines(tmp_path: Path) -> None:
    path = _file(tmp_path, "\n\nGS*HC~\n\n\r\nGE*1*9~\n\n")
    assert [(n, el[0]) for n, el in iter_segments(path)] == [(1, "ISA"), (2, "GS"), (3, "GE")]


def test_iter_segments_isa_only(tmp_path: Path) -> None:
    path = _file(tmp_path, "", Delimiters(newline=False))
    assert [n for n, _ in iter_segments(path)] == [1]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "ISA*00*",
        "claim_type|mce_claim_id|member_id\nP|C1|1\n" * 10,
        " ISA*00*" + "x" * 200,
        "GS*HC*" + "x" * 200,
    ],
    ids=["empty", "short-isa", "flat-file", "leading-space", "gs-first"],
)
def test_non_x12_files_raise_value_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "not.x12"
    path.write_text(content, encoding="ascii")
    with pytest.raises(ValueError, match="does not start with an ISA segment"):
        list(iter_segments(path))
    with pytest.raises(ValueError, match="ISA"):
        tally_837(path)
    with pytest.raises(ValueError, match="ISA"):
        claims_at_segments(path, [1])


# -- claims_at_segments -------------------------------------------------------------------------------------
def _numbers(text: str) -> list[list[str]]:
    """Segments indexed by their 1-based segment number (index 0 unused)."""
    return [[]] + parse(text)


def test_claims_at_segments_maps_claim_segments_to_clm01(written: tuple[Path, str]) -> None:
    path, text = written
    segs = _numbers(text)
    inside: dict[int, str] = {}
    current: str | None = None
    for n, s in enumerate(segs[1:], start=1):
        if s[0] == "CLM":
            current = s[1]
        elif s[0] in ("HL", "SE"):
            current = None
        if current is not None:
            inside[n] = current
    assert set(inside.values()) == {"C1", "Z1", "D1", "O1", "C5"}
    assert claims_at_segments(path, list(inside)) == inside


def test_claims_at_segments_ignores_envelope_header_and_billing_segments(written: tuple[Path, str]) -> None:
    path, text = written
    segs = _numbers(text)
    billing_hls = {n for n, s in enumerate(segs) if s and s[0] == "HL" and s[3] == "20"}
    header: list[int] = []
    in_billing = False
    for n, s in enumerate(segs[1:], start=1):
        if s[0] == "HL":
            in_billing = n in billing_hls
        elif s[0] in ("ST", "SE", "GE", "IEA"):
            in_billing = False
        if s[0] in ("ISA", "GS", "ST", "BHT", "PER", "SE", "GE", "IEA") or (s[0] == "NM1" and s[1] in ("41", "40")):
            header.append(n)
        elif in_billing:
            header.append(n)
    assert len(header) > 20
    assert any(segs[n][0] == "NM1" and segs[n][1] == "85" for n in header)
    assert claims_at_segments(path, header) == {}


def test_claims_at_segments_subscriber_loop_belongs_to_its_claim(written: tuple[Path, str]) -> None:
    path, text = written
    segs = _numbers(text)
    dmg = [n for n, s in enumerate(segs) if s and s[0] == "DMG"]
    clm = [segs[n][1] for n, s in enumerate(segs) if s and s[0] == "CLM"]
    assert claims_at_segments(path, dmg) == dict(zip(dmg, clm, strict=True))


def test_claims_at_segments_input_order_duplicates_and_unknown_numbers(written: tuple[Path, str]) -> None:
    path, text = written
    segs = _numbers(text)
    clm = [n for n, s in enumerate(segs) if s and s[0] == "CLM"]
    last_sv1 = max(n for n, s in enumerate(segs) if s and s[0] == "SV1")
    numbers = [last_sv1, clm[0], 0, -3, clm[0], 10**6, clm[2]]
    assert claims_at_segments(path, numbers) == {clm[0]: "C1", clm[2]: "D1", last_sv1: "C5"}
    assert claims_at_segments(path, iter([clm[1]])) == {clm[1]: "Z1"}
    assert claims_at_segments(path, []) == {}


def test_claims_at_segments_one_line_file(encs: list[Encounter], tmp_path: Path) -> None:
    text, _ = write_837(encs[:2], _with_delimiters(CUSTOM))
    path = tmp_path / "f.x12"
    path.write_text(text, encoding="ascii")
    segs = [[]] + parse(text, "|", "!")
    sv1 = [n for n, s in enumerate(segs) if s and s[0] == "SV1"]
    assert claims_at_segments(path, sv1) == {sv1[0]: "C1", sv1[1]: "C1", sv1[2]: "Z1", sv1[3]: "Z1"}


def test_tally_names_claims_that_do_not_balance(tmp_path: Path) -> None:
    golden = Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "basic-professional" / "expected.x12"
    text = golden.read_text(encoding="ascii")
    assert tally_837(golden).unbalanced == []
    broken = tmp_path / "broken.x12"
    # PRO-0001's AMT*D no longer matches its SVD02s, PRO-0002's CLM02 no longer its SV102s.
    first = text.index("AMT*D*175~")
    second = text.index("CLM*PRO-0002*250")
    text = text[:first] + "AMT*D*170~" + text[first + len("AMT*D*175~") :]
    text = text.replace("CLM*PRO-0002*250", "CLM*PRO-0002*251")
    broken.write_text(text, encoding="ascii")
    found = tally_837(broken)
    assert found.unbalanced_count == 2 and second > 0
    assert found.unbalanced == [
        ("PRO-0001", "AMT*D 170.00 is not the sum of SVD02 175.00"),
        ("PRO-0002", "CLM02 251.00 is not the sum of the line charges 250.00"),
    ]
    assert tally_837(broken, chunk_size=5) == found  # chunk boundaries inside segments change nothing


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("newline", ["", "\n", "\r\n"])
def test_tally_is_the_same_for_any_chunking_and_line_breaks(tmp_path: Path, chunk_size: int, newline: str) -> None:
    segments = [
        "GS*HC*A*B*20261123*1030*9*X*005010X298A1",
        "ST*837*0001*005010X298A1",
        "CLM*P1*30***11:B:1",
        "AMT*D*20",
        "LX*1",
        "SV1*HC:99213*30*UN*1***1",
        "SVD*P*20*HC:99213**1",
        "SE*7*0001",
        "GE*1*9",
        "IEA*1*000000009",
    ]
    path = tmp_path / "x.x12"
    path.write_text(_isa(Delimiters()).rstrip("\r\n") + newline + f"~{newline}".join(segments), encoding="ascii")
    t = tally_837(path, chunk_size=chunk_size)
    assert t.segments == 11  # the IEA has no terminator and still counts
    assert (t.interchanges, t.groups, t.transactions, t.claims, t.lines) == (1, 1, 1, 1, 1)
    assert (t.charge, t.paid, t.line_charge, t.line_paid, t.unbalanced) == (3000, 2000, 3000, 2000, [])
