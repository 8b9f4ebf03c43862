"""The ``plan`` stage: everything a convert run decides before it reads a claim, frozen.

:func:`make_plan` checks the inputs exist, resolves the layout (given, or
detected from the inputs' first lines), loads the profile (refusing production
with placeholders before anything is read), selects the rules and loads the
reference files they need. What it returns never changes during the run; state
that does (the ledger, its history, control numbers) belongs to the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sendpro.codesets.catalog import CodeSets
from sendpro.config import RunConfig
from sendpro.errors import UsageError
from sendpro.flatfile.layout import DEFAULT_MAX_LINE_LENGTH, Layout, bundled_layouts, load_layout
from sendpro.flatfile.source import read_first_line
from sendpro.ledger.history import History
from sendpro.ncpdp.layout import NcpdpLayout, load_ncpdp_layout
from sendpro.ncpdp.writer import NcpdpSettings
from sendpro.profiles import Profile, load_profile
from sendpro.references import Members, OrderedServices, Providers
from sendpro.resources import schemas_dir
from sendpro.validate.catalog import catalog
from sendpro.validate.registry import RuleRegistry, RuleSet
from sendpro.x12.writer import PacdrSettings

#: Claim types with an output writer: the three 837 guides and pharmacy (NCPDP).
WRITABLE_TYPES = frozenset({"P", "I", "D", "RX"})


@dataclass(frozen=True)
class RuleResources:
    """What the rules may consult beyond the claim itself (replaces a loose dict of names).

    ``providers`` and ``members`` are None when no reference file was given; the
    rules that need them are then left out of the run (and listed in the report).
    ``history`` is the ledger's and this run's earlier versions (None without a ledger).
    """

    codesets: CodeSets
    ordered_services: OrderedServices
    today: str
    resubmit: bool = False
    writable_types: frozenset[str] = WRITABLE_TYPES
    providers: Providers | None = None
    members: Members | None = None
    ncpdp_layout: NcpdpLayout | None = None
    history: History | None = None

    def for_rules(self) -> dict[str, object]:
        """Return the resources by the names the rules' context reads them (optional files only when given)."""
        found: dict[str, object] = {
            "codesets": self.codesets,
            "ordered_services": self.ordered_services,
            "today": self.today,
            "resubmit": self.resubmit,
            "writable_types": self.writable_types,
            "ncpdp_layout": self.ncpdp_layout,
            "history": self.history,
        }
        if self.providers is not None:
            found["providers"] = self.providers
        if self.members is not None:
            found["members"] = self.members
        return found


@dataclass(frozen=True)
class RunPlan:
    """One convert run's decisions: inputs, layout, profile, output settings, rules and their resources."""

    inputs: tuple[Path, ...]
    out_dir: Path
    config: RunConfig
    now: dt.datetime
    layout: Layout
    profile: Profile
    pacdr: PacdrSettings
    ncpdp: tuple[NcpdpLayout, NcpdpSettings] | None
    rules: RuleSet
    resources: RuleResources
    #: Rules left out for want of a reference file: ``{"code", "name", "reason"}``.
    skipped_rules: tuple[dict[str, str], ...] = ()
    #: The code lists of the rules that run, as the report describes them.
    codesets: tuple[dict[str, object], ...] = field(default_factory=tuple)

    @property
    def pharmacy(self) -> bool:
        """Return True for a pharmacy run (NCPDP output), False for 837s."""
        return self.ncpdp is not None

    @property
    def forbidden(self) -> str:
        """Return the characters free text may not hold: the profile's separators and ``|``."""
        return self.pacdr.envelope.delimiters.chars + "|"

    def with_history(self, history: History | None) -> RunPlan:
        """Return the plan whose rules see ``history`` (set once the ledger is open)."""
        return dataclasses.replace(self, resources=dataclasses.replace(self.resources, history=history))


def make_plan(inputs: Sequence[Path], out_dir: Path, config: RunConfig) -> RunPlan:
    """Decide the run (see the module docstring).

    Raises:
        UsageError: a missing input, an unknown rule prefix, inputs of different
            layouts, or a profile that cannot serve this usage.
    """
    for p in inputs:
        if p.is_dir():
            raise UsageError(f"{p}: is a directory, not an input file")
        if not p.is_file():
            raise UsageError(f"{p}: no such input file")
    refuse_unknown_prefixes(config.select, config.ignore)
    layout = resolve_layout(inputs, config)
    profile = load_profile(config.profile)
    pacdr = profile.pacdr_settings(config.usage)
    ncpdp: tuple[NcpdpLayout, NcpdpSettings] | None = None
    if layout.model == "pharmacy":
        # Refuse production with placeholders before reading anything.
        ncpdp = (load_ncpdp_layout(config.ncpdp_layout), profile.ncpdp_settings(config.usage))
    now = config.clock()
    codesets = CodeSets.load(config.codesets)
    resources = RuleResources(
        codesets=codesets,
        ordered_services=OrderedServices.read(
            config.ordered_services or schemas_dir() / "references" / "ordered-services.toml"
        ),
        today=now.strftime("%Y%m%d"),
        resubmit=config.resubmit,
        providers=Providers.read(config.providers) if config.providers is not None else None,
        members=Members.read(config.members) if config.members is not None else None,
        # RX021 checks each claim's values against the fields they will be written to.
        ncpdp_layout=ncpdp[0] if ncpdp else None,
    )
    selected = RuleRegistry().select(config.select, config.ignore, config.severities, model=layout.model)
    rules, skipped = _drop_unmet(selected, resources.for_rules().keys())
    running = {r.code for r in rules.all}
    # Only the code sets of rules this run has (a pharmacy run checks no ICD-10 codes).
    described = tuple(c for c in codesets.describe() if c.get("rule") in running)
    return RunPlan(
        tuple(inputs), out_dir, config, now, layout, profile, pacdr, ncpdp, rules, resources, skipped, described
    )


