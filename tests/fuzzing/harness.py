"""sendpro's own fuzz harness: sources, mutators, the case runner and the promise checks.

Terms:

- A *source* is a valid file: a ``sendpro sample`` extract in one of the three input layouts
  (delimited ``mce-v1``, fixed-width ``mce-fw-example``, pharmacy ``mce-rx-v1``), an 837 or an
  NCPDP file converted from one, or an acknowledgment (999, 277CA, TA1) of files a ledger holds.
  :func:`make_sources` writes them once per run; :func:`load_sources` reads them back in a worker.
- A *kind* (:data:`KINDS`) says which sources a case mutates and which command it runs:
  ``convert`` (kinds ``mce``, ``fw``, ``rx``), ``validate`` (``x12``, ``ncpdp``) or ``ack``
  (``ack-999``, ``ack-277``, ``ack-ta1``).
- A *mutation* (:data:`MUTATIONS`) is one small function ``(data, rng, ctx) -> (what, new data)``
  (or None: it does not apply); the X12 ones are ``tests/x12/validator_mutations``'s file mutations.
- A *case* (:func:`draw_case`) is one mutant of one source run through one command in process
  (``sendpro.cli.main`` under click's ``CliRunner`` isolation) in its own directory. Everything
  about case ``i`` of a run comes from ``random.Random(f"{seed}/{i}")``: a seed gives the same
  cases whatever the number of workers.
- A *promise* is what must hold after every case (:func:`run_case` checks them):

  * no internal error: no ``internal error`` (nor a self-confessed ``sendpro bug``), no traceback,
    no exception out of ``main``, no self-check finding (OB001/OB002) in a report;
  * a program error (exit 2) is one readable line on stderr, and no message quotes member data;
  * ``convert``: exit 2 publishes nothing (the out directory as it was before); exit 0/1: every
    input claim is in exactly one place (an 837 / the NCPDP file, a ``rejects_*.txt``, or skipped
    as ``report.json`` says), by ``report.json``'s reconciliation and by counting claim ids and
    money in the input, the 837s (CLM01, CLM02), the NCPDP file and the rejects files;
  * ``validate``: exit 0 or 1 only; with ``--ack`` the acknowledgment written is valid X12;
  * ``ack``: exit 0 or 1 only; a refused file changes nothing in the ledger (every table compared
    before and after); a file that is taken has its whole envelope (trailers, counts, control
    numbers), as a cut acknowledgment must be refused.

A failure's *class* (:func:`failure_class`) is the kind, the exit code, the promise and the first
line of the message with paths, quoted text and digits normalised. :data:`KNOWN_FAILURES` lists
the classes that are known and being fixed; the smoke test tolerates only those.

Used by ``benchmarks/fuzz.py`` (``make fuzz``) and ``tests/fuzzing/test_fuzz_smoke.py``.
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import functools
import io
import json
import os
import random
import re
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tests.x12 import validator_mutations as vm

REPO = Path(__file__).resolve().parents[2]

# -- kinds -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of case: the command it runs, the format of its sources and its share of a run."""

    name: str
    command: str  # convert | validate | ack
    format: str  # delimited | fixed-width | x12 | ncpdp
    #: Relative share of a default run. The shares follow what a case costs (a medical convert
    #: takes 0.2-0.4 s in process, a pharmacy one or a damaged 837's validation 0.05-0.1 s, an
    #: ack a few ms), so that 100,000 cases fit in about 25 minutes on two cores; see benchmarks/fuzz.py.
    weight: float


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("mce", "convert", "delimited", 3),
        Kind("fw", "convert", "fixed-width", 1.5),
        Kind("rx", "convert", "delimited", 8),
        Kind("x12", "validate", "x12", 4.5),
        Kind("ncpdp", "validate", "ncpdp", 10),
        Kind("ack-999", "ack", "x12", 27),
        Kind("ack-277", "ack", "x12", 27),
        Kind("ack-ta1", "ack", "x12", 19),
    )
}

# -- sources -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One valid file a case starts from."""

    name: str
    kind: str
    path: Path
    #: convert: a ledger that already holds this source's claims; ack: the ledger the ack answers.
    ledger: Path | None = None
    #: Member data in the file (synthetic): no message may quote it.
    phi: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest entry."""
        return {**asdict(self), "path": str(self.path), "ledger": str(self.ledger) if self.ledger else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        """Read a manifest entry."""
        ledger = data.get("ledger")
        return cls(data["name"], data["kind"], Path(data["path"]), Path(ledger) if ledger else None, tuple(data["phi"]))


#: The samples converted for sources: (name, kind, claim types, claims, defect share, layout).
SAMPLES: tuple[tuple[str, str, str, int, float, str | None], ...] = (
    ("mce-p-5", "mce", "P", 5, 0.0, None),
    ("mce-pid-12", "mce", "P,I,D", 12, 0.0, None),
    ("mce-pid-20-defects", "mce", "P,I,D", 20, 0.4, None),
    ("mce-i-8-defects", "mce", "I", 8, 0.3, None),
    ("mce-d-6", "mce", "D", 6, 0.0, None),
    ("mce-pid-30-defects", "mce", "P,I,D", 30, 0.2, None),
    ("fw-5", "fw", "P", 5, 0.0, "mce-fw-example"),
    ("fw-15", "fw", "P", 15, 0.0, "mce-fw-example"),
    ("fw-25", "fw", "P", 25, 0.0, "mce-fw-example"),
    ("rx-5", "rx", "RX", 5, 0.0, None),
    ("rx-20-defects", "rx", "RX", 20, 0.3, None),
    ("rx-30", "rx", "RX", 30, 0.0, None),
)
#: Sources of the smoke test: one of each shape, small.
SMALL_SAMPLES = ("mce-pid-12", "mce-pid-20-defects", "fw-5", "rx-20-defects")
#: The sample whose ledger the acknowledgment sources answer.
ACK_BASE = "mce-pid-12"
#: The submitter of the bundled profile (ISA05:ISA06), as acknowledgments name it.
SENDER = ("ZZ", "PLACEHOLDER")
MANIFEST = "manifest.json"


def make_sources(work: Path, seed: int, small: bool = False) -> list[Source]:
    """Write every source under ``work/sources`` (samples, their conversions, acknowledgments); return them.

    Each sample is converted once with a ledger of its own (kept as the source's ledger, so a
    case can convert a mutant into a ledger that already holds the original claims); the 837s
    and NCPDP files of those runs are the ``x12`` and ``ncpdp`` sources, and the ledger of
    :data:`ACK_BASE` is the one the acknowledgment sources answer.
    """
    from sendpro.flatfile.layout import load_layout
    from sendpro.sample import write_sample

    src = work / "sources"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    empty = src / "sendpro.toml"
    empty.write_text("", encoding="utf-8")
    sources: list[Source] = []
    for n, (name, kind, types, claims, defects, layout) in enumerate(SAMPLES):
        if small and name not in SMALL_SAMPLES:
            continue
        path = src / f"{name}.txt"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            write_sample(
                handle,
                claims,
                types=tuple(types.split(",")),
                seed=seed * 1000 + n,
                defect_rate=defects,
                layout=load_layout(layout) if layout else None,
            )
        ledger = src / f"{name}.ledger.sqlite"
        phi = _phi_of(path, kind)
        out = src / f"{name}.out"
        rc, _, err, _ = invoke(
            ["convert", str(path), "--out", str(out), "-q", "--jobs", "1"]
            + ["--config", str(empty), "--ledger", str(ledger)]
        )
        if rc not in (0, 1):
            raise RuntimeError(f"converting the source {name} failed ({rc}): {err.strip()}")
        _settle_ledger(ledger)
        sources.append(Source(name, kind, path, ledger, phi))
        for x12 in sorted(out.glob("837*.x12")):
            sources.append(Source(f"{name}-{x12.stem}", "x12", x12, None, phi))
        if kind == "rx":
            sources.append(Source(f"{name}-post-adjudication", "ncpdp", out / "RX.ncpdp", None, phi))
            batch = src / f"{name}.batch-d0.out"
            rc, _, err, _ = invoke(
                ["convert", str(path), "--out", str(batch), "-q", "--jobs", "1", "--config", str(empty)]
                + ["--no-ledger", "--control-number", "1", "--ncpdp-profile", "batch-d0"]
            )
            if rc not in (0, 1):
                raise RuntimeError(f"converting the source {name} to batch-d0 failed ({rc}): {err.strip()}")
            sources.append(Source(f"{name}-batch-d0", "ncpdp", batch / "RX.ncpdp", None, phi))
    if not small:
        for golden in sorted((REPO / "fixtures" / "x12").glob("*/expected.x12")):
            sources.append(Source(f"golden-{golden.parent.name}", "x12", golden))
    base = next(s for s in sources if s.name == ACK_BASE)
    sources += _ack_sources(src, base)
    (src / MANIFEST).write_text(json.dumps([s.to_dict() for s in sources], indent=1), encoding="utf-8")
    return sources


def load_sources(work: Path) -> list[Source]:
    """Read the sources :func:`make_sources` wrote under ``work``."""
    return [Source.from_dict(d) for d in json.loads((work / "sources" / MANIFEST).read_text(encoding="utf-8"))]


def _settle_ledger(path: Path) -> None:
    """Fold the ledger's write-ahead log into the file, so one file copy is the whole ledger."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)


def _ack_sources(src: Path, base: Source) -> list[Source]:
    """Acknowledgments of the files the base sample's ledger holds: 999s (one rejecting), 277s, TA1s."""
    from sendpro.api import acknowledge_file
    from sendpro.x12.envelope import SequentialControlNumbers
    from tests.helpers import FIXED_NOW
    from tests.ledger.acks_builder import ClaimStatus, build_277, build_ta1

    assert base.ledger is not None
    out = src / f"{base.name}.out"
    x12s = sorted(out.glob("837*.x12"))
    found: list[Source] = []

    def ack999(x12: Path, name: str) -> None:
        path = src / f"{name}.999"
        acknowledge_file(x12, path, clock=lambda: FIXED_NOW, control=SequentialControlNumbers(9000))
        found.append(Source(name, "ack-999", path, base.ledger, base.phi))

    for x12 in x12s:
        ack999(x12, f"999-{x12.stem}")
    # A 999 that rejects a transaction set: the 837P as received with one impossible date.
    text = x12s[-1].read_text(encoding="ascii")
    broken = src / "received-837P.x12"
    broken.write_text(re.sub(r"DTP\*472\*D8\*(\d{4})", r"DTP*472*D8*1626", text, count=1), encoding="ascii")
    ack999(broken, "999-rejecting")

    claims: list[tuple[str, Decimal]] = []
    for x12 in x12s:
        x = vm.X12.parse(x12.read_text(encoding="ascii"))
        for seg in x.segments:
            parts = seg.split(x.seps.element)
            if parts[0] == "CLM":
                claims.append((parts[1], Decimal(parts[2])))
    outcomes = (("A2", "20"), ("A7", "21"), ("A1", "19"), ("A3", "21"), ("A2", "20"))
    statuses = [
        ClaimStatus(cid, *outcomes[i % len(outcomes)], charge, payer_claim_id=f"MH{i:04d}" if i % 2 else "")
        for i, (cid, charge) in enumerate(claims)
    ]
    for name, chosen, version in (
        ("277-all", statuses, "005010X214"),
        ("277-some", statuses[::3], "005010X214"),
        ("277-x364", statuses[:4], "005010X364"),
    ):
        path = src / f"{name}.277"
        path.write_text(build_277(chosen, SENDER, SENDER[1], version=version), encoding="ascii")
        found.append(Source(name, "ack-277", path, base.ledger, base.phi))
    for i, x12 in enumerate(x12s):
        isa13 = int(x12.read_text(encoding="ascii")[90:99])
        code, note = (("A", "000"), ("R", "006"), ("E", "019"))[i % 3]
        path = src / f"ta1-{x12.stem}.ta1"
        path.write_text(build_ta1(isa13, code, note, SENDER), encoding="ascii")
        found.append(Source(f"ta1-{x12.stem}-{code}", "ack-ta1", path, base.ledger, base.phi))
    return found


