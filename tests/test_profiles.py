from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sendpro.errors import ProfileError
from sendpro.profiles import bundled_profiles, load_profile


def test_bundled_profile_is_test_only_until_filled() -> None:
    profile = load_profile("masshealth-sendpro")
    assert "masshealth-sendpro" in bundled_profiles()
    settings = profile.pacdr_settings()
    assert settings.envelope.usage == "T"
    assert "interchange.sender_id" in profile.placeholders()
    with pytest.raises(ProfileError, match="placeholder values .*interchange.sender_id"):
        profile.pacdr_settings("P")
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    assert profile.file_name("837P", when, 7) == "837P.x12"
    assert profile.file_name("837P", when, 7, ledger=True) == "837P.000000007.x12"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    base = (Path(__file__).resolve().parent.parent / "schemas" / "profiles" / "masshealth-sendpro.toml").read_text()
    path.write_text(base.replace("PLACEHOLDER", "REALID").replace("PLHLDR", "123456") + body)
    return path


def test_filled_profile_allows_production(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, ""))
    assert profile.placeholders() == []
    assert profile.pacdr_settings("P").envelope.usage == "P"


@pytest.mark.parametrize(
    ("find", "replace", "message"),
    [
        ('sender_id = "REALID"', 'sender_id = "0123456789ABCDEFG"', "longer than 15"),
        ('entity = "PR"', 'entity = "XX"', "entity must be PR or ZD"),
        ("max_claims = 5000", "max_claims = 0", "max_claims must be 1-5000"),
        ('element_separator = "*"', 'element_separator = ":"', "separators"),
        ("max_claims = 5000", 'max_claims = 5000\nfile_name = "../{type}.x12"', "plain file name"),
        ("max_claims = 5000", 'max_claims = 5000\nfile_name = "{nope}.x12"', r"unknown token \{nope\}"),
        ("max_claims = 5000", 'max_claims = 5000\nfile_name = "{pidsl}.x12"', r"needs \[submitter\].pidsl"),
    ],
)
def test_bad_profile_values(tmp_path: Path, find: str, replace: str, message: str) -> None:
    path = _write(tmp_path, "")
    path.write_text(path.read_text().replace(find, replace))
    profile = load_profile(path)
    with pytest.raises(ProfileError, match=message):
        profile.pacdr_settings()
        profile.file_name("837P", dt.datetime(2026, 1, 2), 1)


def test_file_name_tokens(tmp_path: Path) -> None:
    """The DQ SQL's SENDPro shape, from tokens: PIDSL, type letter, a formatted timestamp, usage word, ISA13."""
    pattern = '\nfile_name = "{pidsl}_pacdr{letter}_{timestamp:%m%d%Y%H%M%S}_{usage_word}_{isa13}.x12"'
    path = _write(tmp_path, "")
    text = path.read_text().replace("max_claims = 5000", "max_claims = 5000" + pattern)
    path.write_text(text.replace("# pidsl = ", 'pidsl = "123456789A" # '))
    profile = load_profile(path)
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    assert profile.file_name("837I", when, 42, usage="T") == "123456789A_pacdri_01022026030405_test_000000042.x12"
    assert profile.file_name("837D", when, 43, usage="P").startswith("123456789A_pacdrd_") and "_production_" in (
        profile.file_name("837D", when, 43, usage="P")
    )
    plain = '\nfile_name = "{submitter}-{type}-{date}-{timestamp}-{usage}-{icn}.x12"'
    path.write_text(text.replace(pattern, plain))
    assert load_profile(path).file_name("837P", when, 7) == "REALID-837P-20260102-20260102030405-T-000000007.x12"


def test_unknown_and_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="did you mean 'masshealth-sendpro'"):
        load_profile("masshealth-sendpr")
    bad = tmp_path / "bad.toml"
    bad.write_text("[profile\n")
    with pytest.raises(ProfileError, match="cannot be read"):
        load_profile(bad)
    bad.write_text("[other]\n")
    with pytest.raises(ProfileError, match=r"\[profile\] table"):
        load_profile(bad)
