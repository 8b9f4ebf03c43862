"""Code lists that ship in maintained Python packages, used when the configuration names none.

ICD-10-CM is public domain (CDC/CMS) and the ``simple-icd-10-cm`` package (MIT)
ships a release of it as package data: a code list (every chapter, block,
category, subcategory and code with its seventh-character extensions) named
after its release, ``code-list-<Month>-<Year>.txt``, and the tabular XML. sendpro
reads the code list file, not the package's module: importing the module parses
the tabular XML (about 3.5 s on the project's machine, on every run), while the
list alone reads in a tenth of that. The package's own ``is_leaf`` is the
reference; a test checks that the two give the same codes.

Claims carry reportable codes only, the leaves of the classification: a
category with subcategories (``J06`` when ``J06.9`` exists) is not a code a
claim may carry, so the list is the codes no other code of the release extends.
Chapters (``1``) and blocks (``A00-A09``) are never codes.

The release's own dates are not applied: a packaged list is one release, and
dating it would leave claims outside its six months unchecked. A configured
list (``[codesets] icd10cm``, one or more dated releases) always wins.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sendpro.codesets.codelist import CodeList

#: The distribution and import names of the ICD-10-CM package.
ICD10CM_DISTRIBUTION = "simple-icd-10-cm"
ICD10CM_PACKAGE = "simple_icd_10_cm"

# A code as the list writes it, without the dot: a letter, a digit, then 1 to 5 more (3 to 7 characters).
_CODE = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
_LIST_FILE = re.compile(r"code-list-(?P<month>[A-Za-z]+)-(?P<year>\d{4})\.txt")


@dataclass(frozen=True)
class PackagedRelease:
    """A code list found in an installed package: the codes, the release they are from, and where."""

    codes: list[str]
    release: str  # e.g. "April 2026"
    source: str  # e.g. "simple-icd-10-cm 1.5.0 (code-list-April-2026.txt)"

    def code_list(self) -> CodeList:
        """Return the release as an undated :class:`CodeList`."""
        return CodeList(self.source, f"ICD-10-CM {self.release}", groups={(None, None): self.codes})


def reportable_codes(entries: Iterable[str]) -> list[str]:
    """Return the codes among ``entries`` that no other entry extends (the leaves), in their order.

    ``entries`` are the list's lines: chapters, blocks, categories and codes,
    without dots. Only entries shaped like a code count (chapters and blocks are
    dropped); a code is a leaf when no longer code starts with it.
    """
    codes = [e for e in (x.strip().upper() for x in entries) if _CODE.fullmatch(e)]
    # Every proper prefix of a code is a parent of it (the list nests strictly by one character).
    parents = {c[:n] for c in codes for n in range(3, len(c))}
    return [c for c in codes if c not in parents]


def icd10cm_release() -> PackagedRelease | None:
    """Return the ICD-10-CM release the installed ``simple-icd-10-cm`` ships, or None without it.

    None also when the package holds no ``code-list-<Month>-<Year>.txt`` (a layout
    this module does not know): the code set is then checked by format only, and
    the report says so, rather than guessing.
    """
    # find_spec locates the package without running it (its import parses the tabular XML).
    spec = importlib.util.find_spec(ICD10CM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = _newest_list(Path(next(iter(spec.submodule_search_locations))) / "data")
    if found is None:
        return None
    entry, release = found
    with entry.open(encoding="utf-8") as handle:
        codes = reportable_codes(handle)
    if not codes:
        return None
    try:
        version = metadata.version(ICD10CM_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown version"
    return PackagedRelease(codes, release, f"{ICD10CM_DISTRIBUTION} {version} ({entry.name})")


_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        1,
    )
}


def _newest_list(data: Path) -> tuple[Path, str] | None:
    """Return the newest ``code-list-<Month>-<Year>.txt`` in ``data`` and its release name."""
    best: tuple[tuple[int, int], Path, str] | None = None
    if not data.is_dir():
        return None
    for entry in data.iterdir():
        found = _LIST_FILE.fullmatch(entry.name)
        month = _MONTHS.get(found["month"].lower()) if found else None
        if found is None or month is None:
            continue
        key = (int(found["year"]), month)
        if best is None or key > best[0]:
            best = (key, entry, f"{found['month'].capitalize()} {found['year']}")
    return None if best is None else (best[1], best[2])
