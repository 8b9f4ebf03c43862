"""submit and retrieve end to end through the directory transport, and the conduct rules around every transport."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro.ledger.db import Ledger
from sendpro.profiles import load_profile
from sendpro.transport.base import AuthenticationError, Credentials, SendResult, TransportConfig, TransportError
from sendpro.transport.command import retrieve, submit
from sendpro.transport.config import transport_config
from sendpro.transport.directory import DirectoryTransport
from sendpro.transport.session import SessionEnv
from sendpro.transport.session import submit as run_submit
from tests.transport.helpers import PASSWORD, ack_999_for, convert_run, directory_transport, write_profile


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A ledger with one complete run, and a profile dropping files into tmp_path/mft-out."""
    ledger = tmp_path / "ledger.sqlite"
    report = convert_run(tmp_path, ledger)
    assert report.status == "complete"
    return ledger, write_profile(tmp_path, directory_transport(tmp_path)), tmp_path / "out1"


def _837(out: Path) -> Path:
    return next(p for p in out.iterdir() if p.name.startswith("837") and p.suffix == ".x12")


def _invoke(command: object, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))  # type: ignore[arg-type]
    return result.exit_code, result.output


def test_submit_run_then_duplicate_refused_then_resubmit(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    ledger, profile, out = setup
    code, output = _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))
    assert code == 0, output
    sent = tmp_path / "mft-out" / _837(out).name
    assert sent.read_bytes() == _837(out).read_bytes()
    assert not [p for p in (tmp_path / "mft-out").iterdir() if p.name.startswith(".")]
    code, output = _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))
    assert code == 1 and "already sent" in output and "--resubmit" in output
    code, output = _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger), "--resubmit")
    assert code == 0, output
    with Ledger(ledger) as db:
        rows = db.query("SELECT status, attempts, response_code, payload_id FROM transmissions ORDER BY id")
    assert [r[:3] for r in rows] == [("sent", 1, "Success"), ("sent", 1, "Success")]
    assert rows[0][3] != rows[1][3]  # a resubmission is a new transaction


def test_dry_run_lists_and_sends_nothing(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    ledger, profile, out = setup
    code, output = _invoke(
        submit, str(_837(out)), "--profile", str(profile), "--ledger", str(ledger), "--dry-run", "--json"
    )
    assert code == 0
    assert [f["status"] for f in json.loads(output)["files"]] == ["would send"]
    assert list((tmp_path / "mft-out").iterdir()) == []


def test_unknown_changed_and_incomplete_files_refused(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    ledger, profile, out = setup
    stranger = tmp_path / "hand-made.x12"
    stranger.write_text("ISA*00*...~")
    code, output = _invoke(submit, str(stranger), "--profile", str(profile), "--ledger", str(ledger))
    assert code == 1 and "sendpro sends only files it wrote and recorded" in output
    with Ledger(ledger) as db:
        db.db.execute("UPDATE runs SET status = 'failed' WHERE id = 1")
    code, output = _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))
    assert code == 1 and "did not complete" in output
    with Ledger(ledger) as db:
        db.db.execute("UPDATE runs SET status = 'complete' WHERE id = 1")
    target = _837(out)
    target.write_bytes(target.read_bytes().replace(b"~", b"~\n", 1))
    code, output = _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))
    assert code == 1 and "changed since the run recorded it" in output
    assert list((tmp_path / "mft-out").iterdir()) == []


def test_production_file_with_placeholders_refused(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    filled = write_profile(tmp_path, directory_transport(tmp_path), fill_placeholders=True, name="filled")
    report = convert_run(tmp_path, ledger, profile=str(filled), usage="P")
    assert report.status == "complete"
    placeholders = write_profile(tmp_path, directory_transport(tmp_path))
    code, output = _invoke(submit, "--run", "1", "--profile", str(placeholders), "--ledger", str(ledger))
    assert code == 1 and "production file" in output and "placeholders" in output
    code, output = _invoke(submit, "--run", "1", "--profile", str(filled), "--ledger", str(ledger))
    assert code == 0, output


def test_retrieve_ingests_stores_under_run_and_is_idempotent(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    ledger, profile, out = setup
    assert _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))[0] == 0
    (tmp_path / "mft-in" / "ack.999").write_text(ack_999_for(ledger, 1))
    code, output = _invoke(retrieve, "--profile", str(profile), "--ledger", str(ledger), "--json")
    assert code == 0, output
    files = json.loads(output)["files"]
    assert [f["status"] for f in files] == ["ingested"]
    assert (
        Path(files[0]["stored"]) == (out / "responses" / "ack.999").resolve()
        or Path(files[0]["stored"]) == out / "responses" / "ack.999"
    )
    with Ledger(ledger) as db:
        before = list(db.db.iterdump())
        assert db.query("SELECT status FROM files WHERE run_id = 1 AND kind = '837'") == [("accepted",)]
    code, output = _invoke(retrieve, "--profile", str(profile), "--ledger", str(ledger), "--json")
    assert code == 0 and [f["status"] for f in json.loads(output)["files"]] == ["skipped"]
    # The same content under another name: fetched, recognised by SHA-256, nothing changes.
    (tmp_path / "mft-in" / "ack-copy.999").write_text(ack_999_for(ledger, 1))
    code, output = _invoke(retrieve, "--profile", str(profile), "--ledger", str(ledger), "--json")
    assert [f["status"] for f in json.loads(output)["files"]] == ["already ingested", "skipped"]
    with Ledger(ledger) as db:
        assert list(db.db.iterdump()) == before


