from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from sendpro.errors import InputFileError
from sendpro.flatfile.fixedwidth import encode_record
from sendpro.flatfile.layout import Layout, Role, load_layout
from sendpro.flatfile.reader import META_COLUMNS, FlatFileReader
from sendpro.model.fields import required_fields
from sendpro.resources import schemas_dir
from sendpro.sample import COLUMNS
from tests.helpers import BASE_CLAIM, claim_rows, fw_text, mce_text, run_engine, write_mce

# -- helpers ------------------------------------------------------------------------------


def _claim(claim_id: str, n_lines: int, **claim: str) -> list[dict[str, str]]:
    lines = [{"line_number": str(i + 1), "line_charge": f"{i + 1}.00"} for i in range(n_lines)]
    return claim_rows({"mce_claim_id": claim_id, **claim}, lines)[:n_lines]


def _many(n: int, sizes: tuple[int, ...] = (1, 2, 3, 5, 7, 4)) -> list[list[dict[str, str]]]:
    return [_claim(f"K{i:04d}", sizes[i % len(sizes)]) for i in range(n)]


def _write(tmp_path: Path, text: str, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _mce_file(tmp_path: Path, claims: list[list[dict[str, str]]], **kwargs) -> Path:
    return _write(tmp_path, mce_text([r for c in claims for r in c], **kwargs))


def _batches(path: Path, layout: Layout, chunk_lines: int = 20_000, **kwargs) -> list[pl.DataFrame]:
    with FlatFileReader(path, layout, chunk_lines=chunk_lines, **kwargs) as reader:
        return [b.frame for b in reader.iter_batches()]


def _error(path: Path, layout: Layout, **kwargs) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        with FlatFileReader(path, layout, **kwargs) as reader:
            reader.scan()
    return info.value


def _fw_lines(claims: list[list[dict[str, str]]]) -> list[str]:
    return fw_text(claims).splitlines()


def _trailer(layout: Layout, count: str, total: str) -> str:
    spec = layout.record(Role.TRAILER)
    assert spec is not None
    return encode_record(spec, layout, {"record_count": count, "total_charge": total})


# -- opening and scanning delimited files ------------------------------------------------------


def test_open_reads_header(tmp_path: Path, mce: Layout) -> None:
    path = _mce_file(tmp_path, [_claim("A1", 2)])
    with FlatFileReader(path, mce, display_name="extract.txt") as reader:
        info = reader.open()
        assert reader.open() is info
        assert info.file == "extract.txt"
        assert info.header_names == COLUMNS
        assert info.expected_fields == len(COLUMNS)
        assert info.field_index["mce_claim_id"] == COLUMNS.index("mce_claim_id")
        assert info.field_index["ndc_code"] == COLUMNS.index("ndc_code")
        assert info.unknown_columns == ()
        assert info.header_line == "|".join(COLUMNS)
        assert reader.header_text() == "|".join(COLUMNS)


def test_chunk_lines_has_a_floor(tmp_path: Path, mce: Layout) -> None:
    assert FlatFileReader(tmp_path / "x", mce, chunk_lines=1).chunk_lines == 16
    assert FlatFileReader(tmp_path / "x", mce, chunk_lines=50).chunk_lines == 50


def test_scan_counts(tmp_path: Path, mce: Layout) -> None:
    claims = [
        _claim("A1", 2),
        _claim("I1", 3, claim_type="I", type_of_bill="0111"),
        _claim("A2", 1),
        _claim("D1", 1, claim_type="D"),
    ]
    path = _mce_file(tmp_path, claims)
    with FlatFileReader(path, mce) as reader:
        scan = reader.scan()
        assert reader.scan() is scan
    assert scan.data_rows == 7
    assert scan.claims == 4
    assert scan.split_claims == 0
    assert scan.claim_types == {"P": 2, "I": 4, "D": 8}
    assert scan.header_record is None and scan.trailer_record is None
    assert scan.blank_lines_inside == 0


def test_batch_values_are_canonical(tmp_path: Path, mce: Layout) -> None:
    rows = claim_rows({"mce_claim_id": "  A1 ", "member_first_name": "", "total_charge": "250.00"})
    path = _mce_file(tmp_path, [rows])
    (frame,) = _batches(path, mce)
    assert frame.height == 2
    assert frame["mce_claim_id"].to_list() == ["A1", "A1"]
    assert frame["member_first_name"].to_list() == [None, None]
    assert frame["line_charge"].to_list() == ["200.00", "50.00"]
    assert frame["procedure_code"].to_list() == ["99213", "36415"]
    assert frame["_row"].to_list() == [2, 3]
    assert frame["_claim_row"].to_list() == [2, 2]
    assert frame["_first"].to_list() == [True, False]
    assert frame["_nf"].to_list() == [len(COLUMNS)] * 2
    assert frame["_runs"].to_list() == [1, 1]
    assert frame["_nolines"].to_list() == [False, False]
    assert frame["_raw"][0] == "|".join(rows[0].get(c, "") for c in COLUMNS)
    assert set(META_COLUMNS) - {"_kind"} <= set(frame.columns)
    assert set(COLUMNS) <= set(frame.columns)


def test_short_row_keeps_field_count(tmp_path: Path, mce: Layout) -> None:
    text = mce_text(claim_rows({"mce_claim_id": "A1"}))
    lines = text.splitlines()
    lines[2] = "|".join(lines[2].split("|")[:10])
    (frame,) = _batches(_write(tmp_path, "\n".join(lines) + "\n"), mce)
    assert frame["_nf"].to_list() == [len(COLUMNS), 10]
    assert frame["line_charge"].to_list() == ["200.00", None]


def test_bom_and_crlf(tmp_path: Path, mce: Layout) -> None:
    text = "\ufeff" + mce_text(claim_rows({"mce_claim_id": "A1"})).replace("\n", "\r\n")
    path = _write(tmp_path, text)
    (frame,) = _batches(path, mce)
    assert frame["claim_type"].to_list() == ["P", "P"]
    assert frame["mce_claim_id"].to_list() == ["A1", "A1"]
    assert frame["dx_pointer_1"].to_list() == ["1", "2"]  # last column: no stray \r
    assert frame["ndc_code"].to_list() == [None, None]


def _us_layout(tmp_path: Path) -> tuple[Path, list[str]]:
    """Write a layout of the required P columns with MM/DD/CCYY dates; return it and its columns."""
    cols = [fd.name for fd in required_fields("P")]
    layout_path = tmp_path / "us.toml"
    layout_path.write_text(
        '[layout]\nname = "us"\nclaim_types = ["P"]\ndate_format = "MM/DD/CCYY"\ncolumns = ['
        + ", ".join(f'"{c}"' for c in cols)
        + "]\n",
        encoding="utf-8",
    )
    return layout_path, cols


def test_date_format_converted(tmp_path: Path) -> None:
    layout_path, cols = _us_layout(tmp_path)
    layout = load_layout(layout_path)
    rows = claim_rows({"mce_claim_id": "A1", "member_dob": "01/31/1980"}, [{"line_from_date": "13/45/2026"}, {}])
    (frame,) = _batches(_write(tmp_path, mce_text(rows, columns=cols)), layout)
    assert frame["member_dob"].to_list() == ["19800131", "19800131"]
    # An unparseable date passes through for the date rule to report.
    assert frame["line_from_date"].to_list() == ["13/45/2026", "20260210"]
    assert frame["claim_type"].to_list() == ["P", "P"]


def test_quoted_layout(tmp_path: Path) -> None:
    cols = [fd.name for fd in required_fields("P")]
    layout_path = tmp_path / "q.toml"
    layout_path.write_text(
        '[layout]\nname = "q"\nclaim_types = ["P"]\ndelimiter = ","\nquote = \'"\'\ncolumns = ['
        + ", ".join(f'"{c}"' for c in cols)
        + "]\n",
        encoding="utf-8",
    )
    layout = load_layout(layout_path)
    rows = claim_rows({"mce_claim_id": "A1", "billing_org_name": "X"})
    text = mce_text(rows, columns=cols).replace("|", ",").replace(",X,", ',"ACME, INC",')
    (frame,) = _batches(_write(tmp_path, text), layout)
    assert frame["billing_org_name"].to_list() == ["ACME, INC", "ACME, INC"]
    assert frame["_nf"].to_list() == [len(cols), len(cols)]


def test_headerless_layout(tmp_path: Path) -> None:
    cols = [fd.name for fd in required_fields("P")]
    layout_path = tmp_path / "nh.toml"
    layout_path.write_text(
        '[layout]\nname = "nh"\nclaim_types = ["P"]\nheader = false\ncolumns = ['
        + ", ".join(f'"{c}"' for c in cols)
        + "]\n",
        encoding="utf-8",
    )
    layout = load_layout(layout_path)
    text = "\n".join(mce_text(claim_rows({"mce_claim_id": "A1"}), columns=cols).splitlines()[1:]) + "\n"
    path = _write(tmp_path, text)
    with FlatFileReader(path, layout) as reader:
        info = reader.open()
        assert info.expected_fields == len(cols)
        assert reader.header_text() is None
        frames = [b.frame for b in reader.iter_batches()]
    assert [f["_row"].to_list() for f in frames] == [[1, 2]]
    assert frames[0]["mce_claim_id"].to_list() == ["A1", "A1"]


def test_context_manager_deletes_claim_index(tmp_path: Path, mce: Layout) -> None:
    path = _mce_file(tmp_path, [_claim("A1", 2)])
    work = tmp_path / "work"
    work.mkdir()
    with FlatFileReader(path, mce, temp_dir=work) as reader:
        reader.scan()
        assert len(list(work.glob("sendpro-claims-*.sqlite"))) == 1
    assert list(work.iterdir()) == []


# -- whole claims per batch -------------------------------------------------------------------


def _check_whole_claims(frames: list[pl.DataFrame], claims: list[list[dict[str, str]]]) -> None:
    expected = {c[0]["mce_claim_id"]: len(c) for c in claims}
    batch_of: dict[str, int] = {}
    seq_of: dict[str, int] = {}
    rows_of: Counter[str] = Counter()
    for i, frame in enumerate(frames):
        for key, seq in frame.select("mce_claim_id", "_claim_seq").iter_rows():
            assert batch_of.setdefault(key, i) == i, f"claim {key} in two batches"
            assert seq_of.setdefault(key, seq) == seq, f"claim {key} has two _claim_seq"
            rows_of[key] += 1
        firsts = frame.filter(pl.col("_first"))
        assert firsts.height == frame["_claim_seq"].n_unique()
    assert dict(rows_of) == expected
    assert len(set(seq_of.values())) == len(expected)
    assert sum(f.height for f in frames) == sum(expected.values())


@pytest.mark.parametrize("chunk_lines", [16, 17, 23, 20_000])
def test_batches_hold_whole_claims(tmp_path: Path, mce: Layout, chunk_lines: int) -> None:
    claims = _many(40)
    path = _mce_file(tmp_path, claims)
    frames = _batches(path, mce, chunk_lines=chunk_lines)
    if chunk_lines < 100:
        assert len(frames) > 5
    _check_whole_claims(frames, claims)
    rows = pl.concat(frames)
    assert rows["_row"].to_list() == list(range(2, 2 + rows.height))
    assert rows["_claim_seq"].unique().sort().to_list() == list(range(40))
    assert rows["_runs"].unique().to_list() == [1]


def test_claim_longer_than_a_chunk(tmp_path: Path, mce: Layout) -> None:
    claims = [_claim("S1", 2), _claim("BIG", 40), _claim("S2", 3)]
    frames = _batches(_mce_file(tmp_path, claims), mce, chunk_lines=16)
    _check_whole_claims(frames, claims)
    (big,) = [f for f in frames if "BIG" in f["mce_claim_id"].to_list()]
    assert big.filter(pl.col("mce_claim_id") == "BIG")["line_number"].to_list() == [str(i) for i in range(1, 41)]


def test_batches_are_bounded(tmp_path: Path, mce: Layout) -> None:
    claims = _many(300)
    largest = max(len(c) for c in claims)
    frames = _batches(_mce_file(tmp_path, claims), mce, chunk_lines=50)
    assert max(f.height for f in frames) <= 50 + largest
    assert len(frames) >= sum(len(c) for c in claims) // (50 + largest)
    _check_whole_claims(frames, claims)


# -- split claims ---------------------------------------------------------------------------


def test_split_claim_comes_out_once(tmp_path: Path, mce: Layout) -> None:
    a = _claim("A", 4)
    claims = [a[:2], _claim("B", 2), _claim("C", 1), a[2:]]
    path = _mce_file(tmp_path, claims)
    with FlatFileReader(path, mce) as reader:
        scan = reader.scan()
        frames = [b.frame for b in reader.iter_batches()]
    assert (scan.claims, scan.split_claims, scan.data_rows) == (3, 1, 7)
    rows = pl.concat(frames)
    a_rows = rows.filter(pl.col("mce_claim_id") == "A")
    assert a_rows["line_number"].to_list() == ["1", "2", "3", "4"]
    assert a_rows["_row"].to_list() == [2, 3, 7, 8]
    assert a_rows["_runs"].to_list() == [2, 2, 2, 2]
    assert a_rows["_first"].to_list() == [True, False, False, False]
    assert a_rows["_claim_row"].to_list() == [2, 2, 2, 2]
    assert a_rows["_claim_seq"].n_unique() == 1
    others = rows.filter(pl.col("mce_claim_id") != "A")
    assert others["_runs"].unique().to_list() == [1]
    assert rows["_claim_seq"].n_unique() == 3


def test_split_claims_across_batches(tmp_path: Path, mce: Layout) -> None:
    a = _claim("A", 6)
    z = _claim("Z", 3)
    middle = _many(30)
    claims = [a[:2], z[:1], *middle[:15], a[2:4], *middle[15:], z[1:], a[4:]]
    path = _mce_file(tmp_path, claims)
    with FlatFileReader(path, mce, chunk_lines=16) as reader:
        scan = reader.scan()
        frames = [b.frame for b in reader.iter_batches()]
    assert (scan.claims, scan.split_claims) == (32, 2)
    assert len(frames) > 5
    _check_whole_claims(frames, [a, z, *middle])
    rows = pl.concat(frames)
    a_rows = rows.filter(pl.col("mce_claim_id") == "A")
    assert a_rows["line_number"].to_list() == ["1", "2", "3", "4", "5", "6"]
    assert a_rows["_runs"].unique().to_list() == [3]
    z_rows = rows.filter(pl.col("mce_claim_id") == "Z")
    assert z_rows["line_number"].to_list() == ["1", "2", "3"]
    assert z_rows["_runs"].unique().to_list() == [2]
    assert z_rows["_first"].to_list() == [True, False, False]
    # Split claims come out whole, after the batch their last run completed in.
    assert rows["mce_claim_id"].to_list()[-6:] == ["A"] * 6


def test_adjacent_runs_across_a_chunk_boundary_are_one_run(tmp_path: Path, mce: Layout) -> None:
    claims = [_claim("A", 10), _claim("B", 12), _claim("C", 3)]
    path = _mce_file(tmp_path, claims)
    with FlatFileReader(path, mce, chunk_lines=16) as reader:
        assert reader.scan().split_claims == 0
        frames = [b.frame for b in reader.iter_batches()]
    _check_whole_claims(frames, claims)
    assert pl.concat(frames)["_runs"].unique().to_list() == [1]


# -- blank lines -----------------------------------------------------------------------------


def test_blank_lines_reported_in_batches(tmp_path: Path, mce: Layout) -> None:
    lines = mce_text([r for c in _many(10) for r in c]).splitlines()
    lines.insert(3, "")
    lines.insert(20, "   ")
    lines.append("")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, mce, chunk_lines=16) as reader:
        scan = reader.scan()
        blanks = [n for b in reader.iter_batches() for n in b.blank_lines]
    assert scan.blank_lines_inside == 2
    assert blanks == [4, 21]