#: Member columns whose values no message may quote (names shorter than 4 letters are left out:
#: too likely to occur in words).
PHI_COLUMNS = ("member_id", "member_last_name", "member_first_name", "member_dob", "member_address")


def _phi_of(path: Path, kind: str) -> tuple[str, ...]:
    """Return the member data of a sample (the values of :data:`PHI_COLUMNS`)."""
    data = path.read_bytes()
    if kind == "fw":
        spec = _fw_layout_specs()["CL"]
        values = [
            ln[f.start - 1 : f.end].strip()
            for ln in _lines(data)
            if ln[:2] == "CL"
            for f in spec
            if f.field in PHI_COLUMNS
        ]
    else:
        table = Delimited.parse(data)
        idx = [table.col(c) for c in PHI_COLUMNS]
        values = [row[i] for row in table.data_rows() for i in idx if i is not None and i < len(row)]
    return tuple(sorted({v.strip() for v in values if len(v.strip()) >= 4}))


# -- running the command line in process ----------------------------------------------------------------


def invoke(argv: Sequence[str]) -> tuple[int | None, str, str, str | None]:
    """Run ``sendpro ARGV`` in process as the console script does; return (exit code, stdout, stderr, escaped).

    ``escaped`` is ``Type: message`` of an exception that got out of ``sendpro.cli.main`` (then
    the exit code is None): ``main`` turns every exception into one line, so one that escapes
    is a bug of its own.
    """
    from click.testing import CliRunner

    from sendpro.cli import main

    escaped = None
    rc: int | None = None
    with CliRunner().isolation() as (out, err, _):
        try:
            rc = main(list(argv))
        except BaseException as exc:  # noqa: B036 - the harness reports whatever escapes
            escaped = f"{type(exc).__name__}: {exc}"
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return rc, stdout, stderr, escaped


# -- mutation helpers: the shapes files are changed in ------------------------------------------------------

#: (what changed, the new file) or None: the mutation does not apply to this file.
Change = tuple[str, bytes] | None


@dataclass(frozen=True)
class Ctx:
    """What a mutation may need to know about its source (the fixed-width record layout)."""

    format: str
    fw_records: dict[str, tuple[Any, ...]] = field(default_factory=dict)


def _lines(data: bytes) -> list[str]:
    """Return the text lines of a file (UTF-8; undecodable bytes kept as surrogates)."""
    return data.decode("utf-8", "surrogateescape").split("\n")


