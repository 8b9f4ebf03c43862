"""The code sets sendpro knows: what they check, where their lists come from, and how a run uses them.

sendpro ships the lists it may redistribute (CMS place of service codes, USPS
state codes) and checks ICD-10-CM against the release the ``simple-icd-10-cm``
package carries (:mod:`sendpro.codesets.packaged`). The others are licensed
(CPT: AMA; CDT: ADA; revenue codes: AHA's NUBC) or large and released on their
own schedule (ICD-10-PCS, HCPCS Level II, NDC, CARC, provider taxonomy): the
user points at them in the configuration (``[codesets]``), which also wins over
a bundled or packaged list. Without a list a code set's rule checks the format
only, and the run report says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from sendpro.codesets.codelist import CodeList, Normalizer, ndc11, no_dots, plain, read_code_list
from sendpro.codesets.packaged import PackagedRelease, icd10cm_release
from sendpro.errors import UsageError
from sendpro.projectconfig import CodeListSource
from sendpro.resources import schemas_dir


@dataclass(frozen=True)
class CodeSetSpec:
    """A code set sendpro can check against a list."""

    name: str
    title: str
    rule: str  # the rule code that checks it
    normalize: Normalizer = plain
    #: A bundled list (file in ``schemas/codesets/``) used when the configuration names none.
    bundled: str | None = None
    bundled_version: str | None = None
    bundled_source: str | None = None
    #: A list from an installed package, used when the configuration names none (None when not installed).
    packaged: Callable[[], PackagedRelease | None] | None = None
    #: Why a list is not bundled (shown in the report when none is configured).
    note: str = ""


SPECS: tuple[CodeSetSpec, ...] = (
    CodeSetSpec(
        "icd10cm",
        "ICD-10-CM diagnoses",
        "CS001",
        no_dots,
        packaged=icd10cm_release,
        note="CMS publishes one release a year (Oct 1) and an April update; simple-icd-10-cm is not installed",
    ),
    CodeSetSpec("icd10pcs", "ICD-10-PCS procedures", "CS002", note="CMS publishes one release a year (Oct 1)"),
    CodeSetSpec("cpt", "CPT procedure codes", "CS003", note="licensed by the AMA"),
    CodeSetSpec("hcpcs", "HCPCS Level II codes", "CS003", note="CMS publishes quarterly updates"),
    CodeSetSpec("cdt", "CDT dental procedure codes", "CS004", note="licensed by the ADA"),
    CodeSetSpec("ndc", "National Drug Codes", "CS005", ndc11, note="the FDA NDC directory changes daily"),
    CodeSetSpec("revenue", "UB-04 revenue codes", "CS006", note="licensed by the AHA (NUBC)"),
    CodeSetSpec(
        "pos",
        "CMS place of service codes",
        "CS007",
        bundled="place-of-service.csv",
        bundled_version="2025-10",
        bundled_source="CMS Place of Service Code Set (bundled)",
    ),
    CodeSetSpec("carc", "Claim adjustment reason codes", "CS008", note="maintained by X12, updated three times a year"),
    CodeSetSpec(
        "state",
        "US state and territory codes",
        "CS009",
        bundled="us-states.csv",
        bundled_version="USPS",
        bundled_source="USPS state and territory abbreviations (bundled)",
    ),
    CodeSetSpec("taxonomy", "Health care provider taxonomy codes", "CS010", note="published by the NUCC twice a year"),
)
SPEC_BY_NAME: Mapping[str, CodeSetSpec] = {s.name: s for s in SPECS}


@dataclass
class CodeSet:
    """The releases of one code set a run checks against, oldest first."""

    spec: CodeSetSpec
    releases: list[CodeList] = field(default_factory=list)
    bundled: bool = False
    #: The list came from an installed package (:attr:`CodeSetSpec.packaged`), not the configuration.
    packaged: bool = False
    _all: set[str] | None = None

    def known(self, code: str) -> bool:
        """Return True when ``code`` is in some release (to tell 'unknown' from 'not in effect then')."""
        if self._all is None:
            self._all = set().union(*(r.codes() for r in self.releases))
        return self.spec.normalize(code) in self._all

    def invalid(self, value: pl.Expr, on: pl.Expr) -> pl.Expr:
        """Return an expression true where ``value`` is not a code in effect on ``on`` (CCYYMMDD text).

        A value whose date no release covers is not judged (see :meth:`uncovered`);
        a value without a usable date is checked against every release.
        """
        in_effect = pl.lit(False)
        anywhere = pl.lit(False)
        for release in self.releases:
            in_effect = in_effect | release.active(value, on)
            anywhere = anywhere | value.is_in(release.series())
        dated = on.is_not_null() & self.covered(on)
        return value.is_not_null() & ((dated & ~in_effect) | (on.is_null() & ~anywhere))

    def covered(self, on: pl.Expr) -> pl.Expr:
        """Return an expression: some release is in effect on the date."""
        cond = pl.lit(False)
        for release in self.releases:
            cond = cond | release.covers(on)
        return cond

    def describe(self) -> dict[str, object]:
        """Return what the report says about this code set."""
        return {
            "name": self.spec.name,
            "title": self.spec.title,
            "rule": self.spec.rule,
            "mode": "membership",
            "bundled": self.bundled,
            "packaged": self.packaged,
            "releases": [
                {
                    "source": self.spec.bundled_source if self.bundled else r.source,
                    "version": r.version,
                    "effective_from": None if r.effective_from is None else r.effective_from.isoformat(),
                    "effective_to": None if r.effective_to is None else r.effective_to.isoformat(),
                    "codes": r.size,
                }
                for r in self.releases
            ],
        }


class CodeSets:
    """The code sets of one run: configured lists, else bundled ones; the rest format-only."""

    def __init__(self, sets: Mapping[str, CodeSet]) -> None:
        self.sets = dict(sets)

    @classmethod
    def load(cls, configured: Mapping[str, tuple[CodeListSource, ...]] | None = None) -> CodeSets:
        """Read the configured lists and the bundled ones.

        Raises:
            UsageError: an unknown code set name, or a list that cannot be read.
        """
        configured = configured or {}
        unknown = sorted(set(configured) - set(SPEC_BY_NAME))
        if unknown:
            raise UsageError(f"unknown code set(s) {', '.join(unknown)}; known: {', '.join(sorted(SPEC_BY_NAME))}")
        sets: dict[str, CodeSet] = {}
        for spec in SPECS:
            sources = configured.get(spec.name, ())
            if sources:
                releases = [
                    read_code_list(s.path, spec.normalize, s.version, s.effective_from, s.effective_to) for s in sources
                ]
                sets[spec.name] = CodeSet(spec, sorted(releases, key=_period_start))
            elif spec.bundled:
                path = schemas_dir() / "codesets" / spec.bundled
                sets[spec.name] = CodeSet(spec, [read_code_list(path, spec.normalize, spec.bundled_version)], True)
            elif spec.packaged is not None and (release := spec.packaged()) is not None:
                sets[spec.name] = CodeSet(spec, [release.code_list()], packaged=True)
        return cls(sets)

    def get(self, name: str) -> CodeSet | None:
        """Return the code set checked by membership, or None (format only)."""
        return self.sets.get(name)

    def describe(self) -> list[dict[str, object]]:
        """Return, for the report, every code set and how this run checks it."""
        out: list[dict[str, object]] = []
        for spec in SPECS:
            found = self.sets.get(spec.name)
            if found is not None:
                out.append(found.describe())
            else:
                out.append(
                    {
                        "name": spec.name,
                        "title": spec.title,
                        "rule": spec.rule,
                        "mode": "format only",
                        "why": f"no list configured ({spec.note}); set [codesets] {spec.name} = PATH",
                    }
                )
        return out


def _period_start(release: CodeList) -> dt.date:
    return release.effective_from or dt.date.min
