"""CORE SOAP+MTOM and HTTP MIME transports against the loopback CORE endpoint (tests/transport/core_server.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import traceback
import uuid
from pathlib import Path

import pytest

from sendpro import tempfiles
from sendpro.errors import ProfileError
from sendpro.transport import core
from sendpro.transport.base import (
    AuthenticationError,
    Credentials,
    TransportConfig,
    TransportError,
    Waiting,
    safe_file_name,
)
from sendpro.transport.core import CoreMimeTransport, CoreSoapTransport, parse_file_list
from tests.transport.core_server import PASSWORD, RECEIVER_ID, RETRIEVAL_TYPE, SENDER_ID, USERNAME, CoreServer

CLOCK = dt.datetime(2026, 12, 1, 13, 45, 9, tzinfo=dt.UTC)
WRONG_PASSWORD = "Wrong-Pw-Qk42#m"
PAYLOAD_TYPES = {"837P": "X12_837P_PACDR_TEST", "837I": "X12_837I_PACDR_TEST", "RX": "NCPDP_PACDR_TEST"}
BOTH = pytest.mark.parametrize("transport_class", [CoreSoapTransport, CoreMimeTransport], ids=["soap", "mime"])
# Synthetic X12 with CRLF and LF line ends, a trailing CR and every byte value: the bytes must arrive unchanged.
X12 = (
    b"ISA*00*          *00*          *ZZ*TESTMCE01      *ZZ*MASSHEALTHTEST *261201*1345*^*00501*000000001*0*T*:~\r\n"
    b"GS*HC*TESTMCE01*MASSHEALTHTEST*20261201*1345*1*X*005010X298A1~\n" + bytes(range(256)) * 4 + b"IEA*1*000000001~\r"
)


def make_config(server: CoreServer, kind: str = "core-soap", **overrides: object) -> TransportConfig:
    values: dict[str, object] = {
        "kind": kind,
        "url": server.url,
        "sender_id": SENDER_ID,
        "receiver_id": RECEIVER_ID,
        "payload_types": PAYLOAD_TYPES,
        "retrieval_payload_type": RETRIEVAL_TYPE,
        "username": USERNAME,
        "timeout": 10.0,
        "ca_file": str(server.ca_file),
    }
    values.update(overrides)
    return TransportConfig(**values)  # type: ignore[arg-type]


def opened(
    server: CoreServer,
    transport_class: type[core._CoreTransport] = CoreSoapTransport,
    password: str = PASSWORD,
    **overrides: object,
) -> core._CoreTransport:
    kind = "core-soap" if transport_class is CoreSoapTransport else "core-mime"
    transport = transport_class(make_config(server, kind, **overrides), now=lambda: CLOCK)
    transport.open(Credentials(USERNAME, password, origin="environment"))
    return transport


def write(tmp_path: Path, data: bytes = X12, name: str = "run7_837P.x12") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert WRONG_PASSWORD not in text


# -- sending -------------------------------------------------------------------------------------


@BOTH
def test_send_delivers_exact_bytes_with_a_correct_envelope(core_server, tmp_path, transport_class):
    transport = opened(core_server, transport_class)
    payload_id = str(uuid.uuid4())
    result = transport.send(write(tmp_path), "837P", payload_id)
    transport.close()

    assert result.ok and result.code == "Success" and result.payload_id == payload_id
    received = core_server.received[payload_id]
    assert received.payload == X12
    assert received.style == ("soap" if transport_class is CoreSoapTransport else "mime")
    assert received.envelope == {
        "PayloadType": "X12_837P_PACDR_TEST",
        "ProcessingMode": "Batch",
        "PayloadID": payload_id,
        "PayloadLength": str(len(X12)),
        "TimeStamp": "2026-12-01T13:45:09Z",
        "SenderID": SENDER_ID,
        "ReceiverID": RECEIVER_ID,
        "CORERuleVersion": "2.2.0",
        "CheckSum": hashlib.sha1(X12).hexdigest(),
    }


@BOTH
def test_a_large_file_is_streamed_and_arrives_intact(core_server, tmp_path, transport_class):
    data = X12 * 3000  # about 3.5 MB, more than one upload chunk
    transport = opened(core_server, transport_class)
    result = transport.send(write(tmp_path, data), "RX", str(uuid.uuid4()))
    assert result.ok
    (received,) = core_server.received.values()
    assert received.payload == data and received.payload_type == "NCPDP_PACDR_TEST"


def test_timestamp_is_utc_from_the_injected_clock(core_server, tmp_path):
    eastern = dt.timezone(dt.timedelta(hours=-5))
    transport = CoreSoapTransport(
        make_config(core_server), now=lambda: dt.datetime(2026, 12, 1, 20, 0, 1, tzinfo=eastern)
    )
    transport.open(Credentials(USERNAME, PASSWORD))
    transport.send(write(tmp_path), "837I", str(uuid.uuid4()))
    (received,) = core_server.received.values()
    assert received.envelope["TimeStamp"] == "2026-12-02T01:00:01Z"


def test_a_kind_without_payload_type_is_a_profile_error(core_server, tmp_path):
    transport = opened(core_server)
    with pytest.raises(ProfileError, match=r"transport\.payload_types\.837D"):
        transport.send(write(tmp_path), "837D", str(uuid.uuid4()))
    assert core_server.log == []  # refused before anything was sent


def test_only_https_endpoints_are_accepted(core_server):
    with pytest.raises(ProfileError, match="https"):
        CoreSoapTransport(make_config(core_server, url=core_server.url.replace("https:", "http:")))


def test_sending_before_open_is_refused(core_server, tmp_path):
    transport = CoreSoapTransport(make_config(core_server))
    with pytest.raises(TransportError, match="not open"):
        transport.send(write(tmp_path), "837P", str(uuid.uuid4()))
    transport.open(Credentials(USERNAME, PASSWORD))
    transport.close()
    transport.close()  # idempotent
    with pytest.raises(TransportError, match="not open"):
        transport.waiting()


# -- answers that are not Success ----------------------------------------------------------------


@BOTH
def test_a_refused_file_is_a_result_with_the_servers_code(core_server, tmp_path, transport_class):
    core_server.answer_next("PayloadTypeIllegal", "PayloadType not accepted for this sender")
    result = opened(core_server, transport_class).send(write(tmp_path), "837P", str(uuid.uuid4()))
    assert not result.ok
    assert (result.code, result.message) == ("PayloadTypeIllegal", "PayloadType not accepted for this sender")
    assert core_server.received == {}


class _TamperedSoap(CoreSoapTransport):
    """Sends a CheckSum that does not match the payload (the server must notice)."""

    def _submission(self, envelope, path):
        request = super()._submission(envelope, path)
        body = b"".join(request.body)
        assert envelope.checksum is not None
        return core._Request(body.replace(envelope.checksum.encode(), b"0" * 40), request.headers)


class _TamperedMime(CoreMimeTransport):
    def _submission(self, envelope, path):
        request = super()._submission(envelope, path)
        body = b"".join(request.body)
        assert envelope.checksum is not None
        return core._Request(body.replace(envelope.checksum.encode(), b"0" * 40), request.headers)


@pytest.mark.parametrize("transport_class", [_TamperedSoap, _TamperedMime], ids=["soap", "mime"])
def test_checksum_mismatch_is_answered_with_an_error_code(core_server, tmp_path, transport_class):
    transport = transport_class(make_config(core_server), now=lambda: CLOCK)
    transport.open(Credentials(USERNAME, PASSWORD))
    result = transport.send(write(tmp_path), "837P", str(uuid.uuid4()))
    assert not result.ok and result.code == "ChecksumMismatch"
    assert core_server.received == {}


def test_missing_sender_id_is_answered_with_an_error_code(core_server, tmp_path):
    result = opened(core_server, sender_id="").send(write(tmp_path), "837P", str(uuid.uuid4()))
    assert (result.ok, result.code) == (False, "SenderIDRequired")


def test_a_payload_id_reused_for_other_bytes_is_refused(core_server, tmp_path):
    transport = opened(core_server)
    payload_id = str(uuid.uuid4())
    assert transport.send(write(tmp_path), "837P", payload_id).ok
    second = transport.send(write(tmp_path, X12 + b"extra", "other.x12"), "837P", payload_id)
    assert (second.ok, second.code) == (False, "PayloadIDIllegal")
    assert core_server.received[payload_id].payload == X12


def test_a_file_changed_during_the_upload_is_not_completed(core_server, tmp_path, monkeypatch):
    path = write(tmp_path)
    real = core._file_digest

    def digest_of_an_earlier_version(p: Path) -> tuple[int, str]:
        # The checksum pass saw other bytes than the upload pass will find on disk.
        size, _ = real(p)
        return size, "f" * 40

    monkeypatch.setattr(core, "_file_digest", digest_of_an_earlier_version)
    with pytest.raises(TransportError, match="changed while it was being sent") as caught:
        opened(core_server).send(path, "837P", str(uuid.uuid4()))
    assert caught.value.retryable is False
    assert core_server.received == {}


# -- credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport_class", "mode"),
    [
        (CoreSoapTransport, "envelope"),
        (CoreSoapTransport, "http401"),
        (CoreSoapTransport, "fault"),
        (CoreMimeTransport, "envelope"),
        (CoreMimeTransport, "http401"),
    ],
)
def test_wrong_password_is_an_authentication_error_without_the_secret(
    core_server, tmp_path, caplog, transport_class, mode
):
    caplog.set_level(logging.DEBUG)
    core_server.auth_failure = mode
    transport = opened(core_server, transport_class, password=WRONG_PASSWORD)
    with pytest.raises(AuthenticationError) as caught:
        transport.send(write(tmp_path), "837P", str(uuid.uuid4()))
    error = caught.value
    assert error.retryable is False
    assert USERNAME in str(error)
    assert_secret_free(
        str(error), repr(error), "".join(traceback.format_exception(error)), repr(transport), caplog.text
    )
    assert core_server.received == {}
    with pytest.raises(AuthenticationError):
        transport.waiting()


def test_a_server_echoing_the_secret_is_redacted(core_server, tmp_path):
    core_server.answer_next("PayloadTypeIllegal", f"bad request from {USERNAME}/{PASSWORD}")
    result = opened(core_server).send(write(tmp_path), "837P", str(uuid.uuid4()))
    assert result.message == f"bad request from {USERNAME}/***"


# -- failures that a retry may cure --------------------------------------------------------------


@BOTH
def test_server_error_is_retryable_and_the_retry_is_stored_once(core_server, tmp_path, transport_class):
    transport = opened(core_server, transport_class)
    path, payload_id = write(tmp_path), str(uuid.uuid4())
    core_server.fail_next("500")
    with pytest.raises(TransportError, match="HTTP 500") as caught:
        transport.send(path, "837P", payload_id)
    assert caught.value.retryable is True
    assert transport.send(path, "837P", payload_id).ok
    assert core_server.store_count == 1


@BOTH
def test_timeout_is_retryable_and_the_same_payload_id_is_not_stored_twice(core_server, tmp_path, transport_class):
    transport = opened(core_server, transport_class, timeout=0.5)
    path, payload_id = write(tmp_path), str(uuid.uuid4())
    core_server.fail_next("sleep", seconds=2.0)  # the server stores the file but answers too late
    with pytest.raises(TransportError, match="did not answer within 0.5 s") as caught:
        transport.send(path, "837P", payload_id)
    assert caught.value.retryable is True
    retry = transport.send(path, "837P", payload_id)
    assert retry.ok and "already received" in retry.message
    assert core_server.store_count == 1 and core_server.received[payload_id].payload == X12


@BOTH
def test_dropped_mid_upload_is_retryable_and_nothing_is_stored(core_server, tmp_path, transport_class):
    data = X12 * 2500  # large enough that the server drops the connection during the upload
    transport = opened(core_server, transport_class)
    path, payload_id = write(tmp_path, data), str(uuid.uuid4())
    core_server.fail_next("drop")
    with pytest.raises(TransportError, match="failed or was dropped") as caught:
        transport.send(path, "837P", payload_id)
    assert caught.value.retryable is True
    assert core_server.received == {}
    assert transport.send(path, "837P", payload_id).ok
    assert core_server.store_count == 1 and core_server.received[payload_id].payload == data


# -- TLS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ca", ["other", "system"])
def test_tls_to_an_untrusted_server_fails(core_server, tmp_path, ca):
    ca_file = str(core_server.other_ca_file) if ca == "other" else ""
    transport = opened(core_server, ca_file=ca_file)
    with pytest.raises(TransportError, match="TLS verification of 127.0.0.1 failed") as caught:
        transport.send(write(tmp_path), "837P", str(uuid.uuid4()))
    assert caught.value.retryable is False
    assert core_server.log == [] and core_server.received == {}


def test_the_profiles_ca_file_wins_over_requests_ca_bundle(core_server, tmp_path, monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE replace a Session's CA bundle; the profile's ca_file must still decide.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(core_server.other_ca_file))
    assert opened(core_server).send(write(tmp_path), "837P", str(uuid.uuid4())).ok
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(core_server.ca_file))
    with pytest.raises(TransportError, match="TLS verification"):
        opened(core_server, ca_file=str(core_server.other_ca_file)).send(write(tmp_path), "837P", str(uuid.uuid4()))


# -- listing and fetching ------------------------------------------------------------------------

ACK_999 = (
    b"ISA*00*          *00*          *ZZ*MASSHEALTHTEST *ZZ*TESTMCE01      *261201*1400*^*00501*000000002*0*T*:~\r\n"
)


@pytest.mark.parametrize(
    ("transport_class", "inline"),
    [(CoreSoapTransport, False), (CoreSoapTransport, True), (CoreMimeTransport, False)],
    ids=["soap-mtom", "soap-inline", "mime"],
)
def test_filelist_and_fetch_write_sanitised_names_atomically(core_server, tmp_path, transport_class, inline):
    core_server.inline_payload = inline
    first = core_server.put("../../outside/.run7_999.x12", ACK_999)
    second = core_server.put("run7_277CA.x12", ACK_999.replace(b"1400", b"1401"))
    transport = opened(core_server, transport_class)

    waiting = transport.waiting()
    assert [(w.payload_id, w.name, w.size) for w in waiting] == [
        (first, "../../outside/.run7_999.x12", len(ACK_999)),
        (second, "run7_277CA.x12", len(ACK_999)),
    ]
    assert waiting[0].created == dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    filelist_request = core_server.log[-1]
    assert filelist_request.envelope["PayloadType"] == "FILELIST"
    assert filelist_request.action == "GenericBatchRetrievalTransaction"

    dest = tmp_path / "responses"
    dest.mkdir()
    paths = [transport.fetch(item, dest) for item in waiting]
    assert [p.name for p in paths] == ["run7_999.x12", "run7_277CA.x12"]
    assert paths[0].read_bytes() == ACK_999
    assert sorted(os.listdir(dest)) == ["run7_277CA.x12", "run7_999.x12"]  # no temporary file left behind
    assert not (tmp_path / "outside").exists()
    fetch_request = core_server.log[-1]
    assert (fetch_request.envelope["PayloadType"], fetch_request.envelope["PayloadID"]) == (RETRIEVAL_TYPE, second)


def test_fetch_that_fails_leaves_nothing(core_server, tmp_path, monkeypatch):
    transport = opened(core_server)
    dest = tmp_path / "responses"
    dest.mkdir()
    with pytest.raises(TransportError, match="PayloadIDIllegal") as caught:
        transport.fetch(Waiting(name="gone.x12", payload_id=str(uuid.uuid4())), dest)
    assert caught.value.retryable is False

    payload_id = core_server.put("run7_999.x12", ACK_999)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfiles.os, "fsync", full_disk)  # the one home of atomic writes
    with pytest.raises(OSError, match="No space"):
        transport.fetch(Waiting(name="run7_999.x12", payload_id=payload_id), dest)
    assert os.listdir(dest) == []


def test_fetch_needs_a_payload_id_and_a_retrieval_payload_type(core_server, tmp_path):
    with pytest.raises(TransportError, match="no PayloadID"):
        opened(core_server).fetch(Waiting(name="x.x12"), tmp_path)
    with pytest.raises(ProfileError, match=r"transport\.retrieval_payload_type"):
        opened(core_server, retrieval_payload_type="").fetch(Waiting(name="x.x12", payload_id="p"), tmp_path)


def test_server_error_while_listing_is_retryable(core_server):
    core_server.fail_next("500")
    with pytest.raises(TransportError) as caught:
        opened(core_server).waiting()
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("run7_999.x12", "run7_999.x12"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".hidden", "hidden"),
        ("...", "PAYLOAD-1"),
        ("a b;c|d.x12", "a_b_c_d.x12"),
        ("", "PAYLOAD-1"),
    ],
)
def test_safe_file_name(name, expected):
    assert safe_file_name(name, fallback="PAYLOAD-1") == expected


def test_parse_file_list_skips_repeats_and_entries_without_id():
    document = (
        b"<FileList><File><PayloadID>a</PayloadID><PayloadType>T</PayloadType></File>"
        b"<File><PayloadID>a</PayloadID></File><File><FileName>orphan</FileName></File>"
        b"<File><PayloadID>b</PayloadID><FileName>b.x12</FileName><FileSize>12</FileSize></File></FileList>"
    )
    assert parse_file_list(document) == [
        Waiting(name="a", payload_id="a"),
        Waiting(name="b.x12", payload_id="b", size=12),
    ]
    with pytest.raises(TransportError, match="not XML") as caught:
        parse_file_list(b"<html>oops")
    assert caught.value.retryable is False


def test_repr_names_the_endpoint_not_the_secret(core_server):
    transport = opened(core_server)
    assert re.fullmatch(
        r"CoreSoapTransport\(url='https://127\.0\.0\.1:\d+/core', username='mce-test-user'\)", repr(transport)
    )
    assert PASSWORD not in repr(Credentials(USERNAME, PASSWORD))


# -- the session's submit and retrieve through CoreSoapTransport (sendpro.transport.session) ------


def _core_profile(tmp_path: Path, server: CoreServer) -> Path:
    from tests.transport.helpers import write_profile

    table = "\n".join(
        [
            'kind = "core-soap"',
            f'url = "{server.url}"',
            f'sender_id = "{SENDER_ID}"',
            f'receiver_id = "{RECEIVER_ID}"',
            f'username = "{USERNAME}"',
            'secret_env = "SENDPRO_TEST_CORE_SECRET"',
            f'ca_file = "{server.ca_file}"',
            f'retrieval_payload_type = "{RETRIEVAL_TYPE}"',
            "timeout = 10",
            "[transport.payload_types]",
            *(f'{kind} = "{value}"' for kind, value in PAYLOAD_TYPES.items()),
        ]
    )
    return write_profile(tmp_path, table, name="core")


def test_cli_submit_and_retrieve_through_core_soap(core_server, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sendpro.ledger.db import Ledger
    from sendpro.transport.command import retrieve, submit
    from tests.transport.helpers import ack_999_for, convert_run

    ledger = tmp_path / "ledger.sqlite"
    assert convert_run(tmp_path, ledger).status == "complete"
    profile = _core_profile(tmp_path, core_server)
    monkeypatch.setenv("SENDPRO_TEST_CORE_SECRET", PASSWORD)
    runner = CliRunner()

    sent = runner.invoke(submit, ["--run", "1", "--profile", str(profile), "--ledger", str(ledger)])
    assert sent.exit_code == 0, sent.output
    x12 = next(p for p in (tmp_path / "out1").iterdir() if p.name.startswith("837") and p.suffix == ".x12")
    (received,) = core_server.received.values()
    assert received.payload == x12.read_bytes() and received.payload_type == "X12_837P_PACDR_TEST"
    with Ledger(ledger) as db:
        rows = db.query("SELECT status, response_code, payload_id FROM transmissions")
    assert rows == [("sent", "Success", received.payload_id)]

    core_server.put("run1_999.x12", ack_999_for(ledger, 1).encode())
    first = runner.invoke(retrieve, ["--profile", str(profile), "--ledger", str(ledger), "--json"])
    again = runner.invoke(retrieve, ["--profile", str(profile), "--ledger", str(ledger), "--json"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert '"ingested"' in first.output and (tmp_path / "out1" / "responses" / "run1_999.x12").is_file()
    assert '"skipped"' in again.output and '"ingested"' not in again.output
    assert_secret_free(sent.output, first.output, again.output)


def test_session_retries_a_dropped_upload_under_the_same_payload_id(core_server, tmp_path):
    from sendpro.ledger.db import Ledger
    from sendpro.profiles import load_profile
    from sendpro.transport.config import transport_config
    from sendpro.transport.session import SessionEnv
    from sendpro.transport.session import submit as run_submit
    from tests.transport.helpers import convert_run

    ledger_path = tmp_path / "ledger.sqlite"
    assert convert_run(tmp_path, ledger_path).status == "complete"
    profile = load_profile(_core_profile(tmp_path, core_server))
    core_server.fail_next("drop")
    pauses: list[float] = []
    with Ledger(ledger_path) as ledger:
        result = run_submit(
            ledger,
            profile,
            transport_config(profile),
            lambda: Credentials(USERNAME, PASSWORD, "test"),
            run_id=1,
            env=SessionEnv(sleep=pauses.append),
        )
        rows = ledger.query("SELECT status, attempts, payload_id FROM transmissions")
    (outcome,) = result.files
    assert (outcome.status, outcome.attempts) == ("sent", 2) and len(pauses) == 1
    assert core_server.store_count == 1 and rows == [("sent", 2, outcome.payload_id)]
    assert list(core_server.received) == [outcome.payload_id]


def test_session_stops_at_a_refused_login_through_core(core_server, tmp_path):
    from sendpro.ledger.db import Ledger
    from sendpro.profiles import load_profile
    from sendpro.transport.config import transport_config
    from sendpro.transport.session import submit as run_submit
    from tests.transport.helpers import convert_run

    ledger_path = tmp_path / "ledger.sqlite"
    assert convert_run(tmp_path, ledger_path).status == "complete"
    profile = load_profile(_core_profile(tmp_path, core_server))
    with Ledger(ledger_path) as ledger, pytest.raises(AuthenticationError) as caught:
        run_submit(
            ledger, profile, transport_config(profile), lambda: Credentials(USERNAME, WRONG_PASSWORD, "test"), run_id=1
        )
    assert "1 of 3" in str(caught.value)
    assert_secret_free(str(caught.value), "".join(traceback.format_exception(caught.value)))
    assert core_server.received == {} and [entry.code for entry in core_server.log] == ["UnAuthorized"]