def _join(lines: Sequence[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", "surrogateescape")


@dataclass
class Delimited:
    """A pipe-delimited file as its lines: the header first, then data rows (blank lines kept)."""

    lines: list[str]

    @classmethod
    def parse(cls, data: bytes) -> Delimited:
        """Split a file into lines (``\\r`` before a line break is kept with its line)."""
        return cls(_lines(data))

    def render(self) -> bytes:
        """Return the file's bytes."""
        return _join(self.lines)

    @property
    def header(self) -> list[str]:
        """Return the column names (as written)."""
        return self.lines[0].rstrip("\r").lstrip("\ufeff").split("|") if self.lines else []

    def col(self, name: str) -> int | None:
        """Return the position of column ``name`` (case and spaces ignored), or None."""
        names = [h.strip().lower() for h in self.header]
        return names.index(name) if name in names else None

    def row_numbers(self) -> list[int]:
        """Return the line indexes of the non-blank data rows."""
        return [i for i in range(1, len(self.lines)) if self.lines[i].strip()]

    def data_rows(self) -> list[list[str]]:
        """Return the non-blank data rows, split into values."""
        return [self.lines[i].rstrip("\r").split("|") for i in self.row_numbers()]

    def set(self, i: int, k: int, value: str) -> None:
        """Set value ``k`` of line ``i`` (padding a short row)."""
        parts = self.lines[i].rstrip("\r").split("|")
        while len(parts) <= k:
            parts.append("")
        parts[k] = value
        self.lines[i] = "|".join(parts)

    def claims(self) -> dict[str, list[int]]:
        """Return the line indexes of each claim id's rows."""
        k = self.col("mce_claim_id")
        out: dict[str, list[int]] = {}
        for i in self.row_numbers():
            parts = self.lines[i].split("|")
            cid = parts[k].strip() if k is not None and k < len(parts) else ""
            out.setdefault(cid, []).append(i)
        return out


def _fw_specs(layout: Any) -> dict[str, tuple[Any, ...]]:
    """Return the fixed-width layout's fields by record type."""
    return {r.type: r.fields for r in layout.records}


@functools.cache
def _fw_layout_specs() -> dict[str, tuple[Any, ...]]:
    """Return mce-fw-example's fields by record type (loaded once per process)."""
    from sendpro.flatfile.layout import load_layout

    return _fw_specs(load_layout("mce-fw-example"))


# -- value pools ---------------------------------------------------------------------------------------

AMOUNT_POOL = (
    "9" * 12, "9" * 20, "9" * 40, "99999999999.99", "-99999999999.99", "1e5", "1E-2", "1,000.00", "$5.00",
    "+5", " 5", "5 ", "-", ".", "-.5", "5.", "0.001", "12.345", "--5", "NaN", "inf", "0x1F", "١٢٣", "５",
    "-0.00", "00000000000000000001.00", "", "-250.00", "0",
)  # fmt: skip
DATE_POOL = (
    "00000000", "00000101", "00001231", "00010101", "20260230", "20250229", "20261301", "20260100", "20260132",
    "99999999", "99991231", "18000101", "21991231", "2026-01-01", "01/02/2026", "2026010", "202601011",
    "260101", "2026O101", " 20260101", "", "19000101", "20240229",
)  # fmt: skip
YEAR_ZERO_POOL = ("00000101", "00001231", "00000229", "00000000")
TIME_POOL = ("2460", "9999", "12:00", "123", "00000", "-100", "", "0000")
NPI_POOL = ("", "0000000000", "123456789", "12345678901", "123456789X", "1234567893", "9" * 40, " 123456789")
NUMBER_POOL = ("0", "-1", "1.5", "99999999999999999999", "1e3", "", "x", "1" * 400, "0.0001", "-0", "٣")
TEXT_POOL = (
    "", " ", "A" * 61, "A" * 500, "é", "ÉLODIE", "O'BRIEN", "A*B~C:D^E", "\u00a0", "\u200b", "\u202eRTL",
    "\U0001f600", "\t", '"', "'", "\\", "NULL", "<script>", "%s%n", "A\x01B", "\u2028", "Ａ", "ß",
)  # fmt: skip
TYPE_POOL = ("", " ", "X", "p", "RX", "PI", "P ", " P", "I", "D", "0", "é")
ID_POOL = ("", " ", "A" * 38, "A" * 39, "A" * 200, "C-1*2~3", "ÇLAIM1", "0", "NULL", "  C100  ", "C\x00100")
UNICODE_POOL = ("é", "Ω", "\u200b", "\ufeff", "\u2028", "\U0001f600", "\u202e", "Ａ", "\u0301", "\ud7ff")
#: Single bytes a byte mutation writes: NUL, CR, LF, bytes that are never UTF-8, separators, controls.
BYTE_POOL = (b"\x00", b"\r", b"\n", b"\xff", b"\x80", b"\xc3", b"|", b"~", b"*", b'"', b"\t", b" ", b"\x1a", b"\x7f")


def _column_kind(name: str) -> str:
    """Return the pool a column's values come from: type, id, date, time, amount, npi, number or text."""
    n = name.strip().lower()
    if n == "claim_type":
        return "type"
    if n in ("mce_claim_id", "original_claim_id"):
        return "id"
    if "date" in n or n in ("member_dob", "statement_from", "statement_to"):
        return "date"
    if "hour" in n:
        return "time"
    if "npi" in n:
        return "npi"
    money = ("charge", "_paid", "allowed", "amount", "_cost", "_fee", "responsibility", "gross_", "usual_")
    if any(m in n for m in money):
        return "amount"
    if n in ("units", "ndc_quantity", "quantity_dispensed", "days_supply", "fill_number", "line_number", "rx_number"):
        return "number"
    return "text"


POOLS: dict[str, tuple[str, ...]] = {
    "type": TYPE_POOL,
    "id": ID_POOL,
    "date": DATE_POOL,
    "time": TIME_POOL,
    "npi": NPI_POOL,
    "amount": AMOUNT_POOL,
    "number": NUMBER_POOL,
    "text": TEXT_POOL,
}

# -- mutations of any file (bytes) ----------------------------------------------------------------------


def flip_bit(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Flip one bit of one byte."""
    if not data:
        return None
    pos, bit = rng.randrange(len(data)), 1 << rng.randrange(8)
    return f"byte {pos} bit {bit:#04x} flipped", data[:pos] + bytes([data[pos] ^ bit]) + data[pos + 1 :]


def set_byte(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Overwrite one byte with one of :data:`BYTE_POOL` (NUL, CR, LF, 0xFF, a separator, ...)."""
    if not data:
        return None
    pos, new = rng.randrange(len(data)), rng.choice(BYTE_POOL)
    return f"byte {pos} := {new!r}", data[:pos] + new + data[pos + 1 :]


def insert_nul(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Insert one or more NUL bytes."""
    pos, n = rng.randrange(len(data) + 1), rng.choice((1, 1, 3, 100))
    return f"{n} NUL byte(s) at {pos}", data[:pos] + b"\x00" * n + data[pos:]


def insert_unicode(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Insert a non-ASCII character (UTF-8): accents, zero-width, BOM, line separator, emoji, RTL."""
    pos, char = rng.randrange(len(data) + 1), rng.choice(UNICODE_POOL)
    return f"{char!r} at byte {pos}", data[:pos] + char.encode("utf-8", "surrogatepass") + data[pos:]


def latin1_byte(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Write a Latin-1 ``é`` (0xE9, never valid UTF-8 alone) over a letter."""
    letters = [i for i, b in enumerate(data) if 65 <= b <= 90]
    if not letters:
        return None
    pos = rng.choice(letters)
    return f"byte {pos} := 0xE9", data[:pos] + b"\xe9" + data[pos + 1 :]


def truncate_bytes(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Cut the file at any byte (inside a line, a value or a UTF-8 sequence)."""
    if len(data) < 2:
        return None
    cut = rng.randrange(1, len(data))
    return f"cut after byte {cut}", data[:cut]


def truncate_lines(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Keep only the first lines (the header alone, sometimes)."""
    lines = _lines(data)
    if len(lines) < 2:
        return None
    keep = rng.randrange(1, len(lines))
    return f"only the first {keep} line(s) kept", _join(lines[:keep]) + (b"\n" if rng.random() < 0.5 else b"")


def empty_file(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Replace the file with nothing, blank lines or whitespace."""
    new = rng.choice((b"", b"\n", b"\n\n\n", b"   ", b"\r\n", b"\x00", b"\xef\xbb\xbf"))
    return f"file := {new!r}", new


def cr_only(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Use CR-only line ends (old Mac)."""
    new = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    return ("CR-only line ends", new) if new != data else None


def crlf(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Use CRLF line ends."""
    new = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return ("CRLF line ends", new) if new != data else None


def mixed_line_ends(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Use LF, CRLF and CR line ends at random, line by line."""
    lines = data.split(b"\n")
    if len(lines) < 3:
        return None
    ends = [rng.choice((b"\n", b"\r\n", b"\r")) for _ in lines[:-1]]
    return "mixed line ends", b"".join(ln + e for ln, e in zip(lines, ends, strict=False)) + lines[-1]


def blank_lines(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Insert blank (or whitespace-only) lines."""
    lines = _lines(data)
    where = sorted(rng.sample(range(len(lines) + 1), min(len(lines) + 1, rng.choice((1, 2, 5)))), reverse=True)
    blank = rng.choice(("", " ", "\t", "\r"))
    for i in where:
        lines.insert(i, blank)
    return f"{len(where)} blank line(s) {blank!r} inserted", _join(lines)


def utf8_bom(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Start the file with a UTF-8 byte-order mark (one, or two)."""
    n = rng.choice((1, 1, 2))
    return f"{n} UTF-8 BOM(s) in front", b"\xef\xbb\xbf" * n + data


def utf16(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Re-encode the file as UTF-16 (with a BOM, or little-endian without one)."""
    text = data.decode("utf-8", "replace")
    enc = rng.choice(("utf-16", "utf-16-le", "utf-16-be"))
    return f"re-encoded as {enc}", text.encode(enc)


def huge_line(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Insert one very long line, or make a line very long (64 KiB to 1 MiB; no line break in it)."""
    lines = _lines(data)
    size = rng.choice((70_000, 300_000, 1_100_000))
    fill = rng.choice(("9", "A", "|", " ", "A|"))
    body = (fill * (size // len(fill) + 1))[:size]
    i = rng.randrange(len(lines) + 1)
    if i < len(lines) and rng.random() < 0.5:
        lines[i] = lines[i] + body
        return f"line {i + 1} made {size} characters longer with {fill!r}", _join(lines)
    lines.insert(i, body)
    return f"a line of {size} x {fill!r} inserted before line {i + 1}", _join(lines)


def trailing_garbage(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Append something after the last record: DOS end-of-file, blank lines, a stray word, NULs."""
    tail = rng.choice((b"\x1a", b"\n\n\n", b"\nEOF\n", b"\x00\x00\x00\x00", b"\n \n", b"|||\n"))
    return f"{tail!r} appended", data + tail


# -- mutations of delimited extracts (mce-v1, mce-rx-v1) ------------------------------------------------------


def _cell(t: Delimited, rng: random.Random, kinds: Sequence[str] | None = None) -> tuple[int, int, str] | None:
    """Pick a data row and a column (of one of ``kinds``); return (line index, column, column name)."""
    rows = t.row_numbers()
    cols = [k for k, h in enumerate(t.header) if kinds is None or _column_kind(h) in kinds]
    if not rows or not cols:
        return None
    k = rng.choice(cols)
    return rng.choice(rows), k, t.header[k].strip()


def _set_cells(data: bytes, rng: random.Random, kinds: Sequence[str] | None, pool: Sequence[str] | None) -> Change:
    """Set one value (or the same column of a whole claim) to a value from the column's pool or ``pool``."""
    t = Delimited.parse(data)
    picked = _cell(t, rng, kinds)
    if picked is None:
        return None
    i, k, name = picked
    value = rng.choice(pool if pool is not None else POOLS[_column_kind(name)])
    rows = [i]
    if rng.random() < 0.4:  # the whole claim, so claim-level columns still agree across its rows
        rows = next((r for r in t.claims().values() if i in r), [i])
    for r in rows:
        t.set(r, k, value)
    return f"{name} := {value[:40]!r}{'...' if len(value) > 40 else ''} on line(s) {[r + 1 for r in rows]}", t.render()


def set_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set one value to one from its column's pool (dates, amounts, NPIs, ids, codes, text)."""
    return _set_cells(data, rng, None, None)


def blank_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Empty one value (a required one, often)."""
    return _set_cells(data, rng, None, ("",))


def blank_claim_type(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Empty (or blank out) the claim type of a row or a whole claim."""
    return _set_cells(data, rng, ("type",), ("", " ", "  "))


def claim_type_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set the claim type to another type, lower case, padded or unknown."""
    return _set_cells(data, rng, ("type",), TYPE_POOL)


def claim_id_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set a claim id (or original claim id) to an empty, long, odd or another claim's value."""
    t = Delimited.parse(data)
    others = tuple(c for c in t.claims() if c)
    return _set_cells(data, rng, ("id",), ID_POOL + others[:3])


def huge_number(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set an amount or a quantity to a huge number (12 to 400 digits, signed or not)."""
    n = rng.choice((12, 16, 20, 40, 400))
    value = rng.choice(("", "-")) + "9" * n + rng.choice(("", ".99", ".5"))
    return _set_cells(data, rng, ("amount", "number"), (value,))


def malformed_number(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set an amount to a malformed one (exponent, thousands separator, currency sign, two points, ...)."""
    return _set_cells(data, rng, ("amount",), AMOUNT_POOL)


def malformed_date(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set a date to an impossible, out-of-range or wrongly formatted one."""
    return _set_cells(data, rng, ("date",), DATE_POOL)


def year_zero_date(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set a date to one in year 0000 (no such year in the Gregorian calendar Python has)."""
    return _set_cells(data, rng, ("date",), YEAR_ZERO_POOL)


def unicode_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set a text value (a name, an address, a code) to non-ASCII or control characters."""
    return _set_cells(data, rng, ("text", "id"), TEXT_POOL + UNICODE_POOL)


def _edit_cell(data: bytes, rng: random.Random, edit: Callable[[str], str]) -> tuple[int, str, str, str] | None:
    """Replace one random cell's value by ``edit(value)``; return (line index, column name, new value, text)."""
    t = Delimited.parse(data)
    picked = _cell(t, rng)
    if picked is None:
        return None
    i, k, name = picked
    parts = t.lines[i].split("|")
    if k >= len(parts):
        return None
    parts[k] = edit(parts[k])
    t.lines[i] = "|".join(parts)
    return i, name, parts[k], t.render()


def separator_in_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Put a ``|`` inside a value: the row gets one column too many."""
    done = _edit_cell(data, rng, lambda v: v[: len(v) // 2] + "|" + v[len(v) // 2 :])
    if done is None:
        return None
    i, name, _, text = done
    return f"a '|' inside {name} on line {i + 1}", text


def drop_separator(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Remove one ``|`` from a row: it gets one column too few and its values shift."""
    t = Delimited.parse(data)
    rows = [i for i in t.row_numbers() if "|" in t.lines[i]]
    if not rows:
        return None
    i = rng.choice(rows)
    seps = [m.start() for m in re.finditer(r"\|", t.lines[i])]
    pos = rng.choice(seps)
    t.lines[i] = t.lines[i][:pos] + t.lines[i][pos + 1 :]
    return f"the '|' at column {pos} of line {i + 1} removed", t.render()


def quote_value(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Quote a value, or put a lone double quote in it (the layouts have no quoting)."""
    done = _edit_cell(data, rng, lambda v: rng.choice((f'"{v}"', f'"{v}', f'{v}"', '"', '""')))
    if done is None:
        return None
    i, name, value, text = done
    return f"{name} on line {i + 1} := {value[:40]!r}", text


def shuffle_rows(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Shuffle the data rows (claims split over the file)."""
    t = Delimited.parse(data)
    rows = t.row_numbers()
    if len(rows) < 2:
        return None
    values = [t.lines[i] for i in rows]
    rng.shuffle(values)
    for i, v in zip(rows, values, strict=True):
        t.lines[i] = v
    return "data rows shuffled", t.render()


def swap_rows(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Swap two data rows."""
    t = Delimited.parse(data)
    rows = t.row_numbers()
    if len(rows) < 2:
        return None
    a, b = rng.sample(rows, 2)
    t.lines[a], t.lines[b] = t.lines[b], t.lines[a]
    return f"lines {a + 1} and {b + 1} swapped", t.render()


def duplicate_row(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Copy a data row to another place (right after itself, or anywhere)."""
    t = Delimited.parse(data)
    rows = t.row_numbers()
    if not rows:
        return None
    i = rng.choice(rows)
    dst = i + 1 if rng.random() < 0.5 else rng.randrange(1, len(t.lines) + 1)
    t.lines.insert(dst, t.lines[i])
    return f"line {i + 1} copied before line {dst + 1}", t.render()


def duplicate_claim(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Repeat every row of a claim (at the end of the file, or right after it)."""
    t = Delimited.parse(data)
    claims = [rows for cid, rows in t.claims().items() if cid]
    if not claims:
        return None
    rows = rng.choice(claims)
    copy = [t.lines[i] for i in rows]
    at = rows[-1] + 1 if rng.random() < 0.5 else len(t.lines)
    if at == len(t.lines) and t.lines and t.lines[-1] == "":
        at -= 1  # before the final line break
    t.lines[at:at] = copy
    return f"the {len(rows)} row(s) of a claim repeated at line {at + 1}", t.render()


def delete_row(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Delete one data row (a service line, or a whole one-line claim)."""
    t = Delimited.parse(data)
    rows = t.row_numbers()
    if not rows:
        return None
    i = rng.choice(rows)
    del t.lines[i]
    return f"line {i + 1} deleted", t.render()


def move_row(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Move one data row elsewhere (its claim is then split)."""
    t = Delimited.parse(data)
    rows = t.row_numbers()
    if len(rows) < 2:
        return None
    i = rng.choice(rows)
    line = t.lines.pop(i)
    dst = rng.randrange(1, len(t.lines) + 1)
    t.lines.insert(dst, line)
    return f"line {i + 1} moved to line {dst + 1}", t.render()


def _typo(name: str, rng: random.Random) -> str:
    """Return ``name`` misspelt: a letter dropped, doubled or replaced, two swapped, or upper case."""
    if len(name) < 2:
        return name + "x"
    pos = rng.randrange(len(name) - 1)
    return rng.choice(
        (
            name[:pos] + name[pos + 1 :],
            name[:pos] + name[pos] + name[pos:],
            name[:pos] + name[pos + 1] + name[pos] + name[pos + 2 :],
            name[:pos] + "1" + name[pos + 1 :],
            name.upper(),
            f" {name} ",
            name + "_x",
        )
    )


def _with_header(t: Delimited, header: Sequence[str]) -> bytes:
    t.lines[0] = "|".join(header)
    return t.render()


def header_rename(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Misspell one column name (``billing_np1``), upper-case it or pad it."""
    t = Delimited.parse(data)
    header = t.header
    if not header:
        return None
    k = rng.randrange(len(header))
    new = _typo(header[k], rng)
    old, header[k] = header[k], new
    return f"column {old!r} renamed {new!r}", _with_header(t, header)


def header_drop_column(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Remove a column: from the header only (rows one value too long), or from every row."""
    t = Delimited.parse(data)
    header = t.header
    if len(header) < 2:
        return None
    k = rng.randrange(len(header))
    everywhere = rng.random() < 0.6
    name = header[k]
    if everywhere:
        for i in t.row_numbers():
            parts = t.lines[i].split("|")
            if k < len(parts):
                del parts[k]
            t.lines[i] = "|".join(parts)
    del header[k]
    return f"column {name!r} removed {'everywhere' if everywhere else 'from the header only'}", _with_header(t, header)


def header_duplicate_column(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Give two columns the same name."""
    t = Delimited.parse(data)
    header = t.header
    if len(header) < 2:
        return None
    a, b = rng.sample(range(len(header)), 2)
    old, header[b] = header[b], header[a]
    return f"column {old!r} renamed {header[a]!r} (a duplicate)", _with_header(t, header)


def header_uppercase(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Write the whole header row in upper case (``CLAIM_TYPE|MCE_CLAIM_ID|...``)."""
    t = Delimited.parse(data)
    if not t.lines:
        return None
    return "header row in upper case", _with_header(t, [h.upper() for h in t.header])


def header_reorder(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Reorder the columns consistently in every row (a valid file: columns may come in any order)."""
    t = Delimited.parse(data)
    n = len(t.header)
    if n < 2:
        return None
    order = list(range(n))
    rng.shuffle(order)
    for i in [0, *t.row_numbers()]:
        parts = t.lines[i].rstrip("\r").split("|")
        if len(parts) == n:
            t.lines[i] = "|".join(parts[j] for j in order)
    return "columns reordered in every row", t.render()


def header_extra_column(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Add a column sendpro does not know (with values, or in the header only)."""
    t = Delimited.parse(data)
    name = rng.choice(("extra_notes", "Claim Type", "", "mce_claim_id2", "é", "x" * 300))
    with_values = rng.random() < 0.6
    if with_values:
        for i in t.row_numbers():
            t.lines[i] = t.lines[i] + "|" + rng.choice(("", "X", "12.00", "é"))
    header = [*t.header, name]
    return f"column {name[:20]!r} added {'with values' if with_values else 'to the header only'}", _with_header(
        t, header
    )


def header_missing(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Delete the header row (the first data row is then read as one)."""
    lines = _lines(data)
    if len(lines) < 2:
        return None
    return "header row deleted", _join(lines[1:])


def header_only(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Keep the header row alone (a quiet fortnight: no claims)."""
    lines = _lines(data)
    return "header row only", _join(lines[:1]) + rng.choice((b"", b"\n", b"\n\n"))


def trailing_delimiter(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """End every row (and the header, sometimes) with an extra ``|``."""
    t = Delimited.parse(data)
    rows = t.row_numbers() + ([0] if rng.random() < 0.5 else [])
    for i in rows:
        t.lines[i] = t.lines[i] + "|"
    return f"a '|' at the end of {len(rows)} line(s)", t.render()


def many_columns(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Add thousands of empty unknown columns."""
    t = Delimited.parse(data)
    n = rng.choice((500, 5000))
    extra = "|".join(f"x{j}" for j in range(n))
    t.lines[0] = t.lines[0] + "|" + extra
    for i in t.row_numbers():
        t.lines[i] = t.lines[i] + "|" * n
    return f"{n} empty columns added", t.render()


# -- mutations of fixed-width extracts (mce-fw-example) ----------------------------------------------------------


def _fw_lines(data: bytes) -> list[str]:
    return _lines(data)


def _records(lines: Sequence[str], *types: str) -> list[int]:
    return [i for i, ln in enumerate(lines) if ln[:2] in types]


def _fix_trailer(lines: list[str], rng: random.Random) -> str:
    """Recompute the trailer's record count and total (two times in three); return a note for the description.

    A wrong trailer stops the run before anything is read, so most mutants get a trailer that
    agrees with them, and reach the claims.
    """
    from sendpro import overpunch

    trailers = _records(lines, "TR")
    if not trailers or rng.random() < 1 / 3:
        return ""
    records = [ln for ln in lines if ln.strip()]
    total = Decimal(0)
    for ln in lines:
        if ln[:2] == "CL":
            try:
                total += overpunch.decode(ln[429:440].strip() or "0")
            except ValueError:
                pass
    sign = "-" if total < 0 else "+"
    digits = f"{int(abs(total) * 100):012d}"
    if len(digits) > 12:
        return " (trailer total does not fit)"
    i = trailers[-1]
    tr = lines[i].ljust(40)
    lines[i] = (tr[:2] + f"{len(records):09d}" + sign + digits + tr[24:]).rstrip() if tr.strip() else tr
    lines[i] = lines[i].ljust(40)
    return " (trailer recomputed)"


def _fw_field(data: bytes, rng: random.Random, ctx: Ctx, pool_for: Callable[[Any], Sequence[str] | None]) -> Change:
    """Set one field of a CL or LN record to a value (fitted to the field's width); fix the trailer."""
    lines = _fw_lines(data)
    recs = _records(lines, "CL", "LN")
    if not recs:
        return None
    i = rng.choice(recs)
    specs = [f for f in ctx.fw_records.get(lines[i][:2], ()) if pool_for(f) is not None]
    if not specs:
        return None
    f = rng.choice(specs)
    pool = pool_for(f)
    assert pool is not None
    value = rng.choice(pool)
    fitted = value[: f.length].ljust(f.length) if rng.random() < 0.8 else value[: f.length].rjust(f.length, "0")
    line = lines[i].ljust(f.end)
    lines[i] = line[: f.start - 1] + fitted + line[f.end :]
    note = _fix_trailer(lines, rng)
    return f"{lines[i][:2]} line {i + 1} {f.field} := {fitted!r}{note}", _join(lines)


def _fw_pool(f: Any) -> tuple[str, ...]:
    pic = str(f.picture.text) if f.picture is not None else ""
    if "date" in f.field or f.field == "member_dob":
        return DATE_POOL
    if "V" in pic or "S9" in pic:
        return ("9" * 11, "0000000000{", "000000000A}", "00000000001", "-0000000001", "  12345678{", "ABCDEFGHIJK")
    return POOLS[_column_kind(f.field)]


def fw_set_field(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set one field of a claim or line record to a value from its pool (width kept)."""
    return _fw_field(data, rng, ctx, _fw_pool)


def fw_blank_field(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Blank one field of a claim or line record (width kept)."""
    return _fw_field(data, rng, ctx, lambda f: ("",))


def fw_blank_claim_type(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Blank a claim record's claim type."""
    return _fw_field(data, rng, ctx, lambda f: ("", " ") if f.field == "claim_type" else None)


def fw_year_zero_date(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set a date of a claim or line record to one in year 0000."""
    return _fw_field(data, rng, ctx, lambda f: YEAR_ZERO_POOL if "date" in f.field or f.field == "member_dob" else None)


def fw_bad_overpunch(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Make an amount's last (sign) character one that is not an overpunch."""
    lines = _fw_lines(data)
    recs = _records(lines, "CL", "LN")
    if not recs:
        return None
    i = rng.choice(recs)
    amounts = [f for f in ctx.fw_records.get(lines[i][:2], ()) if f.picture is not None and "V" in f.picture.text]
    if not amounts:
        return None
    f = rng.choice(amounts)
    char = rng.choice(("!", " ", "x", "é", "\x00", "-", "."))
    line = lines[i].ljust(f.end)
    lines[i] = line[: f.end - 1] + char + line[f.end :]
    return f"line {i + 1} {f.field} ends in {char!r}{_fix_trailer(lines, rng)}", _join(lines)


def fw_shift(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Insert or delete one character inside a record (everything after it shifts)."""
    lines = _fw_lines(data)
    recs = [i for i, ln in enumerate(lines) if len(ln) > 3]
    if not recs:
        return None
    i = rng.choice(recs)
    pos = rng.randrange(2, len(lines[i]))
    if rng.random() < 0.5:
        lines[i] = lines[i][:pos] + rng.choice((" ", "0", "X")) + lines[i][pos:]
        what = "inserted"
    else:
        lines[i] = lines[i][:pos] + lines[i][pos + 1 :]
        what = "deleted"
    return f"a character {what} at column {pos + 1} of line {i + 1}", _join(lines)


def fw_record_type(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Change a record's type: unknown, lower case, or another role (HD/TR in the middle)."""
    lines = _fw_lines(data)
    recs = [i for i, ln in enumerate(lines) if len(ln) >= 2]
    if not recs:
        return None
    i = rng.choice(recs)
    old = lines[i][:2]
    new = rng.choice([t for t in ("XX", "cl", "ln", "HD", "TR", "CL", "LN", "  ", "C") if t != old])
    lines[i] = new + lines[i][2:]
    return f"line {i + 1} record type {old!r} -> {new!r}", _join(lines)


def fw_delete_record(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Delete one record (a line, a claim's head, the header or the trailer)."""
    lines = _fw_lines(data)
    recs = [i for i, ln in enumerate(lines) if ln.strip()]
    if len(recs) < 2:
        return None
    i = rng.choice(recs)
    kind = lines[i][:2]
    del lines[i]
    return f"{kind} record at line {i + 1} deleted{_fix_trailer(lines, rng)}", _join(lines)


def fw_duplicate_record(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Repeat a record right after itself (a line twice, a claim head twice, two headers, two trailers)."""
    lines = _fw_lines(data)
    recs = [i for i, ln in enumerate(lines) if ln.strip()]
    if not recs:
        return None
    i = rng.choice(recs)
    lines.insert(i + 1, lines[i])
    return f"{lines[i][:2]} record at line {i + 1} repeated{_fix_trailer(lines, rng)}", _join(lines)


def fw_shuffle_claims(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Shuffle the records between the header and the trailer (lines leave their claims)."""
    lines = _fw_lines(data)
    body = _records(lines, "CL", "LN")
    if len(body) < 2:
        return None
    values = [lines[i] for i in body]
    rng.shuffle(values)
    for i, v in zip(body, values, strict=True):
        lines[i] = v
    return "claim and line records shuffled", _join(lines)


def fw_trailer(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Make the trailer wrong: its count, its total (sign, digits, width), or drop it."""
    lines = _fw_lines(data)
    trailers = _records(lines, "TR")
    if not trailers:
        return None
    i = trailers[-1]
    tr = lines[i].ljust(40)
    choice = rng.randrange(5)
    if choice == 0:
        lines[i] = tr[:2] + f"{int(tr[2:11] or 0) + 1:09d}" + tr[11:] if tr[2:11].isdigit() else tr
        what = "record count + 1"
    elif choice == 1:
        lines[i] = tr[:11] + rng.choice(("-", " ", "X", "+")) + tr[12:]
        what = "total's sign changed"
    elif choice == 2:
        lines[i] = tr[:12] + rng.choice(("999999999999", "            ", "00000000000A", "０００")) + tr[24:]
        what = "total's digits changed"
    elif choice == 3:
        del lines[i]
        what = "trailer deleted"
    else:
        lines[i] = tr[:2] + "         " + tr[11:]
        what = "record count blank"
    return what, _join(lines)


def fw_pad(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Shorten a record (trailing spaces cut) or lengthen it (spaces or text past its end)."""
    lines = _fw_lines(data)
    recs = [i for i, ln in enumerate(lines) if ln.strip()]
    if not recs:
        return None
    i = rng.choice(recs)
    if rng.random() < 0.5:
        lines[i] = lines[i].rstrip() if lines[i] != lines[i].rstrip() else lines[i][:-5]
        what = "shortened"
    else:
        lines[i] = lines[i] + rng.choice(("     ", "X", " " * 1000))
        what = "lengthened"
    return f"line {i + 1} {what}", _join(lines)


# -- mutations of X12 files (837s and acknowledgments) ----------------------------------------------------


def _x12_text(data: bytes) -> str:
    return data.decode("latin-1")


def x12_mutation(m: vm.Mutation) -> Callable[[bytes, random.Random, Ctx], Change]:
    """Make a harness mutation of one of ``validator_mutations``'s file mutations."""

    def mutation(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
        x = vm.X12.parse(_x12_text(data))
        if len(x.segments) < 2:
            return None
        change = m.func(x, rng)
        if change is None:
            return None
        return change[0], change[1].encode("latin-1", "replace")

    mutation.__doc__ = m.func.__doc__
    mutation.__name__ = m.name
    return mutation


def x12_huge_number(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Set an amount or a count (CLM02, SV102, AMT02, QTY02, SE01, GE01, IEA01) to a huge number."""
    x = vm.X12.parse(_x12_text(data))
    e = x.seps.element
    where = {"CLM": 2, "SV1": 2, "SV2": 3, "SV3": 2, "AMT": 2, "QTY": 2, "SE": 1, "GE": 1, "IEA": 1, "SVD": 2}
    found = [i for i, sid in enumerate(x.ids()) if sid in where]
    if not found:
        return None
    i = rng.choice(found)
    parts = x.segments[i].split(e)
    k = where[parts[0]]
    if k >= len(parts):
        return None
    value = rng.choice(("-", "")) + "9" * rng.choice((16, 19, 40, 400)) + rng.choice(("", ".99"))
    parts[k] = value
    segs = list(x.segments)
    segs[i] = e.join(parts)
    return f"segment {i + 1} {parts[0]}{k:02d} := {len(value)} characters", x.render(segs).encode("latin-1")


def x12_non_ascii(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Put a non-ASCII character (UTF-8 or a Latin-1 byte) inside an element."""
    x = vm.X12.parse(_x12_text(data))
    if len(x.segments) < 2:
        return None
    i = rng.randrange(1, len(x.segments))
    seg = x.segments[i]
    pos = rng.randrange(len(seg) + 1)
    char = rng.choice(("é", "\u00e9", "\u2028", "\U0001f600", "\x00"))
    raw = rng.random() < 0.5
    segs = list(x.segments)
    segs[i] = seg[:pos] + ("\udce9" if raw else char) + seg[pos:]
    text = x.render(segs)
    out = text.encode("latin-1", "surrogateescape") if raw else text.encode("utf-8", "surrogateescape")
    return f"segment {i + 1}: {'byte 0xE9' if raw else repr(char)} at {pos}", out


def x12_huge_segment(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Make one element very long (64 KiB to 1 MiB, no terminator in it)."""
    x = vm.X12.parse(_x12_text(data))
    if len(x.segments) < 3:
        return None
    i = rng.randrange(1, len(x.segments) - 1)
    size = rng.choice((70_000, 300_000, 1_100_000))
    segs = list(x.segments)
    segs[i] = segs[i] + x.seps.element + "A" * size
    return f"segment {i + 1}: an element of {size} characters appended", x.render(segs).encode("latin-1")


# -- mutations of NCPDP files ----------------------------------------------------------------------------


def _ncpdp_records(data: bytes) -> tuple[list[bytes], bytes]:
    """Split an NCPDP file into records and return them with the separator to join them by."""
    if data.startswith(b"\x02"):
        return data.split(b"\x03"), b"\x03"
    return data.split(b"\n"), b"\n"


def ncpdp_delete_record(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Delete one record (header, detail or trailer)."""
    recs, sep = _ncpdp_records(data)
    full = [i for i, r in enumerate(recs) if r.strip()]
    if len(full) < 2:
        return None
    i = rng.choice(full)
    del recs[i]
    return f"record {i + 1} deleted", sep.join(recs)


def ncpdp_duplicate_record(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Repeat one record right after itself."""
    recs, sep = _ncpdp_records(data)
    full = [i for i, r in enumerate(recs) if r.strip()]
    if not full:
        return None
    i = rng.choice(full)
    recs.insert(i + 1, recs[i])
    return f"record {i + 1} repeated", sep.join(recs)


def ncpdp_overwrite(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Overwrite a stretch of a record with digits, letters, spaces or a huge number (length kept)."""
    recs, sep = _ncpdp_records(data)
    full = [i for i, r in enumerate(recs) if len(r) > 12]
    if not full:
        return None
    i = rng.choice(full)
    rec = recs[i]
    start = rng.randrange(2, len(rec) - 2)
    n = min(rng.choice((1, 2, 8, 10, 40)), len(rec) - start)
    fill = rng.choice((b"9", b"A", b" ", b"0", b"{", b"}", b"-"))
    recs[i] = rec[:start] + fill * n + rec[start + n :]
    return f"record {i + 1} bytes {start}..{start + n} := {fill!r}", sep.join(recs)


def ncpdp_framing(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Break a batch file's framing: an STX or ETX dropped or doubled, or a field/segment separator."""
    positions = [i for i, b in enumerate(data) if b in (0x02, 0x03, 0x1C, 0x1D, 0x1E)]
    if not positions:
        return None
    pos = rng.choice(positions)
    if rng.random() < 0.5:
        return f"framing byte {data[pos]:#04x} at {pos} dropped", data[:pos] + data[pos + 1 :]
    return f"framing byte {data[pos]:#04x} at {pos} doubled", data[:pos] + data[pos : pos + 1] + data[pos:]


# -- the mutation registry -------------------------------------------------------------------------------

Mutator = Callable[[bytes, random.Random, Ctx], Change]


@dataclass(frozen=True)
class Mutation:
    """A named mutation and the formats it applies to (delimited, fixed-width, x12, ncpdp; ack-* by kind)."""

    name: str
    func: Mutator
    formats: frozenset[str]


def combined(data: bytes, rng: random.Random, ctx: Ctx) -> Change:
    """Two or three mutations of other kinds, one after another."""
    done: list[str] = []
    for _ in range(rng.choice((2, 2, 3))):
        m = rng.choice([m for m in mutations_for(ctx.format) if m.name != "combined"])
        change = m.func(data, rng, ctx)
        if change is not None:
            done.append(f"{m.name}: {change[0]}")
            data = change[1]
    return (" + ".join(done), data) if done else None


_ANY = frozenset(("delimited", "fixed-width", "x12", "ncpdp"))
_TEXT = frozenset(("delimited", "fixed-width"))
_DELIM = frozenset(("delimited",))
_FW = frozenset(("fixed-width",))
_X12 = frozenset(("x12",))
_NCPDP = frozenset(("ncpdp",))


def _registry() -> tuple[Mutation, ...]:
    generic = (
        flip_bit, set_byte, insert_nul, insert_unicode, latin1_byte, truncate_bytes, empty_file, cr_only, crlf,
        mixed_line_ends, utf8_bom, huge_line, trailing_garbage,
    )  # fmt: skip
    text = (truncate_lines, blank_lines, utf16)
    delimited = (
        set_value, blank_value, blank_claim_type, claim_type_value, claim_id_value, huge_number, malformed_number,
        malformed_date, year_zero_date, unicode_value, separator_in_value, drop_separator, quote_value,
        shuffle_rows, swap_rows, duplicate_row, duplicate_claim, delete_row, move_row, header_rename,
        header_drop_column, header_duplicate_column, header_uppercase, header_reorder, header_extra_column,
        header_missing, header_only, trailing_delimiter, many_columns,
    )  # fmt: skip
    fixed = (
        fw_set_field, fw_blank_field, fw_blank_claim_type, fw_year_zero_date, fw_bad_overpunch, fw_shift,
        fw_record_type, fw_delete_record, fw_duplicate_record, fw_shuffle_claims, fw_trailer, fw_pad,
    )  # fmt: skip
    x12 = (x12_huge_number, x12_non_ascii, x12_huge_segment)
    ncpdp = (ncpdp_delete_record, ncpdp_duplicate_record, ncpdp_overwrite, ncpdp_framing)
    out = [Mutation(f.__name__, f, _ANY) for f in generic]
    out += [Mutation(f.__name__, f, _TEXT) for f in text]
    out += [Mutation(f.__name__, f, _DELIM) for f in delimited]
    out += [Mutation(f.__name__, f, _FW) for f in fixed]
    out += [Mutation(f.__name__, f, _X12) for f in x12]
    out += [Mutation(f.__name__, f, _NCPDP) for f in ncpdp]
    # validator_mutations' file mutations; the 837-only ones (HL, LX, CLM) apply to 837s only.
    for m in vm.MUTATIONS:
        if m.name == "combined":
            continue
        formats = frozenset(("x12-837",)) if not m.applies("999") else frozenset(("x12", "x12-837"))
        out.append(Mutation(f"x12_{m.name}", x12_mutation(m), formats))
    out.append(Mutation("combined", combined, _ANY | {"x12-837"}))
    return tuple(out)


MUTATIONS: tuple[Mutation, ...] = _registry()


def mutations_for(fmt: str) -> list[Mutation]:
    """Return the mutations of a format (``x12-837`` is an 837: the X12 ones and the 837-only ones)."""
    if fmt == "x12-837":
        return [m for m in MUTATIONS if "x12" in m.formats or "x12-837" in m.formats]
    return [m for m in MUTATIONS if fmt in m.formats]


# -- cases ---------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One mutant of one source and how it is run."""

    seed: int
    index: int
    kind: str
    source: str
    mutation: str
    description: str
    data: bytes
    #: How the command is run: ledger mode, out directory state, --ack, --ncpdp-profile, ...
    options: dict[str, Any]

    @property
    def id(self) -> str:
        """Return ``seed/index``."""
        return f"{self.seed}/{self.index}"

    def file_name(self, sources: dict[str, Source]) -> str:
        """Return the input file's name in the case directory (the source's own name)."""
        return sources[self.source].path.name


def choose_kind(rng: random.Random, kinds: Sequence[str]) -> str:
    """Draw a kind by the weights of :data:`KINDS`."""
    return rng.choices(list(kinds), weights=[KINDS[k].weight for k in kinds])[0]


def draw_case(seed: int, index: int, kinds: Sequence[str], sources: Sequence[Source]) -> Case:
    """Return case ``index`` of a run with ``seed`` (the same case for the same arguments)."""
    rng = random.Random(f"{seed}/{index}")
    kind = choose_kind(rng, kinds)
    spec = KINDS[kind]
    pool = [s for s in sources if s.kind == kind]
    if not pool:
        raise ValueError(f"no sources of kind {kind}")
    for _ in range(30):
        source = rng.choice(pool)
        data = source.path.read_bytes()
        fmt = "x12-837" if kind == "x12" and data.startswith(b"ISA") else spec.format
        ctx = Ctx(fmt, _fw_layout_specs() if fmt == "fixed-width" else {})
        m = rng.choice(mutations_for(fmt))
        change = m.func(data, rng, ctx)
        if change is not None and change[1] != data:
            break
    else:
        m, change = MUTATIONS[0], flip_bit(data, rng, ctx)
        assert change is not None
    return Case(seed, index, kind, source.name, m.name, change[0], change[1], _options(kind, rng))


def _options(kind: str, rng: random.Random) -> dict[str, Any]:
    """Draw how a case runs its command."""
    spec = KINDS[kind]
    if spec.command == "convert":
        return {
            # none: --no-ledger; fresh: a new ledger; seen: a copy of a ledger holding the original claims
            "ledger": rng.choices(("none", "fresh", "seen"), (6, 2, 2))[0],
            # absent: the out directory does not exist; empty; stale: it holds an earlier run's files
            "out": rng.choices(("absent", "empty", "stale"), (6, 1, 3))[0],
            "layout": rng.random() < 0.25,  # --layout NAME instead of detecting it from the header
            "validate_output": rng.random() < 0.7,
            "ncpdp_profile": rng.choice(("post-adjudication", "batch-d0")) if kind == "rx" else None,
        }
    if spec.command == "validate":
        return {"ack": kind == "x12" and rng.random() < 0.5}
    return {"json": True}


# -- running a case ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A broken promise: which one, and one line saying how."""

    promise: str
    detail: str


@dataclass
class Outcome:
    """What one case did."""

    case: Case
    rc: int | None
    stdout: str
    stderr: str
    seconds: float
    failures: list[Failure] = field(default_factory=list)

    def classes(self) -> list[str]:
        """Return the failure class of each broken promise (distinct, in order)."""
        seen: list[str] = []
        for f in self.failures:
            cls = failure_class(self.case.kind, self.rc, f)
            if cls not in seen:
                seen.append(cls)
        return seen


_LAYOUTS = {"mce": "mce-v1", "fw": "mce-fw-example", "rx": "mce-rx-v1"}


def run_case(case: Case, sources: dict[str, Source], root: Path) -> Outcome:
    """Run a case in a new directory under ``root``, check every promise, remove the directory."""
    t0 = time.perf_counter()
    src = sources[case.source]
    work = Path(tempfile.mkdtemp(prefix="case-", dir=root))
    try:
        inp = work / case.file_name(sources)
        inp.write_bytes(case.data)
        command = KINDS[case.kind].command
        if command == "convert":
            outcome = _run_convert(case, src, work, inp)
        elif command == "validate":
            outcome = _run_validate(case, src, work, inp)
        else:
            outcome = _run_ack(case, src, work, inp)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcome.seconds = time.perf_counter() - t0  # the whole case: set-up, command and checks
    return outcome


def _config_file(work: Path) -> Path:
    path = work / "sendpro.toml"
    path.write_text("", encoding="utf-8")
    return path


def _run(case: Case, argv: list[str], src: Source) -> tuple[Outcome, str | None]:
    """Run the command; check the promises every command makes (no internal error, one-line errors, no PHI)."""
    t0 = time.perf_counter()
    rc, out, err, escaped = invoke(argv)
    outcome = Outcome(case, rc, out, err, time.perf_counter() - t0)
    fails = outcome.failures
    if escaped is not None:
        fails.append(Failure("uncaught exception", escaped))
    text = out + err
    if "Traceback (most recent call last)" in text:
        fails.append(Failure("traceback", _first_line(err) or _first_line(out)))
    if "internal error" in err:
        fails.append(Failure("internal error", _line_with(err, "internal error")))
    elif "sendpro bug" in err:
        fails.append(Failure("self-confessed bug", _line_with(err, "sendpro bug")))
    if rc == 2:
        lines = err.strip().splitlines()
        if len(lines) != 1:
            fails.append(Failure("not one line", f"{len(lines)} lines on stderr: {_first_line(err)}"))
        elif not lines[0].isprintable():
            fails.append(Failure("not readable", lines[0]))
    leaked = [p for p in src.phi if p in text]
    if leaked:
        fails.append(Failure("member data in a message", _line_with(text, leaked[0]).replace(leaked[0], "<PHI>")))
    return outcome, escaped


#: Promises whose failure already says the run crashed (an exit code 2 then adds nothing).
CRASHES = frozenset(("uncaught exception", "traceback", "internal error", "self-confessed bug"))


def _crashed(outcome: Outcome) -> bool:
    return any(f.promise in CRASHES for f in outcome.failures)


def _snapshot(directory: Path) -> dict[str, bytes]:
    """Return every file under ``directory`` (relative name -> content)."""
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


#: An earlier run's files in a ``stale`` out directory (they must survive a failed run unchanged).
STALE = {
    "837P.x12": b"ISA*an earlier run's 837 (not real X12)~\n",
    "report.json": b'{"status": "complete", "note": "an earlier run"}\n',
    "notes.txt": b"the analyst's own notes\n",
}


def _run_convert(case: Case, src: Source, work: Path, inp: Path) -> Outcome:
    opts = case.options
    out_dir = work / "out"
    if opts["out"] != "absent":
        out_dir.mkdir()
    if opts["out"] == "stale":
        for name, content in STALE.items():
            (out_dir / name).write_bytes(content)
    argv = ["convert", str(inp), "--out", str(out_dir), "-q", "--jobs", "1", "--config", str(_config_file(work))]
    if opts["ledger"] == "none":
        argv += ["--no-ledger", "--control-number", "1"]
    else:
        ledger = work / "ledger.sqlite"
        if opts["ledger"] == "seen" and src.ledger is not None:
            shutil.copyfile(src.ledger, ledger)
        argv += ["--ledger", str(ledger)]
    if opts["layout"]:
        argv += ["--layout", _LAYOUTS[case.kind]]
    if not opts["validate_output"]:
        argv.append("--no-validate-output")
    if opts.get("ncpdp_profile"):
        argv += ["--ncpdp-profile", opts["ncpdp_profile"]]
    before = _snapshot(out_dir)
    outcome, escaped = _run(case, argv, src)
    fails = outcome.failures
    rc = outcome.rc
    if escaped is None and rc not in (0, 1, 2):
        fails.append(Failure("exit code", f"exit {rc}"))
    after = _snapshot(out_dir)
    if rc == 2 or escaped is not None:
        new = sorted(n for n in after if n not in before)
        changed = sorted(n for n in before if after.get(n) != before[n])
        if new or changed:
            what = ", ".join(_norm_name(n) for n in new) or "-"
            fails.append(Failure("published on error", f"new: {what}; changed or gone: {', '.join(changed) or '-'}"))
        return outcome
    if rc in (0, 1):
        fails += check_convert(case.kind, rc, inp.read_bytes(), out_dir, opts)
    return outcome


def _run_validate(case: Case, src: Source, work: Path, inp: Path) -> Outcome:
    argv = ["validate", str(inp)]
    ack = work / "reply.999"
    if case.options.get("ack"):
        argv += ["--ack", str(ack)]
    outcome, escaped = _run(case, argv, src)
    if outcome.rc not in (0, 1) and not _crashed(outcome):
        outcome.failures.append(Failure("exit code", f"exit {outcome.rc}: {_first_line(outcome.stderr)}"))
    if case.options.get("ack") and outcome.rc in (0, 1):
        outcome.failures += check_ack_written(ack, outcome.stdout + outcome.stderr)
    return outcome


def _run_ack(case: Case, src: Source, work: Path, inp: Path) -> Outcome:
    assert src.ledger is not None
    ledger = work / "ledger.sqlite"
    shutil.copyfile(src.ledger, ledger)
    before = ledger_tables(ledger)
    outcome, escaped = _run(case, ["ack", str(inp), "--ledger", str(ledger), "--json"], src)
    fails = outcome.failures
    if outcome.rc not in (0, 1) and not _crashed(outcome):
        fails.append(Failure("exit code", f"exit {outcome.rc}: {_first_line(outcome.stderr)}"))
    if outcome.rc not in (0, 1):
        return outcome
    try:
        results = json.loads(outcome.stdout)
        status = results[0]["status"]
    except (ValueError, LookupError, TypeError):
        fails.append(Failure("ack output", "--json printed no result list"))
        return outcome
    after = ledger_tables(ledger)
    if status == "refused":
        changed = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
        if changed:
            fails.append(Failure("refused ack changed the ledger", f"tables changed: {', '.join(changed)}"))
        if outcome.rc != 1:
            fails.append(Failure("exit code", f"a refused file exits {outcome.rc}"))
    elif status == "ingested":
        broken = envelope_problem(case.data)
        if broken:
            fails.append(Failure("damaged ack taken", broken))
    return outcome


# -- the promises: reading outputs back -------------------------------------------------------------------


def ledger_tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every table of a SQLite ledger, its rows sorted."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()


def _same_number(a: str, b: str) -> bool:
    """Return whether two counts or control numbers agree (as numbers: ``0001`` is ``1``, ``1 `` is ``1``)."""
    a, b = a.strip(), b.strip()
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


def envelope_problem(data: bytes) -> str | None:
    """Return what is clearly wrong with an X12 file's envelope (trailers, counts, control numbers), or None.

    Used on acknowledgments that were taken: a file cut short or whose counts disagree must be
    refused. Lenient where a reader may be: numbers compare as numbers, empty segments are skipped.
    """
    x = vm.X12.parse(data.decode("latin-1"))
    e = x.seps.element
    # Whitespace and a DOS end-of-file mark (^Z) around segments are not segments.
    segs = [s.strip(" \t\r\n\x1a").split(e) for s in x.segments]
    if not segs or segs[0][0] != "ISA":
        return "no ISA first"
    starts = [i for i, p in enumerate(segs) if p[0] == "ISA"] + [len(segs)]
    for a, b in zip(starts, starts[1:], strict=False):
        problem = _interchange_problem(segs[a:b])
        if problem:
            return problem if len(starts) == 2 else f"interchange {starts.index(a) + 1}: {problem}"
    return None


def _interchange_problem(segs: list[list[str]]) -> str | None:
    """Return what is wrong with one interchange's envelope (its segments split into elements), or None.

    Empty segments (two terminators in a row) are no segments, but SE01 may count them or not.
    """
    while segs and segs[-1] == [""]:
        segs = segs[:-1]
    ids = [p[0] for p in segs]
    if ids[-1] != "IEA":
        return "the last segment is not IEA"
    isa, iea = segs[0], segs[-1]
    if len(isa) < 14 or len(iea) < 3 or not _same_number(iea[2], isa[13]):
        return "IEA02 does not match ISA13"
    groups = ids.count("GS")
    if not _same_number(iea[1], str(groups)) and not (groups == 0 and ids.count("TA1")):
        return f"IEA01 says {iea[1]!r} group(s), the file has {groups}"
    gs: list[str] | None = None
    sts = 0
    st: list[str] | None = None
    counted = empties = 0
    for p in segs[1:-1]:
        sid = p[0]
        counted += 1
        empties += p == [""]
        if sid == "GS":
            if gs is not None or st is not None:
                return "a GS inside a group"
            gs, sts = p, 0
        elif sid == "GE":
            if gs is None or st is not None:
                return "a GE outside a group or inside a transaction set"
            if len(p) < 3 or len(gs) < 7 or not _same_number(p[2], gs[6]):
                return "GE02 does not match GS06"
            if not _same_number(p[1], str(sts)):
                return f"GE01 says {p[1]!r} transaction set(s), the group has {sts}"
            gs = None
        elif sid == "ST":
            if gs is None or st is not None:
                return "an ST outside a group or inside a transaction set"
            st, sts, counted, empties = p, sts + 1, 1, 0
        elif sid == "SE":
            if st is None:
                return "an SE outside a transaction set"
            if len(p) < 3 or len(st) < 3 or not _same_number(p[2], st[2]):
                return "SE02 does not match ST02"
            if not any(_same_number(p[1], str(n)) for n in (counted, counted - empties)):
                return f"SE01 says {p[1]!r} segments, the transaction set has {counted - empties}"
            st = None
    if gs is not None or st is not None:
        return "a group or transaction set is not closed"
    return None


def check_ack_written(path: Path, said: str) -> list[Failure]:
    """The acknowledgment ``validate --ack`` wrote exists and is valid X12 (999 or TA1).

    A file no acknowledgment can be addressed to (not X12, an unreadable ISA) may get none, when
    the command says so (``PATH: not written: why``).
    """
    from sendpro.validate.pyx12_bridge import validate_x12

    if not path.exists():
        if f"{path}: not written: " in said:
            return []
        return [Failure("no ack written", "validate --ack exited 0/1 without writing the acknowledgment or saying why")]
    data = path.read_bytes()
    problem = envelope_problem(data)
    if problem:
        return [Failure("invalid ack written", problem)]
    if b"ST*999*" not in data.replace(b"\n", b""):
        return []  # a TA1 alone: its envelope is all there is to check
    try:
        issues = validate_x12(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read our own 999 is a finding
        return [Failure("invalid ack written", f"validating it raised {type(exc).__name__}: {exc}")]
    if issues:
        return [Failure("invalid ack written", f"{issues[0].code}: {issues[0].message}")]
    return []


@dataclass
class Count:
    """Claims and money counted from the files themselves (not from report.json)."""

    ids: Counter[str] = field(default_factory=Counter)
    charge: int = 0
    paid: int = 0
    #: Money that could not be read (then the money is not compared).
    unreadable: bool = False


_AMOUNT = re.compile(r"-?[0-9]{1,11}(\.[0-9]{0,2})?")


def _cents(text: str, count: Count) -> int:
    """Return an amount in cents (0 for an empty value).

    A value that is not an amount by the layout contract (``1e5``, ``$5.00``, 12 digits or more)
    makes the side's money unreadable, so it is not compared: the medical reconciliation counts
    such a value as nothing, the pharmacy one reads some of them (``$5.00`` as 5.00).
    """
    t = text.strip()
    if not t:
        return 0
    if not _AMOUNT.fullmatch(t):
        count.unreadable = True
        return 0
    return int((Decimal(t) * 100).to_integral_value())


def count_delimited(data: bytes, charge_col: str, paid_col: str, rows_are_claims: bool) -> Count:
    """Count the claims (distinct claim ids; every row for pharmacy) and their money in a delimited file."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    # Blank lines are no rows (also before the header); a CR before a line break is no data.
    t = Delimited([ln for ln in (x.rstrip("\r") for x in text.split("\n")) if ln.strip()])
    k = t.col("mce_claim_id")
    kc, kp = t.col(charge_col), t.col(paid_col)
    c = Count()
    seen: set[str] = set()
    for row in t.data_rows():
        cid = row[k].strip() if k is not None and k < len(row) else ""
        if not rows_are_claims and cid in seen:
            continue
        seen.add(cid)
        c.ids[cid] += 1
        c.charge += _cents(row[kc], c) if kc is not None and kc < len(row) else 0
        c.paid += _cents(row[kp], c) if kp is not None and kp < len(row) else 0
    return c


def _zoned_cents(raw: str, count: Count) -> int:
    """Return a fixed-width amount in cents: blank is absent (0), leading blanks are zeros, anything else 0."""
    from sendpro import overpunch

    if not raw.strip():
        return 0
    if "." in raw:
        count.unreadable = True  # an explicit point: read as a plain decimal, not compared here
        return 0
    body = raw.lstrip(" ")
    try:
        return int(overpunch.decode("0" * (len(raw) - len(body)) + body) * 100)
    except (ValueError, InvalidOperation):
        return 0  # not an amount: the reconciliation counts it as nothing, as for a delimited file


#: The length of an mce-fw-example claim record.
FW_CLAIM_LENGTH = 451


def count_fixed_width(data: bytes) -> Count:
    """Count the claims and their money in an mce-fw-example file.

    A claim starts at every ``CL`` record (of any length) and at every record of an unknown
    type that has a claim record's length (451: a claim record whose type was damaged). Its key
    is the claim id at 3-22; records before the first start are one claim without an id; two
    starts with one id are one claim (sendpro regroups a split claim). The money of a claim
    record of the wrong length is not compared (sendpro does not trust its values).
    """
    c = Count()
    text = data.decode("utf-8", "replace").removeprefix("\ufeff")  # a BOM is tolerated
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip()]
    records = [ln for ln in lines if ln[:2] not in ("HD", "TR")]
    starts = [ln[:2] == "CL" or (ln[:2] != "LN" and len(ln) == FW_CLAIM_LENGTH) for ln in records]
    if records and not starts[0]:
        c.ids[""] += 1
    for ln, start in zip(records, starts, strict=True):
        if not start:
            continue
        cid = ln[2:22].strip()
        if cid in c.ids:
            continue
        c.ids[cid] += 1
        if len(ln) != FW_CLAIM_LENGTH:
            c.unreadable = True
        c.charge += _zoned_cents(ln[429:440], c)
        c.paid += _zoned_cents(ln[440:451], c)
    return c


def count_837(path: Path) -> Count:
    """Count the claims of an 837: CLM01 ids, CLM02 charges."""
    x = vm.X12.parse(path.read_text(encoding="latin-1"))
    c = Count()
    for seg in x.segments:
        parts = seg.split(x.seps.element)
        if parts[0] == "CLM" and len(parts) > 2:
            c.ids[parts[1]] += 1
            try:
                c.charge += int(Decimal(parts[2]) * 100)
            except InvalidOperation:
                c.unreadable = True
    return c


def count_ncpdp(path: Path, profile: str) -> Count:
    """Count the claims of an NCPDP file: post-adjudication detail records, or batch-d0's cross-reference."""
    c = Count()
    if profile == "batch-d0":
        xref = path.with_name(path.stem + ".xref.csv")
        if xref.exists():
            for row in csv.DictReader(io.StringIO(xref.read_text(encoding="utf-8"))):
                c.ids[row["mce_claim_id"]] += 1
        c.unreadable = True  # D.0 money sits in segments; report.json's identity is checked instead
        return c
    from sendpro import overpunch

    for ln in path.read_text(encoding="ascii", errors="replace").split("\n"):
        if ln[:2] != "DT":
            continue
        c.ids[ln[4:42].strip()] += 1
        for attr, raw in (("charge", ln[342:352]), ("paid", ln[352:362])):
            try:
                setattr(c, attr, getattr(c, attr) + int(overpunch.decode(raw) * 100))
            except (ValueError, InvalidOperation):
                c.unreadable = True
    return c


def _money(text: Any) -> int:
    return int(Decimal(str(text)) * 100)


def check_convert(kind: str, rc: int, data: bytes, out: Path, opts: dict[str, Any]) -> list[Failure]:
    """Every input claim in exactly one place; report.json's reconciliation and our own count agree."""
    fails: list[Failure] = []
    report_path = out / "report.json"
    if not report_path.exists():
        return [Failure("no report", "exit 0/1 without report.json")]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("exit_code") != rc:
        fails.append(Failure("exit code", f"exit {rc}, report.json says {report.get('exit_code')}"))
    if report.get("status") != "complete":
        fails.append(Failure("report status", f"exit {rc} with status {report.get('status')}"))
    by_code = report.get("issues", {}).get("by_code", {})
    for code in ("OB001", "OB002"):
        if by_code.get(code):
            fails.append(Failure("self-check finding", f"{code}: claim(s) held back (a sendpro bug)"))
    rec = report.get("reconciliation", {})
    if "all" not in rec:
        return [*fails, Failure("no reconciliation", "report.json has no reconciliation")]
    for bucket, r in rec.items():
        if not r.get("balanced"):
            fails.append(Failure("not balanced", f"{bucket}: report.json says not balanced"))
        for what, conv in (("claims", int), ("total_charge", _money), ("total_paid", _money)):
            sides = [conv(r[s][what]) for s in ("input", "accepted", "rejected", "skipped")]
            if sides[0] != sum(sides[1:]):
                fails.append(Failure("not balanced", f"{bucket} {what}: input != accepted + rejected + skipped"))
    overall = rec["all"]
    # Our own count, from the files.
    rows_are_claims = kind == "rx"
    if kind == "fw":
        inp = count_fixed_width(data)
        rejects = [count_fixed_width(p.read_bytes()) for p in sorted(out.glob("rejects_*.txt"))]
    else:
        charge, paid = ("gross_amount_due", "total_amount_paid") if kind == "rx" else ("total_charge", "total_paid")
        inp = count_delimited(data, charge, paid, rows_are_claims)
        rejects = [count_delimited(p.read_bytes(), charge, paid, rows_are_claims) for p in out.glob("rejects_*.txt")]
    if kind == "rx":
        accepted = [count_ncpdp(p, opts.get("ncpdp_profile") or "") for p in out.glob("*.ncpdp")]
    else:
        # A stale out directory's old 837P.x12 is not this run's output unless the run replaced it.
        accepted = [count_837(p) for p in sorted(out.glob("*.x12")) if p.read_bytes() != STALE.get(p.name)]
    acc_ids: Counter[str] = sum((c.ids for c in accepted), Counter())
    rej_ids: Counter[str] = sum((c.ids for c in rejects), Counter())
    skipped = int(overall["skipped"]["claims"])
    n_in, n_acc, n_rej = sum(inp.ids.values()), sum(acc_ids.values()), sum(rej_ids.values())
    strangers = (acc_ids + rej_ids) - inp.ids
    if strangers:
        fails.append(Failure("claims from nowhere", f"{sum(strangers.values())} claim(s) out that were not in"))
    if not rows_are_claims:
        twice = [c for c, n in (acc_ids + rej_ids).items() if n > 1]
        if twice:
            fails.append(Failure("claim in two places", f"{len(twice)} claim id(s) written more than once"))
    if n_acc + n_rej + skipped != n_in:
        fails.append(
            Failure("claims unaccounted", f"in {n_in}, accepted {n_acc} + rejected {n_rej} + skipped {skipped}")
        )
    for side, mine in (("input", n_in), ("accepted", n_acc), ("rejected", n_rej)):
        if int(overall[side]["claims"]) != mine:
            fails.append(
                Failure("report disagrees", f"{side} claims: report.json {overall[side]['claims']}, the files {mine}")
            )
    money = [("input", [inp]), ("rejected", rejects), ("accepted", accepted)]
    for side, counts in money:
        if any(c.unreadable for c in counts):
            continue
        for what, attr in (("total_charge", "charge"), ("total_paid", "paid")):
            if side == "accepted" and attr == "paid" and kind != "rx":
                continue  # an 837 carries the paid amount per payer loop, not once per claim
            mine = sum(getattr(c, attr) for c in counts)
            if _money(overall[side][what]) != mine:
                theirs = overall[side][what]
                fails.append(
                    Failure("report disagrees", f"{side} {what}: report.json {theirs}, the files {mine / 100:.2f}")
                )
    return fails


# -- failure classes ---------------------------------------------------------------------------------------------

_PATH = re.compile(r"(?:/[^\s:;,'\"()]+)+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_DIGITS = re.compile(r"\d+")


def normalise(line: str) -> str:
    """Return a message line with paths, quoted text and digits replaced, so alike failures share a class."""
    line = _PATH.sub("<path>", line)
    line = _QUOTED.sub("'…'", line)
    line = _DIGITS.sub("N", line)
    return re.sub(r"\s+", " ", line).strip()[:160]


def _norm_name(name: str) -> str:
    return _DIGITS.sub("N", name)


#: Promises whose message goes on with the data it should not show: their class keeps its start only.
_SHORT_CLASS = frozenset(("member data in a message", "not one line", "not readable"))


def failure_class(kind: str, rc: int | None, failure: Failure) -> str:
    """Return the class of a failure: kind, exit code, promise and its normalised first line."""
    detail = normalise(failure.detail)
    if failure.promise in _SHORT_CLASS:
        detail = detail[:72]
    return f"{kind} | exit {rc} | {failure.promise}: {detail}"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _line_with(text: str, needle: str) -> str:
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return _first_line(text)


# -- known failures --------------------------------------------------------------------------------------------

#: Failure classes that are known and being fixed right now, as (kinds, regular
#: expression searched in the class, why). ``kinds`` is a glob (``ack-*``). The smoke test
#: tolerates these and fails on any other broken promise; ``make fuzz`` marks them "known" but
#: still exits 1. EMPTY THIS LIST as the fixes land (the smoke test warns about an entry none
#: of its cases matched: fixed, or too rare for 300 cases; ``make fuzz`` tells which).
KNOWN_FAILURES: tuple[tuple[str, str, str], ...] = ()


def known(cls: str) -> str | None:
    """Return why a failure class is known (an entry of :data:`KNOWN_FAILURES`), or None."""
    kind = cls.split(" | ", 1)[0]
    for kinds, pattern, why in KNOWN_FAILURES:
        if fnmatch.fnmatchcase(kind, kinds) and re.search(pattern, cls):
            return why
    return None


# -- keeping failing cases -----------------------------------------------------------------------------------


def keep_case(outcome: Outcome, sources: dict[str, Source], keep: Path, per_class: int) -> Path | None:
    """Write a failing case for replay under ``keep/<class>/case-<seed>-<index>/``; return its directory.

    The directory holds the input (under its source's name), ``case.json`` (the case, its
    options, the exit code, stderr and the broken promises) and, for a case that used one,
    the ledger as it was before the run. At most ``per_class`` cases are kept per class (0: all).
    """
    cls = outcome.classes()[0]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", cls).strip("-")[:90]
    class_dir = keep / slug
    if per_class and class_dir.exists() and len(list(class_dir.iterdir())) >= per_class:
        return None
    case = outcome.case
    where = class_dir / f"case-{case.seed}-{case.index}"
    where.mkdir(parents=True, exist_ok=True)
    (where / case.file_name(sources)).write_bytes(case.data)
    src = sources[case.source]
    uses_ledger = KINDS[case.kind].command == "ack" or case.options.get("ledger") == "seen"
    if uses_ledger and src.ledger is not None:
        shutil.copyfile(src.ledger, where / "ledger.sqlite")
    info = {
        "seed": case.seed,
        "index": case.index,
        "kind": case.kind,
        "source": case.source,
        "file": case.file_name(sources),
        "mutation": case.mutation,
        "description": case.description,
        "options": case.options,
        "exit_code": outcome.rc,
        "stderr": outcome.stderr[-4000:],
        "classes": outcome.classes(),
        "failures": [asdict(f) for f in outcome.failures],
        "replay": f".venv/bin/python benchmarks/fuzz.py --replay {where}",
    }
    (where / "case.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return where


def replay_case(where: Path, root: Path) -> Outcome:
    """Run a kept case again (its input, options and ledger as kept) and check the promises."""
    info = json.loads((where / "case.json").read_text(encoding="utf-8"))
    data = (where / info["file"]).read_bytes()
    case = Case(
        info["seed"], info["index"], info["kind"], info["source"], info["mutation"], info["description"], data,
        info["options"],
    )  # fmt: skip
    ledger = where / "ledger.sqlite"
    source = Source(info["source"], info["kind"], where / info["file"], ledger if ledger.exists() else None)
    return run_case(case, {source.name: source}, root)


# -- a run --------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a run (or a chunk of one) found: cases and seconds per kind, failures per class with an example."""

    cases: Counter[str] = field(default_factory=Counter)
    exits: Counter[tuple[str, str]] = field(default_factory=Counter)
    failing: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    mutations: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)
    #: Per class: the first case (its id, source, mutation and description) and where it was kept.
    examples: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, outcome: Outcome, kept: Path | None = None) -> None:
        """Count one case."""
        case = outcome.case
        self.cases[case.kind] += 1
        self.exits[(case.kind, str(outcome.rc))] += 1
        self.seconds[case.kind] = self.seconds.get(case.kind, 0.0) + outcome.seconds
        self.mutations[case.mutation] += 1
        classes = outcome.classes()
        if classes:
            self.failing[case.kind] += 1
        for cls in classes:
            self.classes[cls] += 1
            if cls not in self.examples or (kept is not None and not self.examples[cls].get("kept")):
                self.examples[cls] = {
                    "case": case.id,
                    "source": case.source,
                    "mutation": f"{case.mutation}: {case.description}"[:200],
                    "kept": str(kept) if kept is not None else "",
                }

    def merge(self, other: Tally) -> None:
        """Add another tally's counts."""
        for name in ("cases", "exits", "failing", "mutations", "classes"):
            getattr(self, name).update(getattr(other, name))
        for kind, s in other.seconds.items():
            self.seconds[kind] = self.seconds.get(kind, 0.0) + s
        for cls, ex in other.examples.items():
            if cls not in self.examples or (ex.get("kept") and not self.examples[cls].get("kept")):
                self.examples[cls] = ex


def run_cases(
    seed: int,
    indexes: Sequence[int],
    kinds: Sequence[str],
    sources: Sequence[Source],
    root: Path,
    keep: Path | None = None,
    per_class: int = 25,
) -> Tally:
    """Draw and run the cases ``indexes`` of a run; return their tally (failing cases kept under ``keep``)."""
    by_name = {s.name: s for s in sources}
    tally = Tally()
    for i in indexes:
        outcome = run_case(draw_case(seed, i, kinds, sources), by_name, root)
        kept = keep_case(outcome, by_name, keep, per_class) if keep is not None and outcome.failures else None
        tally.add(outcome, kept)
    return tally


def iter_chunks(total: int, size: int) -> Iterator[range]:
    """Split case numbers 0..total-1 into ranges of ``size``."""
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


def quiet_environment() -> None:
    """Make sendpro print what it prints for a user: no traceback on request, no injected faults."""
    os.environ.pop("SENDPRO_DEBUG", None)
    os.environ.pop("SENDPRO_FAULT_POINT", None)


@contextlib.contextmanager
def worker_session(fresh_maps: bool = False) -> Iterator[None]:
    """Run cases in this process: a quiet environment and, unless ``fresh_maps``, pyx12's maps loaded once.

    pyx12 parses its XML maps on every file it reads; a damaged 837 is diagnosed by pyx12, which
    then costs about half a second a case. The bridge's ``maps_loaded_once`` lends the loaded maps
    to later runs with the same findings (``validator_mutations.cached_pyx12_maps``, as
    ``benchmarks/fuzz_validator.py`` does).
    """
    quiet_environment()
    if fresh_maps:
        yield
        return
    with vm.cached_pyx12_maps():
        yield
