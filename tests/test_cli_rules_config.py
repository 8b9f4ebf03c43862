"""The command line's rule configuration: sendpro.toml, --config, --severity, --codeset, references; sendpro rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro import cli
from tests.helpers import claim_rows, write_mce

pytestmark = pytest.mark.integration


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _codes(out: Path) -> dict[str, str]:
    return {
        json.loads(line)["code"]: json.loads(line)["severity"]
        for line in (out / "errors.jsonl").read_text().splitlines()
    }


def test_configuration_file_and_overrides(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows({"member_id": "A12345", "dx_2": "E1199"}))
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "icd.txt").write_text("J069\nE119\n", encoding="utf-8")
    config = tmp_path / "sendpro.toml"
    config.write_text('[severity]\nMH100 = "error"\n[codesets]\nicd10cm = "lists/icd.txt"\n', encoding="utf-8")
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "a"), "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert _codes(tmp_path / "a") == {"MH100": "error", "CS001": "error"}
    assert (
        "code sets checked by format only" in result.output
        and "icd10cm" not in result.output.split("format only")[1].splitlines()[0]
    )
    # The command line wins, key by key.
    args = ["--config", str(config), "--severity", "MH100=warning", "--ignore", "CS"]
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "b"), *args])
    assert result.exit_code == 0, result.output
    assert _codes(tmp_path / "b") == {"MH100": "warning"}


def test_codeset_and_reference_options(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    (tmp_path / "cpt.txt").write_text("99213\n", encoding="utf-8")
    members = tmp_path / "members.csv"
    members.write_text("member_id,eligible_from\n100000000001,2026-03-01\n", encoding="utf-8")
    args = ["--codeset", f"cpt={tmp_path / 'cpt.txt'}", "--members", str(members)]
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 1
    assert _codes(tmp_path / "o") == {"CS003": "error", "MH102": "error"}  # 36415 not in the list; not yet eligible
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert {r["code"] for r in report["skipped_rules"]} == {"MH040", "MH140", "MH160", "MH170"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--severity", "MH100"], "expected CODE=LEVEL"),
        (["--severity", "MH100=loud"], "is not a severity"),
        (["--severity", "CL011=warning"], "stays an error"),
        (["--codeset", "icd10cm"], "expected NAME=PATH"),
        (["--codeset", "icd9=x.txt"], "unknown code set"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    assert cli.main(["convert", str(src), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_rules_lists_scope_source_and_examples(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["rules", "--select", "MH140"])
    assert result.exit_code == 0
    first, source, bad, good = result.output.splitlines()[:4]
    assert first.startswith("MH140  warning  claim") and "masshealth.rendering_group" in first
    assert "edit 1010" in source and "needs: providers file" in source
    assert bad.strip().startswith("bad:") and good.strip().startswith("good:")
    docs = json.loads(runner.invoke(cli.cli, ["rules", "--json"]).output)
    by_code = {d["code"]: d for d in docs}
    assert by_code["CS007"]["scope"] == "row" and by_code["CS007"]["bad"]
    assert by_code["OB001"]["scope"] == "output" and by_code["SP007"]["scope"] == "run"
    assert all(d["bad"] and d["good"] for d in docs if d["code"][:2] in ("CS", "MH", "CL", "SV", "MB", "PV"))
    brief = runner.invoke(cli.cli, ["rules", "--brief", "--select", "CL0"]).output.splitlines()
    assert all(line[:2] == "CL" for line in brief)
