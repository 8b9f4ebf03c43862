"""Project configuration: ``sendpro.toml``, or ``[tool.sendpro]`` in ``pyproject.toml``.

A data team keeps its choices next to its jobs rather than on every command line:
which rules run, severity overrides, the code lists it may use (licensed CPT or
CDT lists, the ICD-10-CM release of each fiscal year) and its reference files.
Command-line options override the file, key by key.

The file is looked for in the working directory and its parents: the first
``sendpro.toml``, else the first ``pyproject.toml`` with a ``[tool.sendpro]``
table. Relative paths in it are relative to the file. Unknown keys are errors,
so a typo never silently turns a rule off.

:func:`resolve_settings` is the one place the configuration meets explicit
choices: ``sendpro convert`` (its options) and the Python API
(:func:`sendpro.api.run_config`) both call it, so a scheduler calling the API
gets what the command line gets from the same ``sendpro.toml``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sendpro.errors import UsageError
from sendpro.report.issue import Severity

#: The keys a configuration may hold (under ``[tool.sendpro]`` or at the top of sendpro.toml).
KEYS = frozenset({"select", "ignore", "severity", "codesets", "references"})
#: The reference files a configuration may name.
REFERENCE_KEYS = frozenset({"providers", "members", "ordered_services"})


@dataclass(frozen=True)
class CodeListSource:
    """One file of a code list, with the period it is effective for (None: open-ended)."""

    path: Path
    version: str | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None


@dataclass(frozen=True)
class ProjectConfig:
    """What a configuration file says (everything optional)."""

    path: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severities: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    codesets: Mapping[str, tuple[CodeListSource, ...]] = field(default_factory=lambda: MappingProxyType({}))
    references: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))


def find_config(start: Path) -> Path | None:
    """Return the configuration file that applies in ``start`` (see the module docstring), or None."""
    for directory in (start.resolve(), *start.resolve().parents):
        own = directory / "sendpro.toml"
        if own.is_file():
            return own
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _tool_table(pyproject) is not None:
            return pyproject
    return None


def _tool_table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    table = data.get("tool", {}).get("sendpro")
    return table if isinstance(table, dict) else None


def load_config(path: Path) -> ProjectConfig:
    """Read and check a configuration file.

    Raises:
        UsageError: the file cannot be read or holds an unknown key or a bad value.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("sendpro", {})
    where = f"{path}" + (" [tool.sendpro]" if path.name == "pyproject.toml" else "")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    base = path.resolve().parent
    return ProjectConfig(
        path=path,
        select=_codes(data.get("select", []), f"{where} select"),
        ignore=_codes(data.get("ignore", []), f"{where} ignore"),
        severities=MappingProxyType(parse_severities(data.get("severity", {}), f"{where} [severity]")),
        codesets=MappingProxyType(_codesets(data.get("codesets", {}), base, f"{where} [codesets]")),
        references=MappingProxyType(_references(data.get("references", {}), base, f"{where} [references]")),
    )


