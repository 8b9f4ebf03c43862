"""Bounded chunks of decoded text lines from an input file.

Python splits the byte stream into lines (this is fast C code) and decodes each
chunk; polars then parses the chunk. Reading this way keeps memory bounded by the
chunk size, keeps every physical line number, keeps the raw line for the rejects
file, and lets a decoding error name the exact line and byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sendpro.flatfile.problems import BAD_ENCODING

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class LineChunk:
    """Decoded non-blank lines and their 1-based physical line numbers."""

    lines: list[str]
    line_nos: list[int]
    blank_line_nos: tuple[int, ...] = ()


def iter_line_chunks(
    path: Path, encoding: str, chunk_lines: int, display_name: str | None = None
) -> Iterator[LineChunk]:
    """Yield chunks of at most ``chunk_lines`` decoded lines.

    Line ends (LF or CRLF) are removed; a UTF-8 byte-order mark on the first line
    is dropped. Blank lines are not yielded, but their numbers are reported so the
    structure rules can warn about blank lines in the middle of a file.

    Raises:
        InputFileError: a line is not valid text in ``encoding`` (code FF005).
    """
    name = display_name or path.name
    lines: list[str] = []
    numbers: list[int] = []
    blanks: list[int] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            raw = raw.rstrip(b"\r\n")
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
            if len(lines) >= chunk_lines:
                yield LineChunk(lines, numbers, tuple(blanks))
                lines, numbers, blanks = [], [], []
    if lines or blanks:
        yield LineChunk(lines, numbers, tuple(blanks))
