"""Output validation overlapped with writing (``--jobs N``, the compiled validator).

An 837 is validated after it is closed, as one file, in one process: at a
million claims that is a fifth of the run. With worker processes the writer
hands each transaction set to a worker as soon as its SE is written, and the
worker validates it as a file of its own: the interchange's own ISA and GS, the
set, and a GE and IEA for one set (:func:`check_fragment`, through the same
``check_x12`` as the whole file).

The answer is used only when it is certainly the whole file's
(:meth:`FragmentChecks.clean`): every set clean, the sets tiling the file from
the GS to the trailer byte for byte, the trailer the one the writer writes for
that many sets, and no ST02 twice (pyx12 checks that across the file). Anything
else — a finding in any set, a worker that failed — and the selfcheck validates
the whole file as before, so findings are always the whole file's.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from sendpro.validate.pyx12_bridge import validate_x12


@dataclass(frozen=True)
class Fragment:
    """One transaction set of an output being written: where it is, and how to close it as a file."""

    path: Path
    head_end: int
    start: int
    end: int
    #: The GE and IEA for one transaction set, as the writer writes them.
    trailer: str
    map_dir: Path
    label: str
    temp_dir: Path | None = None


@dataclass(frozen=True)
class FragmentResult:
    """A fragment's verdict and its first segment's elements (its ST, as written)."""

    clean: bool
    st: tuple[str, ...]


def check_fragment(fragment: Fragment) -> FragmentResult:
    """Validate one transaction set as a file of its own (runs in a worker)."""
    with fragment.path.open("rb") as handle:
        head = handle.read(fragment.head_end)
        handle.seek(fragment.start)
        body = handle.read(fragment.end - fragment.start)
    fd, name = tempfile.mkstemp(prefix=".sendpro-set-", suffix=".x12", dir=fragment.temp_dir)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head + body + fragment.trailer.encode("ascii"))
        clean = not validate_x12(temp, fragment.map_dir, fragment.label, "compiled")
    finally:
        temp.unlink(missing_ok=True)
    return FragmentResult(clean, _first_segment(head, body))


def _first_segment(head: bytes, body: bytes) -> tuple[str, ...]:
    """Return the elements of ``body``'s first segment, split with the ISA's separators."""
    if len(head) < 106:
        return ()
    element, terminator = head[3:4], head[105:106]
    first = body.split(terminator, 1)[0].strip(b"\r\n").split(element)
    return tuple(e.decode("ascii", "replace") for e in first)


@dataclass
class FragmentChecks:
    """The checks of one output's transaction sets, submitted as they are written.

    ``submit`` hands a fragment to a worker; at most ``limit`` wait at a time, so
    memory stays bounded when validation is slower than writing.
    """

    submit: Callable[[Fragment], Future[FragmentResult]]
    limit: int
    spans: list[tuple[int, int]] = field(default_factory=list)
    results: list[FragmentResult] = field(default_factory=list)
    _pending: deque[Future[FragmentResult]] = field(default_factory=deque)
    failed: bool = False

    def add(self, fragment: Fragment) -> None:
        """Submit one transaction set; wait for the oldest when too many are in flight."""
        self.spans.append((fragment.start, fragment.end))
        try:
            self._pending.append(self.submit(fragment))
        except RuntimeError:  # the pool is shutting down: the whole file will be validated
            self.failed = True
            return
        while len(self._pending) > self.limit:
            self._collect(self._pending.popleft())

    def _collect(self, future: Future[FragmentResult]) -> None:
        try:
            self.results.append(future.result())
        except Exception:  # a worker that failed proves nothing: validate the whole file
            self.failed = True

    def clean(self, path: Path, head_end: int, trailer: str, version: str) -> bool:
        """Return True when the written file at ``path`` is certainly valid (see the module docstring).

        ``trailer`` is the GE and IEA the writer wrote for all its sets, ``version``
        its guide (ST03): a set that names another transaction or guide is checked
        by another map alone than in its file, so the whole file is validated then.
        """
        while self._pending:
            self._collect(self._pending.popleft())
        if self.failed or not self.spans or not all(r.clean for r in self.results):
            return False
        if any(r.st[:1] != ("ST",) or len(r.st) != 4 or (r.st[1], r.st[3]) != ("837", version) for r in self.results):
            return False
        st02s = [r.st[2] for r in self.results]
        if len(set(st02s)) != len(st02s):
            return False
        at = head_end
        for start, end in self.spans:
            if start != at:
                return False
            at = end
        with path.open("rb") as handle:
            handle.seek(at)
            rest = handle.read(len(trailer) + 1)
        return rest == trailer.encode("ascii")
