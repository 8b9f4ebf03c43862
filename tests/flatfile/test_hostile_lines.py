"""Hostile line structure: CR-only line ends, huge lines, UTF-16, NUL bytes (issue 12, items 7 and 8)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sendpro.convert.plan import detect_layout
from sendpro.errors import InputFileError, LayoutError
from sendpro.flatfile.layout import DEFAULT_MAX_LINE_LENGTH, Layout, load_layout
from sendpro.flatfile.reader import FlatFileReader
from sendpro.flatfile.source import iter_line_chunks, read_first_line
from sendpro.resources import schemas_dir
from tests.helpers import BASE_CLAIM, claim_rows, mce_text

# Values of the synthetic claim that no message may quote (they stand for PHI).
VALUES = ("100000000001", "ALDER", "19800101", "12 ELM AVE", "1234567893", "HARBORVIEW")


def _write(tmp_path: Path, data: bytes, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _scan_error(path: Path, layout: Layout) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        with FlatFileReader(path, layout, display_name=path.name) as reader:
            reader.scan()
    return info.value


def _small_limit_layout(tmp_path: Path, limit: int) -> Layout:
    """mce-v1 with ``max_line_length = limit``."""
    text = (schemas_dir() / "layouts" / "mce-v1.toml").read_text(encoding="utf-8")
    text = text.replace("[layout]\n", f"[layout]\nmax_line_length = {limit}\n", 1)
    path = tmp_path / "small.toml"
    path.write_text(text, encoding="utf-8")
    return load_layout(path)


def _assert_no_values(message: str) -> None:
    assert "\n" not in message
    for value in VALUES:
        assert value not in message


# -- CR-only line ends (item 7) -----------------------------------------------------------


def test_cr_only_line_ends_are_named_and_no_value_is_quoted(tmp_path: Path, mce: Layout) -> None:
    data = mce_text(claim_rows()).replace("\n", "\r").encode()
    err = _scan_error(_write(tmp_path, data, "old-mac.txt"), mce)
    assert err.code == "FF004"
    assert str(err).startswith("old-mac.txt: the file uses CR-only line ends")
    _assert_no_values(str(err))


def test_only_one_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    # The fuzz run: with the CR-only check moved to the first non-blank line, a second
    # BOM was dropped too and a damaged header read as clean. It is data: reported.
    from sendpro.flatfile.source import iter_line_chunks

    path = _write(tmp_path, b"\xef\xbb\xbf\xef\xbb\xbfHD1\nCL2\n")
    lines = [line for chunk in iter_line_chunks(path, "utf-8", 100) for line in chunk.lines]
    assert lines == ["\ufeffHD1", "CL2"]
    blank_first = _write(tmp_path, b"\xef\xbb\xbf\n\xef\xbb\xbfHD1\n", "b.txt")
    lines = [line for chunk in iter_line_chunks(blank_first, "utf-8", 100) for line in chunk.lines]
    assert lines == ["\ufeffHD1"]


def test_cr_only_with_a_bom_is_named_too(tmp_path: Path, mce: Layout) -> None:
    data = b"\xef\xbb\xbf" + mce_text(claim_rows()).replace("\n", "\r").encode()
    assert "CR-only line ends" in str(_scan_error(_write(tmp_path, data), mce))


@pytest.mark.parametrize("lead", [b"\r\n", b"\n\n", b"  \r\n"], ids=["crlf", "two-lf", "spaces-crlf"])
def test_cr_only_after_leading_blank_lines_is_named_and_no_value_is_quoted(
    tmp_path: Path, mce: Layout, lead: bytes
) -> None:
    # Found by the fuzz run: a blank first line ended in LF made the header row the
    # second line, which held the whole CR-only body; the duplicate-column check then
    # listed member names and ids.
    data = lead + mce_text(claim_rows()).replace("\n", "\r").encode()
    err = _scan_error(_write(tmp_path, data, "old-mac.txt"), mce)
    assert err.code == "FF004"
    assert str(err).startswith("old-mac.txt: the file uses CR-only line ends")
    _assert_no_values(str(err))


def test_cr_only_file_longer_than_the_line_limit_is_named_as_cr_only(tmp_path: Path) -> None:
    small = _small_limit_layout(tmp_path, 1024)
    rows = [r for i in range(30) for r in claim_rows({"mce_claim_id": f"K{i}"})]
    data = mce_text(rows).replace("\n", "\r").encode()
    assert len(data) > 4 * 1024
    err = _scan_error(_write(tmp_path, data), small)
    assert err.code == "FF004"
    assert "CR-only line ends" in str(err)
    _assert_no_values(str(err))


def test_layout_detection_names_cr_only_line_ends(tmp_path: Path) -> None:
    path = _write(tmp_path, mce_text(claim_rows()).replace("\n", "\r").encode())
    with pytest.raises(InputFileError, match="CR-only line ends") as info:
        detect_layout(path)
    _assert_no_values(str(info.value))


def test_crlf_and_lf_mixed_read_as_lf(tmp_path: Path, mce: Layout) -> None:
    lines = mce_text([*claim_rows(), *claim_rows({"mce_claim_id": "C200"})]).splitlines()
    mixed = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines)).encode()
    plain = ("\n".join(lines) + "\n").encode()

    def frames(data: bytes, name: str) -> list[object]:
        with FlatFileReader(_write(tmp_path, data, name), mce) as reader:
            return [b.frame.drop("_raw").to_dicts() for b in reader.iter_batches()]

    assert frames(mixed, "mixed.txt") == frames(plain, "plain.txt")


# -- a maximum line length (item 8) -------------------------------------------------------


def test_default_max_line_length_and_layout_setting(tmp_path: Path, mce: Layout) -> None:
    assert mce.max_line_length == DEFAULT_MAX_LINE_LENGTH == 1024 * 1024
    assert _small_limit_layout(tmp_path, 2048).max_line_length == 2048


@pytest.mark.parametrize(
    ("setting", "message"),
    [("0", "max_line_length must be a positive number"), ('"big"', "max_line_length must be a whole number")],
)
def test_bad_max_line_length_fails_to_load(tmp_path: Path, setting: str, message: str) -> None:
    text = (schemas_dir() / "layouts" / "mce-v1.toml").read_text(encoding="utf-8")
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("[layout]\n", f"[layout]\nmax_line_length = {setting}\n", 1), encoding="utf-8")
    with pytest.raises(LayoutError, match=message):
        load_layout(path)


def test_fixed_width_record_longer_than_the_limit_fails_to_load(tmp_path: Path) -> None:
    text = (schemas_dir() / "layouts" / "mce-fw-example.toml").read_text(encoding="utf-8")
    path = tmp_path / "fw.toml"
    path.write_text(text.replace("[layout]\n", "[layout]\nmax_line_length = 100\n", 1), encoding="utf-8")
    with pytest.raises(LayoutError, match=r"record CL: length 451 is beyond max_line_length 100"):
        load_layout(path)


def test_a_line_of_megabytes_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    small = _small_limit_layout(tmp_path, 4096)
    header = mce_text([]).encode()
    data = header + b"P|C1|" + b"X" * (3 * 1024 * 1024) + b"\n"
    path = _write(tmp_path, data, "one-line.txt")
    err = _scan_error(path, small)
    assert err.code == "FF017"
    assert str(err) == (
        "one-line.txt: line 2 is longer than the layout's max_line_length of 4096 bytes; "
        "the file may lack line breaks, or raise max_line_length in the layout"
    )
    # The main read and the layout detection read lines the same bounded way.
    with pytest.raises(InputFileError, match="line 2 is longer"):
        list(iter_line_chunks(path, "utf-8", 5000, max_line_length=4096))
    with pytest.raises(InputFileError, match="line 1 is longer"):
        read_first_line(_write(tmp_path, b"X" * 10_000, "no-breaks.txt"), 4096)


def test_lines_at_the_limit_pass_and_one_byte_more_does_not(tmp_path: Path) -> None:
    limit = 100
    ok = _write(tmp_path, b"a" * limit + b"\r\n" + b"b" * limit + b"\n" + b"c" * limit, "ok.txt")
    (chunk,) = iter_line_chunks(ok, "utf-8", 10, max_line_length=limit)
    assert chunk.lines == ["a" * limit, "b" * limit, "c" * limit]
    for data, line in ((b"a" * (limit + 1) + b"\n", 1), (b"h\n" + b"b" * (limit + 1), 2)):
        with pytest.raises(InputFileError, match=f"line {line} is longer") as info:
            list(iter_line_chunks(_write(tmp_path, data, "long.txt"), "utf-8", 10, max_line_length=limit))
        assert info.value.code == "FF017"


def test_a_bom_does_not_count_towards_the_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf" + b"a" * 50 + b"\n")
    (chunk,) = iter_line_chunks(path, "utf-8", 10, max_line_length=50)
    assert chunk.lines == ["a" * 50]


def test_lines_across_read_blocks_are_whole(tmp_path: Path) -> None:
    """Lines of every length, crossing the 1 MiB read blocks, read as ``splitlines`` reads them."""
    lines = [(b"%d|" % i) + b"v" * (i * 37 % 3001) for i in range(4000)]
    data = b"".join(line + (b"\r\n" if i % 3 == 0 else b"\n") for i, line in enumerate(lines))
    assert len(data) > 3 * 1024 * 1024
    chunks = list(iter_line_chunks(_write(tmp_path, data), "utf-8", 700))
    assert [line for c in chunks for line in c.lines] == [line.decode() for line in lines]
    assert [n for c in chunks for n in c.line_nos] == list(range(1, 4001))


def test_chunks_are_bounded_in_bytes_too(tmp_path: Path) -> None:
    data = b"".join(b"%05d|" % i + b"z" * 995 + b"\n" for i in range(100))
    chunks = list(iter_line_chunks(_write(tmp_path, data), "utf-8", 5000, chunk_bytes=10_000))
    assert [len(c.lines) for c in chunks] == [10] * 10


def test_memory_stays_bounded_on_a_huge_line(tmp_path: Path) -> None:
    """A 1 GiB file without a line break after its header costs about the limit, not the file.

    The file is sparse (NUL bytes the filesystem does not store), so the test is fast.
    """
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.write(mce_text([]).encode() + b"P|C1|")
        handle.truncate(1024**3)
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from sendpro.errors import InputFileError
        from sendpro.flatfile.layout import load_layout
        from sendpro.flatfile.reader import FlatFileReader
        from sendpro.flatfile.source import iter_line_chunks
        path = Path({str(path)!r})
        layout = load_layout("mce-v1")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            with FlatFileReader(path, layout) as reader:
                reader.scan()
        except InputFileError as exc:
            print(exc.code)
        try:
            list(iter_line_chunks(path, "utf-8", 5000))
        except InputFileError as exc:
            print(exc.code)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    scan_code, read_code, grown_mb = done.stdout.split()
    assert (scan_code, read_code) == ("FF017", "FF017")
    assert int(grown_mb) < 64, done.stdout


# -- other encodings and bytes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "says"),
    [("utf-16", "UTF-16 byte-order mark"), ("utf-16-le", "every other byte is NUL"), ("utf-32", "UTF-32")],
)
def test_utf16_and_utf32_are_named(tmp_path: Path, mce: Layout, encoding: str, says: str) -> None:
    path = _write(tmp_path, mce_text(claim_rows()).encode(encoding))
    err = _scan_error(path, mce)
    assert err.code == "FF005"
    assert says in str(err) and "save it as UTF-8" in str(err)
    with pytest.raises(InputFileError, match=says):
        detect_layout(path)


def test_an_encoding_that_is_not_ascii_compatible_is_refused(tmp_path: Path, mce: Layout) -> None:
    path = _write(tmp_path, mce_text(claim_rows()).encode())
    with pytest.raises(InputFileError, match="encoding utf-16 cannot be read line by line") as info:
        with FlatFileReader(path, mce, encoding="utf-16") as reader:
            reader.scan()
    assert info.value.code == "FF005"
    text = (schemas_dir() / "layouts" / "mce-v1.toml").read_text(encoding="utf-8")
    lay = tmp_path / "u16.toml"
    lay.write_text(text.replace('encoding = "utf-8"', 'encoding = "utf-16"'), encoding="utf-8")
    with pytest.raises(LayoutError, match="'utf-16' does not encode line ends and delimiters as ASCII does"):
        load_layout(lay)
    # utf-8-sig is fine: the BOM it would write is dropped anyway.
    lay.write_text(text.replace('encoding = "utf-8"', 'encoding = "utf-8-sig"'), encoding="utf-8")
    assert load_layout(lay).encoding == "utf-8-sig"


def test_nul_bytes_are_data_not_a_crash(tmp_path: Path, mce: Layout) -> None:
    text = mce_text([*claim_rows(), *claim_rows({"mce_claim_id": "C200"})])
    header, first, *rest = text.split("\n")
    data = "\n".join([header, first.replace("ALDER", "AL\x00DER"), "\x00" * 40, *rest]).encode()
    with FlatFileReader(_write(tmp_path, data), mce) as reader:
        scan = reader.scan()
        rows = sum(b.frame.height for b in reader.iter_batches())
    assert (scan.data_rows, rows) == (5, 5)
    assert BASE_CLAIM["member_id"] == VALUES[0]
