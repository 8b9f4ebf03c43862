"""Hostile header rows: case, misspellings, duplicates, data where names belong (issue 12, items 7, 9, 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendpro.convert.plan import detect_layout
from sendpro.errors import InputFileError
from sendpro.flatfile.layout import Layout, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.sample import COLUMNS
from tests.helpers import claim_rows, fw_text, mce_text

VALUES = ("100000000001", "ALDER", "19800101", "12 ELM AVE", "1234567893", "HARBORVIEW", "C100")


def _write(tmp_path: Path, text: str, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _error(path: Path, layout: Layout) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        with FlatFileReader(path, layout, display_name=path.name) as reader:
            reader.scan()
    return info.value


def _no_values(message: str) -> None:
    assert "\n" not in message
    for value in VALUES:
        assert value not in message, value


def _frames(path: Path, layout: Layout) -> list[dict[str, object]]:
    with FlatFileReader(path, layout) as reader:
        return [row for b in reader.iter_batches() for row in b.frame.drop("_raw").to_dicts()]


def _rows() -> list[dict[str, str]]:
    return [*claim_rows(), *claim_rows({"mce_claim_id": "C200"})]


# -- upper-case header row (item 9) -------------------------------------------------------


def test_upper_case_header_is_detected_as_mce_v1_not_fixed_width(tmp_path: Path) -> None:
    text = mce_text(_rows())
    header, rest = text.split("\n", 1)
    path = _write(tmp_path, header.upper() + "\n" + rest)
    assert detect_layout(path).name == "mce-v1"


def test_upper_case_header_reads_like_the_lower_case_one(tmp_path: Path, mce: Layout) -> None:
    text = mce_text(_rows())
    header, rest = text.split("\n", 1)
    upper = _write(tmp_path, header.upper() + "\n" + rest, "upper.txt")
    with FlatFileReader(upper, mce) as reader:
        assert reader.open().unknown_columns == ()
        assert reader.open().header_names == tuple(c.upper() for c in COLUMNS)
    assert _frames(upper, mce) == _frames(_write(tmp_path, text, "lower.txt"), mce)


def test_a_real_fixed_width_file_is_still_detected(tmp_path: Path) -> None:
    path = _write(tmp_path, fw_text([claim_rows()]))
    assert detect_layout(path).name == "mce-fw-example"


def test_one_column_in_two_cases_is_named_twice(tmp_path: Path, mce: Layout) -> None:
    path = _write(tmp_path, mce_text(_rows(), extra_columns=["MEMBER_ID"]))
    err = _error(path, mce)
    assert err.code == "FF004"
    assert str(err) == "in.txt: column(s) named twice in the header row: MEMBER_ID, member_id"


def test_columns_differing_only_in_case_in_the_layout_match_exactly(tmp_path: Path, mce: Layout) -> None:
    # A custom layout naming DOB and dob for two fields: case cannot tell which, so only exact names match.
    cols = [c for c in COLUMNS if c not in ("member_dob", "adjudication_date")]
    layout_file = tmp_path / "cased.toml"
    layout_file.write_text(
        f'[layout]\nname = "cased"\nformat = "delimited"\ncolumns = {cols!r}\n'.replace("'", '"')
        + '[[field]]\ncolumn = "DOB"\nfield = "member_dob"\n'
        + '[[field]]\ncolumn = "dob"\nfield = "adjudication_date"\n',
        encoding="utf-8",
    )
    cased = load_layout(layout_file)
    rows = [{**r, "DOB": r["member_dob"], "dob": r["adjudication_date"]} for r in _rows()]
    with FlatFileReader(_write(tmp_path, mce_text(rows, columns=[*cols, "DOB", "dob"])), cased) as reader:
        index = reader.open().field_index
        assert (index["member_dob"], index["adjudication_date"]) == (len(cols), len(cols) + 1)
    with FlatFileReader(_write(tmp_path, mce_text(rows, columns=[*cols, "Dob"]), "b.txt"), cased) as reader:
        info = reader.open()
        assert "member_dob" not in info.field_index and "Dob" in [name for name, _ in info.unknown_columns]


# -- a misspelt required column (item 12) -------------------------------------------------


def test_misspelt_required_column_suggests_the_header_name(tmp_path: Path, mce: Layout) -> None:
    cols = [("billing_np1" if c == "billing_npi" else c) for c in COLUMNS]
    rows = [{**r, "billing_np1": r["billing_npi"]} for r in _rows()]
    err = _error(_write(tmp_path, mce_text(rows, columns=cols)), mce)
    assert err.code == "FF003"
    assert str(err) == (
        "in.txt: missing column(s): professional claims (type P, first at line 2) require column(s) "
        "billing_npi; header column 'billing_np1' is not in the layout (did you mean 'billing_npi'?)"
    )
    _no_values(str(err))


# -- no data values in messages (item 7) --------------------------------------------------


def test_a_data_row_in_place_of_the_header_is_not_quoted(tmp_path: Path, mce: Layout) -> None:
    text = mce_text(_rows()).split("\n", 1)[1]
    err = _error(_write(tmp_path, text), mce)
    assert err.code == "FF004"
    assert "line 1 does not look like a header row" in str(err)
    _no_values(str(err))


def test_value_like_header_names_are_shown_by_position(tmp_path: Path, mce: Layout) -> None:
    path = _write(tmp_path, mce_text(_rows(), extra_columns=["19800101", "12 ELM AVE", "legacy_code", ""]))
    with FlatFileReader(path, mce) as reader:
        unknown = reader.open().unknown_columns
    n = len(COLUMNS)
    assert unknown == (
        (f"<column {n + 1}>", None),
        (f"<column {n + 2}>", None),
        ("legacy_code", None),
        (f"<column {n + 4}>", None),
    )


def test_value_like_duplicates_are_counted_not_quoted(tmp_path: Path, mce: Layout) -> None:
    path = _write(tmp_path, mce_text(_rows(), extra_columns=["100000000001", "100000000001", "x_a", "x_a"]))
    err = _error(path, mce)
    assert str(err) == (
        "in.txt: column(s) named twice in the header row: x_a, 1 name(s) that do not look like column names"
    )


def test_header_of_none_of_the_columns_quotes_only_a_name(tmp_path: Path, mce: Layout) -> None:
    # Another MCE's header: its first name helps to pick the layout.
    err = _error(_write(tmp_path, "ICN|MEMBER|DOB\n1|2|3\n"), mce)
    assert "none of layout mce-v1's column names (first column 'ICN')" in str(err)
    err = _error(_write(tmp_path, "19800101|ALDER|ADA\n1|2|3\n", "b.txt"), mce)
    assert "none of layout mce-v1's column names; pass --layout" in str(err)
    assert "19800101" not in str(err)


def test_missing_claim_id_hint_skips_value_like_names(tmp_path: Path, mce: Layout) -> None:
    cols = [("C100" if c == "mce_claim_id" else c) for c in COLUMNS]
    err = _error(_write(tmp_path, mce_text(claim_rows(), columns=cols)), mce)
    assert err.code == "FF003"
    assert str(err) == "in.txt: the header row has no 'mce_claim_id' column (which groups rows into claims)"


def test_fixed_width_first_record_type_shown_only_when_it_looks_like_one(tmp_path: Path, fw: Layout) -> None:
    err = _error(_write(tmp_path, "*~ALDER\n"), fw)
    assert "the first record's type (positions 1-2)" in str(err)
    # Record types are often digits (01, 02): two characters of them are shown.
    err = _error(_write(tmp_path, "07ALDER\n", "b.txt"), fw)
    assert "the first record's type '07' (positions 1-2)" in str(err)


# -- other shapes -------------------------------------------------------------------------


def test_trailing_delimiter_on_every_line_reads(tmp_path: Path, mce: Layout) -> None:
    lines = mce_text(_rows()).splitlines()
    path = _write(tmp_path, "".join(line + "|\n" for line in lines))
    with FlatFileReader(path, mce) as reader:
        assert reader.open().unknown_columns == ((f"<column {len(COLUMNS) + 1}>", None),)
        assert reader.scan().claims == 2


def test_header_only_without_a_line_end_is_no_error(tmp_path: Path, mce: Layout) -> None:
    path = _write(tmp_path, "|".join(COLUMNS))
    with FlatFileReader(path, mce) as reader:
        assert reader.scan().data_rows == 0
        assert list(reader.iter_batches()) == []


def test_very_many_columns_read(tmp_path: Path, mce: Layout) -> None:
    extra = [f"e{i}" for i in range(3000)]
    path = _write(tmp_path, mce_text(_rows(), extra_columns=extra))
    with FlatFileReader(path, mce) as reader:
        assert len(reader.open().unknown_columns) == 3000
        assert reader.scan().claims == 2
