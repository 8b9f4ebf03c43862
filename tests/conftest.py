"""pytest configuration: a per-session map cache and the data-driven rule cases."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def _map_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build sendpro's derived pyx12 maps once per session, away from the user's cache."""
    os.environ["SENDPRO_CACHE_DIR"] = str(tmp_path_factory.mktemp("sendpro-cache"))


@pytest.fixture(autouse=True)
def _ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every test its own submission ledger, never the user's."""
    monkeypatch.setenv("SENDPRO_LEDGER", str(tmp_path_factory.mktemp("ledger") / "ledger.sqlite"))


def _rule_cases() -> list[tuple[str, dict[str, object]]]:
    cases = []
    for path in sorted((FIXTURES / "rules").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for i, case in enumerate(data.get("case", []), start=1):
            case = dict(case)
            case.setdefault("code", data["code"])
            cases.append((f"{path.stem}-{i}-{case.get('expect', '?')}", case))
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Expand ``rule_case`` into one test per case in ``fixtures/rules/*.toml``."""
    if "rule_case" in metafunc.fixturenames:
        cases = _rule_cases()
        metafunc.parametrize("rule_case", [c for _, c in cases], ids=[i for i, _ in cases])
