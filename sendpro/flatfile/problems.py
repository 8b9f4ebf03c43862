"""Problems that make an input file unusable as a whole (exit code 2, nothing written).

These are not rules: no claim can be routed when the file itself cannot be read.
They still have stable codes, listed by ``sendpro rules``, so an analyst can look
them up. Row-level structure problems (a truncated row, an unknown record type)
are ordinary rules in :mod:`sendpro.validate.rules.structure` and only reject the
claim they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sendpro.errors import InputFileError


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A fatal input-file problem: code, dotted name and a one-line summary."""

    code: str
    name: str
    summary: str
    bad: str
    good: str

    def error(self, file: str, detail: str) -> InputFileError:
        """Return the exception to raise: ``"<file>: <detail>"`` with this code."""
        return InputFileError(f"{file}: {detail}", self.code)


EMPTY_FILE = FileProblem(
    "FF001",
    "file.empty",
    "The input file is empty.",
    bad="a zero-byte extract",
    good="an extract with a header row and data rows",
)
NO_DATA_ROWS = FileProblem(
    "FF002",
    "file.no_data_rows",
    "The input file has a header (or header/trailer records) but no data rows.",
    bad="only the header row",
    good="the header row followed by one row per service line",
)
MISSING_COLUMN = FileProblem(
    "FF003",
    "file.missing_column",
    "A column that the claims in the file require is missing from the header row.",
    bad="a header without member_dob",
    good="every column the layout requires for the file's claim types",
)
LAYOUT_MISMATCH = FileProblem(
    "FF004",
    "file.layout_mismatch",
    "The file does not look like the layout (wrong delimiter, wrong header, not a text extract).",
    bad="a comma-separated file read as mce-v1",
    good="a pipe-delimited file with the mce-v1 header",
)
BAD_ENCODING = FileProblem(
    "FF005",
    "file.encoding",
    "The file holds bytes that are not valid in the declared character encoding.",
    bad="a Windows-1252 byte 0xE9 in a UTF-8 extract",
    good='UTF-8 text, or encoding = "cp1252" in the layout',
)
TRAILER_COUNT = FileProblem(
    "FF006",
    "file.trailer_count",
    "The trailer record's record count does not match the records in the file (the file is incomplete).",
    bad="trailer count 120 with 118 records",
    good="trailer count equal to the records present",
)
TRAILER_TOTAL = FileProblem(
    "FF007",
    "file.trailer_total",
    "The trailer record's control total does not match the sum of the records.",
    bad="trailer total 1500.00 with claims summing to 1450.00",
    good="trailer total equal to the claims' sum",
)
RECORD_ORDER = FileProblem(
    "FF008",
    "file.record_order",
    "Header or trailer records are missing, repeated or out of place.",
    bad="records after the trailer",
    good="one header record first and one trailer record last",
)
CLAIM_IN_TWO_FILES = FileProblem(
    "FF009",
    "file.claim_in_two_files",
    "A claim id is in more than one input file of the run (a claim cut in two, or a file given twice).",
    bad="convert a.txt b.txt where b.txt repeats claims of a.txt",
    good="each claim's rows in one input; join the files or convert them in separate runs",
)
LINE_TOO_LONG = FileProblem(
    "FF017",
    "file.line_too_long",
    "A line is longer than the layout's max_line_length (1 MiB by default): the file has no line breaks "
    "where the layout expects them.",
    bad="a 2 GB extract without a line break after its header",
    good="one record per line, each far shorter than max_line_length, LF or CRLF line ends",
)
INPUT_CHANGED = FileProblem(
    "FF018",
    "file.changed",
    "An input file changed while sendpro read it (the extract was still being written).",
    bad="converting an extract the warehouse job is still writing",
    good="converting the extract once its job has finished (or a copy of it)",
)

FILE_PROBLEMS: tuple[FileProblem, ...] = (
    EMPTY_FILE,
    NO_DATA_ROWS,
    MISSING_COLUMN,
    LAYOUT_MISMATCH,
    BAD_ENCODING,
    TRAILER_COUNT,
    TRAILER_TOTAL,
    RECORD_ORDER,
    CLAIM_IN_TWO_FILES,
    LINE_TOO_LONG,
    INPUT_CHANGED,
)
