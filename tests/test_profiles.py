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
    assert profile.file_name("837P", dt.date(2026, 1, 2), 7) == "837P.x12"


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
        ('file_name = "{type}.x12"', 'file_name = "../{type}.x12"', "plain file name"),
        ('file_name = "{type}.x12"', 'file_name = "{nope}.x12"', "file_name"),
    ],
)
def test_bad_profile_values(tmp_path: Path, find: str, replace: str, message: str) -> None:
    path = _write(tmp_path, "")
    path.write_text(path.read_text().replace(find, replace))
    profile = load_profile(path)
    with pytest.raises(ProfileError, match=message):
        profile.pacdr_settings()
        profile.file_name("837P", dt.date(2026, 1, 2), 1)


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
