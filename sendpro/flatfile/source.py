"""Bounded chunks of decoded text lines from an input file.

Python splits the byte stream into lines (this is fast C code) and decodes each
chunk; polars then parses the chunk. Reading this way keeps memory bounded by the
chunk size, keeps every physical line number, keeps the raw line for the rejects
file, and lets a decoding error name the exact line and byte.

Each line is read with a byte limit (the layout's ``max_line_length``), so a file
without line breaks costs that many bytes before it is refused, not the file's
size. A chunk ends at ``chunk_lines`` lines or :data:`DEFAULT_CHUNK_BYTES` bytes,
whichever comes first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sendpro.errors import InputFileError
from sendpro.flatfile.layout import DEFAULT_MAX_LINE_LENGTH
from sendpro.flatfile.problems import BAD_ENCODING, LAYOUT_MISMATCH, LINE_TOO_LONG

_BOM = b"\xef\xbb\xbf"
#: Byte-order marks of encodings whose line ends are not the byte ``\n`` (UTF-32 LE first: it starts like UTF-16 LE).
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)

#: Bytes of lines gathered into one chunk at most: above any chunk of valid rows
#: at the default 5,000 lines (so batches do not change), far below 5,000 lines
#: at the maximum line length.
DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
#: Bytes read from the file at once, split into lines in C.
_BLOCK_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LineChunk:
    """Decoded non-blank lines and their 1-based physical line numbers."""

    lines: list[str]
    line_nos: list[int]
    blank_line_nos: tuple[int, ...] = ()


def _wide_text(first: bytes) -> str | None:
    """Name the encoding when the first line is UTF-16 or UTF-32 text (None: it is not)."""
    for bom, name in _WIDE_BOMS:
        if first.startswith(bom):
            return f"{name} text (it starts with a {name} byte-order mark)"
    body = first.rstrip(b"\r\n")
    if len(body) < 4:
        return None
    # ASCII text in UTF-16 has a NUL byte beside every character (and only there).
    for nuls, chars in ((body[1::2], body[0::2]), (body[0::2], body[1::2])):
        if nuls.count(0) * 10 >= len(nuls) * 9 and chars.count(0) * 10 <= len(chars):
            return "UTF-16 text (every other byte is NUL)"
    return None


def _first_line(raw: bytes, name: str, bom: bool = True) -> bytes:
    """Check the first non-blank line (line end removed); drop a UTF-8 byte-order mark when ``bom``.

    ``bom`` is False when the caller already dropped the file's one BOM (a second
    one stays: it is then data, and reported as such).

    Raises:
        InputFileError: UTF-16/UTF-32 text (FF005) or CR-only line ends (FF004).
    """
    wide = _wide_text(raw)
    if wide is not None:
        raise BAD_ENCODING.error(
            name, f"the file is {wide}; save it as UTF-8 (sendpro reads ASCII-compatible encodings)"
        )
    if bom:
        raw = raw.removeprefix(_BOM)
    if b"\r" in raw:
        # A header (or first record) never holds a CR: the file's lines end in
        # CR alone, so the whole file reads as one line.
        raise _cr_only(name)
    return raw


def _check_first(lines: list[bytes], name: str) -> bool:
    """Apply :func:`_first_line` to the first non-blank line of ``lines``; return whether there was one.

    Not simply line 1: a CR-only file that starts with a blank CRLF line (or any
    blank lines) would otherwise be read with its whole body as the header row.
    """
    for at, line in enumerate(lines):
        if line.strip():
            lines[at] = _first_line(line, name, bom=False)
            return True
    return False


def _cr_only(name: str) -> InputFileError:
    return LAYOUT_MISMATCH.error(
        name,
        "the file uses CR-only line ends (old Mac style), so it reads as one line; convert its line ends to LF or CRLF",
    )


def _too_long(name: str, number: int, max_line_length: int, text: bytes) -> InputFileError:
    if number == 1:
        # A CR-only or UTF-16 file longer than the limit: say that, not "too long".
        _first_line(text, name)
    why = (
        "; the file seems to use CR-only line ends: convert them to LF or CRLF"
        if b"\r" in text
        else "; the file may lack line breaks, or raise max_line_length in the layout"
    )
    return LINE_TOO_LONG.error(
        name, f"line {number} is longer than the layout's max_line_length of {max_line_length} bytes{why}"
    )


def _iter_line_blocks(handle: BinaryIO, name: str, max_line_length: int) -> Iterator[list[bytes]]:
    r"""Yield the physical lines of ``handle`` a block at a time, line ends and a first-line BOM removed.

    The file is read in blocks of :data:`_BLOCK_BYTES` and split on ``\n``; only
    the unfinished last line of a block is carried over, so no more than a
    block and ``max_line_length`` bytes are held however long a line is.

    Raises:
        InputFileError: a line longer than ``max_line_length`` bytes (FF017), CR-only
            line ends (FF004), UTF-16/UTF-32 text (FF005).
    """
    carry = b""
    number = 0  # lines yielded so far
    checked = False  # the first non-blank line has been through _first_line
    while True:
        data = handle.read(_BLOCK_BYTES)
        if not data:
            break
        lines = (carry + data).split(b"\n")
        carry = lines.pop()
        if lines:
            # rstrip, not removesuffix: "\r\r\n" ends a line as it always has.
            lines = [line.rstrip(b"\r") for line in lines]
            if number == 0:
                lines[0] = lines[0].removeprefix(_BOM)
            if not checked:
                checked = _check_first(lines, name)
            if max(map(len, lines)) > max_line_length:
                at = next(i for i, line in enumerate(lines) if len(line) > max_line_length)
                raise _too_long(name, number + at + 1, max_line_length, lines[at])
            number += len(lines)
            yield lines
        # The unfinished line may hold a CRLF's CR and the BOM: room for both.
        if len(carry) > max_line_length + 1 + (len(_BOM) if number == 0 else 0):
            raise _too_long(name, number + 1, max_line_length, carry)
    if carry:
        last = carry.rstrip(b"\r")
        if not checked:
            last = _first_line(last, name, bom=number == 0)
        if len(last) > max_line_length:
            raise _too_long(name, number + 1, max_line_length, last)
        yield [last]


def read_first_line(
    path: Path, max_line_length: int = DEFAULT_MAX_LINE_LENGTH, display_name: str | None = None
) -> bytes:
    """Return the first non-blank line of ``path`` as bytes (b"": none), read as :func:`iter_line_chunks` reads it.

    Raises:
        InputFileError: as :func:`iter_line_chunks` does for the first line.
    """
    with path.open("rb") as handle:
        for lines in _iter_line_blocks(handle, display_name or path.name, max_line_length):
            for raw in lines:
                if raw.strip():
                    return raw
    return b""


def iter_line_chunks(
    path: Path,
    encoding: str,
    chunk_lines: int,
    display_name: str | None = None,
    *,
    max_line_length: int = DEFAULT_MAX_LINE_LENGTH,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[LineChunk]:
    """Yield chunks of at most ``chunk_lines`` decoded lines (and about ``chunk_bytes`` bytes).

    Line ends (LF or CRLF) are removed; a UTF-8 byte-order mark on the first line
    is dropped. Blank lines are not yielded, but their numbers are reported so the
    structure rules can warn about blank lines in the middle of a file. No line
    is read beyond ``max_line_length`` bytes.

    Raises:
        InputFileError: a line is not valid text in ``encoding`` (FF005), the file
            is UTF-16 (FF005) or has CR-only line ends (FF004), a line is longer
            than ``max_line_length`` bytes (FF017).
    """
    name = display_name or path.name
    lines: list[str] = []
    numbers: list[int] = []
    blanks: list[int] = []
    size = 0
    number = 0
    with path.open("rb") as handle:
        for block in _iter_line_blocks(handle, name, max_line_length):
            for raw in block:
                number += 1
                if not raw.strip():
                    blanks.append(number)
                    continue
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    bad = raw[exc.start]
                    raise BAD_ENCODING.error(
                        name,
                        f"line {number}, byte {exc.start + 1}: 0x{bad:02X} is not valid {encoding}; "
                        'if the extract is Windows-1252 or Latin-1, declare encoding = "cp1252" '
                        "in the layout or pass --encoding cp1252",
                    ) from None
                lines.append(text)
                numbers.append(number)
                size += len(raw)
                if len(lines) >= chunk_lines or size >= chunk_bytes:
                    yield LineChunk(lines, numbers, tuple(blanks))
                    lines, numbers, blanks = [], [], []
                    size = 0
    if lines or blanks:
        yield LineChunk(lines, numbers, tuple(blanks))
