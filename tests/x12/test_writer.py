"""Unit tests for PacdrWriter and Claim837P: envelope, hierarchy, transaction splitting and loop 2300 content."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest

from sendpro.model.encounter import Adjustment, Diagnosis
from sendpro.x12.claim_837p import VERSION_837P, Claim837P
from sendpro.x12.envelope import SequentialControlNumbers
from sendpro.x12.segments import Delimiters, SegmentWriter
from sendpro.x12.writer import PacdrWriter
from tests.helpers import FIXED_NOW
from tests.x12.builders import claim, claim_segments, encounters, find, parse, settings, write_837

OTHER_BILLING = {"billing_org_name": "SEASIDE CLINIC", "billing_tax_id": "987654321"}


def _transactions(segs: list[list[str]]) -> list[list[list[str]]]:
    """Return the segments of each ST..SE, both included."""
    out: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for s in segs:
        if s[0] == "ST":
            assert current is None, "ST inside an open transaction"
            current = []
        if current is not None:
            current.append(s)
        if s[0] == "SE":
            assert current is not None, "SE without ST"
            out.append(current)
            current = None
    assert current is None, "transaction not closed"
    return out


def _check_structure(text: str) -> list[list[list[str]]]:
    """Check envelope counts and SE01/SE02 of every transaction; return the transactions."""
    segs = parse(text)
    assert segs[0][0] == "ISA" and segs[1][0] == "GS"
    assert segs[-2][0] == "GE" and segs[-1][0] == "IEA"
    sts = _transactions(segs)
    for st in sts:
        assert st[-1][1] == str(len(st)), f"SE01 {st[-1][1]} but {len(st)} segments"
        assert st[-1][2] == st[0][2]
    assert segs[-2][1] == str(len(sts))
    assert segs[-2][2] == segs[1][6]
    assert segs[-1][1] == "1"
    assert segs[-1][2] == segs[0][13]
    return sts


# -- envelope and counts --------------------------------------------------------------------------
def test_single_claim_interchange(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C1"))
    text, summary = write_837([enc], control=SequentialControlNumbers(77))
    sts = _check_structure(text)
    segs = parse(text)
    assert len(sts) == 1
    assert segs[0][13] == "000000077"
    assert segs[1] == ["GS", "HC", "PLACEHOLDER", "PLACEHOLDER", "20261123", "1030", "77", "X", VERSION_837P]
    assert segs[2] == ["ST", "837", "0001", VERSION_837P]
    assert segs[3] == ["BHT", "0019", "00", "0000000770001", "20261123", "1030", "RP"]
    assert segs[-2] == ["GE", "1", "77"]
    assert segs[-1] == ["IEA", "1", "000000077"]
    assert summary.claim_type == "P"
    assert summary.version == VERSION_837P
    assert (summary.interchange_control, summary.group_control) == (77, 77)
    assert (summary.transactions, summary.claims, summary.lines) == (1, 1, 2)
    assert summary.segments == len(segs)
    assert text.count("~\n") == len(segs)


def test_header_loops(tmp_path: Path) -> None:
    text, _ = write_837(encounters(tmp_path, claim("C1")))
    segs = parse(text)
    assert segs[4] == ["NM1", "41", "2", "PLACEHOLDER MCE NAME", "", "", "", "", "46", "PLACEHOLDER"]
    assert segs[5] == ["PER", "IC", "PLACEHOLDER CONTACT", "TE", "6175550100"]
    assert segs[6] == ["NM1", "40", "2", "MASSHEALTH", "", "", "", "", "46", "PLACEHOLDER"]


def test_billing_and_subscriber_loops(tmp_path: Path) -> None:
    text, _ = write_837(encounters(tmp_path, claim("C1", {"billing_pidsl": "110000001A"})))
    segs = parse(text)
    start = segs.index(["HL", "1", "", "20", "1"])
    assert segs[start : start + 14] == [
        ["HL", "1", "", "20", "1"],
        ["PRV", "BI", "PXC", "207Q00000X"],
        ["NM1", "85", "2", "HARBORVIEW CLINIC", "", "", "", "", "XX", "1234567893"],
        ["N3", "1 MAIN ST"],
        ["N4", "BOSTON", "MA", "021181234"],
        ["REF", "EI", "123456789"],
        ["HL", "2", "1", "22", "0"],
        ["SBR", "P", "18", "", "", "", "", "", "", "MC"],
        ["NM1", "IL", "1", "ALDER", "ADA", "", "", "", "MI", "100000000001"],
        ["N3", "12 ELM AVE"],
        ["N4", "BOSTON", "MA", "02118"],
        ["DMG", "D8", "19800101", "F"],
        ["NM1", "PR", "2", "MASSHEALTH", "", "", "", "", "PI", "PLACEHOLDER"],
        ["REF", "G2", "110000001A"],
    ]
    assert segs[start + 14][0] == "CLM"


def test_profile_settings_reach_the_segments(tmp_path: Path) -> None:
    s = settings(
        data_receiver_entity="ZD",
        data_receiver_id_qualifier="",
        data_receiver_id="",
        subscriber_responsibility="N",
        payer_filing_code="HM",
        payer_id="MCE77",
    )
    text, _ = write_837(encounters(tmp_path, claim("C1")), s)
    segs = parse(text)
    assert ["NM1", "ZD", "2", "MASSHEALTH"] in segs
    assert find(segs, "SBR", "N")[0][-1] == "MC"
    assert find(segs, "SBR", "P", "18")[0] == ["SBR", "P", "18", "", "", "", "6", "", "", "HM"]
    assert {s[1] for s in find(segs, "SVD")} == {"MCE77"}
    assert find(segs, "NM1", "PR")[-1][-1] == "MCE77"


def test_empty_writer_still_closes_the_envelope() -> None:
    out = io.StringIO()
    w = PacdrWriter(out, Claim837P, settings(), SequentialControlNumbers(5), lambda: FIXED_NOW)
    summary = w.close()
    segs = parse(out.getvalue())
    assert [s[0] for s in segs] == ["ISA", "GS", "GE", "IEA"]
    assert segs[2] == ["GE", "0", "5"]
    assert (summary.transactions, summary.claims, summary.lines, summary.segments) == (0, 0, 0, 4)


def test_close_is_idempotent_and_write_after_close_fails(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C1"))
    out = io.StringIO()
    w = PacdrWriter(out, Claim837P, settings(), SequentialControlNumbers(1), lambda: FIXED_NOW)
    w.write(enc)
    first = w.close()
    text = out.getvalue()
    assert w.close() is first
    assert out.getvalue() == text
    with pytest.raises(RuntimeError, match="closed"):
        w.write(enc)
    assert out.getvalue() == text


def test_writer_takes_control_numbers_once_and_the_clock_once(tmp_path: Path) -> None:
    control = SequentialControlNumbers(10)
    calls: list[int] = []

    def clock() -> dt.datetime:
        calls.append(1)
        return FIXED_NOW

    out = io.StringIO()
    w = PacdrWriter(out, Claim837P, settings(), control, clock)
    for enc in encounters(tmp_path, claim("C1"), claim("C2")):
        w.write(enc)
    w.close()
    assert calls == [1]
    assert control.next_interchange() == 11
    assert control.next_group() == 11


def test_write_is_streaming(tmp_path: Path) -> None:
    encs = encounters(tmp_path, claim("C1"), claim("C2"))
    out = io.StringIO()
    w = PacdrWriter(out, Claim837P, settings(), SequentialControlNumbers(1), lambda: FIXED_NOW)
    w.write(encs[0])
    assert "CLM*C1*" in out.getvalue()
    assert "SE*" not in out.getvalue()
    w.write(encs[1])
    assert "CLM*C2*" in out.getvalue()


# -- transaction sets ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("max_claims", "claims", "expected"), [(2, 5, [2, 2, 1]), (2, 4, [2, 2]), (1, 3, [1, 1, 1]), (5000, 4, [4])]
)
def test_new_transaction_after_max_claims(tmp_path: Path, max_claims: int, claims: int, expected: list[int]) -> None:
    encs = encounters(tmp_path, *(claim(f"C{i}") for i in range(claims)))
    text, summary = write_837(encs, settings(max_claims_per_transaction=max_claims))
    sts = _check_structure(text)
    assert [len(find(st, "CLM")) for st in sts] == expected
    assert [st[0][2] for st in sts] == [f"{n:04d}" for n in range(1, len(expected) + 1)]
    assert [find(st, "BHT")[0][3] for st in sts] == [f"000000001{n:04d}" for n in range(1, len(expected) + 1)]
    assert summary.transactions == len(expected)
    assert summary.claims == claims
    assert summary.lines == 2 * claims
    assert summary.segments == len(parse(text))
    # claims keep their order across transactions
    assert [s[1] for s in find(parse(text), "CLM")] == [f"C{i}" for i in range(claims)]


def test_every_transaction_repeats_the_header(tmp_path: Path) -> None:
    encs = encounters(tmp_path, *(claim(f"C{i}") for i in range(3)))
    text, _ = write_837(encs, settings(max_claims_per_transaction=2))
    for st in _check_structure(text):
        assert [s[0] for s in st[:5]] == ["ST", "BHT", "NM1", "PER", "NM1"]
        assert (st[2][1], st[4][1]) == ("41", "40")


def test_hl_numbering_restarts_in_each_transaction(tmp_path: Path) -> None:
    encs = encounters(tmp_path, *(claim(f"C{i}") for i in range(5)))
    text, _ = write_837(encs, settings(max_claims_per_transaction=2))
    sts = _check_structure(text)
    hls = [[s[1:] for s in find(st, "HL")] for st in sts]
    assert hls == [
        [["1", "", "20", "1"], ["2", "1", "22", "0"], ["3", "1", "22", "0"]],
        [["1", "", "20", "1"], ["2", "1", "22", "0"], ["3", "1", "22", "0"]],
        [["1", "", "20", "1"], ["2", "1", "22", "0"]],
    ]


def test_billing_provider_loop_only_when_the_provider_changes(tmp_path: Path) -> None:
    encs = encounters(
        tmp_path,
        claim("A1"),
        claim("A2"),
        claim("B1", OTHER_BILLING),
        claim("B2", OTHER_BILLING),
        claim("A3"),
    )
    text, summary = write_837(encs)
    [st] = _check_structure(text)
    hls = [s[1:] for s in find(st, "HL")]
    assert hls == [
        ["1", "", "20", "1"],
        ["2", "1", "22", "0"],
        ["3", "1", "22", "0"],
        ["4", "", "20", "1"],
        ["5", "4", "22", "0"],
        ["6", "4", "22", "0"],
        ["7", "", "20", "1"],
        ["8", "7", "22", "0"],
    ]
    assert [s[3] for s in find(st, "NM1", "85")] == ["HARBORVIEW CLINIC", "SEASIDE CLINIC", "HARBORVIEW CLINIC"]
    assert [s[2] for s in find(st, "REF", "EI")] == ["123456789", "987654321", "123456789"]
    assert summary.claims == 5


@pytest.mark.parametrize(
    "change",
    [
        {"billing_taxonomy": "208D00000X"},
        {"billing_tax_id": "111111111"},
        {"billing_zip": "02118"},
        {"billing_npi": "1245319599"},
    ],
    ids=["taxonomy", "tax_id", "address", "npi"],
)
def test_any_billing_detail_change_opens_a_new_2000a(tmp_path: Path, change: dict[str, str]) -> None:
    text, _ = write_837(encounters(tmp_path, claim("A1"), claim("A2", change)))
    assert len(find(parse(text), "HL", "1")) == 1
    assert len([s for s in parse(text) if s[0] == "HL" and s[3] == "20"]) == 2


def test_pidsl_alone_does_not_open_a_new_2000a(tmp_path: Path) -> None:
    encs = encounters(
        tmp_path, claim("A1", {"billing_pidsl": "110000001A"}), claim("A2", {"billing_pidsl": "110000001B"})
    )
    segs = parse(write_837(encs)[0])
    assert len([s for s in segs if s[0] == "HL" and s[3] == "20"]) == 1
    assert [s[2] for s in find(segs, "REF", "G2")] == ["110000001A", "110000001B"]


def test_new_transaction_reopens_2000a_for_the_same_provider(tmp_path: Path) -> None:
    encs = encounters(tmp_path, claim("A1"), claim("A2"), claim("A3"))
    text, _ = write_837(encs, settings(max_claims_per_transaction=2))
    sts = _check_structure(text)
    assert [len(find(st, "NM1", "85")) for st in sts] == [1, 1]


def test_structure_with_mixed_providers_and_splits(tmp_path: Path) -> None:
    rows = [claim(f"C{i}", OTHER_BILLING if i % 3 == 0 else None) for i in range(7)]
    text, summary = write_837(encounters(tmp_path, *rows), settings(max_claims_per_transaction=3))
    sts = _check_structure(text)
    assert summary.transactions == len(sts) == 3
    for st in sts:
        numbers = [int(s[1]) for s in find(st, "HL")]
        assert numbers == list(range(1, len(numbers) + 1))
        billing = {s[1] for s in find(st, "HL") if s[3] == "20"}
        assert all(s[2] in billing for s in find(st, "HL") if s[3] == "22")


# -- claim 2300 ---------------------------------------------------------------------------------------
def test_clm_and_claim_level_segments(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C1"))
    segs = claim_segments(parse(write_837([enc])[0]), "C1")
    assert segs[0] == ["CLM", "C1", "250", "", "", "11:B:1"]
    assert segs[1] == ["CN1", "01"]
    assert segs[2] == ["HI", "ABK:J069", "ABF:E119"]
    assert segs[3] == ["NM1", "82", "1", "HOLLIS", "HUGO", "", "", "", "XX", "1245319599"]
    assert find(segs, "REF", "F8") == []


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_replacement_and_void_write_ref_f8(tmp_path: Path, frequency: str) -> None:
    [enc] = encounters(tmp_path, claim("C2", {"claim_frequency": frequency, "original_claim_id": "C099"}))
    segs = claim_segments(parse(write_837([enc])[0]), "C2")
    assert segs[0][5] == f"11:B:{frequency}"
    assert find(segs, "REF", "F8") == [["REF", "F8", "C099"]]
    assert [s[0] for s in segs[:4]] == ["CLM", "CN1", "REF", "HI"]


def test_original_claim_id_on_an_original_claim_is_not_sent(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C3", {"claim_frequency": "1", "original_claim_id": "C099"}))
    segs = claim_segments(parse(write_837([enc])[0]), "C3")
    assert find(segs, "REF", "F8") == []


def test_clm05_composite_uses_claim_place_of_service(tmp_path: Path) -> None:
    [enc] = encounters(
        tmp_path, claim("C1", {"place_of_service": "22", "claim_frequency": "7", "original_claim_id": "X"})
    )
    assert find(parse(write_837([enc])[0]), "CLM")[0][5] == "22:B:7"


def test_clm05_with_a_separator_profile(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C1"))
    d = Delimiters(element="|", component=">", repetition="{", segment="!", newline=False)
    s = settings(envelope=dataclasses.replace(settings().envelope, delimiters=d))
    text, _ = write_837([enc], s)
    assert "\n" not in text
    segs = parse(text, "|", "!")
    assert find(segs, "CLM")[0] == ["CLM", "C1", "250", "", "", "11>B>1"]
    assert find(segs, "SV1")[0][1] == "HC>99213"
    assert find(segs, "HI")[0] == ["HI", "ABK>J069", "ABF>E119"]


def test_payer_loop_2320(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C1"))
    segs = claim_segments(parse(write_837([enc])[0]), "C1")
    i = segs.index(["SBR", "P", "18", "", "", "", "6", "", "", "MC"])
    assert segs[i : i + 5] == [
        ["SBR", "P", "18", "", "", "", "6", "", "", "MC"],
        ["AMT", "D", "175"],
        ["NM1", "IL", "1", "ALDER", "ADA", "", "", "", "MI", "100000000001"],
        ["NM1", "PR", "2", "PLACEHOLDER MCE NAME", "", "", "", "", "PI", "PLACEHOLDER"],
        ["DTP", "573", "D8", "20260301"],
    ]
    assert segs[i + 5] == ["LX", "1"]


def test_claim_cas_and_patient_responsibility(tmp_path: Path) -> None:
    # Claim-level adjustments net to zero here: the lines already balance charge - paid (CL060).
    row = {
        "claim_adj_group_1": "PR",
        "claim_adj_reason_1": "1",
        "claim_adj_amount_1": "20.00",
        "claim_adj_group_2": "PR",
        "claim_adj_reason_2": "2",
        "claim_adj_amount_2": "-20.00",
        "patient_responsibility": "20.00",
    }
    [enc] = encounters(tmp_path, claim("C1", row))
    segs = claim_segments(parse(write_837([enc])[0]), "C1")
    i = segs.index(find(segs, "SBR")[0])
    assert segs[i + 1 : i + 4] == [
        ["CAS", "PR", "1", "20", "", "2", "-20"],
        ["AMT", "D", "175"],
        ["AMT", "EAF", "20"],
    ]


def test_service_line(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("C1"))
    segs = claim_segments(parse(write_837([enc])[0]), "C1")
    i = segs.index(["LX", "1"])
    assert segs[i : i + 6] == [
        ["LX", "1"],
        ["SV1", "HC:99213", "200", "UN", "1", "", "", "1"],
        ["DTP", "472", "D8", "20260210"],
        ["SVD", "PLACEHOLDER", "140", "HC:99213", "", "1"],
        ["CAS", "CO", "45", "60"],
        ["DTP", "573", "D8", "20260301"],
    ]
    assert segs[i + 6] == ["LX", "2"]
    assert len(find(segs, "LX")) == 2


def test_modifiers_pointers_and_fractional_units(tmp_path: Path) -> None:
    line = {"modifier_1": "25", "modifier_2": "59", "units": "1.50", "dx_pointer_2": "2"}
    [enc] = encounters(tmp_path, claim("C1", None, [line]))
    segs = claim_segments(parse(write_837([enc])[0]), "C1")
    assert find(segs, "SV1")[0] == ["SV1", "HC:99213:25:59", "200", "UN", "1.5", "", "", "1:2"]
    assert find(segs, "SVD")[0] == ["SVD", "PLACEHOLDER", "140", "HC:99213:25:59", "", "1.5"]


def test_denied_claim_reports_zero_paid(tmp_path: Path) -> None:
    denied = claim(
        "D1",
        {"claim_status": "D", "total_paid": "0.00"},
        [{"line_paid": "0.00", "line_adj_amount_1": "200.00"}, {"line_paid": "0", "line_adj_amount_1": "50.00"}],
    )
    segs = claim_segments(parse(write_837(encounters(tmp_path, denied))[0]), "D1")
    assert [s[2] for s in find(segs, "SVD")] == ["0", "0"]
    assert find(segs, "AMT", "D") == [["AMT", "D", "0"]]
    assert find(segs, "CAS") == [["CAS", "CO", "45", "200"], ["CAS", "CO", "45", "50"]]


def test_line_cas_groups_by_group_code(tmp_path: Path) -> None:
    line = {
        "line_paid": "100.00",
        "line_adj_group_1": "CO",
        "line_adj_reason_1": "45",
        "line_adj_amount_1": "50.00",
        "line_adj_group_2": "PR",
        "line_adj_reason_2": "1",
        "line_adj_amount_2": "30.00",
        "line_adj_group_3": "CO",
        "line_adj_reason_3": "253",
        "line_adj_amount_3": "20.00",
    }
    [enc] = encounters(tmp_path, claim("K1", {"total_paid": "135.00"}, [line]))
    segs = claim_segments(parse(write_837([enc])[0]), "K1")
    first_line = segs[segs.index(["LX", "1"]) : segs.index(["LX", "2"])]
    assert find(first_line, "CAS") == [["CAS", "CO", "45", "50", "", "253", "20"], ["CAS", "PR", "1", "30"]]


def _cas_text(adjustments: list[Adjustment]) -> list[str]:
    out = io.StringIO()
    Claim837P(SegmentWriter(out, Delimiters()), settings()).cas(adjustments)
    return out.getvalue().splitlines()


def test_cas_at_most_six_pairs_per_segment() -> None:
    adjs = [Adjustment("CO", str(r), 100 * r) for r in range(1, 9)] + [Adjustment("PR", "1", 5)]
    assert _cas_text(adjs) == [
        "CAS*CO*1*1**2*2**3*3**4*4**5*5**6*6~",
        "CAS*CO*7*7**8*8~",
        "CAS*PR*1*0.05~",
    ]


def test_cas_exactly_six_pairs_fit_one_segment_and_twelve_two() -> None:
    six = [Adjustment("OA", str(r), r) for r in range(1, 7)]
    assert len(_cas_text(six)) == 1
    assert len(_cas_text(six + six)) == 2
    assert _cas_text(six + six)[0] == _cas_text(six)[0]


def test_cas_groups_keep_first_appearance_order() -> None:
    adjs = [
        Adjustment("PR", "2", 100),
        Adjustment("CO", "45", 200),
        Adjustment("PR", "3", 300),
        Adjustment("OA", "23", 0),
    ]
    assert _cas_text(adjs) == ["CAS*PR*2*1**3*3~", "CAS*CO*45*2~", "CAS*OA*23*0~"]


def test_cas_skips_incomplete_adjustments_and_negative_amounts_keep_sign() -> None:
    adjs = [
        Adjustment(None, "45", 100),
        Adjustment("CO", None, 100),
        Adjustment("CO", "45", None),
        Adjustment("", "45", 100),
        Adjustment("CO", "94", -525),
    ]
    assert _cas_text(adjs) == ["CAS*CO*94*-5.25~"]
    assert _cas_text([]) == []


def test_line_spanning_days_uses_rd8(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("R1", None, [{"line_to_date": "20260212"}]))
    segs = claim_segments(parse(write_837([enc])[0]), "R1")
    assert find(segs, "DTP", "472") == [["DTP", "472", "RD8", "20260210-20260212"], ["DTP", "472", "D8", "20260210"]]


def test_line_without_to_date_uses_d8(tmp_path: Path) -> None:
    # mce-v1 requires line_to_date for professional claims, so drop it from the encounter.
    [enc] = encounters(tmp_path, claim("R2"))
    lines = (dataclasses.replace(enc.lines[0], to_date=None), enc.lines[1])
    segs = claim_segments(parse(write_837([dataclasses.replace(enc, lines=lines)])[0]), "R2")
    assert find(segs, "DTP", "472") == [["DTP", "472", "D8", "20260210"], ["DTP", "472", "D8", "20260210"]]


def test_line_without_from_date_has_no_service_date(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("R3"))
    lines = (dataclasses.replace(enc.lines[0], from_date=None), enc.lines[1])
    segs = claim_segments(parse(write_837([dataclasses.replace(enc, lines=lines)])[0]), "R3")
    assert len(find(segs, "DTP", "472")) == 1


def test_sv105_only_when_line_place_of_service_differs(tmp_path: Path) -> None:
    lines = [{"line_place_of_service": "22"}, {"line_place_of_service": "11"}]
    [enc] = encounters(tmp_path, claim("P1", None, lines))
    sv1 = find(claim_segments(parse(write_837([enc])[0]), "P1"), "SV1")
    assert sv1[0] == ["SV1", "HC:99213", "200", "UN", "1", "22", "", "1"]
    assert sv1[1] == ["SV1", "HC:36415", "50", "UN", "1", "", "", "2"]


def test_facility_2310c_when_complete(tmp_path: Path) -> None:
    facility = {
        "facility_name": "BAYSIDE SURGERY",
        "facility_npi": "1245319599",
        "facility_address": "9 HARBOR RD",
        "facility_city": "QUINCY",
        "facility_state": "MA",
        "facility_zip": "02169",
    }
    [enc] = encounters(tmp_path, claim("F1", facility))
    segs = claim_segments(parse(write_837([enc])[0]), "F1")
    i = segs.index(find(segs, "NM1", "77")[0])
    assert segs[i : i + 3] == [
        ["NM1", "77", "2", "BAYSIDE SURGERY", "", "", "", "", "XX", "1245319599"],
        ["N3", "9 HARBOR RD"],
        ["N4", "QUINCY", "MA", "02169"],
    ]
    assert segs[i + 3][0:2] == ["SBR", "P"]


@pytest.mark.parametrize(
    "facility",
    [
        {"facility_name": "BAYSIDE", "facility_npi": "1245319599"},
        {
            "facility_name": "BAYSIDE",
            "facility_address": "9 HARBOR RD",
            "facility_state": "MA",
            "facility_zip": "02169",
        },
        {
            "facility_npi": "1245319599",
            "facility_address": "9 HARBOR RD",
            "facility_city": "QUINCY",
            "facility_state": "MA",
        },
    ],
    ids=["no-address", "no-city", "no-zip"],
)
def test_facility_2310c_omitted_when_incomplete(tmp_path: Path, facility: dict[str, str]) -> None:
    [enc] = encounters(tmp_path, claim("F2", facility))
    assert enc.facility is not None
    segs = parse(write_837([enc])[0])
    assert find(segs, "NM1", "77") == []
    assert len(find(segs, "N3")) == 2  # billing and member only


def test_facility_without_name_is_omitted(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("F3"))
    facility = dataclasses.replace(enc.billing, role="facility", last_name=None)
    segs = parse(write_837([dataclasses.replace(enc, facility=facility)])[0])
    assert find(segs, "NM1", "77") == []


@pytest.mark.parametrize(
    "member",
    [
        {"member_city": ""},
        {"member_address": ""},
        {"member_state": ""},
        {"member_zip": ""},
        {"member_address": "", "member_city": "", "member_state": "", "member_zip": ""},
    ],
    ids=["no-city", "no-street", "no-state", "no-zip", "none"],
)
def test_member_address_only_when_complete(tmp_path: Path, member: dict[str, str]) -> None:
    [enc] = encounters(tmp_path, claim("M1", member))
    segs = parse(write_837([enc])[0])
    sub = segs[segs.index(find(segs, "HL", "2")[0]) : segs.index(find(segs, "CLM")[0])]
    assert [s[0] for s in sub] == ["HL", "SBR", "NM1", "DMG", "NM1"]
    # the billing provider's address is still there
    assert len(find(segs, "N3")) == len(find(segs, "N4")) == 1


def test_referring_provider_and_line_extras(tmp_path: Path) -> None:
    row = {"referring_npi": "1444444446", "referring_last_name": "KINCAID", "referring_first_name": "NORA"}
    line = {"ndc_code": "00002143380", "ndc_quantity": "2.500", "ndc_unit": "ML", "line_rendering_npi": "1444444446"}
    [enc] = encounters(tmp_path, claim("E1", row, [line, {"line_rendering_npi": "1245319599"}]))
    segs = claim_segments(parse(write_837([enc])[0]), "E1")
    assert find(segs, "NM1", "DN") == [["NM1", "DN", "1", "KINCAID", "NORA", "", "", "", "XX", "1444444446"]]
    assert segs.index(find(segs, "NM1", "DN")[0]) < segs.index(find(segs, "NM1", "82")[0])
    first = segs[segs.index(["LX", "1"]) : segs.index(["LX", "2"])]
    second = segs[segs.index(["LX", "2"]) :]
    assert [s[0] for s in first] == ["LX", "SV1", "DTP", "LIN", "CTP", "NM1", "SVD", "CAS", "DTP"]
    assert find(first, "LIN") == [["LIN", "", "N4", "00002143380"]]
    assert find(first, "CTP") == [["CTP", "", "", "", "2.5", "ML"]]
    assert find(first, "NM1") == [["NM1", "82", "1", "", "", "", "", "", "XX", "1444444446"]]
    # the same NPI as the claim's rendering provider is not repeated on the line
    assert find(second, "NM1") == []


def test_more_than_twelve_diagnoses_are_capped(tmp_path: Path) -> None:
    # mce-v1 carries at most twelve diagnoses, so widen the encounter directly.
    [enc] = encounters(tmp_path, claim("H1"))
    diagnoses = tuple(Diagnosis(f"A{i:02d}") for i in range(15))
    enc = dataclasses.replace(enc, header=dataclasses.replace(enc.header, diagnoses=diagnoses))
    [hi] = find(parse(write_837([enc])[0]), "HI")
    assert hi == ["HI", "ABK:A00", *[f"ABF:A{i:02d}" for i in range(1, 12)]]


def test_claim_without_diagnoses_has_no_hi(tmp_path: Path) -> None:
    [enc] = encounters(tmp_path, claim("H2"))
    enc = dataclasses.replace(enc, header=dataclasses.replace(enc.header, diagnoses=()))
    assert find(parse(write_837([enc])[0]), "HI") == []