def test_blank_line_inside_parked_split_run_is_reported(tmp_path: Path, mce: Layout) -> None:
    a = _claim("A", 10)
    # chunk 1 = header + A (run 1) + C (run 1): C is held back as the chunk's last claim,
    # so the emitted frame is A's first run only, which is parked.
    claims = [a[:5], _claim("C", 10), _claim("B", 3), a[5:]]
    lines = mce_text([r for c in claims for r in c]).splitlines()
    lines.insert(3, "")  # physical line 4, inside A's first run
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, mce, chunk_lines=16) as reader:
        scan = reader.scan()
        batches = list(reader.iter_batches())
    assert scan.blank_lines_inside == 1
    assert sorted(pl.concat([b.frame for b in batches])["mce_claim_id"].unique()) == ["A", "B", "C"]
    assert [n for b in batches for n in b.blank_lines] == [4]


# -- unusable files ---------------------------------------------------------------------------


def test_empty_file(tmp_path: Path, mce: Layout) -> None:
    err = _error(_write(tmp_path, ""), mce)
    assert err.code == "FF001"
    assert "the file is empty (0 bytes)" in str(err)


def test_only_blank_lines(tmp_path: Path, mce: Layout) -> None:
    err = _error(_write(tmp_path, "\n  \n\r\n"), mce)
    assert err.code == "FF001"
    assert "no lines with data" in str(err)


