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

[[segment]]
id = "11"
name = "Pricing"
fields = [{ id = "113-N3", code = "N3", name = "Paid", format = "D", max_length = 8, field = "total_amount_paid" }]
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
    assert [(s.id, s.level) for s in lay.segments] == [("04", "transaction"), ("11", "claim")]
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


def test_segment_fields_take_no_position(tmp_path: Path) -> None:
    # A segment field is placed by its code; start/length are refused, not silently dropped.
    text = _variant(
        MINI_BATCH,
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "C4", name = "DOB", format = "DATE", start = 5, length = 3, field = "member_dob" }]',
    )
    _fails(
        tmp_path,
        text,
        "segment AM04 field DOB: unknown key(s) length, start; allowed: ",
    )


def test_segment_date_field_needs_no_max_length(tmp_path: Path) -> None:
    text = _variant(
        MINI_BATCH,
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "C4", name = "DOB", format = "DATE", field = "member_dob" }]',
    )
    dob = load_ncpdp_layout(_write(tmp_path, text)).segments[0].fields[1]
    assert (dob.code, dob.format, dob.start, dob.length, dob.max_length) == ("C4", FieldFormat.DATE, None, None, None)


def test_sum_check_names_a_model_field(tmp_path: Path) -> None:
    text = _variant(MINI_FIXED, 'check = "sum:total_amount_paid"', 'check = "sum:total_amount_payd"')
    _fails(tmp_path, text, "total_amount_payd")


# --- strict loading: every mistake of a custom layout is one LayoutError naming the file --------------------------
#
# Each case changes one thing in a valid layout. Before load-time checking was complete these layouts
# loaded, and failed later: at write time, in output validation (reported as a sendpro bug), or not at all.

