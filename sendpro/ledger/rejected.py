"""``sendpro rejected``: the claims MassHealth rejected, back out of the extracts they came from.

The ledger stores no member data, so it cannot give the rows back itself. It
records, per run, each input file's name, size and SHA-256 and, per encounter,
which input it came from and its physical rows there (``run_inputs``,
``encounters.input_no`` / ``input_rows``). Given the extracts, this module finds
each rejected claim's extract by content (wherever it is kept now, whatever it
is called), copies the claim's rows out in that extract's own layout (its header
row or header record first, a recomputed trailer for fixed-width layouts), and
writes a reasons CSV beside it: the claim, the file it went out in, the
acknowledgment that rejected it and why.

The claims are those :func:`sendpro.ledger.reports.status` lists as "to fix":
the latest version of the claim id in the ledger is one MassHealth rejected (a
later version, sent or held by sendpro, supersedes the rejection).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sendpro.errors import UsageError
from sendpro.flatfile.layout import Format, Layout, Role
from sendpro.flatfile.picture import decode_number
from sendpro.flatfile.rejects import RejectsWriter, trailer_amount_fields
from sendpro.flatfile.source import iter_line_chunks
from sendpro.ledger.db import REJECTED, Ledger, file_sha256
from sendpro.tempfiles import atomic_writer
from sendpro.x12.ackcodes import explain_reason

#: The reasons CSV's columns, one row per claim written.
REASON_COLUMNS = (
    "out_row",
    "claim_id",
    "claim_type",
    "input_file",
    "input_rows",
    "run",
    "submitted_file",
    "acknowledgment",
    "acknowledgment_kind",
    "reason",
)


@dataclass(frozen=True, slots=True)
class RejectedClaim:
    """A claim whose latest version MassHealth rejected, and where its rows were."""

    claim_id: str
    claim_type: str
    run_id: int
    submitted_file: str | None
    ack_name: str | None
    ack_kind: str | None
    reason: str
    input_name: str | None
    input_sha256: str | None
    rows: tuple[int, ...]


@dataclass
class RejectedResult:
    """What ``sendpro rejected`` wrote, and what it could not find."""

    claims: int = 0
    written: int = 0
    out: Path | None = None
    reasons: Path | None = None
    #: Claims whose extract was not among those given (or whose run predates input tracking): one line each.
    not_found: list[str] = field(default_factory=list)


def parse_rows(text: str | None) -> tuple[int, ...]:
    """Return the rows of ``input_rows`` text (``"11-13"``, ``"4,9,10"``, ``"7"``); empty for None."""
    if not text:
        return ()
    if "-" in text:
        first, last = text.split("-", 1)
        return tuple(range(int(first), int(last) + 1))
    return tuple(int(r) for r in text.split(","))


def find_rejected(ledger: Ledger) -> list[RejectedClaim]:
    """Return the claims to fix, in the order MassHealth rejected them (see the module docstring)."""
    found = []
    for row in ledger.query(
        "SELECT e.claim_id, e.claim_type, e.run_id, f.name, a.name, a.kind, e.status_detail, ri.name, ri.sha256, "
        "e.input_rows FROM encounters e LEFT JOIN files f ON f.id = e.file_id LEFT JOIN acks a ON a.id = e.ack_id "
        "LEFT JOIN run_inputs ri ON ri.run_id = e.run_id AND ri.position = e.input_no "
        "WHERE e.status = ? AND NOT EXISTS (SELECT 1 FROM encounters l WHERE l.claim_id = e.claim_id AND l.id > e.id) "
        "ORDER BY e.updated_at, e.id",
        (REJECTED,),
    ):
        claim_id, claim_type, run_id, submitted, ack_name, ack_kind, reason, name, sha, rows = row
        found.append(
            RejectedClaim(
                str(claim_id),
                str(claim_type),
                int(str(run_id)),
                None if submitted is None else str(submitted),
                None if ack_name is None else str(ack_name),
                None if ack_kind is None else str(ack_kind),
                str(reason or ""),
                None if name is None else str(name),
                None if sha is None else str(sha),
                parse_rows(None if rows is None else str(rows)),
            )
        )
    return found


def _sum_amounts(layout: Layout, record: str) -> dict[str, int | None]:
    """Return the cents of the fields a fixed-width trailer sums, read from one claim record (None: unreadable)."""
    claim = layout.record(Role.CLAIM)
    if claim is None:
        return {}
    start = layout.record_type_start - 1
    if record[start : start + layout.record_type_length] != claim.type:
        return {}
    amounts: dict[str, int | None] = {}
    for name in trailer_amount_fields(layout):
        spec = next((f for f in claim.fields if f.field == name), None)
        if spec is None or spec.start is None or spec.picture is None:
            continue
        text = record[spec.start - 1 : spec.end].strip()
        try:
            amounts[name] = int(decode_number(text, spec.picture) * Decimal(100)) if text else 0
        except ValueError:
            amounts[name] = None
    return amounts


def reasons_path(out: Path) -> Path:
    """Return the reasons CSV written beside ``out`` (``fix.txt`` -> ``fix.reasons.csv``)."""
    return out.with_name(f"{out.stem}.reasons.csv")


def write_rejected(
    claims: Sequence[RejectedClaim], extracts: Sequence[Path], layout: Layout, out: Path
) -> RejectedResult:
    """Copy the rows of ``claims`` out of ``extracts`` into ``out`` (in ``layout``) and its reasons CSV.

    Each extract is matched by SHA-256 against the inputs the ledger recorded.
    Only the rejected claims' rows are held, never a whole extract. Nothing is
    written when no claim is found.

    Raises:
        UsageError: the claims found come from extracts of another layout than ``layout``.
    """
    result = RejectedResult(claims=len(claims))
    by_sha: dict[str, Path] = {}
    for path in extracts:
        by_sha.setdefault(file_sha256(path), path)
    wanted: dict[Path, list[RejectedClaim]] = {}
    for claim in claims:
        held_in = by_sha.get(claim.input_sha256 or "")
        if held_in is None or not claim.rows:
            where = f"input {claim.input_name} of run {claim.run_id}" if claim.input_name else f"run {claim.run_id}"
            why = "not among the extracts given" if claim.rows else "its run recorded no input rows (an older sendpro)"
            result.not_found.append(f"claim {claim.claim_id}: {where}: {why}")
            continue
        wanted.setdefault(held_in, []).append(claim)
    if not wanted:
        return result
    # Every extract's physical lines the claims need, and its first and last line (header, trailer).
    lines: dict[Path, dict[int, str]] = {}
    edges: dict[Path, tuple[str | None, str | None]] = {}
    for path, some in wanted.items():
        need = {row for claim in some for row in claim.rows}
        got: dict[int, str] = {}
        first: str | None = None
        last: str | None = None
        for chunk in iter_line_chunks(path, layout.encoding, 10_000, str(path), max_line_length=layout.max_line_length):
            for number, text in zip(chunk.line_nos, chunk.lines, strict=True):
                if first is None:
                    first = text
                last = text
                if number in need:
                    got[number] = text
        lines[path], edges[path] = got, (first, last)
    header, trailer = _header_and_trailer(layout, edges)
    result.out, result.reasons = out, reasons_path(out)
    with atomic_writer(out, layout.encoding) as handle, atomic_writer(result.reasons) as reasons_handle:
        writer = RejectsWriter(handle, layout, header, trailer)
        reasons = csv.writer(reasons_handle, lineterminator="\n")
        reasons.writerow(REASON_COLUMNS)
        for claim in claims:
            source = by_sha.get(claim.input_sha256 or "")
            if source is None or source not in lines:
                continue
            records = [lines[source][row] for row in claim.rows if row in lines[source]]
            if len(records) != len(claim.rows):
                result.not_found.append(
                    f"claim {claim.claim_id}: {source.name} does not hold all its rows ({_shown(claim.rows)})"
                )
                continue
            at = writer.records + 1
            amounts: dict[str, int | None] = {}
            for record in records:
                for name, cents in _sum_amounts(layout, record).items():
                    so_far = amounts.get(name, 0)
                    amounts[name] = None if cents is None or so_far is None else so_far + cents
            writer.write("\n".join(records), amounts)
            reasons.writerow(
                [
                    at,
                    claim.claim_id,
                    claim.claim_type,
                    source.name,
                    _shown(claim.rows),
                    claim.run_id,
                    claim.submitted_file or "",
                    claim.ack_name or "",
                    claim.ack_kind or "",
                    explain_reason(claim.reason),
                ]
            )
            result.written += 1
        writer.close()
    return result


def _shown(rows: Sequence[int]) -> str:
    return (
        f"{rows[0]}-{rows[-1]}" if len(rows) > 1 and rows[-1] - rows[0] + 1 == len(rows) else ",".join(map(str, rows))
    )


def _header_and_trailer(
    layout: Layout, edges: dict[Path, tuple[str | None, str | None]]
) -> tuple[str | None, str | None]:
    """Return the header (row or record) and trailer record the output copies, from the first extract.

    A delimited extract's header row is its first line; a fixed-width one's header
    and trailer records are its first and last when they have those record types.

    Raises:
        UsageError: the extracts' header rows differ (another layout, or columns in another order).
    """
    firsts = {first for first, _ in edges.values()}
    first, last = next(iter(edges.values()))
    if layout.format is not Format.FIXED_WIDTH:
        if len(firsts) > 1:
            raise UsageError(
                "the extracts holding the rejected claims have different header rows; "
                "run sendpro rejected once per layout (or column order)"
            )
        return first, None
    start, length = layout.record_type_start - 1, layout.record_type_length
    header_spec, trailer_spec = layout.record(Role.HEADER), layout.record(Role.TRAILER)
    header = first if header_spec and first and first[start : start + length] == header_spec.type else None
    trailer = last if trailer_spec and last and last[start : start + length] == trailer_spec.type else None
    return header, trailer