def test_missing_file(tmp_path: Path, mce: Layout) -> None:
    err = _error(tmp_path / "absent.txt", mce)
    assert err.code == "FF004"
    assert "no such file" in str(err)


def test_header_only_is_an_empty_extract_not_an_error(tmp_path: Path, mce: Layout) -> None:
    # A quiet fortnight: nothing to send is not an unusable file.
    with FlatFileReader(_write(tmp_path, mce_text([])), mce, display_name="x.txt") as reader:
        scan = reader.scan()
        assert (scan.data_rows, scan.claims, scan.claim_types) == (0, 0, {})
        assert list(reader.iter_batches()) == []
        assert reader.header_text() == "|".join(COLUMNS)


def test_comma_delimited(tmp_path: Path, mce: Layout) -> None:
    text = mce_text(claim_rows()).replace("|", ",")
    err = _error(_write(tmp_path, text), mce)
    assert err.code == "FF004"
    assert "the header row is not '|'-delimited as layout mce-v1 expects; it looks ','-delimited" in str(err)


def test_no_known_column(tmp_path: Path, mce: Layout) -> None:
    err = _error(_write(tmp_path, "foo|bar\n1|2\n"), mce)
    assert err.code == "FF004"
    assert "the header row holds none of layout mce-v1's column names (first column 'foo')" in str(err)