def _codes(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: expected a list of rule code prefixes")
    return tuple(v.strip().upper() for v in value)


def parse_severities(value: object, where: str) -> dict[str, Severity]:
    """Return ``{code: severity}`` from a mapping of codes to ``error`` / ``warning`` / ``info``.

    Raises:
        UsageError: a value is not a severity.
    """
    if not isinstance(value, Mapping):
        raise UsageError(f"{where}: expected a table of rule codes and severities")
    out: dict[str, Severity] = {}
    choices = ", ".join(s.value for s in Severity)
    for code, level in value.items():
        try:
            out[str(code).upper()] = Severity(str(level).lower())
        except ValueError:
            raise UsageError(f"{where}: {code} = {level!r} is not a severity ({choices})") from None
    return out


def _date(value: object, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _codesets(value: object, base: Path, where: str) -> dict[str, tuple[CodeListSource, ...]]:
    if not isinstance(value, Mapping):
        raise UsageError(f"{where}: expected a table of code list names")
    out: dict[str, tuple[CodeListSource, ...]] = {}
    for name, spec in value.items():
        items = spec if isinstance(spec, list) else [spec]
        sources = []
        for item in items:
            sources.append(code_list_source(item, base, f"{where} {name}"))
        out[str(name)] = tuple(sources)
    return out


def code_list_source(item: object, base: Path, where: str) -> CodeListSource:
    """Return a code list source from a path string or a ``{path, version, effective_from, effective_to}`` table.

    Raises:
        UsageError: the entry is malformed.
    """
    if isinstance(item, str):
        return CodeListSource(base / item)
    if not isinstance(item, Mapping) or not isinstance(item.get("path"), str):
        raise UsageError(f"{where}: expected a path, or a table with a path")
    extra = sorted(set(item) - {"path", "version", "effective_from", "effective_to"})
    if extra:
        raise UsageError(f"{where}: unknown key(s) {', '.join(extra)}")
    source = CodeListSource(
        base / str(item["path"]),
        None if item.get("version") is None else str(item["version"]),
        _date(item.get("effective_from"), where),
        _date(item.get("effective_to"), where),
    )
    if source.effective_from and source.effective_to and source.effective_to < source.effective_from:
        raise UsageError(f"{where}: effective_to is before effective_from")
    return source


def _references(value: object, base: Path, where: str) -> dict[str, Path]:
    if not isinstance(value, Mapping):
        raise UsageError(f"{where}: expected a table of reference files")
    unknown = sorted(set(value) - REFERENCE_KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown reference(s) {', '.join(unknown)}; known: {', '.join(sorted(REFERENCE_KEYS))}"
        )
    return {str(k): base / str(v) for k, v in value.items()}


@dataclass(frozen=True)
class RunSettings:
    """A run's rules, severities, code lists and reference files: the configuration under explicit choices.

    Attributes:
        config_file: the configuration file read (None: none applied).
    """

    config_file: Path | None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severities: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    codesets: Mapping[str, tuple[CodeListSource, ...]] = field(default_factory=lambda: MappingProxyType({}))
    providers: Path | None = None
    members: Path | None = None
    ordered_services: Path | None = None

    def run_config_kwargs(self) -> dict[str, Any]:
        """Return the :class:`~sendpro.config.RunConfig` keyword arguments these settings fill."""
        return {
            "select": self.select,
            "ignore": self.ignore,
            "severities": dict(self.severities),
            "codesets": dict(self.codesets),
            "providers": self.providers,
            "members": self.members,
            "ordered_services": self.ordered_services,
        }


def resolve_settings(
    config_file: Path | None = None,
    *,
    start: Path | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    severities: Mapping[str, Severity] | None = None,
    codesets: Mapping[str, tuple[CodeListSource, ...]] | None = None,
    providers: Path | None = None,
    members: Path | None = None,
) -> RunSettings:
    """Merge the project configuration with explicit choices; the explicit ones win, key by key.

    The configuration is ``config_file``, else the one :func:`find_config` finds
    from ``start`` (default: the working directory). ``select`` / ``ignore``
    replace the file's lists when given (an empty list too); ``severities`` and
    ``codesets`` override the file's entries of the same code or name; the
    reference files replace the file's.

    Raises:
        UsageError: the configuration cannot be read or holds a bad value.
    """
    found = config_file or find_config(start or Path.cwd())
    project = load_config(found) if found is not None else ProjectConfig()
    refs = project.references
    return RunSettings(
        config_file=found,
        select=tuple(select) if select is not None else project.select,
        ignore=tuple(ignore) if ignore is not None else project.ignore,
        severities=MappingProxyType({**project.severities, **(severities or {})}),
        codesets=MappingProxyType({**project.codesets, **(codesets or {})}),
        providers=providers or refs.get("providers"),
        members=members or refs.get("members"),
        ordered_services=refs.get("ordered_services"),
    )
