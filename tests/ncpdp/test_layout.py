"""NCPDP layout loading: the bundled layouts and every LayoutError of a hand-written layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sendpro.errors import LayoutError
from sendpro.ncpdp.layout import (
    FieldFormat,
    NcpdpField,
    RecordRole,
    bundled_ncpdp_layouts,
    load_ncpdp_layout,
)
from sendpro.resources import schemas_dir

MINI_FIXED = """\
[layout]
name = "mini"
title = "A small test layout"
format = "fixed"

[transaction_codes]
1 = "B1"
7 = "B1"
8 = "B2"

[totals]
paid = "total_amount_paid"

[[record]]
type = "HD"
role = "header"
length = 20
fields = [
    { name = "Record Type", start = 1, length = 2, value = "HD" },
    { id = "806-5C", name = "Batch Number", start = 3, length = 7, format = "N", value = "{batch_number}" },
    { id = "880-K2", name = "Creation Date", start = 10, length = 8, format = "DATE", value = "{creation_date}" },
]

[[record]]
type = "DT"
role = "detail"
length = 30
fields = [
    { name = "Record Type", start = 1, length = 2, value = "DT" },
    { name = "Claim", start = 3, length = 10, field = "mce_claim_id", required = true },
    { id = "509-F9", name = "Paid", start = 13, length = 10, format = "D", field = "total_amount_paid" },
    { id = "401-D1", name = "Service", start = 23, length = 8, format = "DATE", field = "date_of_service" },
]

[[record]]
type = "TR"
role = "trailer"
length = 20
fields = [
    { name = "Record Type", start = 1, length = 2, value = "TR" },
    { name = "Count", start = 3, length = 6, format = "N", value = "{record_count}", check = "count:records" },
{ name = "Sum", start = 9, length = 12, format = "D", value = "{total_amount_paid}", check = "sum:total_amount_paid" },
]
"""

MINI_BATCH = """\
[layout]
name = "mini-batch"
format = "batch"
reference_length = 4

[transaction_codes]
1 = "B1"
7 = "B1"
8 = "B2"

[totals]
paid = "total_amount_paid"

[[record]]
type = "00"
role = "header"
length = 9
fields = [
    { name = "Id", start = 1, length = 2, value = "00" },
    { name = "Batch", start = 3, length = 7, format = "N", value = "{batch_number}" },
]

[[record]]
type = "99"
role = "trailer"
length = 12
fields = [
    { name = "Id", start = 1, length = 2, value = "99" },
    { name = "Count", start = 3, length = 10, format = "N", value = "{record_count}", check = "count:records" },
]

[[record]]
type = "G1"
role = "detail"
length = 2
fields = [{ id = "102-A2", name = "Version", start = 1, length = 2, value = "D0" }]

