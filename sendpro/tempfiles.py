"""Write a file through a temporary sibling and a rename, so readers never see half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same directory, then ``os.replace``).

    Raises:
        OSError: the directory is not writable or the disk is full; no partial file is left.
    """
    with atomic_writer(path, encoding, newline="") as handle:
        handle.write(text)


@contextlib.contextmanager
def atomic_writer(path: Path, encoding: str = "utf-8", newline: str = "\n") -> Iterator[TextIO]:
    """Stream a file to ``path`` atomically: a temporary sibling, renamed into place when the block succeeds.

    Raises:
        OSError: the directory is not writable or the disk is full; no partial file is left.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as handle:
            yield handle
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_binary_writer(path: Path) -> Iterator[BinaryIO]:
    """Stream bytes to ``path`` atomically: a hidden temporary sibling, flushed to disk, renamed into place.

    The data is fsynced before the rename: a fetched response or a dropped file is
    complete or absent even after a power cut, never a prefix under the final name.

    Raises:
        OSError: the directory is not writable or the disk is full; no partial file is left.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
