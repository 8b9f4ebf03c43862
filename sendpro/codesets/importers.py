"""Read the code files CMS and FDA publish (ICD-10-CM/PCS, HCPCS Level II, the NDC directory) as codes.

Each format has one reader, an iterator of :class:`ImportedCode`; nothing reads a
whole file (a HCPCS or NDC file is tens of MB). :func:`open_source` opens a
``.txt`` or the ``.zip`` CMS and FDA ship it in, :func:`detect_format` tells the
format from the first line, and :func:`iter_codes` runs the matching reader.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from sendpro.codesets.codelist import ndc11
from sendpro.errors import UsageError

#: The code sets ``sendpro codesets import`` knows how to read.
KINDS: tuple[str, ...] = ("icd10cm", "icd10pcs", "hcpcs", "ndc")


@dataclass(frozen=True, slots=True)
class ImportedCode:
    """One code read from a published file, with its own dates when the file carries them."""

    code: str
    description: str
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None


@dataclass
class ImportStats:
    """What a reader passed over, for the summary line (filled in while the reader runs)."""

    lines: int = 0
    headers: int = 0  # ICD-10 order-file header rows: not reportable codes
    modifiers: int = 0  # HCPCS modifier records left out (no --modifiers)
    continuations: int = 0  # HCPCS description continuation records


class Format(StrEnum):
    """The published file formats, by what their content looks like."""

    ICD10_ORDER = "ICD-10 order file"
    ICD10_CODES = "ICD-10 code file"
    HCPCS = "HCPCS record file"
    NDC_PACKAGE = "NDC package file"
    NDC_PRODUCT = "NDC product file"


#: Which formats each kind accepts.
FORMATS_BY_KIND: dict[str, tuple[Format, ...]] = {
    "icd10cm": (Format.ICD10_ORDER, Format.ICD10_CODES),
    "icd10pcs": (Format.ICD10_ORDER, Format.ICD10_CODES),
    "hcpcs": (Format.HCPCS,),
    "ndc": (Format.NDC_PACKAGE,),
}

#: Zip member names per kind, best first: the CMS ICD-10 zip holds both the order and the code file
#: (the same codes), so the order file wins and only two candidates of one pattern are ambiguous.
MEMBER_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "icd10cm": (re.compile(r"^icd10cm_order_\d{4}\.txt$", re.I), re.compile(r"^icd10cm_codes_\d{4}\.txt$", re.I)),
    "icd10pcs": (
        re.compile(r"^icd10pcs_order_\d{4}\.txt$", re.I),
        re.compile(r"^icd10pcs_codes_\d{4}\.txt$", re.I),
    ),
    "hcpcs": (re.compile(r"^HCPC\d{4}.*ANWEB.*\.txt$", re.I),),
    "ndc": (re.compile(r"^package\.txt$", re.I),),
}

# Codes as each kind writes them: ICD-10-CM a letter, a digit, then up to five more; ICD-10-PCS seven
# characters without I or O; HCPCS Level II a letter and four digits (modifiers two characters).
_CODE = {
    "icd10cm": re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$"),
    "icd10pcs": re.compile(r"^[0-9A-HJ-NP-Z]{7}$"),
    "hcpcs": re.compile(r"^[A-Z0-9]{5}$"),
}
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")

_ORDER_LINE = re.compile(r"^\d{5} [0-9A-Z]{3,7} {0,4} [01] ")
_CODES_LINE = re.compile(r"^([0-9A-Z]{3,7})\s+(\S.*)$")
_HCPCS_LINE = re.compile(r"^[0-9A-Z]{2,5} {0,3}\d{5}[3478]")

# HCPCS record positions (0-based slices of the 1-based columns). Code 1-5, sequence 6-10, record id 11,
# long description 12-91 as the brief gives them; the dates are confirmed by the CMS record layout
# HCPCS2016_recordlayout.txt (fields 27-29: HCPCS Code Added Date 269-276, HCPCS Action Effective Date
# 277-284, HCPCS Termination Date 285-292, all YYYYMMDD), shipped in the annual HCPCS zip.
_HC_CODE = slice(0, 5)
_HC_RECORD_ID = 10
_HC_LONG = slice(11, 91)
_HC_ADDED = slice(268, 276)
_HC_TERMINATED = slice(284, 292)


def decode(raw: bytes) -> str:
    """Return one line of text: UTF-8, else Windows-1252 (older CMS and FDA files are not UTF-8)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return text.rstrip("\r\n").lstrip("\ufeff")


