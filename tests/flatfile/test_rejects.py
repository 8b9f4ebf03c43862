from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from sendpro.flatfile.fixedwidth import encode_record
from sendpro.flatfile.layout import Layout, Role
from sendpro.flatfile.reader import FlatFileReader
from sendpro.flatfile.rejects import RejectsWriter, trailer_amount_fields
from sendpro.flatfile.tally import UNKNOWN_TYPE, claim_type_bucket, tally_file
from sendpro.report.report import Totals
from tests.helpers import claim_rows, fw_text, mce_text


def _claims() -> list[list[dict[str, str]]]:
    return [
        claim_rows({"mce_claim_id": "R1", "total_charge": "250.00", "total_paid": "175.00"}),
        claim_rows(
            {"mce_claim_id": "R2", "total_charge": "40.10", "total_paid": "-3.00"},
            [{"line_charge": "40.10", "line_paid": "-3.00"}],
        )[:1],
        claim_rows(
            {"mce_claim_id": "R3", "total_charge": "90.00", "total_paid": "60.00"},
            [{"line_charge": "30.00", "line_paid": "20.00"}] * 3,
        ),
        claim_rows({"mce_claim_id": "R4", "total_charge": "1.25", "total_paid": "0.00"}),
    ]


def _claims_by_id(path: Path, layout: Layout) -> tuple[FlatFileReader, dict[str, pl.DataFrame]]:
    reader = FlatFileReader(path, layout, chunk_lines=16)
    frame = pl.concat([b.frame for b in reader.iter_batches()])
    return reader, {str(k[0]): g for k, g in frame.group_by("mce_claim_id", maintain_order=True)}


def _cents(text: str) -> int:
    whole, _, frac = text.lstrip("-").partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    return -cents if text.startswith("-") else cents


def test_trailer_amount_fields(fw: Layout, mce: Layout) -> None:
    assert trailer_amount_fields(fw) == ("total_charge",)
    assert trailer_amount_fields(mce) == ()


def test_fixed_width_rejects_file_is_a_valid_input(tmp_path: Path, fw: Layout) -> None:
    source = tmp_path / "in.txt"
    source.write_text(fw_text(_claims()), encoding="utf-8")
    reader, by_id = _claims_by_id(source, fw)
    with reader:
        header = reader.header_text()
        trailer = reader.scan().trailer_record
    assert header is not None and header.startswith("HD")
    assert trailer is not None and trailer.startswith("TR")

    out = io.StringIO()
    writer = RejectsWriter(out, fw, header, trailer)
    for key in ("R2", "R3"):
        rows = by_id[key]
        writer.write("\n".join(rows["_raw"].to_list()), {"total_charge": _cents(rows["total_charge"][0])})
    writer.close()
    assert (writer.records, writer.data_records, writer.claim_records, writer.claims) == (8, 6, 2, 2)
    assert writer.sums == {"total_charge": 13010}

    lines = out.getvalue().splitlines()
    assert [line[:2] for line in lines] == ["HD", "CL", "LN", "CL", "LN", "LN", "LN", "TR"]
    assert lines[0] == header
    spec = fw.record(Role.TRAILER)
    assert spec is not None
    assert lines[-1] == encode_record(spec, fw, {"record_count": "8", "total_charge": "130.10"})
    assert lines[-1][:24] == "TR000000008+000000013010"
    # Claim rows are copied byte for byte.
    original = source.read_text(encoding="utf-8").splitlines()
    assert lines[1:-1] == original[4:10]

    rejects = tmp_path / "rejects.txt"
    rejects.write_text(out.getvalue(), encoding="utf-8")
    with FlatFileReader(rejects, fw) as again:
        scan = again.scan()
    assert (scan.data_rows, scan.claims, scan.split_claims) == (6, 2, 0)
    assert scan.header_record == header

    totals = tally_file(rejects, fw)
    assert totals == {
        "P": Totals(rows=6, claims=2, lines=4, charge=13010, paid=5700, line_charge=13010, line_paid=5700)
    }


