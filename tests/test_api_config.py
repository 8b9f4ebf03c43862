"""One way to configure a run: the Python API applies the CLI's defaults (ledger, sendpro.toml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import sendpro
from sendpro import api, cli
from sendpro.projectconfig import resolve_settings
from sendpro.report.issue import Severity
from tests.helpers import claim_rows, write_mce

#: CL016 (paid more than charged) made a warning: the claim that breaks it is accepted.
CONFIG = '[severity]\nCL016 = "warning"\n'


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with a sendpro.toml and an extract with one claim CL016 rejects by default."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "sendpro.toml").write_text(CONFIG, encoding="utf-8")
    rows = [*claim_rows({"mce_claim_id": "OK1"}), *claim_rows({"mce_claim_id": "BAD1", "total_paid": "999"})]
    write_mce(root / "in.txt", rows)
    monkeypatch.chdir(root)
    return root


def _outcome(out: Path) -> tuple[int, int, dict[str, int]]:
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    every = doc["reconciliation"]["all"]
    return every["accepted"]["claims"], every["rejected"]["claims"], doc["issues"]["by_code"]


def test_cli_and_api_give_the_same_result_for_the_same_sendpro_toml(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_ledger, api_ledger = tmp_path / "cli.sqlite", tmp_path / "api.sqlite"
    monkeypatch.setenv("SENDPRO_LEDGER", str(cli_ledger))
    result = CliRunner().invoke(cli.cli, ["convert", "in.txt", "--out", "cli-out"])
    assert result.exit_code == 0, result.output  # CL016 is a warning by the project's configuration

    monkeypatch.setenv("SENDPRO_LEDGER", str(api_ledger))
    report = sendpro.convert_files([Path("in.txt")], Path("api-out"))  # no configuration: the CLI's defaults
    assert report.exit_code == 0

    assert _outcome(project / "api-out") == _outcome(project / "cli-out")
    accepted, rejected, by_code = _outcome(project / "api-out")
    assert (accepted, rejected) == (2, 0) and by_code.get("CL016") == 1
    # Both runs went into the default ledger of their environment, as the CLI's would.
    assert api.ledger_status().runs[0]["accepted"] == 2
    monkeypatch.setenv("SENDPRO_LEDGER", str(cli_ledger))
    assert api.ledger_status().runs[0]["accepted"] == 2


def test_an_explicit_choice_wins_over_the_file_in_cli_and_api_alike(project: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.cli, ["convert", "in.txt", "--out", "cli-out", "--severity", "CL016=error", "--no-ledger"]
    )
    assert result.exit_code == 1, result.output
    config = api.run_config(no_ledger=True, severities={"CL016": Severity.ERROR})
    report = api.convert_files([Path("in.txt")], Path("api-out"), config)
    assert report.exit_code == 1
    assert _outcome(project / "api-out") == _outcome(project / "cli-out")


def test_run_config_applies_the_cli_defaults(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDPRO_LEDGER", str(tmp_path / "env.sqlite"))
    config = api.run_config(layout="mce-v1")
    assert config.ledger == tmp_path / "env.sqlite"
    assert dict(config.severities) == {"CL016": Severity.WARNING}
    assert config.layout == "mce-v1"
    assert api.run_config(no_ledger=True).ledger is None
    assert api.run_config(ledger=tmp_path / "own.sqlite").ledger == tmp_path / "own.sqlite"
    monkeypatch.delenv("SENDPRO_LEDGER")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert api.run_config().ledger == tmp_path / "state" / "sendpro" / "ledger.sqlite"


def test_settings_are_resolved_in_one_place(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('ignore = ["SV"]\n[severity]\nCL016 = "info"\n', encoding="utf-8")
    found = resolve_settings()
    assert found.config_file == project / "sendpro.toml"
    chosen = resolve_settings(other, select=["CL"], severities={"CL017": Severity.WARNING})
    assert chosen.config_file == other and chosen.select == ("CL",) and chosen.ignore == ("SV",)
    assert dict(chosen.severities) == {"CL016": Severity.INFO, "CL017": Severity.WARNING}
    # The CLI's merge is this function's: same inputs, same RunConfig keywords.
    settings = cli.project_settings(other, "CL", None, ["CL017=warning"], [], None, None)
    assert settings == {**chosen.run_config_kwargs(), "config_file": other}


def test_the_documented_api_is_importable_from_the_package() -> None:
    assert sendpro.convert_files is api.convert_files and sendpro.validate_file is api.validate_file
    assert sendpro.run_config is api.run_config
    from sendpro.errors import SendproError

    assert sendpro.SendproError is SendproError
    assert set(sendpro.__all__) >= {"convert_files", "validate_file", "run_config", "RunConfig", "RunReport"}
    with pytest.raises(AttributeError):
        sendpro.no_such_name  # noqa: B018