@dataclass(frozen=True)
class Source:
    """A file to import: the path given, and the zip member to read (None: the path itself)."""

    path: Path
    member: str | None = None

    @property
    def name(self) -> str:
        """Return the name that says what the file is: the member's for a zip."""
        return Path(self.member).name if self.member else self.path.name

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    def lines(self) -> Iterator[str]:
        """Yield the decoded lines one by one (the file is never read whole).

        Raises:
            UsageError: the file or the zip cannot be read.
        """
        try:
            if self.member is None:
                with self.path.open("rb") as handle:
                    yield from (decode(raw) for raw in handle)
            else:
                with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as handle:
                    yield from (decode(raw) for raw in _binary_lines(handle))
        except OSError as exc:
            raise UsageError(f"{self}: cannot read it: {exc.strerror or exc}") from None
        except zipfile.BadZipFile as exc:
            raise UsageError(f"{self}: not a readable zip: {exc}") from None


def _binary_lines(handle: IO[bytes]) -> Iterator[bytes]:
    yield from handle


def open_source(path: Path, kind: str) -> Source:
    """Return the source to read: the file itself, or the member of a zip matching the kind's name patterns.

    Raises:
        UsageError: no such file; a zip with no member for the kind, or several equally good ones.
    """
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        return Source(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n]
    except zipfile.BadZipFile as exc:
        raise UsageError(f"{path}: not a readable zip: {exc}") from None
    for pattern in MEMBER_PATTERNS[kind]:
        found = [n for n in names if pattern.match(Path(n).name)]
        if len(found) == 1:
            return Source(path, found[0])
        if found:
            raise UsageError(f"{path}: several files could be the {kind} list: {', '.join(sorted(found))}; unzip one")
    shown = ", ".join(sorted(names)[:10]) or "nothing"
    raise UsageError(f"{path}: no {kind} file in the zip (it holds {shown})")


def detect_format(line: str) -> Format | None:
    """Return the format a file's first line shows, or None when it looks like none of them."""
    if "\t" in line:
        header = {h.strip().upper() for h in line.split("\t")}
        if "NDCPACKAGECODE" in header:
            return Format.NDC_PACKAGE
        if "PRODUCTNDC" in header:
            return Format.NDC_PRODUCT
        return None
    if _ORDER_LINE.match(line):
        return Format.ICD10_ORDER
    if len(line) > _HC_LONG.start and _HCPCS_LINE.match(line):
        return Format.HCPCS
    if _CODES_LINE.match(line):
        return Format.ICD10_CODES
    return None


def iter_codes(source: Source, kind: str, stats: ImportStats, modifiers: bool = False) -> Iterator[ImportedCode]:
    """Yield the codes of ``source`` read as ``kind`` (its format told from the first line).

    Raises:
        UsageError: an empty file, a format that is not the kind's, or a line that does not parse.
    """
    lines = iter(enumerate(source.lines(), start=1))
    first = next(((n, line) for n, line in lines if line.strip()), None)
    if first is None:
        raise UsageError(f"{source}: empty file, no codes in it")
    found = detect_format(first[1])
    if found is Format.NDC_PRODUCT and kind == "ndc":
        # Claims carry package NDCs (11 digits); the product file has two-segment product codes only.
        raise UsageError(
            f"{source}: this is the NDC product file (product.txt, two-segment product NDCs); "
            "claims carry package NDCs: import package.txt from the same NDC directory download"
        )
    if found is None:
        raise UsageError(f"{source} line {first[0]}: not a file sendpro can read as {kind} ({_expected(kind)})")
    if found not in FORMATS_BY_KIND[kind]:
        raise UsageError(f"{source} line {first[0]}: this looks like an {found.value}, not a {kind} file")
    rows = _chain(first, lines)
    if found is Format.ICD10_ORDER:
        yield from _icd10_order(rows, source, kind, stats)
    elif found is Format.ICD10_CODES:
        yield from _icd10_codes(rows, source, kind, stats)
    elif found is Format.HCPCS:
        yield from _hcpcs(rows, source, stats, modifiers)
    else:
        yield from _ndc_package(rows, source, stats)


def _expected(kind: str) -> str:
    return "expected: " + " or ".join(f.value for f in FORMATS_BY_KIND[kind])


