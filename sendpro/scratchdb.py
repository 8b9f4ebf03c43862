"""Temporary SQLite files for a run's working state that must not live in memory.

The claim index of split claims, the run journal and the validator's set of
transaction references each grow with the input; on disk, memory stays flat.
They are scratch: no journal and no fsync (a crash loses nothing a re-run
does not rebuild), one long write transaction the owner commits when it must,
and the file deleted when its owner closes.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path


def open_scratch_db(prefix: str, schema: str, directory: Path | None = None) -> tuple[sqlite3.Connection, Path]:
    """Create a scratch database with ``schema``; return its connection (in a write transaction) and path.

    ``isolation_level=None``: the owner manages the transaction itself; one long
    write transaction keeps inserts fast.
    """
    handle = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".sqlite", dir=directory, delete=False)
    handle.close()
    path = Path(handle.name)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.executescript(schema)
    db.execute("BEGIN")
    return db, path