STRICT_FIXED_CASES = [
    # unknown keys, in every table
    pytest.param("[totals]", "[extra]\na = 1\n\n[totals]", "top level: unknown key(s) extra", id="top-level-key"),
    pytest.param(
        'format = "fixed"', 'format = "fixed"\nfromat = 1', "[layout]: unknown key(s) fromat (did you mean 'format'?)"
    ),
    pytest.param("length = 30\n", 'length = 30\ncolour = "red"\n', "record DT: unknown key(s) colour; allowed: "),
    pytest.param(
        'field = "mce_claim_id", required = true',
        'field = "mce_claim_id", required = true, requird = true',
        "record DT field Claim: unknown key(s) requird (did you mean 'required'?)",
    ),
    pytest.param(
        'paid = "total_amount_paid"',
        'paid = "total_amount_paid"\nfee = "dispensing_fee_paid"',
        "[totals]: unknown key(s) fee",
        id="totals-key",
    ),
    pytest.param(
        'format = "fixed"',
        'format = "fixed"\nrecord_type = { start = 1, length = 2, end = 2 }',
        "[layout] record_type: unknown key(s) end",
    ),
    pytest.param(
        'name = "Claim", start = 3, length = 10,',
        'name = "Claim", start = 3, length = 10, max_length = 10,',
        "record DT field Claim: unknown key(s) max_length (did you mean 'length'?); code and max_length describe "
        "D.0 segment fields, a fixed field has start and length",
    ),
    pytest.param(
        'format = "fixed"',
        'format = "fixed"\nreference_length = 10',
        "[layout] reference_length applies to batch layouts",
    ),
    pytest.param(
        'title = "A small test layout"\nformat = "fixed"',
        'title = "A small test layout"\nformat = "fixed"\n\n[[segment]]\nid = "04"',
        "[[segment]] tables describe D.0 transactions: only a batch layout has them",
    ),
    # wrong value types
    pytest.param(
        "length = 30\n",
        'length = "30"\n',
        "record DT: needs a positive length (a whole number without quotes, not the string '30')",
    ),
    pytest.param(
        'name = "Claim", start = 3,',
        'name = "Claim", start = "3",',
        "record DT field Claim: a fixed field needs positive start and length",
    ),
    pytest.param(
        "required = true",
        'required = "yes"',
        "record DT field Claim: required must be true or false without quotes, not the string 'yes'",
    ),
    pytest.param(
        'name = "Record Type", start = 1, length = 2, value = "DT"',
        'name = "Record Type", start = 1, length = 2, value = 12',
        "record DT field Record Type: value must be a string in quotes, not a number",
    ),
    pytest.param(
        'format = "D", field = "total_amount_paid"',
        'format = "D", decimals = "2", field = "total_amount_paid"',
        "record DT field Paid: decimals must be a whole number without quotes, not the string '2'",
    ),
    pytest.param(
        'format = "D", field = "total_amount_paid"',
        'format = "D", decimals = -1, field = "total_amount_paid"',
        "record DT field Paid: decimals must be at least 0 (it is -1)",
    ),
    pytest.param(
        'title = "A small test layout"', "title = 3", "[layout]: title must be a string in quotes, not a number"
    ),
    pytest.param('name = "mini"', 'name = ""', "[layout] name must be a non-empty string"),
    pytest.param('1 = "B1"', "1 = 1", '[transaction_codes] 1 must be a transaction code in quotes, such as "B1"'),
    pytest.param('8 = "B2"', '8 = "B2"\n9 = "B3"', "[transaction_codes] 9 is not a claim_frequency (1, 7, 8)"),
    pytest.param(
        'format = "fixed"',
        'format = "fixed"\nrecord_separator = ""',
        "[layout] record_separator '' cannot be read back; a fixed layout uses '\\n' or '\\r\\n'",
        id="fixed-without-separator",
    ),
    pytest.param(
        '{ name = "Record Type", start = 1, length = 2, value = "DT" },',
        '{ start = 1, length = 2, value = "DT" },',
        "record DT field #1: needs a name",
    ),
    # formats that cannot hold the model field (from the model's field catalogue)
    pytest.param(
        'name = "Claim", start = 3, length = 10, field',
        'name = "Claim", start = 3, length = 10, format = "D", field',
        "record DT field Claim: format D (signed overpunch dollars) cannot hold mce_claim_id "
        "(1-38 characters without X12 separators); use AN",
    ),
    pytest.param(
        'format = "D", field = "total_amount_paid"',
        'format = "N", decimals = 2, field = "total_amount_paid"',
        "record DT field Paid: format N (numeric) cannot hold total_amount_paid",
    ),
    pytest.param(
        'format = "DATE", field = "date_of_service"',
        'format = "AN", field = "date_of_service"',
        "record DT field Service: format AN (text) cannot hold date_of_service (a real date CCYYMMDD); use DATE",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, format = "DATE", field = "member_last_name"',
        "record DT field Service: format DATE (CCYYMMDD) cannot hold member_last_name",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, format = "N", field = "ndc"',
        "format N (numeric) cannot hold ndc (11 digits): N reads a fixed-length code as a number and drops its "
        "leading zeros; use AN",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, format = "N", field = "quantity_dispensed"',
        "record DT field Service: quantity_dispensed has up to 3 decimals; 0 implied decimals cannot hold them",
    ),
    pytest.param(
        'format = "D", field = "total_amount_paid"',
        'format = "D", decimals = 0, field = "total_amount_paid"',
        "record DT field Paid: total_amount_paid has up to 2 decimals; 0 implied decimals cannot hold them",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, format = "N", decimals = 1, field = "days_supply"',
        "record DT field Service: days_supply is a whole number or code; implied decimals would scale it",
    ),
    pytest.param(
        'name = "Claim", start = 3, length = 10, field',
        'name = "Claim", start = 3, length = 10, decimals = 2, field',
        "record DT field Claim: decimals apply to N and D fields only, not AN",
    ),
    pytest.param(
        'format = "D", field = "total_amount_paid"',
        'format = "D", decimals = 10, field = "total_amount_paid"',
        "record DT field Paid: 10 implied decimals leave no whole digits in 10 characters",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, field = "ndc"',
        "record DT field Service: 8 characters cannot hold any value of ndc (11 digits)",
    ),
    # code maps that cannot fit their field
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, format = "N", field = "member_gender", map = { M = "1", F = "2", U = "X" }',
        "record DT field Service: map value 'X' (for U) is not digits, as format N needs",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, format = "N", field = "member_gender"',
        "record DT field Service: member_gender code 'F' is not digits, as format N needs (map it",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, field = "member_gender", map = { M = "MALE-PERSON" }',
        "record DT field Service: map value 'MALE-PERSON' (for M) has 11 characters; the field holds 8",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, field = "member_gender", map = { X = "1" }',
        "record DT field Service: map key 'X' is not a code of member_gender (F, M, U)",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, field = "member_gender", map = { M = 1 }',
        'record DT field Service: map must be a table of code = "written code" strings',
    ),
    pytest.param(
        'name = "Claim", start = 3, length = 10, field = "mce_claim_id"',
        'name = "Claim", start = 3, length = 10, field = "mce_claim_id", map = { A = "B" }',
        "record DT field Claim: map translates codes, and mce_claim_id is not a code field",
    ),
    pytest.param(
        'start = 23, length = 8, format = "DATE", field = "date_of_service"',
        'start = 23, length = 8, field = "quantity_unit"',
        None,  # EA, GM, ML fit 8 characters as text: loads
        id="code-field-as-text-loads",
    ),
    # record types, positions, roles
    pytest.param(
        'name = "Record Type", start = 1, length = 2, value = "DT"',
        'name = "Record Type", start = 1, length = 2, value = "DX"',
        "record DT: field Record Type at the record-type positions writes 'DX', not the record's type 'DT'",
    ),
    pytest.param(
        'name = "Record Type", start = 1, length = 2, value = "DT"',
        'name = "Record Type", start = 1, length = 2, field = "quantity_unit"',
        "record DT: field Record Type at the record-type positions writes model field quantity_unit",
    ),
    pytest.param('type = "DT"', 'type = "DTX"', "record DTX: the type must be 2 characters"),
    pytest.param(
        'name = "Paid", start = 13, length = 10',
        'name = "Paid", start = 14, length = 9',
        'record DT: position(s) 13 belong to no field; declare them, such as { name = "Filler", start = 13, '
        'length = 1, value = "" }',
    ),
    pytest.param(
        '{ id = "880-K2", name = "Creation Date", start = 10, length = 8, format = "DATE", '
        'value = "{creation_date}" },',
        '{ name = "Member", start = 10, length = 8, field = "member_id" },',
        "record HD field Member: a header record has no encounter to take member_id from",
    ),
    pytest.param(
        '{ id = "401-D1", name = "Service", start = 23, length = 8, format = "DATE", field = "date_of_service" },',
        '{ name = "Claim again", start = 23, length = 8, field = "mce_claim_id" },',
        "model field mce_claim_id is written twice (Claim and Claim again)",
    ),
    # values and templates the writer could not put in the field
    pytest.param(
        'value = "{batch_number}"',
        'value = "{record_count}"',
        "record HD field Batch Number: {record_count} is only filled in the trailer record",
    ),
    pytest.param(
        'value = "{batch_number}"',
        'value = "{transaction_code}"',
        "record HD field Batch Number: {transaction_code} is only filled in the detail record",
    ),
    pytest.param(
        'value = "{batch_number}"',
        'value = "{Batch_Number}"',
        "record HD field Batch Number: value '{Batch_Number}' has a brace",
    ),
    pytest.param(
        'value = "{batch_number}"', 'value = "12345678"', "record HD field Batch Number: value '12345678' has 8 digits"
    ),
    pytest.param(
        'value = "{batch_number}"', 'value = "ABC"', "record HD field Batch Number: value 'ABC' is not a number"
    ),
    pytest.param(
        'value = "{batch_number}"', 'value = "B{batch_number}"', "a value mixing templates and text must be format AN"
    ),
    pytest.param(
        'format = "DATE", value = "{creation_date}"',
        'format = "DATE", value = "20261301"',
        "record HD field Creation Date: value '20261301' is not a real date CCYYMMDD",
    ),
    pytest.param(
        'name = "Batch Number", start = 3, length = 7, format = "N", value = "{batch_number}"',
        'name = "Batch Number", start = 3, length = 7, value = "", required = true',
        "record HD field Batch Number: value '' is blank, but the field is required",
    ),
    pytest.param(
        'name = "Batch Number", start = 3, length = 7, format = "N", value = "{batch_number}"',
        'name = "Batch Number", start = 3, length = 7, format = "N", value = "{file_type}"',
        "record HD field Batch Number: format N (numeric) cannot hold {file_type}; use AN",
    ),
    pytest.param(
        '{ name = "Record Type", start = 1, length = 2, value = "HD" },\n'
        '    { id = "806-5C", name = "Batch Number", start = 3, length = 7, format = "N", value = "{batch_number}" },',
        '{ name = "Record Type", start = 1, length = 2, value = "HD" },\n'
        '    { id = "806-5C", name = "Batch Number", start = 3, length = 5, format = "N", value = "{batch_number}" },\n'
        '    { name = "Filler", start = 8, length = 2, value = "" },',
        "record HD field Batch Number: {batch_number} needs 7 characters; the field holds 5",
    ),
    pytest.param(
        'format = "D", value = "{total_amount_paid}"',
        'format = "N", decimals = 2, value = "{total_amount_paid}"',
        "record TR field Sum: format N (numeric) cannot hold {total_amount_paid}; use D",
    ),
    # trailer checks that could never pass on sendpro's own output
    pytest.param(
        'name = "Claim", start = 3, length = 10, field = "mce_claim_id", required = true',
        'name = "Claim", start = 3, length = 10, field = "mce_claim_id", required = true, check = "count:records"',
        "record DT field Claim: check applies to trailer fields only",
    ),
    pytest.param(
        'value = "{record_count}", check = "count:records"',
        'value = "{detail_count}", check = "count:records"',
        "record TR field Count: check 'count:records' needs value = \"{record_count}\"",
    ),
    pytest.param(
        'check = "sum:total_amount_paid"',
        'check = "sum:gross_amount_due"',
        "record TR field Sum: check 'sum:gross_amount_due' sums gross_amount_due, but the writer fills "
        "{total_amount_paid} from [totals] paid = 'total_amount_paid'",
    ),
    # totals reconciliation could never read back
    pytest.param(
        'paid = "total_amount_paid"',
        'paid = "total_amount_paid"\ncharge = "gross_amount_due"',
        "[totals] charge = 'gross_amount_due' is written by no field of the detail record",
    ),
    pytest.param('paid = "total_amount_paid"', 'paid = "member_id"', "[totals] paid = 'member_id' is not an amount"),
]