def _chain(first: tuple[int, str], rest: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _check_code(code: str, kind: str, source: Source, n: int) -> str:
    if not _CODE[kind].match(code):
        raise UsageError(f"{source} line {n}: {code!r} is not an {kind} code")
    return code


def _icd10_order(
    rows: Iterable[tuple[int, str]], source: Source, kind: str, stats: ImportStats
) -> Iterator[ImportedCode]:
    """CMS order file: order number 1-5, code 7-13, header flag 15 (1 billable, 0 header), long description 78-."""
    for n, line in rows:
        if not line.strip():
            continue
        stats.lines += 1
        if not _ORDER_LINE.match(line):
            raise UsageError(f"{source} line {n}: not an ICD-10 order-file line")
        if line[14] == "0":  # a category heading (e.g. a three-character ICD-10-CM code with children)
            stats.headers += 1
            continue
        code = _check_code(line[6:13].strip(), kind, source, n)
        description = line[77:].strip() or line[16:76].strip()
        yield ImportedCode(code, description)


def _icd10_codes(
    rows: Iterable[tuple[int, str]], source: Source, kind: str, stats: ImportStats
) -> Iterator[ImportedCode]:
    """CMS code file: the code, spaces, the description; every line is a valid code."""
    for n, line in rows:
        if not line.strip():
            continue
        stats.lines += 1
        found = _CODES_LINE.match(line)
        if not found:
            raise UsageError(f"{source} line {n}: not an ICD-10 code-file line (code, spaces, description)")
        yield ImportedCode(_check_code(found.group(1), kind, source, n), found.group(2).strip())


def _yyyymmdd(text: str, source: Source, n: int, what: str) -> dt.date | None:
    text = text.strip()
    if not text or set(text) == {"0"}:
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise UsageError(f"{source} line {n}: {what} {text!r} is not a date (YYYYMMDD)") from None


def _hcpcs(
    rows: Iterable[tuple[int, str]], source: Source, stats: ImportStats, modifiers: bool
) -> Iterator[ImportedCode]:
    """CMS HCPCS record file: one code's first record (3, or 7 for a modifier) then its continuations (4, 8).

    A code is yielded once its continuations are read, so its description is whole.
    """
    pending: ImportedCode | None = None
    for n, line in rows:
        if not line.strip():
            continue
        stats.lines += 1
        if len(line) <= _HC_RECORD_ID or not _HCPCS_LINE.match(line):
            raise UsageError(f"{source} line {n}: not a HCPCS record (code 1-5, sequence 6-10, record id 11)")
        record = line[_HC_RECORD_ID]
        code = line[_HC_CODE].strip()
        text = line[_HC_LONG].strip()
        if record in "48":
            stats.continuations += 1
            if pending is not None and pending.code == code and text:
                pending = ImportedCode(
                    code, f"{pending.description} {text}", pending.effective_from, pending.effective_to
                )
            continue
        if pending is not None:
            yield pending
            pending = None
        if record == "7" and not modifiers:
            stats.modifiers += 1
            continue
        pattern = _MODIFIER if record == "7" else _CODE["hcpcs"]
        if not pattern.match(code):
            raise UsageError(f"{source} line {n}: {code!r} is not a HCPCS {'modifier' if record == '7' else 'code'}")
        pending = ImportedCode(
            code,
            text,
            _yyyymmdd(line[_HC_ADDED], source, n, "the add date"),
            _yyyymmdd(line[_HC_TERMINATED], source, n, "the termination date"),
        )
    if pending is not None:
        yield pending


def _ndc_package(rows: Iterable[tuple[int, str]], source: Source, stats: ImportStats) -> Iterator[ImportedCode]:
    """FDA NDC directory package.txt: tab-separated, header row; package codes to 11 digits, marketing dates."""
    header: list[str] = []
    for n, line in rows:
        if not header:
            header = [h.strip().upper() for h in line.split("\t")]
            missing = [c for c in ("NDCPACKAGECODE", "STARTMARKETINGDATE") if c not in header]
            if missing:
                raise UsageError(f"{source} line {n}: no {', '.join(missing)} column in the header")
            continue
        if not line.strip():
            continue
        stats.lines += 1
        cells = dict(zip(header, line.split("\t"), strict=False))
        package = cells.get("NDCPACKAGECODE", "").strip()
        code = ndc11(package)
        if not (code.isdigit() and len(code) == 11):
            raise UsageError(f"{source} line {n}: {package!r} is not a package NDC (4-4-2, 5-3-2 or 5-4-1)")
        yield ImportedCode(
            code,
            cells.get("PACKAGEDESCRIPTION", "").strip(),
            _yyyymmdd(cells.get("STARTMARKETINGDATE", ""), source, n, "STARTMARKETINGDATE"),
            _yyyymmdd(cells.get("ENDMARKETINGDATE", ""), source, n, "ENDMARKETINGDATE"),
        )
