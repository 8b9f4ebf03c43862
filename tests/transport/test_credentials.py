"""The [transport] table and where the secret comes from; no output of a session ever holds the secret."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import keyring.backend
import pytest
from click.testing import CliRunner

from sendpro.errors import ProfileError, UsageError
from sendpro.ledger.db import Ledger
from sendpro.profiles import load_profile
from sendpro.transport.base import AuthenticationError, Credentials, TransportConfig
from sendpro.transport.command import submit
from sendpro.transport.config import transport_config
from sendpro.transport.credentials import load_credentials
from sendpro.transport.directory import DirectoryTransport
from sendpro.transport.session import SessionEnv
from sendpro.transport.session import submit as run_submit
from tests.transport.helpers import PASSWORD, convert_run, directory_transport, write_profile


class _MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring held in memory, for the test only."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> _MemoryKeyring:
    previous = keyring.get_keyring()
    ring = _MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring  # type: ignore[misc]
    keyring.set_keyring(previous)


def _config(**kw: object) -> TransportConfig:
    return TransportConfig("sftp", host="h", username="synthetic-user", **kw)  # type: ignore[arg-type]


def test_environment_then_keyring_then_file(tmp_path: Path, memory_keyring: _MemoryKeyring) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    config = _config(secret_env="SYN_SECRET", keyring_service="sendpro-test", secret_file=str(secret))
    assert load_credentials(config, env={"SYN_SECRET": "from-env"}).secret == "from-env"
    assert load_credentials(config, env={}).secret == "from-file"
    memory_keyring.set_password("sendpro-test", "synthetic-user", "from-keyring")
    creds = load_credentials(config, env={})
    assert (creds.secret, creds.origin) == ("from-keyring", "keyring sendpro-test")
    assert "from-keyring" not in repr(creds)


def test_secret_file_readable_by_others_refused_with_chmod(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(PASSWORD)
    secret.chmod(0o640)
    with pytest.raises(UsageError, match=f"chmod 600 {secret}") as info:
        load_credentials(_config(secret_file=str(secret)), env={})
    assert PASSWORD not in str(info.value)


def test_no_secret_names_the_three_ways(memory_keyring: _MemoryKeyring) -> None:
    with pytest.raises(UsageError) as info:
        load_credentials(_config(secret_env="SYN_UNSET", keyring_service="none-here"), env={})
    text = str(info.value)
    assert "environment variable" in text and "keyring" in text and "owner only" in text


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "pigeon"', "kind must be one of"),
        (
            'kind = "directory"\noutbox = "/x"\ninbox = "/y"\nusrname = "u"',
            r"\[transport\].usrname is not a transport key",
        ),
        ('kind = "sftp"\nhost = "h"\nport = 70000', r"\[transport\].port must be"),
        ('kind = "directory"\noutbox = "/x"\ninbox = "/y"\ntimeout = -1', r"\[transport\].timeout"),
        (
            'kind = "core-soap"\nurl = "http://x"\nsender_id = "s"\nreceiver_id = "r"\n'
            'username = "u"\nsecret_env = "E"',
            "https",
        ),
        (
            'kind = "sftp"\nhost = "h"\nusername = "u"\nknown_hosts = "k"\noutbox = "/o"\ninbox = "/i"',
            "no source for the secret",
        ),
    ],
)
def test_bad_transport_tables(tmp_path: Path, table: str, message: str) -> None:
    profile = load_profile(write_profile(tmp_path, table))
    with pytest.raises(ProfileError, match=message) as info:
        transport_config(profile)
    assert profile.name in str(info.value)


class _Refusing(DirectoryTransport):
    def open(self, credentials: Credentials) -> None:
        raise AuthenticationError("refused")


def test_the_password_appears_in_no_output(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    convert_run(tmp_path, ledger)
    table = directory_transport(tmp_path) + '\nusername = "synthetic-user"\nsecret_env = "SENDPRO_TEST_SECRET"'
    profile_path = write_profile(tmp_path, table)
    runner = CliRunner()
    outputs = []
    for extra in ([], [], ["--dry-run"], ["--resubmit", "--json"]):
        result = runner.invoke(
            submit,
            ["--run", "1", "--profile", str(profile_path), "--ledger", str(ledger), *extra],
            env={"SENDPRO_TEST_SECRET": PASSWORD},
        )
        outputs += [result.output, repr(result.exception)]
    profile = load_profile(profile_path)
    with Ledger(ledger) as db:
        for _ in range(3):
            with pytest.raises(AuthenticationError) as info:
                run_submit(
                    db,
                    profile,
                    transport_config(profile),
                    lambda: load_credentials(transport_config(profile), env={"SENDPRO_TEST_SECRET": PASSWORD}),
                    run_id=1,
                    resubmit=True,
                    env=SessionEnv(connect=_Refusing),
                )
            outputs += [str(info.value), repr(info.value)]
        outputs += list(db.db.iterdump())
    for path in tmp_path.rglob("*"):
        if path.is_file():
            outputs.append(path.read_bytes().decode("latin-1"))
    assert outputs and not [o for o in outputs if PASSWORD in o]
    assert os.environ.get("SENDPRO_TEST_SECRET") is None
