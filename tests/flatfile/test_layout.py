from __future__ import annotations

import re
from pathlib import Path

import pytest

from sendpro.errors import LayoutError
from sendpro.flatfile.layout import Format, Layout, Role, bundled_layouts, load_layout
from sendpro.flatfile.picture import SignMode
from sendpro.model.fields import FIELDS, required_fields
from sendpro.resources import schemas_dir

FW_EXAMPLE = schemas_dir() / "layouts" / "mce-fw-example.toml"
P_COLUMNS = [fd.name for fd in required_fields("P")]


def _delimited(**meta: object) -> str:
    """A minimal valid delimited layout for professional claims, with [layout] keys overridden."""
    values: dict[str, object] = {"name": "t", "claim_types": ["P"], "columns": P_COLUMNS}
    values.update(meta)
    lines = ["[layout]"]
    for key, value in values.items():
        if value is None:
            continue
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fw_variant(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = FW_EXAMPLE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return _write(tmp_path, text, "fw.toml")


def _error(path: Path) -> str:
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    return str(info.value)


# -- bundled layouts ---------------------------------------------------------------------


def test_bundled_layouts() -> None:
    found = bundled_layouts()
    assert set(found) == {"mce-v1", "mce-fw-example", "mce-rx-v1"}
    assert found["mce-v1"] == schemas_dir() / "layouts" / "mce-v1.toml"
    assert all(p.is_file() for p in found.values())


def test_load_mce_v1(mce: Layout) -> None:
    assert mce.name == "mce-v1"
    assert mce.format is Format.DELIMITED
    assert mce.delimiter == "|"
    assert mce.quote is None
    assert mce.header is True
    assert mce.encoding == "utf-8"
    assert mce.claim_types == ("P", "I", "D")
    assert mce.date_format == "CCYYMMDD"
    assert mce.records == ()
    # Every column is the model field of its name, in order.
    assert [f.field for f in mce.fields] == [f.column for f in mce.fields]
    assert [f.position for f in mce.fields] == list(range(len(mce.fields)))
    assert set(mce.model_fields) == {fd.name for fd in FIELDS}
    assert mce.column_for("member_dob") == "member_dob"


def test_load_fw_example(fw: Layout) -> None:
    assert fw.format is Format.FIXED_WIDTH
    assert fw.claim_types == ("P",)
    assert (fw.record_type_start, fw.record_type_length) == (1, 2)
    assert [(r.type, r.role, r.length) for r in fw.records] == [
        ("HD", Role.HEADER, 40),
        ("CL", Role.CLAIM, 451),
        ("LN", Role.LINE, 98),
        ("TR", Role.TRAILER, 40),
    ]
    trailer = fw.record(Role.TRAILER)
    assert trailer is not None
    count, total = trailer.fields
    assert (count.field, count.model, count.start, count.length, count.check) == (
        "record_count",
        False,
        3,
        9,
        "count:records",
    )
    assert total.check == "sum:total_charge"
    assert total.picture is not None and total.picture.sign_mode is SignMode.LEADING_SEPARATE
    assert total.end == 24
    claim = fw.record(Role.CLAIM)
    assert claim is not None
    by_name = {f.field: f for f in claim.fields}
    assert (by_name["total_charge"].start, by_name["total_charge"].end) == (430, 440)
    # Header/trailer names are not model fields.
    assert "record_count" not in fw.model_fields
    assert "submitter_id" not in fw.model_fields
    assert "mce_claim_id" in fw.model_fields and "line_charge" in fw.model_fields


def test_load_by_path_equals_load_by_name(tmp_path: Path) -> None:
    by_path = load_layout(bundled_layouts()["mce-fw-example"])
    by_str = load_layout(str(FW_EXAMPLE))
    assert by_path.records == by_str.records == load_layout("mce-fw-example").records
    copy = _write(tmp_path, (schemas_dir() / "layouts" / "mce-v1.toml").read_text(encoding="utf-8"), "mine.toml")
    layout = load_layout(copy)
    assert layout.name == "mce-v1"  # [layout].name wins over the file name
    assert layout.source == copy
    assert layout.fields == load_layout("mce-v1").fields


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    layout = load_layout(_write(tmp_path, _delimited(name=None), "acme-extract.toml"))
    assert layout.name == "acme-extract"
    assert layout.title == "acme-extract"


def test_minimal_delimited_layout(tmp_path: Path) -> None:
    layout = load_layout(_write(tmp_path, _delimited(delimiter="\t", quote='"', date_format="MM/DD/CCYY")))
    assert layout.delimiter == "\t"
    assert layout.quote == '"'
    assert layout.date_format == "MM/DD/CCYY"
    assert layout.model_fields == tuple(P_COLUMNS)


def test_field_tables_rename_columns(tmp_path: Path) -> None:
    cols = [c for c in P_COLUMNS if c != "member_id"]
    text = _delimited(columns=cols) + '\n[[field]]\nfield = "member_id"\ncolumn = "MEMBER NO"\n'
    layout = load_layout(_write(tmp_path, text))
    assert layout.column_for("member_id") == "MEMBER NO"
    assert layout.column_for("member_dob") == "member_dob"
    assert layout.column_for("not_mapped_at_all") == "not_mapped_at_all"


# -- errors -------------------------------------------------------------------------------


def test_unknown_bundled_name_suggests() -> None:
    with pytest.raises(LayoutError) as info:
        load_layout("mce-v2")
    msg = str(info.value)
    assert "layout 'mce-v2' is not a bundled layout (did you mean 'mce-v1'?)" in msg
    assert "bundled: mce-fw-example, mce-rx-v1, mce-v1" in msg


def test_unknown_bundled_name_without_suggestion() -> None:
    with pytest.raises(LayoutError, match="layout 'zzzz' is not a bundled layout; bundled: "):
        load_layout("zzzz")


def test_missing_layout_file(tmp_path: Path) -> None:
    assert "does not exist" in _error(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    path = _write(tmp_path, "[layout\nname = 1\n")
    msg = _error(path)
    assert f"layout file {path} is not valid TOML" in msg


def test_layout_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'[layout]\nname = "\xe9"\n')
    assert "cannot be read" in _error(path)


def test_missing_layout_table(tmp_path: Path) -> None:
    path = _write(tmp_path, '[layouts]\nname = "x"\n')
    assert _error(path) == f"layout file {path}: missing the [layout] table"


def test_layout_table_must_be_table(tmp_path: Path) -> None:
    assert "missing the [layout] table" in _error(_write(tmp_path, 'layout = "mce-v1"\n'))


def test_unknown_layout_key(tmp_path: Path) -> None:
    path = _write(tmp_path, _delimited(delimter=",", zeta=1))
    assert _error(path) == f"layout t ({path}): unknown [layout] key(s): delimter, zeta"


def test_bad_format(tmp_path: Path) -> None:
    msg = _error(_write(tmp_path, _delimited(format="xml")))
    assert "format 'xml' is not 'delimited' or 'fixed-width'" in msg
    assert msg.startswith("layout t (")


def test_non_string_format(tmp_path: Path) -> None:
    assert "[layout].format must be a string" in _error(_write(tmp_path, _delimited(format=3)))


def test_bad_encoding(tmp_path: Path) -> None:
    assert "encoding 'utf-99' is not a known text encoding" in _error(_write(tmp_path, _delimited(encoding="utf-99")))


def test_cp1252_encoding_is_accepted(tmp_path: Path) -> None:
    assert load_layout(_write(tmp_path, _delimited(encoding="cp1252"))).encoding == "cp1252"


@pytest.mark.parametrize("delimiter", ["||", "", "\n", "\r"])
def test_bad_delimiter(tmp_path: Path, delimiter: str) -> None:
    msg = _error(_write(tmp_path, _delimited(delimiter=delimiter)))
    assert f"delimiter {delimiter!r} must be exactly one character (not a line break)" in msg


@pytest.mark.parametrize("quote", ["|", "''"])
def test_bad_quote(tmp_path: Path, quote: str) -> None:
    assert f"quote {quote!r} must be one character different from the delimiter" in _error(
        _write(tmp_path, _delimited(quote=quote))
    )


def test_header_must_be_bool(tmp_path: Path) -> None:
    assert "header must be true or false" in _error(_write(tmp_path, _delimited(header="yes")))


@pytest.mark.parametrize(("value", "expected"), [([], "claim_types must be a non-empty list"), ("P", "non-empty")])
def test_bad_claim_types(tmp_path: Path, value: object, expected: str) -> None:
    assert expected in _error(_write(tmp_path, _delimited(claim_types=value)))


def test_unknown_claim_type(tmp_path: Path) -> None:
    assert "claim type 'X' is not one of P, I, D" in _error(_write(tmp_path, _delimited(claim_types=["P", "X"])))


def test_bad_date_format(tmp_path: Path) -> None:
    msg = _error(_write(tmp_path, _delimited(date_format="DD.MM.YYYY")))
    assert "date_format 'DD.MM.YYYY' is not one of CCYYMMDD, CCYY-MM-DD, MM/DD/CCYY, MMDDCCYY" in msg


def test_unknown_model_field_with_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, _delimited(columns=[*P_COLUMNS, "member_dobb"]))
    msg = _error(path)
    assert "columns[30]: 'member_dobb' is not a model field (did you mean 'member_dob'?)" in msg