@pytest.mark.parametrize("old,new,message", STRICT_FIXED_CASES)
def test_strict_fixed_layout(tmp_path: Path, old: str, new: str, message: str | None) -> None:
    text = _variant(MINI_FIXED, old, new)
    if message is None:
        load_ncpdp_layout(_write(tmp_path, text))
        return
    error = _fails(tmp_path, text, message)
    # One line naming the layout and its file, as the CLI prints it.
    assert str(error).startswith(f"NCPDP layout mini ({tmp_path / 'mini.toml'}): ")
    assert "\n" not in str(error).replace("'\\n'", "")


STRICT_BATCH_CASES = [
    pytest.param(
        "reference_length = 4", "reference_length = 0", "[layout]: reference_length must be positive (it is 0)"
    ),
    pytest.param("reference_length = 4", "reference_length = -3", "[layout]: reference_length must be positive"),
    pytest.param(
        "reference_length = 4",
        'reference_length = "10"',
        "[layout]: reference_length must be a whole number without quotes, not the string '10'",
    ),
    pytest.param(
        "reference_length = 4",
        "reference_length = 4\nrecord_type = { start = 1, length = 2 }",
        "[layout] record_type applies to fixed layouts",
    ),
    pytest.param(
        "reference_length = 4",
        'reference_length = 4\nrecord_separator = "|"',
        "[layout] record_separator '|' cannot be read back; a batch layout uses '' or '\\n' or '\\r\\n'",
    ),
    pytest.param(
        'level = "transaction"',
        'level = "transaction"\nlvl = 1',
        "segment AM04: unknown key(s) lvl (did you mean 'level'?)",
    ),
    pytest.param('id = "11"', 'id = "04"', "segment ids must differ (AM04 defined more than once)"),
    pytest.param(
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "C2", name = "Other", max_length = 20, field = "member_last_name" }]',
        "segment AM04: field code C2 is used by both 302-C2 Cardholder ID and Other",
    ),
    pytest.param(
        'name = "Cardholder ID", max_length = 20,',
        'name = "Cardholder ID",',
        "segment AM04 field Cardholder ID: needs max_length (the most characters the D.0 field holds)",
    ),
    pytest.param(
        'name = "Cardholder ID", max_length = 20,',
        'name = "Cardholder ID", max_length = "20",',
        "segment AM04 field Cardholder ID: max_length must be a whole number without quotes",
    ),
    pytest.param(
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "C4", name = "DOB", format = "DATE", max_length = 6, field = "member_dob" }]',
        "segment AM04 field DOB: a DATE field is 8 characters (CCYYMMDD)",
    ),
    pytest.param(
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "C5", name = "Gender", format = "N", max_length = 1, field = "member_gender", '
        'map = { M = "12", F = "2", U = "0" } }]',
        "segment AM04 field Gender: map value '12' (for M) has 2 characters; the field holds 1",
    ),
    pytest.param(
        'field = "member_id", required = true }]',
        'field = "member_id", required = true },\n'
        '    { code = "D5", name = "Days", format = "N", max_length = 3, value = "12345" }]',
        "segment AM04 field Days: value '12345' has 5 digits; the field holds 3",
    ),
    pytest.param(
        'fields = [{ id = "302-C2"',
        'fields = []\nfoo = [{ id = "302-C2"',
        "segment AM04: unknown key(s) foo",
    ),
    pytest.param(
        'id = "04"\nname = "Insurance"\nlevel = "transaction"\nfields = [',
        'id = "04"\nname = "Insurance"\nlevel = "transaction"\nfields = []\nx = [',
        "segment AM04: unknown key(s) x",
    ),
    pytest.param('type = "G1"', 'type = "G12"', "record G12: a batch record's type is 2 characters"),
    pytest.param(
        '{ name = "Id", start = 1, length = 2, value = "00" }',
        '{ name = "Id", start = 1, length = 2, value = "01" }',
        "record 00: field Id at the record-type positions writes '01', not the record's type '00'",
    ),
    pytest.param(
        'format = "D", max_length = 8, field = "total_amount_paid"',
        'format = "D", max_length = 8, field = "gross_amount_due"',
        "[totals] paid = 'total_amount_paid' is written by no field of the detail record or its segments",
    ),
]