def test_duplicate_header_column(tmp_path: Path, mce: Layout) -> None:
    err = _error(_write(tmp_path, mce_text(claim_rows(), extra_columns=["member_id"])), mce)
    assert err.code == "FF004"
    assert "column(s) named twice in the header row: member_id" in str(err)


def test_missing_claim_id_column(tmp_path: Path, mce: Layout) -> None:
    cols = [c for c in COLUMNS if c != "mce_claim_id"]
    err = _error(_write(tmp_path, mce_text(claim_rows(), columns=cols)), mce)
    assert err.code == "FF003"
    assert "the header row has no 'mce_claim_id' column (which groups rows into claims)" in str(err)


def test_a_near_miss_header_name_is_suggested(tmp_path: Path, mce: Layout) -> None:
    """Case, spaces and underscores aside, the column a header name most likely meant is named."""
    text = mce_text(claim_rows())
    header, rest = text.split("\n", 1)
    renamed = header.replace("mce_claim_id", "MCE Claim ID").replace("member_first_name", "Member_First_Name")
    err = _error(_write(tmp_path, renamed + "\n" + rest), mce)
    assert "no 'mce_claim_id' column (which groups rows into claims); the header has 'MCE Claim ID'" in str(err)
    claims, file_issues = run_engine(
        _write(tmp_path, header.replace("member_first_name", "Member First Name") + "\n" + rest), "mce-v1"
    )
    hints = [i.message for i in file_issues if i.code == "FF011"]
    assert hints == [
        "column 'Member First Name' is not in layout mce-v1 and is ignored (did you mean 'member_first_name'?)"
    ]
    # Case alone is no near miss: the column is read (see test_hostile_header).
    _, file_issues = run_engine(
        _write(tmp_path, header.replace("member_first_name", "Member_First_Name") + "\n" + rest), "mce-v1"
    )
    assert [i for i in file_issues if i.code == "FF011"] == []


def test_missing_claim_type_column(tmp_path: Path, mce: Layout) -> None:
    cols = [c for c in COLUMNS if c != "claim_type"]
    err = _error(_write(tmp_path, mce_text(claim_rows(), columns=cols)), mce)
    assert err.code == "FF003"
    assert "no 'claim_type' column" in str(err)


def test_missing_required_column(tmp_path: Path, mce: Layout) -> None:
    cols = [c for c in COLUMNS if c not in ("member_dob", "dx_pointer_1")]
    err = _error(_write(tmp_path, mce_text(claim_rows(), columns=cols)), mce)
    assert err.code == "FF003"
    assert str(err).endswith(
        "missing column(s): professional claims (type P, first at line 2) require column(s) member_dob, dx_pointer_1"
    )


def test_missing_column_only_matters_for_claim_types_present(tmp_path: Path, mce: Layout) -> None:
    cols = [c for c in COLUMNS if c not in ("type_of_bill", "revenue_code")]
    p_path = _write(tmp_path, mce_text(claim_rows(), columns=cols), "p.txt")
    with FlatFileReader(p_path, mce) as reader:
        assert reader.scan().claim_types == {"P": 2}
    rows = [*claim_rows(), *_claim("I1", 1, claim_type="I")]
    err = _error(_write(tmp_path, mce_text(rows, columns=cols), "i.txt"), mce)
    assert err.code == "FF003"
    assert "institutional claims (type I, first at line 4) require column(s) type_of_bill, revenue_code" in str(err)
    assert "professional" not in str(err)


def test_unknown_columns_reported_with_hint(tmp_path: Path, mce: Layout) -> None:
    path = _write(tmp_path, mce_text(claim_rows(), extra_columns=["billing_npii", "zz_internal"]))
    with FlatFileReader(path, mce) as reader:
        info = reader.open()
        frames = [b.frame for b in reader.iter_batches()]
    assert info.unknown_columns == (("billing_npii", "billing_npi"), ("zz_internal", None))
    assert info.expected_fields == len(COLUMNS) + 2
    assert "billing_npii" not in frames[0].columns
    assert frames[0]["billing_npi"].to_list() == [BASE_CLAIM["billing_npi"]] * 2


def test_encoding_error_surfaces(tmp_path: Path, mce: Layout) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(mce_text(claim_rows()).encode() + b"x|\xe9\n")
    err = _error(path, mce)
    assert err.code == "FF005"
    assert "line 4, byte 3: 0xE9" in str(err)


def test_cp1252_override(tmp_path: Path, mce: Layout) -> None:
    path = tmp_path / "in.txt"
    text = mce_text(claim_rows({"member_last_name": "ZO\u00cb"}))
    path.write_bytes(text.encode("cp1252"))
    (frame,) = _batches(path, mce, encoding="cp1252")
    assert frame["member_last_name"].to_list() == ["ZO\u00cb", "ZO\u00cb"]


# -- fixed width --------------------------------------------------------------------------------


