"""`sendpro layouts NAME`: each field with column, model field, usage, format and description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro import cli
from sendpro.flatfile.layout import bundled_layouts
from sendpro.model.fields import FIELDS_BY_NAME, required_fields
from sendpro.ncpdp.layout import bundled_ncpdp_layouts


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _fields_by_name(doc: dict) -> dict:  # type: ignore[type-arg]
    return {f["field"]: f for f in doc["fields"]}


def test_delimited_layout_shows_usage_format_and_description(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts", "mce-v1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if line.strip().startswith("rendering_npi "))
    # professional S, institutional not used, dental S; the format and where it goes.
    assert " S - S " in row and "10 digits" in row and "rendering provider NPI" in row
    assert "R required, S situational, O optional, - not used" in result.output
    assert "usage per claim type: P professional, I institutional, D dental" in result.output


def test_every_layout_fits_a_100_column_terminal(runner: CliRunner) -> None:
    for name in [*bundled_layouts(), *bundled_ncpdp_layouts()]:
        result = runner.invoke(cli.cli, ["layouts", name])
        assert result.exit_code == 0, (name, result.output)
        widest = max(len(line) for line in result.output.splitlines())
        assert widest <= 100, (name, widest)


def test_long_descriptions_wrap_in_their_column(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts", "mce-v1"])
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("claim_frequency "))
    # "1 original, 7 replacement, 8 void (institutional also 2-5) -> CLM05-3" is too long for one line:
    # the rest continues below in the description column, the other cells blank.
    assert "1 original, 7 replacement" in lines[at]
    continuation = lines[at + 1]
    assert continuation.startswith(" " * 30) and "CLM05-3" in continuation


def test_delimited_layout_json(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts", "mce-v1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["name"] == "mce-v1" and doc["format"] == "delimited" and doc["claim_types"] == ["P", "I", "D"]
    fields = _fields_by_name(doc)
    assert fields["attending_npi"]["usage"] == {"P": "-", "I": "S", "D": "-"}
    assert fields["attending_npi"]["column"] == "attending_npi"
    assert fields["member_dob"]["format"] == "a real date CCYYMMDD"
    assert fields["billing_npi"]["description"] == FIELDS_BY_NAME["billing_npi"].description


def test_fixed_width_layout_shows_record_start_length_and_picture(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts", "mce-fw-example"])
    assert result.exit_code == 0, result.output
    assert "record type in positions 1-2" in result.output
    assert "record CL (claim), length 451" in result.output
    row = next(line for line in result.output.splitlines() if " mce_claim_id " in line)
    assert row.split()[:5] == ["3", "20", "mce_claim_id", "R", "X(20)"]
    assert "MCE claim control number" in row
    assert "check sum:total_charge" in result.output and "(total_charge)" in result.output

    doc = json.loads(runner.invoke(cli.cli, ["layouts", "mce-fw-example", "--json"]).output)
    assert doc["record_type"] == {"start": 1, "length": 2}
    claim = next(r for r in doc["records"] if r["type"] == "CL")
    first = claim["fields"][0]
    assert (first["start"], first["length"], first["field"], first["usage"]) == (3, 20, "mce_claim_id", {"P": "R"})
    trailer = next(r for r in doc["records"] if r["role"] == "trailer")
    assert {f["check"] for f in trailer["fields"]} >= {"sum:total_charge"}
    assert all(not f["model"] and f["usage"] == {} for f in trailer["fields"])


def test_custom_layout_renamed_column_and_date_format(runner: CliRunner, tmp_path: Path) -> None:
    required = {fd.name for ct in ("P", "D") for fd in required_fields(ct)} - {"member_dob"}
    columns = ", ".join(f'"{name}"' for name in sorted(required))
    layout = tmp_path / "acme.toml"
    layout.write_text(
        '[layout]\nname = "acme"\nformat = "delimited"\nclaim_types = ["P", "D"]\n'
        f"columns = [{columns}]\n"
        '[[field]]\ncolumn = "DOB"\nfield = "member_dob"\ndate_format = "MM/DD/CCYY"\n',
        encoding="utf-8",
    )
    result = runner.invoke(cli.cli, ["layouts", str(layout)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "DOB" in line)
    assert "DOB -> member_dob" in row and "R R" in row and "MM/DD/CCYY" in row
    doc = json.loads(runner.invoke(cli.cli, ["layouts", str(layout), "--json"]).output)
    dob = _fields_by_name(doc)["member_dob"]
    assert dob["column"] == "DOB" and dob["usage"] == {"P": "R", "D": "R"}
    assert dob["format"] == "a real date MM/DD/CCYY"


def test_pharmacy_layout_uses_the_pharmacy_catalogue(runner: CliRunner) -> None:
    doc = json.loads(runner.invoke(cli.cli, ["layouts", "mce-rx-v1", "--json"]).output)
    assert doc["model"] == "pharmacy"
    assert _fields_by_name(doc)["original_claim_id"]["usage"] == {"RX": "S"}


def test_ncpdp_layout_shows_its_own_fields(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts", "post-adjudication"])
    assert result.exit_code == 0, result.output
    assert "509-F9 Total Amount Paid" in result.output and "PROVISIONAL" in result.output
    gender = next(line for line in result.output.splitlines() if "305-C5" in line)
    assert "field member_gender" in gender and "codes" in gender
    doc = json.loads(runner.invoke(cli.cli, ["layouts", "batch-d0", "--json"]).output)
    assert doc["format"] == "batch" and doc["segments"]
    seg_field = doc["segments"][0]["fields"][0]
    assert seg_field["code"] and "max_length" in seg_field
    mapped = [f for r in doc["records"] for f in r["fields"] if f["field"] == "pharmacy_npi"]
    assert mapped and mapped[0]["usage"] == {"RX": "R"} and mapped[0]["description"]


def test_plain_layouts_still_lists_and_json_lists_too(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts"])
    assert result.exit_code == 0
    assert "Input layouts:" in result.output and "mce-v1" in result.output and "[provisional]" in result.output
    listing = json.loads(runner.invoke(cli.cli, ["layouts", "--json"]).output)
    kinds = {item["name"]: item["kind"] for item in listing}
    assert kinds["mce-v1"] == "input" and kinds["batch-d0"] == "ncpdp"


def test_unknown_layout_is_one_line_error() -> None:
    assert cli.main(["layouts", "no-such-layout"]) == 2