@pytest.mark.parametrize("old,new,message", STRICT_BATCH_CASES)
def test_strict_batch_layout(tmp_path: Path, old: str, new: str, message: str) -> None:
    error = _fails(tmp_path, _variant(MINI_BATCH, old, new), message)
    assert str(error).startswith(f"NCPDP layout mini-batch ({tmp_path / 'mini.toml'}): ")


def test_segment_without_fields(tmp_path: Path) -> None:
    text = MINI_BATCH + '\n[[segment]]\nid = "07"\nname = "Claim"\n'
    _fails(tmp_path, text, "segment AM07: needs fields")


# The QA reproductions: one change to a bundled layout file each.
BUNDLED_CASES = [
    pytest.param(
        "post-adjudication",
        'start = 146, length = 35, format = "AN", field = "member_last_name"',
        'start = 146, length = 35, format = "D", decimals = 2, field = "member_last_name"',
        "record DT field Patient Last Name: format D (signed overpunch dollars) cannot hold member_last_name "
        "(text of 1-35 characters); use AN",
        id="D-on-text",
    ),
    pytest.param(
        "post-adjudication",
        'start = 257, length = 19, format = "AN", field = "ndc"',
        'start = 257, length = 19, format = "N", field = "ndc"',
        "record DT field Product/Service ID: format N (numeric) cannot hold ndc (11 digits)",
        id="N-on-ndc",
    ),
    pytest.param(
        "post-adjudication",
        'field = "member_gender", map = { M = "1"',
        'field = "member_gender", map = { M = "12"',
        "record DT field Patient Gender Code: map value '12' (for M) has 2 characters; the field holds 1",
        id="map-too-long",
    ),
    pytest.param(
        "post-adjudication",
        'length = 2, format = "AN", value = "DT" }',
        'length = 2, format = "AN", value = "DX" }',
        "record DT: field Record Type at the record-type positions writes 'DX'",
        id="record-type-literal",
    ),
    pytest.param(
        "post-adjudication",
        'start = 43, length = 38, format = "AN", field = "original_claim_id"',
        'start = 43, length = 38, format = "AN", field = "mce_claim_id"',
        "model field mce_claim_id is written twice (MCE Claim ID and Original MCE Claim ID)",
        id="model-field-twice",
    ),
    pytest.param(
        "post-adjudication",
        'start = 91, length = 20, format = "AN", field',
        'start = 91, length = 20, format = "AN", decimals = 2, field',
        "record DT field Cardholder ID: decimals apply to N and D fields only, not AN",
        id="decimals-on-AN",
    ),
    pytest.param("post-adjudication", '1 = "B1"', '1 = "B1X"', "does not fit in 2 characters", id="code-too-long"),
    pytest.param(
        "batch-d0",
        'code = "CA", name = "Patient First Name"',
        'code = "C4", name = "Patient First Name"',
        "segment AM01: field code C4 is used by both 304-C4 Date of Birth and 310-CA Patient First Name",
        id="duplicate-code",
    ),
    pytest.param(
        "batch-d0",
        'id = "03"\nname = "Prescriber"',
        'id = "07"\nname = "Prescriber"',
        "segment ids must differ (AM07 defined more than once)",
        id="duplicate-segment",
    ),
    pytest.param(
        "batch-d0",
        "reference_length = 10",
        'reference_length = "10"',
        "[layout]: reference_length must be a whole number without quotes, not the string '10'",
        id="reference-length-string",
    ),
]


