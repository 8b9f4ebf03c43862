"""An on-disk index of claim runs, so split claims are grouped without unbounded memory.

Extracts are meant to be sorted by claim, but a claim whose rows appear in two
places ("runs") must still come out as one claim, never twice. The first pass
over a file records how many runs each claim id has; only ids with more than one
run need care. The second pass parks the rows of those runs here until the last
run has been read, then hands them back together. Everything lives in a
temporary SQLite file, so memory stays flat however large or unsorted the file is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from sendpro.scratchdb import open_scratch_db

_SCHEMA = """
CREATE TABLE runs (key TEXT PRIMARY KEY, n INTEGER NOT NULL, seen INTEGER NOT NULL DEFAULT 0,
    adjudication_date TEXT, first_row INTEGER) WITHOUT ROWID;
CREATE TABLE parked (key TEXT NOT NULL, line_no INTEGER NOT NULL, raw TEXT NOT NULL,
    PRIMARY KEY (key, line_no)) WITHOUT ROWID;
"""

# SQLite limits host parameters per statement; stay well below the old default 999.
_IN_CHUNK = 500


class ClaimIndex:
    """Run counts per claim id and a parking area for the rows of split claims."""

    def __init__(self, directory: Path | None = None) -> None:
        self._db, self.path = open_scratch_db("sendpro-claims-", _SCHEMA, directory)
        self._db.execute("PRAGMA cache_size = -16000")  # 16 MB, a hard bound on memory
        self._split: int | None = None

    def add_runs(self, keys: Sequence[str], facts: Sequence[tuple[str | None, int]] | None = None) -> None:
        """Record one run for each key (a key may repeat in ``keys``).

        ``facts`` gives, per key, the adjudication date (canonical text) and the
        line of the run's first row; the first run of a claim keeps them, so rules
        can look a claim up whatever its place in the file.
        """
        rows = facts or [(None, 0)] * len(keys)
        self._db.executemany(
            "INSERT INTO runs (key, n, adjudication_date, first_row) VALUES (?, 1, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET n = n + 1",
            ((k, adj, row) for k, (adj, row) in zip(keys, rows, strict=True)),
        )

    def facts(self, key: str) -> tuple[str | None, int] | None:
        """Return ``(adjudication date CCYYMMDD, first line)`` of a claim id, or None if the file lacks it."""
        row = self._db.execute("SELECT adjudication_date, first_row FROM runs WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], int(row[1] or 0))

    def iter_keys(self, chunk: int = _IN_CHUNK) -> Iterator[list[str]]:
        """Yield the claim ids of the file in chunks (in key order; memory bounded by ``chunk``)."""
        last = ""
        while True:
            rows = self._db.execute("SELECT key FROM runs WHERE key > ? ORDER BY key LIMIT ?", (last, chunk)).fetchall()
            if not rows:
                return
            keys = [str(r[0]) for r in rows]
            yield keys
            last = keys[-1]

    def first_rows(self, keys: Sequence[str]) -> dict[str, int]:
        """Return the first line of each of ``keys`` that this file holds."""
        out: dict[str, int] = {}
        for start in range(0, len(keys), _IN_CHUNK):
            part = keys[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            for key, row in self._db.execute(f"SELECT key, first_row FROM runs WHERE key IN ({marks})", part):
                out[str(key)] = int(row or 0)
        return out

    def finish_scan(self) -> tuple[int, int]:
        """End the first pass; return ``(distinct claims, claims with more than one run)``."""
        claims = self._db.execute("SELECT count(*) FROM runs").fetchone()[0]
        split = self._db.execute("SELECT count(*) FROM runs WHERE n > 1").fetchone()[0]
        self._split = int(split)
        return int(claims), int(split)

    @property
    def has_split(self) -> bool:
        """Return True when the first pass found at least one split claim."""
        return bool(self._split)

    def split_runs(self, keys: Iterable[str]) -> dict[str, int]:
        """Return ``{key: number of runs}`` for those of ``keys`` that are split."""
        if not self._split:
            return {}
        unique = list(dict.fromkeys(keys))
        found: dict[str, int] = {}
        for i in range(0, len(unique), _IN_CHUNK):
            part = unique[i : i + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT key, n FROM runs WHERE n > 1 AND key IN ({marks})", part).fetchall()
            found.update({k: int(n) for k, n in rows})
        return found

    def park(self, key: str, lines: Sequence[tuple[int, str]]) -> bool:
        """Park one run's raw lines; return True when this was the claim's last run."""
        self._db.executemany(
            "INSERT INTO parked (key, line_no, raw) VALUES (?, ?, ?)",
            ((key, no, raw) for no, raw in lines),
        )
        self._db.execute("UPDATE runs SET seen = seen + 1 WHERE key = ?", (key,))
        seen, n = self._db.execute("SELECT seen, n FROM runs WHERE key = ?", (key,)).fetchone()
        return bool(seen >= n)

    def take(self, key: str) -> list[tuple[int, str]]:
        """Return and forget the parked lines of ``key``, in line order."""
        rows = self._db.execute("SELECT line_no, raw FROM parked WHERE key = ? ORDER BY line_no", (key,)).fetchall()
        self._db.execute("DELETE FROM parked WHERE key = ?", (key,))
        return [(int(n), str(r)) for n, r in rows]

    def close(self) -> None:
        """Close and delete the index file."""
        try:
            self._db.close()
        finally:
            self.path.unlink(missing_ok=True)
