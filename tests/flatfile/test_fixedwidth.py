from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from sendpro.errors import InputFileError
from sendpro.flatfile.fixedwidth import encode_record, write_fixed_width
from sendpro.flatfile.layout import Layout, Role, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.model.fields import Level, required_fields
from tests.helpers import claim_rows, fw_text


def _line_record(fw: Layout):
    rec = fw.record(Role.LINE)
    assert rec is not None
    return rec


def _claim_record(fw: Layout):
    rec = fw.record(Role.CLAIM)
    assert rec is not None
    return rec


def test_encode_line_record_positions(fw: Layout) -> None:
    values = {
        "line_number": "1",
        "procedure_code": "99213",
        "units": "2.5",
        "unit_type": "UN",
        "line_from_date": "20260210",
        "line_charge": "200.00",
        "line_paid": "-5.25",
        "dx_pointer_1": "1",
        "modifier_1": None,
        "modifier_2": "",
    }
    text = encode_record(_line_record(fw), fw, values)
    assert len(text) == 98
    assert text[0:2] == "LN"
    assert text[2:6] == "0001"
    assert text[6:11] == "99213"
    assert text[11:15] == "    "  # modifiers left blank
    assert text[15:22] == "0002500"
    assert text[22:24] == "UN"
    assert text[24:32] == "20260210"
    assert text[32:40] == " " * 8  # line_to_date missing
    assert text[40:50] == "000002000{"
    assert text[50:60] == "000000052N"
    assert text[94:96] == "01"
    assert text[96:98] == "  "


def test_encode_ignores_fields_the_record_does_not_hold(fw: Layout) -> None:
    text = encode_record(_line_record(fw), fw, {"member_id": "X" * 30, "line_number": "7"})
    assert text == "LN0007" + " " * 92


def test_encode_text_value_too_long(fw: Layout) -> None:
    with pytest.raises(ValueError, match="procedure_code: value of 6 characters does not fit 5 positions"):
        encode_record(_line_record(fw), fw, {"procedure_code": "992131"})


def test_encode_digits_value_too_long(fw: Layout) -> None:
    with pytest.raises(ValueError, match="line_number: value of 5 characters does not fit 4 positions"):
        encode_record(_line_record(fw), fw, {"line_number": "12345"})


def test_encode_amount_too_large(fw: Layout) -> None:
    with pytest.raises(ValueError, match="does not fit picture S9\\(8\\)V99"):
        encode_record(_line_record(fw), fw, {"line_charge": "123456789.00"})


def test_encode_amount_too_many_decimals(fw: Layout) -> None:
    with pytest.raises(ValueError, match="more decimals"):
        encode_record(_line_record(fw), fw, {"line_charge": "1.005"})


def test_record_width_without_declared_length(tmp_path: Path) -> None:
    layout = _small_layout(tmp_path)
    claim = layout.record(Role.CLAIM)
    assert claim is not None and claim.length is None
    text = encode_record(claim, layout, {"mce_claim_id": "Z9", "claim_type": "P"})
    assert len(text) == max(f.end for f in claim.fields) == 209
    assert text[:19] == "1Z9" + " " * 16
    assert text[19:29] == "P" + " " * 9


def test_write_fixed_width_rejects_delimited_layout(mce: Layout) -> None:
    with pytest.raises(ValueError, match="layout mce-v1 is not fixed-width"):
        write_fixed_width(io.StringIO(), mce, [])


def test_write_fixed_width_records_and_trailer(fw: Layout) -> None:
    buf = io.StringIO()
    claims = [claim_rows({"mce_claim_id": "W1"}), [], claim_rows({"mce_claim_id": "W2", "total_charge": "-10.50"})]
    n = write_fixed_width(buf, fw, claims, {"submitter_id": "SUB01", "file_date": "20260301"})
    lines = buf.getvalue().splitlines()
    assert n == len(lines) == 8
    assert [line[:2] for line in lines] == ["HD", "CL", "LN", "LN", "CL", "LN", "LN", "TR"]
    assert lines[0] == "HDSUB01     20260301" + " " * 20
    assert lines[-1] == "TR000000008+000000023950" + " " * 16
    assert buf.getvalue().endswith("\n")


def test_write_without_header_values(fw: Layout) -> None:
    buf = io.StringIO()
    write_fixed_width(buf, fw, [claim_rows({"mce_claim_id": "W1"})])
    assert buf.getvalue().splitlines()[0] == "HD" + " " * 38


def _canonical(value: str, spec) -> str:
    pic = spec.picture
    if pic is None or pic.alphanumeric:
        return value.strip()
    if pic.decimals:
        return f"{Decimal(value):.{pic.decimals}f}"
    if pic.signed:
        return str(int(value))
    return value.rjust(spec.length, "0")