def resolve_layout(inputs: Sequence[Path], config: RunConfig) -> Layout:
    """Return the layout given in the config, or the one every input's first line fits.

    Raises:
        UsageError: the inputs fit different layouts.
    """
    if config.layout:
        return load_layout(config.layout)
    chosen = [detect_layout(p) for p in inputs]
    names = {lay.name for lay in chosen}
    if len(names) > 1:
        detail = ", ".join(f"{p.name}: {lay.name}" for p, lay in zip(inputs, chosen, strict=True))
        raise UsageError(f"the inputs use different layouts ({detail}); convert them in separate runs")
    return chosen[0]


def _drop_unmet(rules: RuleSet, available: Collection[str]) -> tuple[RuleSet, tuple[dict[str, str], ...]]:
    """Leave out rules whose reference file was not given; return them as the report lists them."""
    kept, unmet = rules.runnable(available)
    skipped = []
    for rule in unmet:
        missing = sorted(rule.needs - set(available))
        options = ", ".join(f"--{m}" for m in missing)
        reason = f"needs the {' and '.join(missing)} reference file ({options} or [references])"
        skipped.append({"code": rule.code, "name": rule.name, "reason": reason})
    return kept, tuple(skipped)


def refuse_unknown_prefixes(select: Sequence[str], ignore: Sequence[str]) -> None:
    """Refuse a select/ignore prefix no code starts with: a typo must not silently turn rules off."""
    codes = [entry.code for entry in catalog()]
    for option, prefixes in (("select", select), ("ignore", ignore)):
        for prefix in prefixes:
            if not any(code.startswith(prefix) for code in codes):
                raise UsageError(f"{option} {prefix!r} matches no rule code (`sendpro rules` lists them)")


def detect_layout(path: Path, candidates: dict[str, Path] | None = None) -> Layout:
    """Choose the layout of ``path`` from its first line, when exactly one layout fits.

    A delimited layout fits when the header row has its claim id column and most
    (60 %) of its columns, names compared ignoring case as the reader does; the
    best fit wins when it covers clearly more than the next one. Missing required
    columns are then reported by the reader, naming them. A fixed-width layout
    fits when the first record carries its header (or claim) record type, and
    fits less well when that record is not the declared length: an upper-case
    header row ``CLAIM_TYPE|...`` starts with a claim record type ``CL`` too.

    The first line is read as the reader reads it, at most the longest
    ``max_line_length`` of the candidates: a file without line breaks is refused
    after that many bytes.

    Raises:
        UsageError: no layout fits, or several fit equally well.
        InputFileError: the first line is too long, or the file has CR-only line
            ends or is UTF-16 (the reader's own checks).
    """
    layouts = [load_layout(lpath) for lpath in (candidates or bundled_layouts()).values()]
    limit = max((lay.max_line_length for lay in layouts), default=DEFAULT_MAX_LINE_LENGTH)
    first = read_first_line(path, limit, str(path)).decode("utf-8", errors="replace")
    if not first:
        raise UsageError(f"{path}: the file is empty; nothing to choose a layout from")
    scored: list[tuple[float, Layout]] = []
    # A layout whose columns are there but its claim id column is not: worth naming.
    near: tuple[float, Layout] | None = None
    for lay in layouts:
        if lay.format.value == "delimited":
            if not lay.header:
                continue
            names = {n.strip().casefold() for n in first.split(lay.delimiter)}
            columns = [(s.column or s.field).casefold() for s in lay.fields]
            coverage = sum(1 for c in columns if c in names) / len(columns)
            if lay.column_for("mce_claim_id").casefold() in names and coverage >= 0.6:
                scored.append((coverage, lay))
            elif coverage >= 0.6 and (near is None or coverage > near[0]):
                near = (coverage, lay)
        else:
            rt = first[lay.record_type_start - 1 : lay.record_type_start - 1 + lay.record_type_length]
            record = next((r for r in lay.records if r.type == rt and r.role.value in ("header", "claim")), None)
            if record is not None:
                shaped = record.length is None or len(first) == record.length
                scored.append((1.0 if shaped else 0.5, lay))
    scored.sort(key=lambda item: -item[0])
    if len(scored) == 1 or (len(scored) > 1 and scored[0][0] - scored[1][0] >= 0.2):
        return scored[0][1]
    if not scored and near is not None:
        lay = near[1]
        raise UsageError(
            f"{path}: the header row looks like layout {lay.name} ({near[0]:.0%} of its columns) but has no "
            f"{lay.column_for('mce_claim_id')} column, which every claim needs"
        )
    if not scored:
        raise UsageError(f"{path}: the header row matches no known layout; pass --layout NAME or PATH")
    fitting = ", ".join(lay.name for _, lay in scored)
    raise UsageError(f"{path}: the header row fits several layouts ({fitting}); pass --layout to choose one")
