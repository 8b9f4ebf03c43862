"""Reference files: providers, members and the ordered-services ranges."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sendpro.errors import UsageError
from sendpro.references import Members, OrderedServices, Providers
from sendpro.resources import schemas_dir


def test_provider_file_splits_providers_and_affiliations(tmp_path: Path) -> None:
    path = tmp_path / "providers.csv"
    path.write_text(
        "# a comment line\n"
        "NPI,entity_type,provider_type,category,group_npi,affiliation_from,affiliation_to\n"
        "1234567893,2,,group_practice,,,\n"
        "1245319599,1,01,other,1234567893,2021-01-01,2025-12-31\n"
        "1245319599,1,01,other,1444444446,2026-01-01,\n",
        encoding="utf-8",
    )
    refs = Providers.read(path)
    assert refs.providers["npi"].to_list() == ["1234567893", "1245319599"]  # one row per provider
    assert refs.affiliations.rows() == [
        ("1245319599", "1234567893", "20210101", "20251231"),  # dates as the extracts' CCYYMMDD text
        ("1245319599", "1444444446", "20260101", None),
    ]
    assert refs.providers["enrolled_from"].to_list() == [None, None]  # absent columns are empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entity_type\n2\n", "missing column"),
        ("npi,speciality\n1,x\n", "unknown column"),
        ("npi,enrolled_from\n1,01/02/2026\n", "is not a date"),
        ("npi,category\n1,clinic\n", "is not one of"),
    ],
)
def test_bad_provider_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        Providers.read(path)


def test_member_file_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text("member_id,eligible_from,eligible_to\n100000000001,2025-01-01,\n", encoding="utf-8")
    assert Members.read(path).spans.rows() == [("100000000001", "20250101", None)]
    with pytest.raises(UsageError, match="cannot read it"):
        Members.read(tmp_path / "none.csv")


def test_bundled_ordered_services_classify_codes() -> None:
    services = OrderedServices.read(schemas_dir() / "references" / "ordered-services.toml")
    assert services.effective_from == "20250801"
    assert services.category_of("E0601") == "durable medical equipment, supplies and oxygen"
    assert services.category_of("80053") == "laboratory and diagnostic tests"
    assert services.category_of("99213") is None and services.category_of("E060") is None
    frame = pl.DataFrame({"code": ["97110", "99213", "L3000", None]})
    found = frame.select(services.category(pl.col("code")).alias("category"))["category"].to_list()
    assert found == ["physical, occupational and speech therapy", None, "orthotics and prosthetics", None]


def test_a_bad_ordered_services_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "o.toml"
    path.write_text('effective_from = 2025-08-01\n[[category]]\nname = "x"\ncodes = ["A1-A9999"]\n', encoding="utf-8")
    with pytest.raises(UsageError, match="mixes code lengths"):
        OrderedServices.read(path)