def test_round_trip_through_reader(tmp_path: Path, fw: Layout) -> None:
    claims = [
        claim_rows({"mce_claim_id": "RT1", "dx_3": "Z0000"}),
        claim_rows(
            {"mce_claim_id": "RT2", "total_charge": "-12.34", "total_paid": "0", "member_first_name": ""},
            [{"line_charge": "-12.34", "units": "0.5", "modifier_1": "25", "line_paid": "0.01"}],
        )[:1],
        claim_rows(
            {"mce_claim_id": "RT3", "claim_frequency": "7", "original_claim_id": "RT0"},
            [{}, {}, {"line_number": "3", "line_adj_amount_2": "-99999999.99", "dx_pointer_2": "4"}],
        ),
    ]
    path = tmp_path / "rt.txt"
    path.write_text(fw_text(claims), encoding="utf-8")
    with FlatFileReader(path, fw, chunk_lines=16) as reader:
        scan = reader.scan()
        frame = pl.concat([b.frame for b in reader.iter_batches()])
    assert (scan.claims, scan.data_rows) == (3, 9)
    source_rows = [r for c in claims for r in c]
    assert frame.height == len(source_rows)
    specs = {s.field: s for rec in (_claim_record(fw), _line_record(fw)) for s in rec.fields}
    for got, row in zip(frame.iter_rows(named=True), source_rows, strict=True):
        for name, spec in specs.items():
            value = row.get(name)
            expected = _canonical(value, spec) if value else None
            assert got[name] == expected, (row["mce_claim_id"], name)
    assert frame["total_charge"].to_list()[2] == "-12.34"
    assert frame["units"].to_list()[2] == "0.500"
    assert frame["line_adj_amount_2"].to_list()[-1] == "-99999999.99"


def _small_layout(tmp_path: Path) -> Layout:
    """A one-character record type layout; fields after the first few only fill the required mapping."""
    cl = [
        '{ field = "mce_claim_id", start = 2, length = 10 }',
        '{ field = "total_paid", start = 12, length = 8, picture = "S9(5)V99", sign = "trailing-separate" }',
    ]
    ln = ['{ field = "line_charge", start = 2, length = 6, picture = "S9(4)V99" }']
    paid = '{ name = "paid", start = 11, length = 9, picture = "S9(6)V99", sign = "trailing-separate", '
    paid += 'check = "sum:total_paid" }'
    cl_pos, ln_pos = 20, 8
    for fd in required_fields("P"):
        if fd.name in ("mce_claim_id", "total_paid", "line_charge"):
            continue
        if fd.level is Level.CLAIM:
            cl.append(f'{{ field = "{fd.name}", start = {cl_pos}, length = 10 }}')
            cl_pos += 10
        else:
            ln.append(f'{{ field = "{fd.name}", start = {ln_pos}, length = 10 }}')
            ln_pos += 10
    text = f"""
[layout]
name = "small"
format = "fixed-width"
claim_types = ["P"]
record_type = {{ start = 1, length = 1 }}

[[record]]
type = "1"
role = "claim"
fields = [{", ".join(cl)}]

[[record]]
type = "2"
role = "line"
fields = [{", ".join(ln)}]

[[record]]
type = "9"
role = "trailer"
fields = [
  {{ name = "claims", start = 2, length = 4, picture = "9(4)", check = "count:claims" }},
  {{ name = "data", start = 6, length = 5, picture = "9(5)", check = "count:data" }},
  {paid},
]
"""
    path = tmp_path / "small.toml"
    path.write_text(text, encoding="utf-8")
    return load_layout(path)


def test_other_trailer_checks_round_trip(tmp_path: Path) -> None:
    layout = _small_layout(tmp_path)
    claims = [
        [{"mce_claim_id": "A", "claim_type": "P", "total_paid": "10.00", "line_charge": "1.00"}] * 3,
        [{"mce_claim_id": "B", "claim_type": "P", "total_paid": "-2.50", "line_charge": "-0.75"}],
    ]
    buf = io.StringIO()
    assert write_fixed_width(buf, layout, claims) == 7
    lines = [line[:19] for line in buf.getvalue().splitlines()]
    assert lines == [
        "1A         0001000+",
        "200010{" + " " * 12,
        "200010{" + " " * 12,
        "200010{" + " " * 12,
        "1B         0000250-",
        "200007N" + " " * 12,
        "900020000600000750+"[:19],
    ]
    assert buf.getvalue().splitlines()[-1] == "900020000600000750+"
    path = tmp_path / "small.txt"
    path.write_text(buf.getvalue(), encoding="utf-8")
    with FlatFileReader(path, layout) as reader:
        scan = reader.scan()
        frame = pl.concat([b.frame for b in reader.iter_batches()])
    assert (scan.claims, scan.data_rows, scan.header_record) == (2, 6, None)
    assert frame["total_paid"].to_list() == ["10.00"] * 3 + ["-2.50"]
    assert frame["line_charge"].to_list() == ["1.00"] * 3 + ["-0.75"]
    assert frame["claim_type"].to_list() == ["P"] * 4
    assert frame["mce_claim_id"].to_list() == ["A", "A", "A", "B"]


def test_other_trailer_checks_detect_mismatch(tmp_path: Path) -> None:
    layout = _small_layout(tmp_path)
    path = tmp_path / "small.txt"
    text = fw_text([[{"mce_claim_id": "A", "total_paid": "10.00", "line_charge": "1.00"}]], layout)
    path.write_text(text.replace("90001", "90002"), encoding="utf-8")
    with FlatFileReader(path, layout) as reader, pytest.raises(InputFileError) as info:
        reader.scan()
    assert info.value.code == "FF006"
    assert "trailer claims says 2, but the file holds 1 (claims)" in str(info.value)


def test_space_padded_amount_keeps_implied_decimals(tmp_path: Path, fw: Layout) -> None:
    lines = fw_text([claim_rows()]).splitlines()
    lines[2] = lines[2][:40] + "        12" + lines[2][50:]
    lines[3] = lines[3][:40] + "0000000012" + lines[3][50:]
    path = tmp_path / "pad.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with FlatFileReader(path, fw) as reader:
        frame = pl.concat([b.frame for b in reader.iter_batches()])
    assert frame["line_charge"].to_list() == ["0.12", "0.12"]
