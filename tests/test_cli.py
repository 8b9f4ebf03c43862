"""The command line, through click's test runner and through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro import api, cli
from tests.helpers import claim_rows, write_mce

pytestmark = pytest.mark.integration


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_convert_clean_exits_zero_with_a_summary(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "out"), "--control-number", "5"])
    assert result.exit_code == 0, result.output
    assert "reconciled (input = accepted + rejected): yes, to the cent" in result.output
    assert "ISA13 000000005 (X12 validation: passed)" in result.output
    assert "exit 0: every claim accepted" in result.output
    # With a ledger (the default) the name carries the ISA13: no two runs of a ledger publish the same name.
    assert (tmp_path / "out" / "837P.000000005.x12").is_file()


def test_convert_with_rejects_exits_one(runner: CliRunner, tmp_path: Path) -> None:
    rows = [*claim_rows({"mce_claim_id": "OK1"}), *claim_rows({"mce_claim_id": "BAD1", "total_paid": "999"})]
    src = write_mce(tmp_path / "in.txt", rows)
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert "CL016" in result.output
    assert "1 claim(s) rejected" in result.output
    assert (tmp_path / "out" / "rejects_P.txt").is_file() and len(list((tmp_path / "out").glob("837P.*.x12"))) == 1


def test_convert_quiet_and_no_validate(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    result = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "o"), "-q", "--no-validate-output"])
    assert result.exit_code == 0
    assert result.output == ""
    assert json.loads((tmp_path / "o" / "report.json").read_text())["output_validation"] == "skipped"


def test_select_and_ignore(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows({"total_charge": "260.00"}))
    ignored = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "a"), "--ignore", "CL015"])
    assert ignored.exit_code == 0, ignored.output
    selected = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "b"), "--select", "PV,MB"])
    assert selected.exit_code == 0, selected.output
    both = runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "c"), "--select", "CL01"])
    assert both.exit_code == 1


def test_guard_rules_cannot_be_ignored(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = write_mce(tmp_path / "in.txt", claim_rows({"contract_type": "07"}))
    assert cli.main(["convert", str(src), "--out", str(tmp_path / "a"), "--ignore", "CL011"]) == 2
    assert "CL011 guards the 837" in capsys.readouterr().err
    # A prefix that covers a guard skips the other rules but keeps the guard.
    assert cli.main(["convert", str(src), "--out", str(tmp_path / "b"), "--ignore", "CL", "-q"]) == 1


def test_usage_production_with_placeholders_is_one_line_exit_two(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = write_mce(tmp_path / "in.txt", claim_rows())
    code = cli.main(["convert", str(src), "--out", str(tmp_path / "out"), "--usage", "P"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sendpro: error: profile masshealth-sendpro still has placeholder values")
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_unusable_input_is_one_line_exit_two(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "empty.txt"
    src.write_text("")
    code = cli.main(["convert", str(src), "--out", str(tmp_path / "out"), "--layout", "mce-v1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"sendpro: error: {src}: the file is empty (0 bytes)\n"


def test_internal_error_is_one_line_without_traceback(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*args: object, **kwargs: object) -> None:
        raise KeyError("surprise\nsecond line")

    monkeypatch.setattr(api, "convert_files", boom)
    monkeypatch.delenv("SENDPRO_DEBUG", raising=False)
    src = write_mce(tmp_path / "in.txt", claim_rows())
    code = cli.main(["convert", str(src), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sendpro: internal error: KeyError:")
    assert "Traceback" not in err and err.count("\n") == 1


def test_bad_option_is_a_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["convert", "x.txt"]) == 2
    assert "--out" in capsys.readouterr().err


def test_validate_valid_and_broken_files(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "out"), "-q", "--no-ledger"])
    good = tmp_path / "out" / "837P.x12"
    result = runner.invoke(cli.cli, ["validate", str(good)])
    assert result.exit_code == 0 and result.output.strip().endswith("valid")
    bad = tmp_path / "bad.x12"
    bad.write_text(good.read_text().replace("DMG*D8*19800101*F", "DMG*D8*19800231*F"))
    result = runner.invoke(cli.cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "PX208" in result.output and "claim C100" in result.output
    assert "19800231" not in result.output
    shown = runner.invoke(cli.cli, ["validate", str(bad), "--include-values"])
    assert "19800231" in shown.output
    assert not list(tmp_path.glob("*.997"))  # validate writes nothing


def test_validate_not_x12(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    result = runner.invoke(cli.cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert "PX001" in result.output


def test_layouts(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts"])
    assert result.exit_code == 0
    assert "mce-v1" in result.output and "mce-fw-example" in result.output
    detail = runner.invoke(cli.cli, ["layouts", "mce-fw-example"])
    assert "record TR (trailer)" in detail.output
    assert "check sum:total_charge" in detail.output


def test_rules_lists_every_code(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["rules"])
    assert result.exit_code == 0
    for code in ("FF001", "FF010", "CL015", "SV010", "PV010", "PX208", "SP006"):
        assert code in result.output
    verbose = runner.invoke(cli.cli, ["rules", "-v", "--select", "CL015"])
    assert "Bad:" in verbose.output and "Good:" in verbose.output
    assert "SV010" not in verbose.output


def test_sample_writes_synthetic_data(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "s.txt"
    result = runner.invoke(cli.cli, ["sample", "--claims", "15", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0
    assert out.read_text().splitlines()[0].startswith("claim_type|mce_claim_id|")
    again = tmp_path / "t.txt"
    runner.invoke(cli.cli, ["sample", "--claims", "15", "--seed", "4", "--out", str(again)])
    assert out.read_bytes() == again.read_bytes()
    fw = tmp_path / "s.dat"
    result = runner.invoke(cli.cli, ["sample", "--claims", "5", "--layout", "mce-fw-example", "--out", str(fw)])
    assert result.exit_code == 0 and fw.read_text().startswith("HD")
    bad = runner.invoke(cli.cli, ["sample", "--types", "X", "--out", str(tmp_path / "x.txt")])
    assert bad.exit_code == 2


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["--version"])
    assert result.exit_code == 0 and "sendpro" in result.output


def test_pharmacy_convert_and_validate_both_profiles(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "rx.txt"
    assert (
        runner.invoke(
            cli.cli, ["sample", "--claims", "30", "--types", "RX", "--seed", "2", "--out", str(src)]
        ).exit_code
        == 0
    )
    assert src.read_text().startswith("mce_claim_id|claim_frequency|")
    for profile in ("post-adjudication", "batch-d0"):
        out = tmp_path / profile
        # Each profile gets its own ledger: the same claims through one ledger would be skipped duplicates.
        args = ["convert", str(src), "--out", str(out), "--ncpdp-profile", profile, "--ledger", f"{out}.sqlite"]
        result = runner.invoke(cli.cli, args)
        assert result.exit_code == 0, result.output
        assert f"layout {profile}" in result.output and "checks: passed" in result.output
        check = runner.invoke(cli.cli, ["validate", str(out / "RX.ncpdp")])
        assert check.exit_code == 0 and check.output.strip().endswith("valid")
    assert (tmp_path / "batch-d0" / "RX.xref.csv").is_file()
    broken = tmp_path / "broken.ncpdp"
    lines = (tmp_path / "post-adjudication" / "RX.ncpdp").read_text().splitlines()
    broken.write_text("\n".join(lines[:-2] + lines[-1:]) + "\n")  # a detail record lost
    result = runner.invoke(cli.cli, ["validate", str(broken)])
    assert result.exit_code == 1 and "RX205" in result.output and "RX206" in result.output


def test_pharmacy_unknown_ncpdp_profile_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import BASE_RX, rx_text

    src = tmp_path / "rx.txt"
    src.write_text(rx_text([BASE_RX]))
    assert cli.main(["convert", str(src), "--out", str(tmp_path / "o"), "--ncpdp-profile", "post-adjudicaton"]) == 2
    assert "did you mean 'post-adjudication'" in capsys.readouterr().err


def test_layouts_lists_ncpdp_layouts(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["layouts"])
    assert "mce-rx-v1" in result.output and "batch-d0" in result.output and "[provisional]" in result.output
    detail = runner.invoke(cli.cli, ["layouts", "post-adjudication"])
    assert "509-F9 Total Amount Paid" in detail.output and "PROVISIONAL" in detail.output


def test_unknown_encoding_is_a_usage_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = write_mce(tmp_path / "in.txt", claim_rows())
    assert cli.main(["convert", str(src), "--out", str(tmp_path / "out"), "--encoding", "utf-99"]) == 2
    err = capsys.readouterr().err
    assert "unknown character encoding 'utf-99'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--select", "CL15"], "select 'CL15' matches no rule code"),
        (["--ignore", "ZZ"], "ignore 'ZZ' matches no rule code"),
        (["--ledger", "x.sqlite", "--no-ledger"], "--ledger and --no-ledger contradict each other"),
    ],
)
def test_convert_refuses_options_that_would_silently_change_the_run(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, extra: list[str], message: str
) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    assert cli.main(["convert", str(src), "--out", str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_convert_refuses_an_empty_out_and_a_directory_as_input(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = write_mce(tmp_path / "in.txt", claim_rows())
    assert cli.main(["convert", str(src), "--out", ""]) == 2
    assert "name a directory" in capsys.readouterr().err
    assert cli.main(["convert", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "is a directory, not an input file" in capsys.readouterr().err


def test_an_unwritable_out_is_an_error_not_a_bug(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = write_mce(tmp_path / "in.txt", claim_rows())
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli.main(["convert", str(src), "--out", str(blocker / "out"), "--no-ledger"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sendpro: error:") and "internal error" not in err and err.count("\n") == 1


def test_rules_select_matching_nothing_is_a_usage_error(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["rules", "--select", "ZZ"]) == 2
    assert "no rule code starts with ZZ" in capsys.readouterr().err


def test_validate_ack_never_replaces_its_input_or_another_file(runner: CliRunner, tmp_path: Path) -> None:
    src = write_mce(tmp_path / "in.txt", claim_rows())
    runner.invoke(cli.cli, ["convert", str(src), "--out", str(tmp_path / "out"), "-q", "--no-ledger"])
    x12 = tmp_path / "out" / "837P.x12"
    before = x12.read_bytes()
    same = runner.invoke(cli.cli, ["validate", str(x12), "--ack", str(x12)])
    assert same.exit_code == 2 and "cannot replace the file it acknowledges" in same.output
    report = tmp_path / "out" / "report.json"
    other = runner.invoke(cli.cli, ["validate", str(x12), "--ack", str(report)])
    assert other.exit_code == 2 and "is not a 999" in other.output
    assert x12.read_bytes() == before and report.read_text().startswith("{")
    ack = tmp_path / "x.999"
    assert runner.invoke(cli.cli, ["validate", str(x12), "--ack", str(ack)]).exit_code == 0
    assert runner.invoke(cli.cli, ["validate", str(x12), "--ack", str(ack)]).exit_code == 0  # a 999 may be replaced


def test_transport_and_codesets_commands_are_on_the_cli(runner: CliRunner) -> None:
    """submit, retrieve and codesets are sendpro's own commands (their tests: tests/transport, tests/codesets)."""
    listed = runner.invoke(cli.cli, ["--help"]).output
    assert all(name in listed for name in ("submit", "retrieve", "codesets"))
    result = runner.invoke(cli.cli, ["submit"])
    assert result.exit_code == 2 and "name either --run N or FILES" in result.output
    assert "--password" not in runner.invoke(cli.cli, ["submit", "--help"]).output  # never a secret on the command line