def test_fixed_width_flatten(tmp_path: Path, fw: Layout) -> None:
    claims = [_claim("F1", 2), _claim("F2", 3, total_charge="6.00")]
    lines = _fw_lines(claims)
    assert [line[:2] for line in lines] == ["HD", "CL", "LN", "LN", "CL", "LN", "LN", "LN", "TR"]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, fw) as reader:
        scan = reader.scan()
        assert reader.header_text() == lines[0]
        frames = [b.frame for b in reader.iter_batches()]
    assert (scan.data_rows, scan.claims, scan.split_claims) == (7, 2, 0)
    assert scan.header_record == lines[0]
    assert scan.trailer_record == lines[-1]
    assert scan.claim_types == {"P": 2}
    (frame,) = frames
    assert frame.height == 5
    assert frame["mce_claim_id"].to_list() == ["F1", "F1", "F2", "F2", "F2"]
    assert frame["member_id"].to_list() == [BASE_CLAIM["member_id"]] * 5
    assert frame["total_charge"].to_list() == ["250.00", "250.00", "6.00", "6.00", "6.00"]
    assert frame["claim_type"].to_list() == ["P"] * 5
    assert frame["line_charge"].to_list() == ["1.00", "2.00", "1.00", "2.00", "3.00"]
    assert frame["line_number"].to_list() == ["0001", "0002", "0001", "0002", "0003"]
    assert frame["units"].to_list() == ["1.000"] * 5
    assert frame["_row"].to_list() == [3, 4, 6, 7, 8]
    assert frame["_claim_row"].to_list() == [2, 2, 5, 5, 5]
    assert frame["_first"].to_list() == [True, False, True, False, False]
    assert frame["_nolines"].to_list() == [False] * 5
    assert frame["_claim_seq"].to_list() == [0, 0, 1, 1, 1]
    assert frame["_len"].to_list() == [98] * 5
    assert frame["_raw"].to_list() == [
        lines[1] + "\n" + lines[2],
        lines[3],
        lines[4] + "\n" + lines[5],
        lines[6],
        lines[7],
    ]


def test_fixed_width_claim_without_lines(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 1), _claim("F2", 1)])
    del lines[4]  # F2's only LN record
    lines[-1] = _trailer(fw, str(len(lines)), "500.00")
    (frame,) = _batches(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert frame["mce_claim_id"].to_list() == ["F1", "F2"]
    assert frame["_nolines"].to_list() == [False, True]
    assert frame["_first"].to_list() == [True, True]
    assert frame["line_number"].to_list() == ["0001", None]
    assert frame["_raw"].to_list() == [lines[1] + "\n" + lines[2], lines[3]]
    assert frame["_claim_row"].to_list() == [2, 4]


def test_fixed_width_batches_hold_whole_claims(tmp_path: Path, fw: Layout) -> None:
    claims = _many(30)
    path = _write(tmp_path, fw_text(claims))
    frames = _batches(path, fw, chunk_lines=16)
    assert len(frames) > 5
    _check_whole_claims(frames, claims)
    largest = max(len(c) for c in claims) + 1
    assert max(f.height for f in frames) <= 16 + largest
    rows = pl.concat(frames)
    assert rows.filter(pl.col("_first"))["_raw"].str.count_matches("\n").to_list() == [1] * 30


def test_fixed_width_split_claim(tmp_path: Path, fw: Layout) -> None:
    a = _claim("A", 4)
    claims = [a[:2], *_many(12), a[2:]]
    lines = _fw_lines(claims)
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, fw, chunk_lines=16) as reader:
        scan = reader.scan()
        frames = [b.frame for b in reader.iter_batches()]
    assert (scan.claims, scan.split_claims) == (13, 1)
    rows = pl.concat(frames)
    a_rows = rows.filter(pl.col("mce_claim_id") == "A")
    assert a_rows["line_number"].to_list() == ["0001", "0002", "0003", "0004"]
    assert a_rows["_runs"].to_list() == [2] * 4
    assert a_rows["_first"].to_list() == [True, False, False, False]
    second_cl = len(lines) - 4
    assert lines[second_cl].startswith("CLA ")
    assert a_rows["_raw"].to_list() == [
        lines[1] + "\n" + lines[2],
        lines[3],
        lines[second_cl] + "\n" + lines[second_cl + 1],
        lines[second_cl + 2],
    ]
    assert rows["_claim_seq"].n_unique() == 13


def test_fixed_width_trailer_count_mismatch(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    lines[-1] = _trailer(fw, "12", "250.00")
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw, display_name="fw.txt")
    assert err.code == "FF006"
    assert str(err) == (
        "fw.txt: line 5: trailer record_count says 12, but the file holds 5 (records); "
        "the file may be truncated or padded"
    )


def test_fixed_width_truncated_file_is_count_mismatch(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2), _claim("F2", 2)])
    del lines[-2]
    assert _error(_write(tmp_path, "\n".join(lines) + "\n"), fw).code == "FF006"


def test_fixed_width_trailer_total_mismatch(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2), _claim("F2", 1, total_charge="10.05")])
    assert lines[-1] == _trailer(fw, "7", "260.05")
    lines[-1] = _trailer(fw, "7", "-260.05")
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF007"
    assert "line 7: trailer total_charge says -260.05, but total_charge sums to 260.05" in str(err)


def test_fixed_width_missing_trailer(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])[:-1]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF008"
    assert "the file has no TR trailer record: it may be truncated" in str(err)


def test_fixed_width_records_after_trailer(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    lines.append(lines[2])
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF008"
    assert "line 6: records after the trailer record" in str(err)


def test_fixed_width_records_after_trailer_in_next_chunk(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 7), _claim("F2", 5)])
    assert len(lines) == 16
    lines.extend([lines[1], lines[2]])
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw, chunk_lines=16)
    assert err.code == "FF008"
    assert "line 17: records after the trailer record" in str(err)


