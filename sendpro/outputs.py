"""Atomic output files: everything is written to temporary names and renamed at the end.

A run writes each output to a hidden temporary file in the output directory
(same file system, so the final rename is atomic). :meth:`OutputSet.commit`
renames them into place, ``report.json`` last, so a killed run never leaves a
file that looks complete, and a reader that sees ``report.json`` sees the whole
run. :meth:`OutputSet.abort` deletes the temporary files, and
:meth:`OutputSet.withdraw` takes back published ones when the run turns out not
to count (its ledger could not record them). Outputs a previous run listed in
its ``report.json`` that this run does not produce are removed at commit, so a
directory never mixes two runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

REPORT_NAME = "report.json"
HTML_NAME = "report.html"


class OutputSet:
    """The files of one run in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # A killed run leaves its temporaries behind; they are never valid output.
        remove_stale_temporaries(directory)
        self._temps: dict[str, Path] = {}
        self._handles: dict[str, TextIO] = {}
        self._final: dict[str, str] = {}
        #: What :meth:`commit` renamed into place, with each file's (device, inode).
        self._published: list[tuple[Path, tuple[int, int]]] = []
        self._pid = os.getpid()

    def open(self, key: str, final_name: str | None = None, encoding: str = "utf-8") -> TextIO:
        """Open a temporary file for output ``key`` (final name defaults to the key)."""
        if key in self._temps:
            raise ValueError(f"output {key} is already open")
        temp = self.directory / f".{key}.sendpro-{self._pid}.tmp"
        handle = temp.open("w", encoding=encoding, newline="\n")
        self._temps[key] = temp
        self._handles[key] = handle
        self._final[key] = final_name or key
        return handle

    def rename(self, key: str, final_name: str) -> None:
        """Change the final name of output ``key`` (known only after writing, e.g. with ISA13)."""
        self._final[key] = final_name

    def close(self, key: str) -> Path:
        """Flush, fsync and close output ``key``; return its temporary path."""
        handle = self._handles.pop(key, None)
        if handle is not None and not handle.closed:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        return self._temps[key]

    def discard(self, key: str) -> None:
        """Drop output ``key`` (it will not be published)."""
        self.close(key)
        temp = self._temps.pop(key)
        self._final.pop(key, None)
        temp.unlink(missing_ok=True)

    def temp_path(self, key: str) -> Path:
        """Return the temporary path of output ``key``."""
        return self._temps[key]

    def keys(self) -> list[str]:
        """Return the keys of the outputs still to be published."""
        return list(self._temps)

    def final_name(self, key: str) -> str:
        """Return the name output ``key`` will have."""
        return self._final[key]

    def sha256(self, key: str) -> tuple[str, int]:
        """Return the SHA-256 and size of a closed output."""
        digest = hashlib.sha256()
        size = 0
        with self._temps[key].open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        return digest.hexdigest(), size

    def commit(self) -> list[Path]:
        """Publish every output: close, rename into place (report last), drop stale ones.

        All or nothing: when a rename fails, the files already renamed are taken
        back (:meth:`withdraw`) before the error propagates, and :meth:`abort`
        deletes the rest.
        """
        for key in list(self._handles):
            self.close(key)
        produced = set(self._final.values())
        previous = previous_outputs(self.directory)
        # The old report goes first: if this commit is interrupted, no report.json
        # claims a set of files that is half old, half new.
        (self.directory / REPORT_NAME).unlink(missing_ok=True)
        for stale in previous:
            if stale not in produced and stale != REPORT_NAME:
                (self.directory / stale).unlink(missing_ok=True)
        order = sorted(self._temps, key=lambda k: self._final[k] == REPORT_NAME)
        try:
            for key in order:
                target = self.directory / self._final[key]
                stat = self._temps[key].stat()  # a rename keeps the inode: it identifies the file published
                os.replace(self._temps[key], target)
                del self._temps[key]
                self._published.append((target, (stat.st_dev, stat.st_ino)))
        except BaseException:
            self.withdraw()
            raise
        with contextlib.suppress(OSError):
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return [target for target, _ in self._published]

    def withdraw(self) -> list[Path]:
        """Take back what :meth:`commit` published (``report.json`` first); return the files removed.

        For a run that turns out not to count after its files were renamed into
        place (its ledger could not record them): a file that stayed would be
        sent, and the next run would send its claims again. A file is removed only
        while it is still the one this run renamed there (same inode).
        """
        removed: list[Path] = []
        # The report goes first, so no report.json ever lists a file that is gone.
        for target, identity in sorted(self._published, key=lambda p: p[0].name != REPORT_NAME):
            with contextlib.suppress(OSError):
                stat = target.stat()
                if (stat.st_dev, stat.st_ino) == identity:
                    target.unlink()
                    removed.append(target)
        self._published.clear()
        return removed

    def abort(self) -> None:
        """Delete every temporary file; nothing of this run is published."""
        for key in list(self._handles):
            with contextlib.suppress(OSError):
                self._handles.pop(key).close()
        for temp in self._temps.values():
            temp.unlink(missing_ok=True)
        self._temps.clear()


@dataclass(frozen=True, slots=True)
class Published:
    """What the ``report.json`` in a directory says its run published."""

    #: The run's id in its ledger (None: a run without a ledger).
    ledger_run: int | None
    started_at: str | None
    #: The names of the files it lists (never a path, never a hidden temporary), report.json included.
    files: tuple[str, ...]
    #: The SHA-256 the report gives for a file, by name (not every output has one: report.html does not).
    sha256: Mapping[str, str]


def read_published(directory: Path) -> Published | None:
    """Return what the run whose ``report.json`` is in ``directory`` published (None: no sendpro report there)."""
    try:
        data = json.loads((directory / REPORT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "sendpro_version" not in data:
        return None
    files = data.get("files", [])
    names = (
        tuple(f for f in files if isinstance(f, str) and "/" not in f and not f.startswith("."))
        if isinstance(files, list)
        else ()
    )
    digests = {}
    for entry in data.get("outputs", []) if isinstance(data.get("outputs"), list) else []:
        if isinstance(entry, dict) and entry.get("name") in names and isinstance(entry.get("sha256"), str):
            digests[str(entry["name"])] = str(entry["sha256"])
    run = data.get("ledger_run")
    started = data.get("started_at")
    return Published(
        run if isinstance(run, int) and not isinstance(run, bool) else None,
        started if isinstance(started, str) else None,
        names,
        digests,
    )


def previous_outputs(directory: Path) -> list[str]:
    """Return the names of the outputs the previous run in ``directory`` published (from its report.json)."""
    published = read_published(directory)
    return list(published.files) if published is not None else []


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete temporary outputs left by runs that died (their process is gone); return them.

    Temporary names carry the writing process id, so a live run's files are never touched.
    """
    removed = []
    for temp in directory.glob(".*.sendpro-*.tmp"):
        pid_text = temp.name.rsplit("-", 1)[-1].removesuffix(".tmp")
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or process_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            temp.unlink()
            removed.append(temp)
    return removed


def process_alive(pid: int) -> bool:
    """Return True when a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