[[segment]]
id = "04"
name = "Insurance"
level = "transaction"
fields = [{ id = "302-C2", code = "C2", name = "Cardholder ID", max_length = 20, field = "member_id", required = true }]
"""


def _write(tmp_path: Path, text: str, name: str = "mini.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _variant(base: str, old: str, new: str) -> str:
    assert base.count(old) == 1, f"{old!r} is not unique in the base layout"
    return base.replace(old, new)


def _fails(tmp_path: Path, text: str, message: str) -> LayoutError:
    path = _write(tmp_path, text)
    with pytest.raises(LayoutError, match=re.escape(message)) as info:
        load_ncpdp_layout(path)
    return info.value


# --- the bundled layouts ----------------------------------------------------------------------------------------


def test_bundled_layouts_are_listed_by_name() -> None:
    bundled = bundled_ncpdp_layouts()
    assert list(bundled) == ["batch-d0", "post-adjudication"]
    assert bundled["batch-d0"] == schemas_dir() / "ncpdp" / "batch-d0.toml"
    assert bundled["post-adjudication"] == schemas_dir() / "ncpdp" / "post-adjudication.toml"
    assert all(p.is_file() for p in bundled.values())


def test_post_adjudication_layout() -> None:
    lay = load_ncpdp_layout("post-adjudication")
    assert lay.name == "post-adjudication"
    assert lay.format == "fixed"
    assert not lay.batch
    assert lay.provisional and lay.provisional.startswith("PROVISIONAL")
    assert [(r.type, r.role, r.length) for r in lay.records] == [
        ("HD", RecordRole.HEADER, 100),
        ("DT", RecordRole.DETAIL, 362),
        ("TR", RecordRole.TRAILER, 60),
    ]
    assert lay.record(RecordRole.HEADER).type == "HD"
    assert lay.record(RecordRole.DETAIL).type == "DT"
    assert lay.record(RecordRole.TRAILER).type == "TR"
    assert lay.segments == ()
    assert (lay.record_type_start, lay.record_type_length) == (1, 2)
    assert lay.record_separator == "\n"
    assert dict(lay.transaction_codes) == {"1": "B1", "7": "B1", "8": "B2"}
    assert dict(lay.totals) == {"paid": "total_amount_paid", "charge": "gross_amount_due"}
    assert lay.source == schemas_dir() / "ncpdp" / "post-adjudication.toml"


def test_post_adjudication_fields_tile_the_records() -> None:
    lay = load_ncpdp_layout("post-adjudication")
    for rec in lay.records:
        spans = sorted((f.start, f.end) for f in rec.fields)
        assert spans[0][0] == 1
        for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False):
            assert b_start == a_end + 1, rec.type
    detail = lay.record(RecordRole.DETAIL)
    assert detail.fields[-1].end == 362
    gender = next(f for f in detail.fields if f.field == "member_gender")
    assert dict(gender.map) == {"M": "1", "F": "2", "U": "0"}
    assert (gender.id, gender.start, gender.length, gender.format) == ("305-C5", 189, 1, FieldFormat.NUMERIC)
    paid = next(f for f in detail.fields if f.field == "total_amount_paid")
    assert (paid.id, paid.start, paid.end, paid.format, paid.decimals) == ("509-F9", 353, 362, FieldFormat.DOLLARS, 2)
    assert paid.label == "509-F9 Total Amount Paid"
    qty = next(f for f in detail.fields if f.field == "quantity_dispensed")
    assert (qty.format, qty.decimals, qty.length) == (FieldFormat.NUMERIC, 3, 10)
    trailer = lay.record(RecordRole.TRAILER)
    assert [f.check for f in trailer.fields if f.check] == [
        "count:records",
        "count:details",
        "sum:total_amount_paid",
    ]


def test_batch_d0_layout() -> None:
    lay = load_ncpdp_layout("batch-d0")
    assert lay.format == "batch"
    assert lay.batch
    assert [(r.type, r.role, r.length) for r in lay.records] == [
        ("00", RecordRole.HEADER, 73),
        ("99", RecordRole.TRAILER, 54),
        ("G1", RecordRole.DETAIL, 56),
    ]
    assert lay.record_separator == ""
    assert lay.reference_length == 10
    assert [(s.id, s.name, s.level) for s in lay.segments] == [
        ("04", "Insurance", "transaction"),
        ("01", "Patient", "transaction"),
        ("07", "Claim", "claim"),
        ("03", "Prescriber", "claim"),
        ("11", "Pricing", "claim"),
    ]
    for seg in lay.segments:
        for f in seg.fields:
            assert f.start is None and f.length is None
            assert f.code is not None and len(f.code) == 2
    header = lay.record(RecordRole.DETAIL)
    assert [f.id for f in header.fields] == [
        "101-A1",
        "102-A2",
        "103-A3",
        "104-A4",
        "109-A9",
        "202-B2",
        "201-B1",
        "401-D1",
        "110-AK",
    ]
    pricing = lay.segments[-1]
    n3 = next(f for f in pricing.fields if f.code == "N3")
    assert (n3.field, n3.format, n3.max_length, n3.decimals, n3.required) == (
        "total_amount_paid",
        FieldFormat.DOLLARS,
        8,
        2,
        True,
    )


def test_bundled_layout_by_path(tmp_path: Path) -> None:
    path = bundled_ncpdp_layouts()["post-adjudication"]
    assert load_ncpdp_layout(path).name == "post-adjudication"
    assert load_ncpdp_layout(str(path)).records == load_ncpdp_layout("post-adjudication").records


def test_unknown_bundled_name_suggests_the_closest() -> None:
    with pytest.raises(LayoutError, match=r"'post-adjudicaton' is not bundled \(did you mean 'post-adjudication'\?\)"):
        load_ncpdp_layout("post-adjudicaton")
    with pytest.raises(LayoutError, match=r"'zzz' is not bundled; bundled: batch-d0, post-adjudication"):
        load_ncpdp_layout("zzz")


def test_missing_layout_file(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="cannot be read"):
        load_ncpdp_layout(tmp_path / "absent.toml")


def test_unparseable_toml(tmp_path: Path) -> None:
    _fails(tmp_path, "[layout\nname = 1", "cannot be read")


def test_field_defaults() -> None:
    f = NcpdpField("", "Record Type", FieldFormat.TEXT, start=3, length=4)
    assert f.end == 6
    assert f.key == "Record Type"
    assert f.label == "Record Type"
    assert NcpdpField("806-5C", "Batch", FieldFormat.NUMERIC).key == "806-5C"
    assert NcpdpField("509-F9", "Paid", FieldFormat.DOLLARS, field="total_amount_paid").key == "total_amount_paid"


# --- a hand-written layout ----------------------------------------------------------------------------------------


def test_mini_fixed_layout_loads(tmp_path: Path) -> None:
    lay = load_ncpdp_layout(_write(tmp_path, MINI_FIXED))
    assert lay.name == "mini"
    assert lay.title == "A small test layout"
    assert lay.provisional is None
    assert [(r.type, r.length) for r in lay.records] == [("HD", 20), ("DT", 30), ("TR", 20)]
    detail = lay.record(RecordRole.DETAIL)
    assert [f.format for f in detail.fields] == [
        FieldFormat.TEXT,
        FieldFormat.TEXT,
        FieldFormat.DOLLARS,
        FieldFormat.DATE,
    ]
    assert detail.fields[2].decimals == 2  # D defaults to two implied decimals
    assert detail.fields[1].required and not detail.fields[2].required
    assert lay.record_separator == "\n"
    assert dict(lay.totals) == {"paid": "total_amount_paid"}


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = _write(tmp_path, _variant(MINI_FIXED, 'name = "mini"\n', ""), name="my-layout.toml")
    assert load_ncpdp_layout(path).name == "my-layout"


def test_mini_batch_layout_loads(tmp_path: Path) -> None:
    lay = load_ncpdp_layout(_write(tmp_path, MINI_BATCH))
    assert lay.batch
    assert lay.record_separator == ""
    assert lay.reference_length == 4
    assert [s.id for s in lay.segments] == ["04"]
    assert lay.segments[0].fields[0].code == "C2"


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('format = "fixed"', 'format = "csv"', "format 'csv' is not 'fixed' or 'batch'"),
        ('role = "trailer"', 'role = "detail"', "needs exactly one detail record (has 2)"),
        ('role = "header"', 'role = "footer"', "record HD: role must be header, detail or trailer"),
        ('type = "TR"', 'type = "HD"', "record types must differ"),
        ('type = "TR"', "", "[[record]] #3 needs a type"),
        ("length = 30\n", "length = 0\n", "record DT: needs a positive length"),
        (
            'name = "Paid", start = 13',
            'name = "Paid", start = 12',
            "record DT: 509-F9 Paid (positions 12-21) overlaps Claim",
        ),
        (
            'name = "Service", start = 23',
            'name = "Service", start = 24',
            "record DT: fields end at 31, beyond the record length 30",
        ),
        (
            'field = "total_amount_paid" }',
            'field = "total_amount_payd" }',
            "record DT field Paid: 'total_amount_payd' is not a pharmacy model field "
            "(did you mean 'total_amount_paid'?)",
        ),
        (
            'field = "total_amount_paid" }',
            'field = "xyzzy" }',
            "record DT field Paid: 'xyzzy' is not a pharmacy model field",
        ),
        (
            'field = "total_amount_paid" }',
            'field = "total_amount_paid", value = "0" }',
            "record DT field Paid: give exactly one of field = ... or value = ...",
        ),
        (
            'format = "D", field = "total_amount_paid" }',
            'format = "D" }',
            "record DT field Paid: give exactly one of field = ... or value = ...",
        ),
        ('value = "{batch_number}"', 'value = "{nope}"', "record HD field Batch Number: unknown template {nope}"),
        (
            'value = "{batch_number}"',
            'value = "{batch_number}{nope}"',
            "record HD field Batch Number: unknown template {nope}",
        ),
        (
            'name = "Service", start = 23, length = 8',
            'name = "Service", start = 23, length = 6',
            "record DT field Service: a DATE field is 8 characters (CCYYMMDD)",
        ),
        (
            'check = "count:records"',
            'check = "count:lines"',
            "record TR field Count: check 'count:lines' is not count:records, count:details or sum:<field>",
        ),
        ('name = "Paid", start = 13, ', 'name = "Paid", ', "record DT field Paid: a fixed field needs positive start"),
        (
            'name = "Paid", start = 13, length = 10',
            'name = "Paid", start = 13, length = 0',
            "record DT field Paid: a fixed field needs positive start and length",
        ),
        ('format = "D", field', 'format = "X", field', "record DT field Paid: format 'X' is not N, AN, D or DATE"),
        ('format = "D", field', 'format = "D", width = 3, field', "record DT field Paid: unknown key(s) width"),
        ('8 = "B2"\n', "", "[transaction_codes] needs a code for claim_frequency 8"),
        ('7 = "B1"\n', "", "[transaction_codes] needs a code for claim_frequency 7"),
        ('paid = "total_amount_paid"', 'charge = "gross_amount_due"', "[totals] needs paid = "),
        (
            'paid = "total_amount_paid"',
            'paid = "total_amount_paid"\ncharge = "gross_due"',
            "[totals] charge = 'gross_due' is not a pharmacy model field",
        ),
        ('paid = "total_amount_paid"', 'paid = "total_paid"', "[totals] paid = 'total_paid' is not a pharmacy model"),
    ],
)
def test_fixed_layout_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    error = _fails(tmp_path, _variant(MINI_FIXED, old, new), message)
    assert str(error).startswith("NCPDP layout ")
    assert error.code == "SP002"


def test_missing_layout_table(tmp_path: Path) -> None:
    _fails(tmp_path, MINI_FIXED.replace("[layout]", "[meta]"), "missing the [layout] table")


def test_missing_record_role(tmp_path: Path) -> None:
    start = MINI_FIXED.index('[[record]]\ntype = "TR"')
    _fails(tmp_path, MINI_FIXED[:start], "needs exactly one trailer record (has 0)")


def test_missing_header_role(tmp_path: Path) -> None:
    start = MINI_FIXED.index('[[record]]\ntype = "HD"')
    end = MINI_FIXED.index('[[record]]\ntype = "DT"')
    _fails(tmp_path, MINI_FIXED[:start] + MINI_FIXED[end:], "needs exactly one header record (has 0)")


def test_no_records_at_all(tmp_path: Path) -> None:
    _fails(tmp_path, MINI_FIXED[: MINI_FIXED.index("[[record]]")], "needs exactly one header record (has 0)")


def test_overlap_of_a_field_inside_another(tmp_path: Path) -> None:
    text = _variant(
        MINI_FIXED,
        '{ name = "Record Type", start = 1, length = 2, value = "DT" },',
        '{ name = "Record Type", start = 1, length = 2, value = "DT" },\n'
        '    { name = "Inner", start = 5, length = 2, value = "XX" },',
    )
    _fails(tmp_path, text, "record DT: Inner (positions 5-6) overlaps Claim")


def test_batch_layout_without_segments(tmp_path: Path) -> None:
    start = MINI_BATCH.index("[[segment]]")
    _fails(tmp_path, MINI_BATCH[:start], "a batch layout needs [[segment]] tables for the D.0 transaction")


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('id = "04"', 'id = "4"', "[[segment]] #1: id must be two characters (AM + id)"),
        ('id = "04"', 'id = "AM04"', "[[segment]] #1: id must be two characters (AM + id)"),
        ('level = "transaction"', 'level = "group"', "segment AM04: level must be transaction or claim"),
        ('code = "C2", ', "", "segment AM04 field Cardholder ID: code must be the 2-character field id"),
        ('code = "C2"', 'code = "C"', "segment AM04 field Cardholder ID: code must be the 2-character field id"),
        ('code = "C2"', 'code = "C2X"', "segment AM04 field Cardholder ID: code must be the 2-character field id"),
        (
            'field = "member_id"',
            'field = "member_idd"',
            "segment AM04 field Cardholder ID: 'member_idd' is not a pharmacy model field (did you mean 'member_id'?)",
        ),
        ('format = "batch"', 'format = "fixd"', "format 'fixd' is not 'fixed' or 'batch'"),
    ],
)
def test_batch_layout_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    _fails(tmp_path, _variant(MINI_BATCH, old, new), message)


def test_segment_fields_need_no_position(tmp_path: Path) -> None:
    # A DATE segment field has no fixed width, so no 8-character rule applies and start/length are dropped.
    text = _variant(
        MINI_BATCH,
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "C4", name = "DOB", format = "DATE", start = 5, length = 3, field = "member_dob" }]',
    )
    lay = load_ncpdp_layout(_write(tmp_path, text))
    dob = lay.segments[0].fields[1]
    assert (dob.code, dob.format, dob.start, dob.length) == ("C4", FieldFormat.DATE, None, None)


def test_sum_check_names_a_model_field(tmp_path: Path) -> None:
    text = _variant(MINI_FIXED, 'check = "sum:total_amount_paid"', 'check = "sum:total_amount_payd"')
    _fails(tmp_path, text, "total_amount_payd")