@pytest.mark.parametrize("name,old,new,message", BUNDLED_CASES)
def test_bundled_layout_variants(tmp_path: Path, name: str, old: str, new: str, message: str) -> None:
    text = bundled_ncpdp_layouts()[name].read_text(encoding="utf-8")
    path = _write(tmp_path, _variant(text, old, new), name=f"{name}-custom.toml")
    with pytest.raises(LayoutError, match=re.escape(message)) as info:
        load_ncpdp_layout(path)
    assert str(info.value).startswith(f"NCPDP layout {name} ({path}): ")


def test_bundled_layouts_pass_the_strict_checks() -> None:
    for path in bundled_ncpdp_layouts().values():
        load_ncpdp_layout(path)


def test_trailing_filler_is_allowed(tmp_path: Path) -> None:
    # Unused space after the last field is ordinary filler (the bundled header and trailer have it).
    lay = load_ncpdp_layout(_write(tmp_path, _variant(MINI_FIXED, "length = 30\n", "length = 40\n")))
    assert lay.record(RecordRole.DETAIL).length == 40


def test_post_adjudication_comment_names_the_convert_option() -> None:
    text = bundled_ncpdp_layouts()["post-adjudication"].read_text(encoding="utf-8")
    assert "--ncpdp-profile PATH" in text
    assert "convert --ncpdp-layout" not in text and "pass --ncpdp-layout" not in text


def test_convert_with_a_bad_layout_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sendpro import cli
    from tests.helpers import BASE_RX, rx_text

    src = tmp_path / "rx.txt"
    src.write_text(rx_text([BASE_RX]))
    bad = _write(tmp_path, _variant(MINI_FIXED, "length = 30\n", 'length = 30\ncolour = "red"\n'), name="bad.toml")
    out = tmp_path / "out"
    assert cli.main(["convert", str(src), "--out", str(out), "--ncpdp-profile", str(bad), "--no-ledger"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"NCPDP layout mini ({bad}): record DT: unknown key(s) colour" in err
