"""``sendpro codesets import``: synthetic CMS/FDA files in, a dated code list and a [codesets] entry out."""

from __future__ import annotations

import datetime as dt
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sendpro import cli
from sendpro.codesets.catalog import CodeSets
from sendpro.codesets.codelist import ndc11, read_code_list
from sendpro.errors import UsageError
from sendpro.projectconfig import code_list_source


def order_line(n: int, code: str, billable: bool, text: str) -> str:
    # 1-based: order 1-5, code 7-13, flag 15, short description 17-76, long description 78-.
    return f"{n:05d} {code:<7} {'1' if billable else '0'} {text[:60]:<60} {text}"


ORDER_LINES = [
    order_line(1, "A00", False, "Synthetic heading"),
    order_line(2, "A000", True, "Synthetic cholera, one"),
    order_line(3, "A001", True, "Synthetic cholera, two"),
    order_line(4, "Z99", False, "Synthetic heading two"),
    order_line(5, "Z9989", True, "Synthetic dependence, other"),
]


def hcpcs_record(code: str, record: str, text: str, added: str = "", terminated: str = "", seq: str = "00100") -> str:
    head = f"{code:<5}{seq}{record}{text:<80}{text[:28]:<28}"
    return f"{head:<268}{added:<8}{'':<8}{terminated:<8}{'A':<28}"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, ["codesets", "import", *args])


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_order_file_skips_headers_and_derives_the_fiscal_year(tmp_path: Path) -> None:
    src = write(tmp_path / "icd10cm_order_2026.txt", ORDER_LINES)
    out = tmp_path / "icd10cm.csv"
    result = invoke("icd10cm", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"icd10cm: 3 codes (FY2026, 2025-10-01 to 2026-09-30) -> {out}; 2 header rows skipped" in result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "code,effective_from,effective_to,description"
    assert lines[1:] == [
        'A000,,,"Synthetic cholera, one"',
        'A001,,,"Synthetic cholera, two"',
        'Z9989,,,"Synthetic dependence, other"',
    ]
    # The printed entry is what sendpro.toml takes; through it the list loads and tells codes apart.
    table = tomllib.loads(result.stdout)["codesets"]["icd10cm"][0]
    assert table["version"] == "FY2026" and table["effective_from"] == dt.date(2025, 10, 1)
    assert table["effective_to"] == dt.date(2026, 9, 30)
    source = code_list_source(table, Path("/"), "snippet")
    sets = CodeSets.load({"icd10cm": (source,)})
    icd = sets.get("icd10cm")
    assert icd is not None and icd.known("A00.0") and not icd.known("A00")  # a header is not reportable
    release = icd.releases[0]
    assert release.version == "FY2026" and release.size == 3


def test_code_file_every_line_is_a_code_and_options_win(tmp_path: Path) -> None:
    src = write(tmp_path / "icd10pcs_codes_2027.txt", ["0016070 Synthetic bypass one", "0016071 Synthetic bypass two"])
    out = tmp_path / "pcs.csv"
    result = invoke("icd10pcs", str(src), "--out", str(out), "--version", "2027-APR", "--effective-from", "2027-04-01")
    assert result.exit_code == 0, result.output
    listed = read_code_list(out)
    assert listed.codes() == {"0016070", "0016071"}
    assert "icd10pcs: 2 codes (2027-APR, 2027-04-01 to ...)" in result.stderr
    table = tomllib.loads(result.stdout)["codesets"]["icd10pcs"][0]
    assert table == {"path": str(out), "version": "2027-APR", "effective_from": dt.date(2027, 4, 1)}
    assert "Synthetic bypass two" in out.read_text()


def test_fiscal_year_version_given_sets_the_default_period(tmp_path: Path) -> None:
    src = write(tmp_path / "cm.txt", ["A000    Synthetic one"])
    result = invoke("icd10cm", str(src), "--out", str(tmp_path / "o.csv"), "--version", "FY2027")
    assert result.exit_code == 0, result.output
    assert "(FY2027, 2026-10-01 to 2027-09-30)" in result.stderr


def test_no_version_prints_the_entry_without_dates(tmp_path: Path) -> None:
    src = write(tmp_path / "mine.txt", ["A000    Synthetic one"])
    out = tmp_path / "o.csv"
    result = invoke("icd10cm", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.stdout)["codesets"]["icd10cm"] == [{"path": str(out)}]
    assert "--version" in result.stderr


def test_zip_input_picks_the_member_by_name(tmp_path: Path) -> None:
    archive = tmp_path / "2026-code-descriptions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Code Descriptions/icd10cm_order_2026.txt", "\n".join(ORDER_LINES) + "\n")
        z.writestr("Code Descriptions/icd10cm_codes_2026.txt", "A000    Synthetic one\n")
        z.writestr("Code Descriptions/README.txt", "not codes\n")
    out = tmp_path / "cm.csv"
    result = invoke("icd10cm", str(archive), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert read_code_list(out).codes() == {"A000", "A001", "Z9989"}  # the order file wins over the code file
    assert "FY2026" in result.stderr


def test_ambiguous_zip_names_the_candidates(tmp_path: Path) -> None:
    archive = tmp_path / "hcpcs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("HCPC2026_JAN_ANWEB_v1.txt", hcpcs_record("Z9999", "3", "Synthetic") + "\n")
        z.writestr("HCPC2026_JAN_ANWEB_v2.txt", hcpcs_record("Z9999", "3", "Synthetic") + "\n")
    out = tmp_path / "h.csv"
    result = invoke("hcpcs", str(archive), "--out", str(out))
    assert isinstance(result.exception, UsageError)
    assert "HCPC2026_JAN_ANWEB_v1.txt, HCPC2026_JAN_ANWEB_v2.txt" in str(result.exception)
    assert not out.exists()


def test_unknown_format_is_a_usage_error_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write(tmp_path / "notes.txt", ["", "this is not a code file, it is prose"])
    assert cli.main(["codesets", "import", "icd10cm", str(src), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{src} line 2: not a file sendpro can read as icd10cm" in err and "Traceback" not in err
    wrong = write(tmp_path / "icd10cm_order_2026.txt", ORDER_LINES)
    assert cli.main(["codesets", "import", "hcpcs", str(wrong), "--out", str(tmp_path / "o.csv")]) == 2
    assert "looks like an ICD-10 order file, not a hcpcs file" in capsys.readouterr().err


def test_error_mid_way_leaves_no_partial_file(tmp_path: Path) -> None:
    src = write(tmp_path / "icd10cm_order_2026.txt", [*ORDER_LINES, "garbage line", order_line(6, "B001", True, "x")])
    out = tmp_path / "cm.csv"
    out.write_text("code\nKEEP\n")
    result = invoke("icd10cm", str(src), "--out", str(out))
    assert isinstance(result.exception, UsageError) and "line 6" in str(result.exception)
    assert out.read_text() == "code\nKEEP\n"  # the old list is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.csv", "icd10cm_order_2026.txt"]  # no temp file left


def test_hcpcs_records_dates_continuations_and_modifiers(tmp_path: Path) -> None:
    src = write(
        tmp_path / "HCPC2026_JAN_ANWEB.txt",
        [
            hcpcs_record("Z9998", "3", "Synthetic supply, first part", added="20200101", terminated="20251231"),
            hcpcs_record("Z9998", "4", "and its second part", seq="00200"),
            hcpcs_record("Z9999", "3", "Synthetic service", added="20240701", terminated="00000000"),
            hcpcs_record("ZZ", "7", "Synthetic modifier", added="20100101"),
            hcpcs_record("ZZ", "8", "modifier continued", seq="00200"),
        ],
    )
    out = tmp_path / "h.csv"
    result = invoke("hcpcs", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "hcpcs: 2 codes (2026-JAN) ->" in result.stderr and "1 modifiers skipped" in result.stderr
    rows = out.read_text().splitlines()[1:]
    assert rows == [
        'Z9998,2020-01-01,2025-12-31,"Synthetic supply, first part and its second part"',
        "Z9999,2024-07-01,,Synthetic service",
    ]
    listed = read_code_list(out)
    assert listed.groups == {("20200101", "20251231"): ["Z9998"], ("20240701", None): ["Z9999"]}
    with_mods = invoke("hcpcs", str(src), "--out", str(out), "--modifiers")
    assert with_mods.exit_code == 0, with_mods.output
    assert read_code_list(out).codes() == {"Z9998", "Z9999", "ZZ"}


def test_hcpcs_bad_date_names_the_line(tmp_path: Path) -> None:
    src = write(tmp_path / "h.txt", [hcpcs_record("Z9999", "3", "Synthetic", added="20241399")])
    result = invoke("hcpcs", str(src), "--out", str(tmp_path / "o.csv"))
    assert isinstance(result.exception, UsageError) and "line 1: the add date '20241399'" in str(result.exception)


PACKAGE_HEADER = "PRODUCTID\tPRODUCTNDC\tNDCPACKAGECODE\tPACKAGEDESCRIPTION\tSTARTMARKETINGDATE\tENDMARKETINGDATE"


@pytest.mark.parametrize(
    ("written", "eleven"),
    [("1234-5678-90", "01234567890"), ("12345-678-90", "12345067890"), ("12345-6789-1", "12345678901")],
)
def test_ndc_segments_to_eleven_digits(written: str, eleven: str) -> None:
    assert ndc11(written) == eleven


def test_ndc_package_file_dates_and_duplicates(tmp_path: Path) -> None:
    src = write(
        tmp_path / "package.txt",
        [
            PACKAGE_HEADER,
            "p1\t1234-5678\t1234-5678-90\t1 BOTTLE in 1 BOX\t20200115\t",
            "p2\t12345-678\t12345-678-90\t10 VIAL in 1 CARTON\t20190301\t20231231",
            "p3\t12345-6789\t12345-6789-1\t30 TABLET in 1 BOTTLE\t20210601\t",
            "p4\t1234-5678\t1234-5678-90\t1 BOTTLE in 1 BOX\t20180101\t20220101",  # listed again, another product
        ],
    )
    out = tmp_path / "ndc.csv"
    result = invoke("ndc", str(src), "--out", str(out), "--version", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert "ndc: 3 codes (2026-12-01) ->" in result.stderr and "1 repeated codes merged" in result.stderr
    assert out.read_text().splitlines()[1:] == [
        "01234567890,2018-01-01,,1 BOTTLE in 1 BOX",  # the widest of its two listings
        "12345067890,2019-03-01,2023-12-31,10 VIAL in 1 CARTON",
        "12345678901,2021-06-01,,30 TABLET in 1 BOTTLE",
    ]
    table = tomllib.loads(result.stdout)["codesets"]["ndc"][0]
    ndc = CodeSets.load({"ndc": (code_list_source(table, Path("/"), "snippet"),)}).get("ndc")
    assert ndc is not None and ndc.known("1234-5678-90") and not ndc.known("99999999999")


def test_ndc_product_file_is_refused_with_advice(tmp_path: Path) -> None:
    src = write(
        tmp_path / "product.txt",
        [
            "PRODUCTID\tPRODUCTNDC\tPROPRIETARYNAME\tSTARTMARKETINGDATE\tENDMARKETINGDATE",
            "p1\t1234-5678\tX\t20200101\t",
        ],
    )
    result = invoke("ndc", str(src), "--out", str(tmp_path / "o.csv"))
    assert isinstance(result.exception, UsageError) and "import package.txt" in str(result.exception)


def test_ndc_zip_takes_package_txt(tmp_path: Path) -> None:
    archive = tmp_path / "ndctext.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("product.txt", "PRODUCTID\tPRODUCTNDC\n")
        z.writestr("package.txt", PACKAGE_HEADER + "\np1\t1234-5678\t1234-5678-90\tBOX\t20200115\t\n")
    out = tmp_path / "ndc.csv"
    assert invoke("ndc", str(archive), "--out", str(out)).exit_code == 0
    assert read_code_list(out).codes() == {"01234567890"}


def test_no_code_dates_leaves_per_code_dates_out(tmp_path: Path) -> None:
    src = write(tmp_path / "package.txt", [PACKAGE_HEADER, "p1\t1234-5678\t1234-5678-90\tBOX\t20200115\t20240101"])
    out = tmp_path / "ndc.csv"
    assert invoke("ndc", str(src), "--out", str(out), "--no-code-dates").exit_code == 0
    assert out.read_text().splitlines()[1:] == ["01234567890,,,BOX"]
    assert read_code_list(out).groups == {(None, None): ["01234567890"]}