def test_fixed_width_two_trailers(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    lines.append(lines[-1])
    assert _error(_write(tmp_path, "\n".join(lines) + "\n"), fw).code == "FF008"


def test_fixed_width_header_not_first(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    lines[0], lines[1] = lines[1], lines[0]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF008"
    assert "the first record must be the HD header record, not CL" in str(err)


def test_fixed_width_second_header(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    lines.insert(3, lines[0])
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF008"
    assert "line 4: a header record may only be the first record" in str(err)


def test_fixed_width_unknown_first_record(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    lines[0] = "ZZ" + lines[0][2:]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF004"
    assert "the first record's type 'ZZ' (positions 1-2) is not one of layout mce-fw-example's record types" in str(err)


def test_fixed_width_only_header_and_trailer(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    text = lines[0] + "\n" + _trailer(fw, "2", "0") + "\n"
    with FlatFileReader(_write(tmp_path, text), fw) as reader:
        scan = reader.scan()
        assert (scan.data_rows, scan.claims) == (0, 0)
        assert scan.trailer_record is not None
        assert list(reader.iter_batches()) == []


def test_fixed_width_only_header_and_trailer_still_checks_the_trailer(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("F1", 2)])
    err = _error(_write(tmp_path, lines[0] + "\n" + _trailer(fw, "5", "0") + "\n"), fw)
    assert err.code == "FF006"


def test_fixed_width_orphan_line_records_form_one_claim(tmp_path: Path, fw: Layout) -> None:
    lines = _fw_lines([_claim("A", 2), _claim("B", 2)])
    lines = [lines[0], lines[2], lines[3], *lines[1:-1], _trailer(fw, "10", "500.00")]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, fw) as reader:
        scan = reader.scan()
        (frame,) = [b.frame for b in reader.iter_batches()]
    assert (scan.data_rows, scan.claims) == (8, 3)
    assert frame["mce_claim_id"].to_list() == [None, None, "A", "A", "B", "B"]
    assert frame["_claim_seq"].to_list() == [0, 0, 1, 1, 2, 2]
    assert frame["_first"].to_list() == [True, False, True, False, True, False]
    assert frame["_claim_row"].to_list() == [2, 3, 4, 4, 7, 7]
    assert frame["_raw"].to_list()[:3] == [lines[1], lines[2], lines[3] + "\n" + lines[4]]


def test_single_type_layout_implies_claim_type(tmp_path: Path) -> None:
    cols = [fd.name for fd in required_fields("P")]
    layout_path = tmp_path / "p.toml"
    layout_path.write_text(
        '[layout]\nname = "p"\nclaim_types = ["P"]\ncolumns = [' + ", ".join(f'"{c}"' for c in cols) + "]\n",
        encoding="utf-8",
    )
    layout = load_layout(layout_path)
    without = [c for c in cols if c != "claim_type"]
    path = _write(tmp_path, mce_text(claim_rows({"mce_claim_id": "A1"}), columns=without))
    with FlatFileReader(path, layout) as reader:
        assert "claim_type" not in reader.open().field_index
        assert reader.scan().claim_types == {"P": 2}
        (frame,) = [b.frame for b in reader.iter_batches()]
    assert frame["claim_type"].to_list() == ["P", "P"]


# -- damaged fixed-width claim records -------------------------------------------------------------
#
# Three valid claims: HD, CL F1 (line 2), LN, LN, CL F2 (line 5), LN, LN, CL F3 (line 8), LN, LN, TR.


def _three_claims() -> list[str]:
    return _fw_lines([claim_rows({"mce_claim_id": f"F{i}"}) for i in (1, 2, 3)])


def _issues_by_claim(path: Path, layout: Layout) -> dict[str | None, list[tuple[str, int | None]]]:
    claims, file_issues = run_engine(path, layout)
    assert file_issues == []
    out: dict[str | None, list[tuple[str, int | None]]] = {}
    for c in claims:
        out[c.encounter.claim_id] = sorted((i.code, i.location.record_no) for i in c.issues if i.severity == "error")
        assert c.rejected == bool(out[c.encounter.claim_id])
    return out


def test_claim_record_of_unknown_type_rejects_its_own_claim(tmp_path: Path, fw: Layout) -> None:
    lines = _three_claims()
    lines[4] = "XX" + lines[4][2:]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    # Read as the claim record it replaces: its total still counts, so the trailer matches.
    with FlatFileReader(path, fw) as reader:
        scan = reader.scan()
        (frame,) = [b.frame for b in reader.iter_batches()]
    assert (scan.claims, scan.unverified_checks) == (3, ())
    assert frame["mce_claim_id"].to_list() == ["F1", "F1", "F2", "F2", "F2", "F3", "F3"]
    assert frame["_kind"].to_list() == ["line", "line", "other", "line", "line", "line", "line"]
    assert frame["_claim_seq"].to_list() == [0, 0, 1, 1, 1, 2, 2]
    assert frame["_first"].to_list() == [True, False, True, False, False, True, False]
    assert frame["_claim_row"].to_list() == [2, 2, 5, 5, 5, 8, 8]
    assert frame["_raw"].to_list()[2:4] == [lines[4], lines[5]]
    assert _issues_by_claim(path, fw) == {"F1": [], "F2": [("FF012", 5)], "F3": []}


def test_truncated_claim_record_is_named_and_rejects_its_claim(tmp_path: Path, fw: Layout) -> None:
    lines = _three_claims()
    lines[4] = lines[4][:300]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, fw) as reader:
        scan = reader.scan()
        (frame,) = [b.frame for b in reader.iter_batches()]
    # The cut-off total cannot be summed: the trailer total is unverified, not a run-stopping mismatch.
    assert scan.claims == 3
    (note,) = scan.unverified_checks
    assert note == (
        "line 11: trailer total_charge says 750.00 and the readable claim records sum total_charge to 500.00; "
        "1 damaged record(s) (first at line 5) hide the rest and their claims are rejected"
    )
    # The short claim record keeps a row of its own (no service line, not the claim's first row).
    f2 = frame.filter(pl.col("_claim_seq") == 1)
    assert f2["_row"].to_list() == [5, 6, 7]
    assert f2["_kind"].to_list() == ["claim", "line", "line"]
    assert f2["_len"].to_list() == [300, 98, 98]
    assert f2["_first"].to_list() == [False, True, False]
    assert f2["_nolines"].to_list() == [True, False, False]
    assert f2["_raw"].to_list() == lines[4:7]
    assert f2["_claim_row"].to_list() == [5, 5, 5]
    issues = _issues_by_claim(path, fw)
    assert ("FF016", 5) in issues["F2"]
    assert "CL030" not in {code for code, _ in issues["F2"]}
    assert issues["F1"] == issues["F3"] == []


def test_truncated_claim_record_inside_a_split_claim(tmp_path: Path, fw: Layout) -> None:
    a = claim_rows({"mce_claim_id": "A"}, [{}, {}, {"line_number": "3"}, {"line_number": "4"}])
    claims = [a[:2], *[claim_rows({"mce_claim_id": f"K{i}"}) for i in range(8)], a[2:]]
    lines = _fw_lines(claims)
    second_cl = len(lines) - 4
    lines[second_cl] = lines[second_cl][:300]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    frames = _batches(path, fw, chunk_lines=16)
    rows = pl.concat(frames).filter(pl.col("mce_claim_id") == "A")
    # Each claim record's text stays with its own lines: the damaged one is not folded into the line after it.
    assert rows["_raw"].to_list() == [
        lines[1] + "\n" + lines[2],
        lines[3],
        lines[second_cl],
        lines[second_cl + 1],
        lines[second_cl + 2],
    ]
    assert rows["_first"].to_list() == [True, False, False, False, False]
    assert rows["_claim_seq"].n_unique() == 1


def test_damaged_claim_records_across_chunks(tmp_path: Path, fw: Layout) -> None:
    claims = [claim_rows({"mce_claim_id": f"K{i:02d}"}) for i in range(20)]
    lines = _fw_lines(claims)
    cl_lines = [i for i, line in enumerate(lines) if line.startswith("CL")]
    for n in (3, 7, 15, 19):
        lines[cl_lines[n]] = "XX" + lines[cl_lines[n]][2:]
    for n in (5, 11, 17):
        lines[cl_lines[n]] = lines[cl_lines[n]][:200]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, fw, chunk_lines=16) as reader:
        assert reader.scan().claims == 20
        frame = pl.concat([b.frame for b in reader.iter_batches()])
    assert frame["_claim_seq"].n_unique() == 20
    assert frame.filter(pl.col("_first"))["mce_claim_id"].to_list() == [f"K{i:02d}" for i in range(20)]
    assert sorted(frame["_raw"].str.split("\n").explode().to_list()) == sorted(lines[1:-1])


def test_unknown_record_shaped_like_a_line_keeps_the_trailer_total_strict(tmp_path: Path, fw: Layout) -> None:
    lines = _three_claims()
    lines[2] = "XX" + lines[2][2:]
    lines[-1] = _trailer(fw, "11", "750.01")
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == "FF007"
    assert "line 11: trailer total_charge says 750.01, but total_charge sums to 750.00" in str(err)


def test_unknown_record_shaped_like_a_line_rejects_its_claim(tmp_path: Path, fw: Layout) -> None:
    lines = _three_claims()
    lines[6] = "XX" + lines[6][2:]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert _issues_by_claim(path, fw) == {"F1": [], "F2": [("FF012", 7)], "F3": []}


def _counting_layout(tmp_path: Path) -> Layout:
    text = (schemas_dir() / "layouts" / "mce-fw-example.toml").read_text(encoding="utf-8")
    text = text.replace('check = "count:records"', 'check = "count:claims"')
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    return load_layout(path)


def test_claim_count_allows_for_unknown_records(tmp_path: Path) -> None:
    layout = _counting_layout(tmp_path)
    lines = _three_claims()
    lines[-1] = encode_record(layout.record(Role.TRAILER), layout, {"record_count": "3", "total_charge": "750.00"})
    # Type and length both damaged: not recognisably a claim record, so it is not counted as one.
    lines[4] = "XX" + lines[4][2:300]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with FlatFileReader(path, layout) as reader:
        notes = reader.scan().unverified_checks
    assert notes[0] == (
        "line 11: trailer record_count says 3, and the file holds 2 claim records and 1 record(s) of an unknown type"
    )
    assert len(notes) == 2 and "trailer total_charge says 750.00" in notes[1]
    # A count beyond what the unknown records can explain is still a mismatch.
    lines[-1] = encode_record(layout.record(Role.TRAILER), layout, {"record_count": "5", "total_charge": "750.00"})
    err = _error(_write(tmp_path, "\n".join(lines) + "\n", "b.txt"), layout)
    assert err.code == "FF006"
    assert "trailer record_count says 5, but the file holds 2 (claims)" in str(err)


# -- blanks in numeric fixed-width fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "start", "value", "read_as"),
    [
        # A blank where the overpunch digit belongs must not be read as 36.00.
        ("line_charge", 41, "000003600 ", "000003600 "),
        ("line_charge", 41, "0000 3600{", "0000 3600{"),
        ("line_number", 3, "1   ", "1   "),
        ("line_number", 3, "0 01", "0 01"),
        # Leading blanks are right-justified digits; an all-blank field is absent.
        ("line_charge", 41, "    03600{", "360.00"),
        ("line_number", 3, "   1", "1"),
        ("line_adj_amount_2", 85, "          ", None),
    ],
)
def test_blanks_in_numeric_fields(
    tmp_path: Path, fw: Layout, field: str, start: int, value: str, read_as: str | None
) -> None:
    lines = _three_claims()
    lines[2] = lines[2][: start - 1] + value + lines[2][start - 1 + len(value) :]
    assert len(lines[2]) == 98
    (frame,) = _batches(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert frame[field][0] == read_as


@pytest.mark.parametrize(
    ("field", "start", "value", "code"),
    [
        ("line_charge", 41, "000020000 ", "SV004"),
        ("line_number", 3, "1   ", "SV002"),
        ("line_from_date", 25, "2026021 ", "SV003"),
    ],
)
def test_blank_inside_a_numeric_field_is_an_error_on_that_field(
    tmp_path: Path, fw: Layout, field: str, start: int, value: str, code: str
) -> None:
    lines = _three_claims()
    lines[2] = lines[2][: start - 1] + value + lines[2][start - 1 + len(value) :]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    claims, _ = run_engine(path, fw)
    f1 = next(c for c in claims if c.encounter.claim_id == "F1")
    assert f1.rejected
    assert [(i.code, i.location.record_no, i.location.field) for i in f1.issues if i.code == code] == [(code, 3, field)]
    # Messages never quote the value.
    assert all(value not in i.message for i in f1.issues)


def test_delimited_values_are_still_stripped(tmp_path: Path, mce: Layout) -> None:
    path = _mce_file(tmp_path, [claim_rows({"mce_claim_id": "A1", "total_charge": " 250.00 "})])
    (frame,) = _batches(path, mce)
    assert frame["total_charge"].to_list() == ["250.00", "250.00"]


# -- trailer messages print decoded numbers -------------------------------------------------------------


def test_trailer_messages_print_decoded_values(tmp_path: Path, fw: Layout) -> None:
    lines = _three_claims()
    lines[-1] = _trailer(fw, "187", "1422.76")
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert "trailer record_count says 187, but the file holds 11 (records)" in str(err)
    lines[-1] = _trailer(fw, "11", "-1422.77")
    err = _error(_write(tmp_path, "\n".join(lines) + "\n", "b.txt"), fw)
    assert "trailer total_charge says -1422.77, but total_charge sums to 750.00" in str(err)
    assert "000000142277" not in str(err)


@pytest.mark.parametrize(
    ("start", "text", "code", "message"),
    [
        (12, "+00000142276G", "FF007", "trailer total_charge is not a valid S9(10)V99 value, but total_charge sums to"),
        (12, "+0000014227 6", "FF007", "trailer total_charge is not a valid S9(10)V99 value"),
        (3, "0000001 1", "FF006", "trailer record_count is not a valid 9(9) value, but the file holds 11 (records)"),
        (3, "         ", "FF006", "trailer record_count is not a valid 9(9) value"),
    ],
)
def test_trailer_value_that_cannot_be_decoded(
    tmp_path: Path, fw: Layout, start: int, text: str, code: str, message: str
) -> None:
    lines = _three_claims()
    lines[-1] = lines[-1][: start - 1] + text + lines[-1][start - 1 + len(text) :]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"), fw)
    assert err.code == code
    assert message in str(err)
    assert text not in str(err) and (not text.strip() or text.strip() not in str(err))


@pytest.mark.parametrize("encoding", ["delimited", "fixed-width"])
def test_interleaved_claims_come_back_whole_in_few_batches(tmp_path: Path, encoding: str) -> None:
    """Rows of 60 claims interleaved line by line: each claim once, reassembled a batch at a time (not one by one)."""
    claims = [claim_rows({"mce_claim_id": f"C{n:03d}"}) for n in range(60)]
    by_line = [claim[i] for i in range(len(claims[0])) for claim in claims]  # C000 l1, C001 l1, ..., C000 l2, ...
    if encoding == "delimited":
        path, layout = write_mce(tmp_path / "in.txt", by_line), load_layout("mce-v1")
    else:
        layout = load_layout("mce-fw-example")
        path = tmp_path / "in.dat"
        path.write_text(fw_text([[row] for row in by_line], layout), encoding="utf-8")
    with FlatFileReader(path, layout, chunk_lines=32) as reader:
        batches = list(reader.iter_batches())
    firsts = pl.concat([b.frame.filter(pl.col("_first")).select("mce_claim_id", "_runs") for b in batches])
    assert sorted(firsts["mce_claim_id"].to_list()) == [f"C{n:03d}" for n in range(60)]
    assert set(firsts["_runs"].to_list()) == {len(claims[0])}
    assert len(batches) < 20  # one batch per claim would be 60 and more


def test_date_errors_name_the_layouts_date_format(tmp_path: Path) -> None:
    """With MM/DD/CCYY a malformed date is "not in MM/DD/CCYY form", an impossible one "not a real calendar date"."""
    layout_path, cols = _us_layout(tmp_path)
    rows = claim_rows({"mce_claim_id": "A1", "member_dob": "1980-01-31"}, [{"line_from_date": "02/30/2026"}, {}])
    path = _write(tmp_path, mce_text(rows, columns=cols))
    claims, _ = run_engine(path, str(layout_path))
    messages = {i.code: i.message for c in claims for i in c.issues if i.code in ("MB003", "SV003")}
    assert messages["MB003"] == "member_dob is not in MM/DD/CCYY form; expected a real date MM/DD/CCYY"
    assert messages["SV003"] == "line_from_date is not a real calendar date; expected a real date MM/DD/CCYY"


def test_messages_use_the_layouts_column_names(tmp_path: Path) -> None:
    """A warehouse layout that calls billing_npi BILL_NPI reads BILL_NPI in every message about it."""
    cols = [fd.name for fd in required_fields("P")]
    named = [c for c in cols if c != "billing_npi"]
    layout_path = tmp_path / "wh.toml"
    layout_path.write_text(
        '[layout]\nname = "wh"\nclaim_types = ["P"]\ncolumns = ['
        + ", ".join(f'"{c}"' for c in named)
        + ']\n\n[[field]]\nfield = "billing_npi"\ncolumn = "BILL_NPI"\n',
        encoding="utf-8",
    )
    rows = claim_rows({"mce_claim_id": "A1", "billing_npi": "1234567890"})
    text = mce_text(rows, columns=cols).replace("billing_npi", "BILL_NPI", 1)
    claims, _ = run_engine(_write(tmp_path, text), str(layout_path))
    messages = [i.message for c in claims for i in c.issues if i.code == "PV010"]
    assert messages == ["BILL_NPI has an invalid check digit: it is not a valid NPI"]


def test_an_unverified_trailer_check_reaches_the_run_report(tmp_path: Path, fw: Layout) -> None:
    """The reader no longer logs it: report.json's inputs list it, and the run summary prints it."""
    from sendpro import api
    from sendpro.cli import render_summary
    from tests.helpers import test_config

    lines = _three_claims()
    lines[4] = lines[4][:300]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    report = api.convert_files([path], tmp_path / "out", test_config(layout="mce-fw-example", validate_output=False))
    (note,) = report.inputs[0].unverified_checks
    assert note.startswith("line 11: trailer total_charge says 750.00")
    assert f"trailer check not verified: {note}" in render_summary(report, tmp_path / "out")
