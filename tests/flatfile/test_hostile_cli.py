"""Hostile inputs through ``sendpro convert``: one readable line and exit 2, or a normal run; never a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sendpro import cli
from sendpro.sample import COLUMNS
from tests.helpers import claim_rows, mce_text

#: ``convert(data, *options, name=...)`` -> (exit code, output).
Convert = Callable[..., tuple[int, str]]

VALUES = ("100000000001", "ALDER", "19800101", "12 ELM AVE", "1234567893", "HARBORVIEW")


@pytest.fixture()
def convert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Convert:
    """Run ``sendpro convert`` (as ``main(argv)``, its error handling included) on bytes: (exit code, output)."""

    def run(data: bytes, *options: str, name: str = "in.txt") -> tuple[int, str]:
        src = tmp_path / name
        src.write_bytes(data)
        args = ["convert", str(src), "--out", str(tmp_path / "out"), "--no-ledger", "--no-validate-output", "-q"]
        code = cli.main([*args, *options])
        out = capsys.readouterr()
        return code, out.out + out.err

    return run


def _one_line_error(result: tuple[int, str], *expected: str) -> str:
    code, output = result
    assert code == 2, output
    text = output.strip()
    assert "\n" not in text and "Traceback" not in text and "internal error" not in text
    for part in expected:
        assert part in text
    for value in VALUES:
        assert value not in text
    return text


def _rows() -> list[dict[str, str]]:
    return [*claim_rows(), *claim_rows({"mce_claim_id": "C200"})]


@pytest.mark.parametrize("layout", [(), ("--layout", "mce-v1")])
def test_cr_only_line_ends(convert: Convert, layout: tuple[str, ...]) -> None:
    data = mce_text(_rows()).replace("\n", "\r").encode()
    _one_line_error(convert(data, *layout, name="mac.txt"), "mac.txt", "the file uses CR-only line ends")


def test_no_line_break_after_the_header(convert: Convert) -> None:
    data = mce_text([]).encode() + b"P|C1|" + b"9" * (2 * 1024 * 1024)
    _one_line_error(convert(data), "in.txt: line 2 is longer than the layout's max_line_length")


def test_upper_case_header_converts(convert: Convert, tmp_path: Path) -> None:
    header, rest = mce_text(_rows()).split("\n", 1)
    code, output = convert((header.upper() + "\n" + rest).encode())
    assert code == 0, output
    assert (tmp_path / "out" / "837P.x12").is_file()


def test_misspelt_required_column(convert: Convert) -> None:
    cols = [("billing_np1" if c == "billing_npi" else c) for c in COLUMNS]
    rows = [{**r, "billing_np1": r["billing_npi"]} for r in _rows()]
    _one_line_error(
        convert(mce_text(rows, columns=cols).encode()),
        "require column(s) billing_npi",
        "(did you mean 'billing_npi'?)",
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16(convert: Convert, encoding: str) -> None:
    _one_line_error(convert(mce_text(_rows()).encode(encoding)), "UTF-16", "save it as UTF-8")


def test_nul_bytes_and_a_bom_run_normally(convert: Convert) -> None:
    header, first, *rest = mce_text(_rows()).split("\n")
    data = "\n".join([header, first.replace("ALDER", "AL\x00DER"), "\x00" * 30, *rest]).encode()
    code, output = convert(b"\xef\xbb\xbf" + data)
    assert code == 1, output
    assert "internal error" not in output and "Traceback" not in output