def test_second_session_refused_while_lock_held(setup: tuple[Path, Path, Path]) -> None:
    ledger, profile, _ = setup
    fd = os.open(f"{ledger}.transport.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(fd, b"4242", 0)
        code, output = _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))
        assert code == 2 and "another submit or retrieve is running" in output and "pid 4242" in output
    finally:
        os.close(fd)
    assert _invoke(submit, "--run", "1", "--profile", str(profile), "--ledger", str(ledger))[0] == 0


class _Refusing(DirectoryTransport):
    """A directory transport whose server refuses every login (counts how often it was asked)."""

    opened = 0

    def open(self, credentials: Credentials) -> None:
        type(self).opened += 1
        raise AuthenticationError("refused")


def test_three_failed_logins_stop_until_checked(setup: tuple[Path, Path, Path]) -> None:
    ledger, profile_path, _ = setup
    profile = load_profile(profile_path)
    config = transport_config(profile)
    env = SessionEnv(connect=_Refusing, sleep=lambda s: None)
    creds = lambda: Credentials("synthetic-user", PASSWORD)  # noqa: E731
    with Ledger(ledger) as db:
        for n in (1, 2, 3):
            with pytest.raises(AuthenticationError, match=f"{n} of 3"):
                run_submit(db, profile, config, creds, run_id=1, env=env)
        assert _Refusing.opened == 3  # never retried within an invocation
        with pytest.raises(Exception, match="3 failed logins .* --logins-checked"):
            run_submit(db, profile, config, creds, run_id=1, env=env)
        assert _Refusing.opened == 3  # the fourth did not contact the server
        ok = SessionEnv(connect=DirectoryTransport, sleep=lambda s: None)
        result = run_submit(db, profile, config, creds, run_id=1, env=ok, logins_checked=True)
        assert [f.status for f in result.files] == ["sent"]
        assert db.query("SELECT failures, reset_reason FROM login_attempts") == [(0, "--logins-checked")]


class _DropsFirstUpload(DirectoryTransport):
    """A directory drop whose first upload is cut off halfway (a partial hidden file, then a dropped connection)."""

    payloads: list[str] = []

    def send(self, path: Path, kind: str, payload_id: str) -> SendResult:
        type(self).payloads.append(payload_id)
        if len(type(self).payloads) == 1:
            (self.outbox / f".{path.name}.part").write_bytes(path.read_bytes()[:50])
            raise TransportError("connection reset during upload")
        (self.outbox / f".{path.name}.part").unlink(missing_ok=True)
        return super().send(path, kind, payload_id)


def test_retry_after_dropped_upload_reuses_payload_id(setup: tuple[Path, Path, Path]) -> None:
    ledger, profile_path, _ = setup
    profile = load_profile(profile_path)
    sleeps: list[float] = []
    env = SessionEnv(
        connect=_DropsFirstUpload, sleep=sleeps.append, new_id=lambda: "00000000-0000-4000-8000-000000000001"
    )
    with Ledger(ledger) as db:
        result = run_submit(
            db, profile, transport_config(profile), lambda: Credentials("u", PASSWORD), run_id=1, env=env
        )
        assert [(f.status, f.attempts) for f in result.files] == [("sent", 2)]
        assert len(set(_DropsFirstUpload.payloads)) == 1 and len(_DropsFirstUpload.payloads) == 2
        assert sleeps == [5.0]
        assert db.query("SELECT status, attempts, payload_id FROM transmissions") == [
            ("sent", 2, "00000000-0000-4000-8000-000000000001")
        ]


def test_no_profile_transport_table_is_a_clear_stop(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    convert_run(tmp_path, ledger)
    code, output = _invoke(submit, "--run", "1", "--ledger", str(ledger))
    assert code == 2 and "no [transport] table" in output
    config = TransportConfig("directory", outbox=str(tmp_path))
    assert config.placeholders() == []