def test_unknown_model_field_without_suggestion(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "qqqqqq"\ncolumn = "Q"\n'
    msg = _error(_write(tmp_path, text))
    assert "[[field]] #1 (Q): 'qqqqqq' is not a model field" in msg
    assert "did you mean" not in msg


def test_columns_must_be_strings(tmp_path: Path) -> None:
    assert "columns must be a list of column names" in _error(_write(tmp_path, _delimited(columns=["a", 1])))


def test_no_columns(tmp_path: Path) -> None:
    assert "a delimited layout needs columns = [...] or [[field]] entries" in _error(
        _write(tmp_path, _delimited(columns=[]))
    )


def test_field_entry_unknown_key(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "member_first_name"\nwidth = 3\n'
    assert "[[field]] #1 (member_first_name): unknown key(s) width" in _error(_write(tmp_path, text))


def test_field_entry_needs_field(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\ncolumn = "X"\n'
    assert '[[field]] #1 (X): needs field = "<model field>"' in _error(_write(tmp_path, text))


def test_name_only_allowed_on_header_and_trailer(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nname = "batch_no"\n'
    assert "name = 'batch_no' is only allowed on header and trailer records" in _error(_write(tmp_path, text))


def test_duplicate_mapping_columns(tmp_path: Path) -> None:
    msg = _error(_write(tmp_path, _delimited(columns=[*P_COLUMNS, "member_id"])))
    assert "member_id is mapped twice in the layout" in msg


def test_duplicate_mapping_field_table(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "member_id"\ncolumn = "MEMBER"\n'
    assert "member_id is mapped twice in the layout" in _error(_write(tmp_path, text))


def test_duplicate_column_name(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "member_first_name"\ncolumn = "member_id"\n'
    assert "column name(s) used twice: member_id" in _error(_write(tmp_path, text))


def test_check_on_delimited_field(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "member_first_name"\ncheck = "count:records"\n'
    assert "[[field]] #1 (member_first_name): check is only allowed on trailer fields" in _error(_write(tmp_path, text))


def test_sign_without_picture(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "total_allowed"\nsign = "leading-separate"\n'
    assert "sign needs a signed picture such as S9(7)V99" in _error(_write(tmp_path, text))


def test_decimals_on_non_amount(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "member_first_name"\npicture = "9(5)V99"\n'
    assert "picture 9(5)V99 has decimals but member_first_name is not an amount" in _error(_write(tmp_path, text))


def test_bad_field_date_format(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "admission_date"\ndate_format = "YYMMDD"\n'
    assert "[[field]] #1 (admission_date): date_format 'YYMMDD' is not one of" in _error(_write(tmp_path, text))


def test_headerless_layout_needs_positions(tmp_path: Path) -> None:
    ok = load_layout(_write(tmp_path, _delimited(header=False)))
    assert ok.header is False and ok.fields[3].position == 3
    text = _delimited(header=False) + '\n[[field]]\nfield = "member_first_name"\n'
    assert "field member_first_name: a layout without a header row needs a position" in _error(
        _write(tmp_path, text, "u.toml")
    )


def test_missing_field_required_for_declared_claim_type(tmp_path: Path) -> None:
    msg = _error(_write(tmp_path, _delimited(claim_types=["P", "I"])))
    assert "declares claim type I but maps no column for type_of_bill, which institutional claims require" in msg, msg


def test_missing_required_professional_field(tmp_path: Path) -> None:
    cols = [c for c in P_COLUMNS if c != "dx_pointer_1"]
    msg = _error(_write(tmp_path, _delimited(columns=cols)))
    assert "declares claim type P but maps no column for dx_pointer_1, which professional claims require" in msg


# -- fixed-width errors ------------------------------------------------------------------


def test_overlapping_positions_name_both_fields(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path, ('{ field = "claim_type", start = 23, length = 1', '{ field = "claim_type", start = 22, length = 1')
    )
    msg = _error(path)
    assert msg.startswith(f"layout mce-fw-example ({path}): ")
    assert "record CL: claim_type (positions 22-22) overlaps mce_claim_id (positions 3-22)" in msg


def test_overlap_with_record_type(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path,
        (
            '{ field = "mce_claim_id", start = 3, length = 20, picture = "X(20)" }',
            '{ field = "mce_claim_id", start = 2, length = 21, picture = "X(21)" }',
        ),
    )
    assert "record CL: mce_claim_id (positions 2-22) overlaps the record type (positions 1-2)" in _error(path)


def test_picture_width_differs_from_length(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path, ('start = 3, length = 20, picture = "X(20)"', 'start = 3, length = 20, picture = "X(19)"')
    )
    assert "record CL field mce_claim_id: picture X(19) is 19 characters but length is 20" in _error(path)


def test_separate_sign_counts_in_width(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path, ('start = 12, length = 13, picture = "S9(10)V99"', 'start = 12, length = 12, picture = "S9(10)V99"')
    )
    assert "record TR field total_charge: picture S9(10)V99 is 13 characters but length is 12" in _error(path)


def test_claim_level_field_on_line_record(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path,
        (
            '{ field = "dx_pointer_2", start = 97, length = 2, picture = "9(2)" }',
            '{ field = "member_state", start = 97, length = 2 }',
        ),
    )
    assert "record LN: member_state is a claim-level field; put it on the claim record" in _error(path)


def test_line_level_field_on_claim_record(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path,
        (
            '{ field = "dx_4", start = 423, length = 7, picture = "X(7)" }',
            '{ field = "ndc_code", start = 423, length = 7 }',
        ),
    )
    assert "record CL: ndc_code is a line-level field; put it on the line record" in _error(path)


def test_check_on_non_trailer_record(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path,
        (
            '{ name = "file_date", start = 13, length = 8, picture = "9(8)" }',
            '{ name = "file_date", start = 13, length = 8, picture = "9(8)", check = "count:records" }',
        ),
    )
    assert "record HD field file_date: check is only allowed on trailer fields" in _error(path)


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ("count:lines", "check 'count:lines' is not count:records, count:data, count:claims or sum:<field>"),
        ("sum:line_number", "check 'sum:line_number' must sum an amount field, e.g. sum:total_charge"),
        ("sum:nothing", "check 'sum:nothing' must sum an amount field"),
    ],
)
def test_unknown_check(tmp_path: Path, check: str, expected: str) -> None:
    path = _fw_variant(tmp_path, ('check = "count:records"', f'check = "{check}"'))
    assert f"record TR field record_count: {expected}" in _error(path)


@pytest.mark.parametrize("check", ["count:data", "count:claims", "sum:total_paid"])
def test_other_valid_checks(tmp_path: Path, check: str) -> None:
    path = _fw_variant(tmp_path, ('check = "count:records"', f'check = "{check}"'))
    trailer = load_layout(path).record(Role.TRAILER)
    assert trailer is not None and trailer.fields[0].check == check


def test_model_field_on_trailer(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('{ name = "record_count"', '{ field = "record_count"'))
    msg = _error(path)
    assert "'record_count' is not a model field" in msg
    path = _fw_variant(tmp_path, ('{ name = "submitter_id"', '{ field = "member_id"'))
    assert "record HD field member_id: header records hold name = ..., not model fields" in _error(path)


def test_fixed_field_needs_start_and_length(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('{ field = "dx_4", start = 423, length = 7, ', '{ field = "dx_4", start = 423, '))
    assert "record CL field dx_4: a fixed-width field needs start and length" in _error(path)


def test_field_beyond_record_length(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ("length = 98\n", "length = 90\n"))
    assert "record LN: fields end at position 98, beyond the record length 90" in _error(path)


def test_record_type_required(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ("record_type = { start = 1, length = 2 }\n", ""))
    assert "a fixed-width layout needs record_type = { start = 1, length = 2 }" in _error(path)


def test_record_type_length_must_match(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('type = "HD"', 'type = "HDR"'))
    assert "record type 'HDR' is not 2 characters long" in _error(path)


def test_exactly_one_claim_record(tmp_path: Path) -> None:
    head, *records = FW_EXAMPLE.read_text(encoding="utf-8").split("[[record]]")
    assert [r.split('"')[1] for r in records] == ["HD", "CL", "LN", "TR"]
    no_claim = head + "[[record]]" + "[[record]]".join([records[0], records[2], records[3]])
    assert "a fixed-width layout needs exactly one claim record (has 0)" in _error(_write(tmp_path, no_claim))
    two_lines = head + "[[record]]" + "[[record]]".join([*records[:3], records[2].replace('"LN"', '"L2"'), records[3]])
    assert "a fixed-width layout needs exactly one line record (has 2)" in _error(_write(tmp_path, two_lines, "u.toml"))
    two_trailers = head + "[[record]]" + "[[record]]".join([*records, records[3].replace('"TR"', '"T2"')])
    assert "at most one trailer record is allowed" in _error(_write(tmp_path, two_trailers, "v.toml"))


def test_duplicate_record_type(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('type = "TR"', 'type = "HD"'))
    assert "record type(s) declared twice: HD" in _error(path)


def test_bad_role(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('role = "trailer"', 'role = "footer"'))
    assert "record TR: role 'footer' is not header, claim, line or trailer" in _error(path)


def test_trailer_is_optional(tmp_path: Path) -> None:
    text = FW_EXAMPLE.read_text(encoding="utf-8")
    text = text[: text.index('[[record]]\ntype = "TR"')]
    layout = load_layout(_write(tmp_path, text))
    assert layout.record(Role.TRAILER) is None
    assert layout.record(Role.HEADER) is not None


def test_non_numeric_start_is_a_layout_error(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('{ field = "dx_4", start = 423,', '{ field = "dx_4", start = "abc",'))
    msg = _error(path)
    assert "dx_4" in msg


def test_malformed_picture_names_layout_and_field(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path,
        (
            '{ field = "dx_4", start = 423, length = 7, picture = "X(7)" }',
            '{ field = "dx_4", start = 423, length = 7, picture = "Z(7)" }',
        ),
    )
    msg = _error(path)
    assert "Z(7)" in msg
    assert re.search(r"layout mce-fw-example \(.*\): record CL field dx_4", msg), msg


# -- every table is strict ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "key", "expected"),
    [
        ('type = "CL"\n', "lenght = 3\n", "record CL: unknown key(s) lenght"),
        ('type = "HD"\n', "flavor = 1\n", "record HD: unknown key(s) flavor"),
        ('type = "LN"\n', "fields_ = []\nzeta = 2\n", "record LN: unknown key(s) fields_, zeta"),
    ],
)
def test_unknown_record_key(tmp_path: Path, after: str, key: str, expected: str) -> None:
    path = _fw_variant(tmp_path, (after, after + key))
    assert _error(path) == f"layout mce-fw-example ({path}): {expected}"


def test_unknown_record_type_key(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path, ("record_type = { start = 1, length = 2 }", "record_type = { start = 1, length = 2, foo = 1 }")
    )
    assert _error(path) == f"layout mce-fw-example ({path}): unknown [layout].record_type key(s): foo"


def test_record_fields_must_be_a_list(tmp_path: Path) -> None:
    text = FW_EXAMPLE.read_text(encoding="utf-8") + '\n[[record]]\ntype = "ZZ"\nrole = "header"\nfields = "x"\n'
    assert "record ZZ: fields must be a list of field tables" in _error(_write(tmp_path, text))


def test_unknown_top_level_table(tmp_path: Path) -> None:
    text = FW_EXAMPLE.read_text(encoding="utf-8") + '\n[[recrod]]\ntype = "ZZ"\n'
    msg = _error(_write(tmp_path, text))
    assert "unknown top-level key(s) or table(s): recrod; a layout holds [layout]" in msg


def test_field_tables_in_fixed_width_layout(tmp_path: Path) -> None:
    text = FW_EXAMPLE.read_text(encoding="utf-8") + '\n[[field]]\ncolumn = "X"\nfield = "dx_5"\n'
    msg = _error(_write(tmp_path, text))
    assert "[[field]] tables are for delimited layouts; fixed-width fields belong under their record" in msg


def test_record_tables_in_delimited_layout(tmp_path: Path) -> None:
    text = _delimited() + '\n[[record]]\ntype = "CL"\nrole = "claim"\n'
    assert '[[record]] tables are for fixed-width layouts (format = "fixed-width")' in _error(_write(tmp_path, text))


def test_keys_of_the_other_format(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path, ('format = "fixed-width"\n', 'format = "fixed-width"\ndelimiter = ","\nheader = true\n')
    )
    assert "[layout] key(s) delimiter, header only apply to delimited layouts" in _error(path)
    text = _delimited() + "record_type = { start = 1, length = 2 }\n"
    msg = _error(_write(tmp_path, text, "d.toml"))
    assert "[layout] key(s) record_type only apply to fixed-width layouts" in msg


def test_field_and_name_both(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path, ('{ field = "line_number", start = 3', '{ field = "line_number", name = "x", start = 3')
    )
    assert "record LN field line_number: has both field = and name =" in _error(path)


def test_field_table_without_column_names_the_missing_column(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "total_paid"\n'
    msg = _error(_write(tmp_path, text))
    assert '[[field]] #1 (total_paid): column is missing: add column = "<name in the header row>"' in msg
    assert "mapped twice" not in msg


def test_field_table_without_column_may_re_encode_its_own_column(tmp_path: Path) -> None:
    cols = [c for c in P_COLUMNS if c != "member_dob"]
    text = _delimited(columns=cols) + '\n[[field]]\nfield = "member_dob"\ndate_format = "MM/DD/CCYY"\n'
    layout = load_layout(_write(tmp_path, text))
    assert layout.column_for("member_dob") == "member_dob"


# -- a picture must be able to hold its field ---------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '"line_charge", start = 41, length = 10, picture = "S9(8)V99"',
            '"line_charge", start = 41, length = 10, picture = "X(10)"',
            "record LN field line_charge: picture X(10) is text but line_charge is an amount; use a numeric "
            "picture such as S9(7)V99 or 9(7)V99, or leave picture out for values written with an explicit "
            "decimal point",
        ),
        (
            '"units", start = 16, length = 7, picture = "9(4)V999"',
            '"units", start = 16, length = 7, picture = "X(7)"',
            "record LN field units: picture X(7) is text but units is a quantity",
        ),
        (
            '"line_number", start = 3, length = 4, picture = "9(4)"',
            '"line_number", start = 3, length = 4, picture = "X(4)"',
            "record LN field line_number: picture X(4) is text but line_number is a whole number",
        ),
        (
            '"member_dob", start = 136, length = 8, picture = "9(8)"',
            '"member_dob", start = 136, length = 8, picture = "X(8)"',
            "record CL field member_dob: picture X(8) is text but member_dob is a date; use a numeric picture "
            "such as 9(8), or leave picture out for dates written with separators such as CCYY-MM-DD",
        ),
        (
            '"member_dob", start = 136, length = 8, picture = "9(8)"',
            '"member_dob", start = 136, length = 6, picture = "9(6)"',
            "record CL field member_dob: picture 9(6) is 6 digits but a CCYYMMDD date has 8",
        ),
        (
            '"member_dob", start = 136, length = 8, picture = "9(8)"',
            '"member_dob", start = 136, length = 8, picture = "9(8)", date_format = "MM/DD/CCYY"',
            "record CL field member_dob: picture 9(8) holds digits only but date_format MM/DD/CCYY has "
            "separators; leave picture out",
        ),
        (
            '"member_last_name", start = 76, length = 35, picture = "X(35)"',
            '"member_last_name", start = 76, length = 35, picture = "9(35)"',
            "record CL field member_last_name: picture 9(35) is numeric but member_last_name is free text; use X(35)",
        ),
        (
            '"claim_type", start = 23, length = 1, picture = "X(1)"',
            '"claim_type", start = 23, length = 1, picture = "9(1)"',
            "record CL field claim_type: picture 9(1) holds digits only but claim_type codes are letters "
            "(D, I, P); use X(1)",
        ),
        (
            '"place_of_service", start = 400, length = 2, picture = "9(2)"',
            '"place_of_service", start = 400, length = 2, picture = "S9(2)"',
            "record CL field place_of_service: picture S9(2) is signed but place_of_service is not an amount "
            "or a number",
        ),
        (
            '"line_charge", start = 41, length = 10, picture = "S9(8)V99"',
            '"line_charge", start = 41, length = 10, picture = "S9(7)V999"',
            "record LN field line_charge: picture S9(7)V999 has 3 decimals but line_charge allows at most 2",
        ),
    ],
)
def test_picture_that_cannot_hold_its_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert expected in _error(_fw_variant(tmp_path, (old, new)))


def test_pictures_that_fit_their_field(tmp_path: Path) -> None:
    path = _fw_variant(
        tmp_path,
        (
            '"claim_frequency", start = 24, length = 1, picture = "X(1)"',
            '"claim_frequency", start = 24, length = 1, picture = "9(1)"',
        ),
        (
            '"member_dob", start = 136, length = 8, picture = "9(8)"',
            '"member_dob", start = 136, length = 8, picture = "9(8)", date_format = "MMDDCCYY"',
        ),
        ('"line_number", start = 3, length = 4, picture = "9(4)"', '"line_number", start = 3, length = 4'),
    )
    layout = load_layout(path)
    assert layout.name == "mce-fw-example"


def test_text_picture_on_an_hour(tmp_path: Path) -> None:
    text = _delimited() + '\n[[field]]\nfield = "admission_hour"\ncolumn = "HOUR"\npicture = "X(4)"\n'
    assert "[[field]] #1 (HOUR): picture X(4) is text but admission_hour is an HHMM time" in _error(
        _write(tmp_path, text)
    )


def test_trailer_sum_of_a_line_level_field(tmp_path: Path) -> None:
    path = _fw_variant(tmp_path, ('check = "sum:total_charge"', 'check = "sum:line_charge"'))
    assert (
        "record TR field total_charge: check 'sum:line_charge' sums a line-level field; a trailer total sums a "
        "claim-level amount such as sum:total_charge"
    ) in _error(path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'length = 9, picture = "9(9)", check',
            'length = 9, picture = "X(9)", check',
            "record TR field record_count: a count needs a whole-number picture such as 9(9), not X(9)",
        ),
        (
            'picture = "S9(10)V99", sign = "leading-separate"',
            'picture = "X(13)"',
            "record TR field total_charge: a total needs an amount picture such as S9(10)V99, not X(13)",
        ),
    ],
)
def test_trailer_check_picture(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert expected in _error(_fw_variant(tmp_path, (old, new)))
