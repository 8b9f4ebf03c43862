from __future__ import annotations

from pathlib import Path

import pytest

from sendpro.errors import InputFileError
from sendpro.flatfile.source import LineChunk, iter_line_chunks


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    return path


def _all(path: Path, encoding: str = "utf-8", chunk_lines: int = 1000) -> list[LineChunk]:
    return list(iter_line_chunks(path, encoding, chunk_lines))


def test_strips_bom_and_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbfa|b\r\nc|d\r\ne|f")
    (chunk,) = _all(path)
    assert chunk.lines == ["a|b", "c|d", "e|f"]
    assert chunk.line_nos == [1, 2, 3]
    assert chunk.blank_line_nos == ()


def test_bom_only_dropped_on_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a\n\xef\xbb\xbfb\n")
    (chunk,) = _all(path)
    assert chunk.lines == ["a", "\ufeffb"]


def test_mixed_line_ends_and_trailing_spaces_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, b"LN01  \r\nLN02\nLN03   ")
    (chunk,) = _all(path)
    assert chunk.lines == ["LN01  ", "LN02", "LN03   "]


def test_blank_lines_reported_not_yielded(tmp_path: Path) -> None:
    path = _write(tmp_path, b"h\n\na\n   \r\nb\n\t\nc\n\n")
    (chunk,) = _all(path)
    assert chunk.lines == ["h", "a", "b", "c"]
    assert chunk.line_nos == [1, 3, 5, 7]
    assert chunk.blank_line_nos == (2, 4, 6, 8)


def test_chunk_sizes_bounded(tmp_path: Path) -> None:
    body = b"".join(b"row%d\n" % i if i % 7 else b"\n" for i in range(1, 101))
    path = _write(tmp_path, body)
    chunks = _all(path, chunk_lines=10)
    assert all(len(c.lines) <= 10 for c in chunks)
    assert all(len(c.lines) == len(c.line_nos) for c in chunks)
    assert [len(c.lines) for c in chunks[:-1]] == [10] * (len(chunks) - 1)
    lines = [line for c in chunks for line in c.lines]
    numbers = [n for c in chunks for n in c.line_nos]
    blanks = [n for c in chunks for n in c.blank_line_nos]
    assert lines == [f"row{i}" for i in range(1, 101) if i % 7]
    assert numbers == [i for i in range(1, 101) if i % 7]
    assert blanks == [i for i in range(1, 101) if i % 7 == 0]
    assert len(lines) == 86


def test_trailing_blank_lines_only_chunk(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a\nb\n\n\n")
    chunks = _all(path, chunk_lines=2)
    assert [(c.lines, c.line_nos, c.blank_line_nos) for c in chunks] == [(["a", "b"], [1, 2], ()), ([], [], (3, 4))]


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    assert _all(_write(tmp_path, b"")) == []


def test_non_utf8_byte_raises_ff005(tmp_path: Path) -> None:
    path = _write(tmp_path, b"h|x\nok|1\nCAF\xc9|2\n")
    with pytest.raises(InputFileError) as info:
        _all(path)
    err = info.value
    assert err.code == "FF005"
    msg = str(err)
    assert msg.startswith("in.txt: line 3, byte 4: 0xC9 is not valid utf-8")
    assert 'encoding = "cp1252"' in msg


def test_encoding_error_uses_display_name(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xff\n")
    with pytest.raises(InputFileError, match=r"^extract\.dat: line 1, byte 1: 0xFF is not valid utf-8"):
        list(iter_line_chunks(path, "utf-8", 10, "extract.dat"))


def test_encoding_error_in_a_later_chunk(tmp_path: Path) -> None:
    path = _write(tmp_path, b"".join(b"r%d\n" % i for i in range(40)) + b"ok\xe9\n")
    chunks = iter_line_chunks(path, "utf-8", 16)
    assert len(next(chunks).lines) == 16
    assert len(next(chunks).lines) == 16
    with pytest.raises(InputFileError, match="line 41, byte 3: 0xE9"):
        next(chunks)


def test_cp1252_decodes(tmp_path: Path) -> None:
    path = _write(tmp_path, b"name\r\nJOS\xc9 \x93Q\x94\r\n")
    (chunk,) = _all(path, encoding="cp1252")
    assert chunk.lines == ["name", "JOS\u00c9 \u201cQ\u201d"]
