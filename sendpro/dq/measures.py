"""The definitions of MassHealth's data-quality measures, read from ``schemas/dq/measures.toml``.

The measures are data: what each one checks, on which claim groups and record
types, its threshold and the public query it restates (``source``). The file is
read and checked once per run; :mod:`sendpro.dq.checks` turns each definition
into polars expressions.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendpro.errors import SendproError
from sendpro.resources import schemas_dir

#: The claim groups, in report order: the 837I by type of bill, then the other 837s and pharmacy.
CLAIM_GROUPS = ("inpatient", "outpatient", "long_term_care", "professional", "dental", "pharmacy")
#: The record types, by claim frequency: original (1-5), replacement (7), void (8).
RECORD_TYPES = ("original", "replacement", "void")
#: The check kinds :mod:`sendpro.dq.checks` knows.
CHECKS = (
    "present",
    "in",
    "dates",
    "npi",
    "not_negative",
    "code_set",
    "reference",
    "facility_type",
    "discharge",
    "has_lines",
)
#: The reference files a ``reference`` check may read.
REFERENCES = ("members",)
LEVELS = ("claim", "line")
SCOPES = ("all", "present")


@dataclass(frozen=True, slots=True)
class Measure:
    """One data-quality measure (see the header of ``schemas/dq/measures.toml``)."""

    id: str
    name: str
    claim_groups: tuple[str, ...]
    record_types: tuple[str, ...]
    level: str
    check: str
    fields: tuple[str, ...]
    threshold: float
    source: str
    scope: str = "all"
    paid_only: bool = False
    values: tuple[str, ...] = ()
    codesets: tuple[str, ...] = ()
    reference: str | None = None
    note: str = ""

    @property
    def pharmacy(self) -> bool:
        """Return True for a measure of the NCPDP file (its fields are the pharmacy layout's)."""
        return self.claim_groups == ("pharmacy",)


@dataclass(frozen=True, slots=True)
class Uncomputable:
    """A measure sendpro cannot compute whatever the configuration, and why."""

    id: str
    name: str
    claim_groups: tuple[str, ...]
    reason: str
    source: str

    @property
    def pharmacy(self) -> bool:
        """Return True for a measure of the NCPDP file."""
        return self.claim_groups == ("pharmacy",)


@dataclass(frozen=True, slots=True)
class MeasureSet:
    """Every measure of the definitions file: those sendpro computes and those it cannot."""

    measures: tuple[Measure, ...]
    uncomputable: tuple[Uncomputable, ...]


def measures_path() -> Path:
    """Return the packaged definitions file."""
    return schemas_dir() / "dq" / "measures.toml"


def load_measures(path: Path | None = None) -> MeasureSet:
    """Read and check the measure definitions (the packaged file by default).

    Raises:
        SendproError: the file is missing, is not TOML, or defines a measure badly
            (a packaged file: a sendpro bug, or a user's edited copy).
    """
    path = path or measures_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SendproError(f"data-quality measures {path}: cannot be read ({exc})") from None
    measures = tuple(_measure(path, i, m) for i, m in enumerate(data.get("measure", []), start=1))
    uncomputable = tuple(_uncomputable(path, i, m) for i, m in enumerate(data.get("not_computed", []), start=1))
    ids = [m.id for m in measures] + [u.id for u in uncomputable]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SendproError(f"data-quality measures {path}: id(s) defined twice: {', '.join(dupes)}")
    return MeasureSet(measures, uncomputable)


def _text(path: Path, where: str, raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SendproError(f"data-quality measures {path}: {where} needs a non-empty text {key!r}")
    return value


def _texts(
    path: Path, where: str, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...] | None
) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SendproError(f"data-quality measures {path}: {where}: {key!r} must be a list of texts")
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        if bad:
            raise SendproError(
                f"data-quality measures {path}: {where}: {key!r} has {', '.join(bad)} (known: {', '.join(allowed)})"
            )
    return tuple(value)


def _choice(path: Path, where: str, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = raw.get(key, default)
    if value not in allowed:
        raise SendproError(
            f"data-quality measures {path}: {where}: {key} must be one of {', '.join(allowed)}, not {value!r}"
        )
    return str(value)


def _measure(path: Path, i: int, raw: Mapping[str, Any]) -> Measure:
    """Return measure number ``i`` of the file, checked."""
    where = f"measure {i}"
    ident = _text(path, where, raw, "id")
    where = f"measure {ident!r}"
    groups = _texts(path, where, raw, "claim_groups", CLAIM_GROUPS)
    if not groups or ("pharmacy" in groups and len(groups) > 1):
        raise SendproError(
            f"data-quality measures {path}: {where}: claim_groups must be 837 groups or pharmacy alone (not both)"
        )
    threshold = raw.get("threshold", 0.99)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise SendproError(f"data-quality measures {path}: {where}: threshold must be a number from 0 to 1")
    check = _choice(path, where, raw, "check", CHECKS, "")
    measure = Measure(
        id=ident,
        name=_text(path, where, raw, "name"),
        claim_groups=groups,
        record_types=_texts(path, where, raw, "record_types", RECORD_TYPES) or RECORD_TYPES,
        level=_choice(path, where, raw, "level", LEVELS, "claim"),
        check=check,
        fields=_texts(path, where, raw, "fields", None),
        threshold=float(threshold),
        source=_text(path, where, raw, "source"),
        scope=_choice(path, where, raw, "scope", SCOPES, "all"),
        paid_only=bool(raw.get("paid_only", False)),
        values=_texts(path, where, raw, "values", None),
        codesets=_texts(path, where, raw, "codesets", None),
        reference=_choice(path, where, raw, "reference", REFERENCES, "members") if check == "reference" else None,
        note=str(raw.get("note", "")),
    )
    if check == "code_set" and not measure.codesets:
        raise SendproError(f"data-quality measures {path}: {where}: a code_set check names its codesets")
    if check == "in" and not measure.values:
        raise SendproError(f"data-quality measures {path}: {where}: an 'in' check lists its values")
    if check != "has_lines" and not measure.fields:
        raise SendproError(f"data-quality measures {path}: {where}: names no fields")
    return measure


def _uncomputable(path: Path, i: int, raw: Mapping[str, Any]) -> Uncomputable:
    """Return not-computed entry number ``i`` of the file, checked."""
    where = f"not_computed {i}"
    return Uncomputable(
        id=_text(path, where, raw, "id"),
        name=_text(path, where, raw, "name"),
        claim_groups=_texts(path, where, raw, "claim_groups", CLAIM_GROUPS) or CLAIM_GROUPS,
        reason=_text(path, where, raw, "reason"),
        source=_text(path, where, raw, "source"),
    )
