"""Project configuration: sendpro.toml and [tool.sendpro], and how the command line overrides them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sendpro.errors import UsageError
from sendpro.projectconfig import find_config, load_config
from sendpro.report.issue import Severity

CONFIG = """
select = ["CL", "SV"]
ignore = "FF015, MH100"
[severity]
SV010 = "warning"
[codesets]
icd10cm = [
  { path = "lists/icd-2026.txt", version = "FY2026", effective_from = 2025-10-01, effective_to = 2026-09-30 },
  { path = "lists/icd-2027.txt", version = "FY2027", effective_from = "2026-10-01" },
]
cpt = "lists/cpt.txt"
[references]
providers = "refs/providers.csv"
"""


def test_sendpro_toml_is_read_with_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "sendpro.toml").write_text(CONFIG, encoding="utf-8")
    config = load_config(tmp_path / "sendpro.toml")
    assert config.select == ("CL", "SV") and config.ignore == ("FF015", "MH100")
    assert config.severities == {"SV010": Severity.WARNING}
    first, second = config.codesets["icd10cm"]
    assert first.path == tmp_path / "lists" / "icd-2026.txt" and first.version == "FY2026"
    assert first.effective_to == dt.date(2026, 9, 30) and second.effective_from == dt.date(2026, 10, 1)
    assert config.codesets["cpt"][0].path == tmp_path / "lists" / "cpt.txt"
    assert config.references["providers"] == tmp_path / "refs" / "providers.csv"


def test_found_from_a_subdirectory_and_in_pyproject(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) is None or not str(find_config(deep)).startswith(str(tmp_path))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert find_config(deep) != tmp_path / "pyproject.toml"  # no [tool.sendpro]: not ours
    (tmp_path / "pyproject.toml").write_text('[tool.sendpro]\nignore = ["MH100"]\n', encoding="utf-8")
    assert find_config(deep) == tmp_path / "pyproject.toml"
    assert load_config(tmp_path / "pyproject.toml").ignore == ("MH100",)
    (tmp_path / "a" / "sendpro.toml").write_text('select = ["CL"]\n', encoding="utf-8")
    assert find_config(deep) == tmp_path / "a" / "sendpro.toml"  # the nearest wins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('selekt = ["CL"]\n', "unknown key"),
        ('[severity]\nSV010 = "fatal"\n', "is not a severity"),
        ("select = 3\n", "list of rule code prefixes"),
        ('[codesets]\nicd10cm = { version = "x" }\n', "with a path"),
        ('[codesets]\nicd10cm = { path = "a", effective_from = "soon" }\n', "is not a date"),
        ('[codesets]\nicd10cm = { path = "a", effective_from = 2026-10-01, effective_to = 2025-10-01 }\n', "before"),
        ('[references]\nproviders2 = "p.csv"\n', "unknown reference"),
        ("select = [\n", "not valid TOML"),
    ],
)
def test_mistakes_are_usage_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sendpro.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as err:
        load_config(path)
    assert str(path) in str(err.value)
