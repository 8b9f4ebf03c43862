"""``sendpro codesets``: turn the code files CMS and FDA publish into sendpro's dated code-list CSV.

The CSV is what :func:`sendpro.codesets.codelist.read_code_list` reads (``code,
effective_from,effective_to,description``); the command prints the ``[codesets]``
entry to add to ``sendpro.toml`` (the form
:func:`sendpro.projectconfig.code_list_source` accepts).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from sendpro.codesets.importers import KINDS, ImportedCode, ImportStats, Source, iter_codes, open_source
from sendpro.errors import UsageError
from sendpro.tempfiles import atomic_writer

_ICD_YEAR = re.compile(r"^icd10(?:cm|pcs)_\w*?(\d{4})", re.I)
_HCPCS_RELEASE = re.compile(r"^HCPC(\d{4})_([A-Z]{3})", re.I)
_FISCAL_YEAR = re.compile(r"^FY(\d{4})$", re.I)


@dataclass(frozen=True)
class Release:
    """The version and period of an imported list (each None when neither given nor derivable)."""

    version: str | None
    effective_from: dt.date | None
    effective_to: dt.date | None


def derive_version(name: str) -> str | None:
    """Return the version a CMS file name carries: ``icd10cm_order_2026.txt`` -> ``FY2026``; HCPCS ``2026-JAN``."""
    if found := _ICD_YEAR.match(name):
        return f"FY{found.group(1)}"
    if found := _HCPCS_RELEASE.match(name):
        return f"{found.group(1)}-{found.group(2).upper()}"
    return None


def resolve_release(
    name: str, version: str | None, effective_from: dt.date | None, effective_to: dt.date | None
) -> Release:
    """Return the release: options win; a US federal fiscal year (``FY2026``) runs 2025-10-01 to 2026-09-30.

    Raises:
        UsageError: effective_to is before effective_from.
    """
    version = version or derive_version(name)
    if version and (fy := _FISCAL_YEAR.match(version)):
        year = int(fy.group(1))
        effective_from = effective_from or dt.date(year - 1, 10, 1)
        effective_to = effective_to or dt.date(year, 9, 30)
    if effective_from and effective_to and effective_to < effective_from:
        raise UsageError("--effective-to is before --effective-from")
    return Release(version, effective_from, effective_to)


def merge_codes(codes: Iterable[ImportedCode]) -> dict[str, ImportedCode]:
    """Return the codes by code, each once: a repeated code keeps its first description and the widest dates.

    The NDC directory lists a package once per product listing; None (open-ended) is the widest date.
    """
    out: dict[str, ImportedCode] = {}
    for item in codes:
        seen = out.get(item.code)
        if seen is None:
            out[item.code] = item
            continue
        start = _widest(seen.effective_from, item.effective_from, min)
        end = _widest(seen.effective_to, item.effective_to, max)
        out[item.code] = ImportedCode(seen.code, seen.description or item.description, start, end)
    return out


def _widest(a: dt.date | None, b: dt.date | None, pick: Callable[[dt.date, dt.date], dt.date]) -> dt.date | None:
    return None if a is None or b is None else pick(a, b)


def write_code_list(path: Path, codes: dict[str, ImportedCode]) -> None:
    """Write the codes, sorted by code, as the dated code-list CSV; atomically (no half file on failure)."""
    with atomic_writer(path, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "effective_from", "effective_to", "description"])
        for code in sorted(codes):
            item = codes[code]
            writer.writerow([code, _iso(item.effective_from), _iso(item.effective_to), item.description])


def toml_snippet(kind: str, out: Path, release: Release) -> str:
    """Return the ``[codesets]`` entry for the list (a TOML inline table; dates are TOML local dates)."""
    # json.dumps gives a TOML basic string: same quoting and escapes for paths.
    fields = [f"path = {json.dumps(str(out))}"]
    if release.version:
        fields.append(f"version = {json.dumps(release.version)}")
    if release.effective_from:
        fields.append(f"effective_from = {release.effective_from.isoformat()}")
    if release.effective_to:
        fields.append(f"effective_to = {release.effective_to.isoformat()}")
    return f"[codesets]\n{kind} = [{{ {', '.join(fields)} }}]"


def _iso(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _period(release: Release) -> str:
    parts = [release.version or "no version"]
    if release.effective_from or release.effective_to:
        parts.append(f"{_iso(release.effective_from) or '...'} to {_iso(release.effective_to) or '...'}")
    return ", ".join(parts)


def _skipped(stats: ImportStats, duplicates: int) -> str:
    notes = []
    if stats.headers:
        notes.append(f"{stats.headers:,} header rows skipped")
    if stats.modifiers:
        notes.append(f"{stats.modifiers:,} modifiers skipped (--modifiers to keep them)")
    if duplicates:
        notes.append(f"{duplicates:,} repeated codes merged")
    return f"; {'; '.join(notes)}" if notes else ""


@click.group()
def codesets() -> None:
    """Work with code lists: import the files CMS and FDA publish."""


@codesets.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV to write.")
@click.option("--version", "version", default=None, help="Release name (default: from the file name, e.g. FY2026).")
@click.option(
    "--effective-from",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day the release is in effect (FY releases: Oct 1 of the year before).",
)
@click.option(
    "--effective-to",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day the release is in effect (FY releases: Sep 30).",
)
@click.option("--modifiers", is_flag=True, help="HCPCS: keep the modifiers (two-character codes) too.")
@click.option(
    "--no-code-dates",
    is_flag=True,
    help="Leave per-code dates out (HCPCS add/termination, NDC marketing dates): a smaller, faster list.",
)
def import_cmd(
    kind: str,
    source: Path,
    out_file: Path,
    version: str | None,
    effective_from: dt.datetime | None,
    effective_to: dt.datetime | None,
    modifiers: bool,
    no_code_dates: bool,
) -> None:
    """Turn a CMS or FDA code file (SOURCE, .txt or .zip) into a dated code list and print its configuration.

    KIND is icd10cm or icd10pcs (order or code file), hcpcs (the ANWEB record
    file) or ndc (the NDC directory's package.txt). The summary goes to stderr,
    the [codesets] entry for sendpro.toml to stdout.
    """
    if out_file.resolve() == source.resolve():
        raise click.BadParameter("the output cannot replace the source", param_hint="--out")
    found: Source = open_source(source, kind)
    release = resolve_release(
        found.name,
        version,
        effective_from.date() if effective_from else None,
        effective_to.date() if effective_to else None,
    )
    stats = ImportStats()
    read = 0

    def counted(codes: Iterable[ImportedCode]) -> Iterable[ImportedCode]:
        nonlocal read
        for item in codes:
            read += 1
            yield item

    read_codes: Iterable[ImportedCode] = iter_codes(found, kind, stats, modifiers)
    if no_code_dates:
        # Each distinct (from, to) pair is one term of the membership check, so thousands of NDC marketing
        # dates make a slow check; without them the release period alone applies.
        read_codes = (ImportedCode(c.code, c.description) for c in read_codes)
    codes = merge_codes(counted(read_codes))
    if not codes:
        raise UsageError(f"{found}: no {kind} codes in it")
    write_code_list(out_file, codes)
    click.echo(
        f"{kind}: {len(codes):,} codes ({_period(release)}) -> {out_file}{_skipped(stats, read - len(codes))}",
        err=True,
    )
    if not release.version:
        click.echo("note: no version in the file name; give --version to name the release", err=True)
    click.echo(toml_snippet(kind, out_file, release))