def test_tally_fixed_width_source(tmp_path: Path, fw: Layout) -> None:
    source = tmp_path / "in.txt"
    source.write_text(fw_text(_claims()), encoding="utf-8")
    assert tally_file(source, fw, temp_dir=tmp_path) == {
        "P": Totals(rows=12, claims=4, lines=8, charge=38135, paid=23200, line_charge=63010, line_paid=40700)
    }
    assert [p.name for p in tmp_path.iterdir()] == ["in.txt"]


def test_fixed_width_rejects_recompute_counts(tmp_path: Path, fw: Layout) -> None:
    out = io.StringIO()
    trailer = "TR999999999+999999999999"  # a template shorter than the record; values are replaced
    writer = RejectsWriter(out, fw, "HDX", trailer)
    writer.write("CLA\nLN1\nLN2", {"total_charge": 150})
    writer.write("CLB", {"total_charge": None})
    writer.write("CLC\nLN1", {"total_charge": -25})
    writer.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "HDX"
    assert lines[-1] == "TR000000008+000000000125"
    assert (writer.records, writer.data_records, writer.claim_records, writer.claims) == (8, 6, 3, 3)
    assert out.getvalue().endswith("\n")


def test_rejects_without_trailer_template(fw: Layout) -> None:
    out = io.StringIO()
    writer = RejectsWriter(out, fw, None, None)
    writer.write("CLA\nLN1", {"total_charge": 100})
    writer.close()
    assert out.getvalue() == "CLA\nLN1\n"
    assert writer.records == 2


def test_trailer_template_padded_to_field_end(fw: Layout) -> None:
    out = io.StringIO()
    writer = RejectsWriter(out, fw, None, "TR")
    writer.write("CLA\nLN1", {"total_charge": 1999})
    writer.close()
    assert out.getvalue().splitlines()[-1] == "TR000000003+000000001999"


def test_delimited_rejects_start_with_header(tmp_path: Path, mce: Layout) -> None:
    claims = _claims()
    source = tmp_path / "in.txt"
    source.write_text(mce_text([r for c in claims for r in c]), encoding="utf-8")
    reader, by_id = _claims_by_id(source, mce)
    with reader:
        header = reader.header_text()
        trailer = reader.scan().trailer_record
    assert trailer is None
    out = io.StringIO()
    writer = RejectsWriter(out, mce, header, trailer)
    for key in ("R1", "R3"):
        writer.write("\n".join(by_id[key]["_raw"].to_list()), {})
    writer.close()
    text = out.getvalue()
    lines = text.splitlines()
    original = source.read_text(encoding="utf-8").splitlines()
    assert lines[0] == original[0] == header
    assert lines[1:] == original[1:3] + original[4:7]
    assert (writer.records, writer.data_records, writer.claim_records, writer.claims) == (6, 5, 0, 2)
    rejects = tmp_path / "rejects.txt"
    rejects.write_text(text, encoding="utf-8")
    assert tally_file(rejects, mce) == {
        "P": Totals(rows=5, claims=2, lines=5, charge=34000, paid=23500, line_charge=34000, line_paid=23500)
    }


def test_tally_buckets_claim_types(tmp_path: Path, mce: Layout) -> None:
    rows = [
        *claim_rows({"mce_claim_id": "P1"}),
        *claim_rows({"mce_claim_id": "I1", "claim_type": "I", "type_of_bill": "0111"})[:1],
        *claim_rows({"mce_claim_id": "X1", "claim_type": "X", "total_charge": "abc"}),
        *claim_rows({"mce_claim_id": "N1", "claim_type": ""})[:1],
    ]
    source = tmp_path / "in.txt"
    source.write_text(mce_text(rows), encoding="utf-8")
    totals = tally_file(source, mce)
    assert totals == {
        "P": Totals(rows=2, claims=1, lines=2, charge=25000, paid=17500, line_charge=25000, line_paid=17500),
        "I": Totals(rows=1, claims=1, lines=1, charge=25000, paid=17500, line_charge=20000, line_paid=14000),
        UNKNOWN_TYPE: Totals(
            rows=3, claims=2, lines=3, charge=25000, paid=35000, line_charge=45000, line_paid=31500, unreadable=1
        ),
    }


def test_claim_type_bucket() -> None:
    assert [claim_type_bucket(t) for t in ("P", "I", "D", "X", "", None, "p")] == ["P", "I", "D", "?", "?", "?", "?"]
