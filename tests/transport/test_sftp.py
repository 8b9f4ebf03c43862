"""The SFTP transport against a real OpenSSH server on loopback (tests/transport/sshd.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendpro.transport.base import AuthenticationError, Credentials, TransportConfig, TransportError, Waiting
from sendpro.transport.sftp import SftpTransport
from tests.transport.sshd import PASSPHRASE, SshdServer


def _config(server: SshdServer, **kw: object) -> TransportConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": server.user,
        "known_hosts": server.known_hosts,
        "key_file": str(server.key_file),
        "outbox": str(server.outbox),
        "inbox": str(server.inbox),
        "timeout": 10.0,
        **kw,
    }
    return TransportConfig("sftp", **values)  # type: ignore[arg-type]


def test_send_list_fetch(sshd_server: SshdServer, tmp_path: Path) -> None:
    source = tmp_path / "837P.1.x12"
    source.write_bytes(b"ISA*synthetic~" * 2000)
    (sshd_server.inbox / "resp.999").write_bytes(b"ISA*999~")
    (sshd_server.inbox / ".hidden").write_bytes(b"x")
    transport = SftpTransport(_config(sshd_server))
    transport.open(Credentials(sshd_server.user, PASSPHRASE))
    try:
        result = transport.send(source, "837P", "pid-1")
        assert result.ok
        assert (sshd_server.outbox / source.name).read_bytes() == source.read_bytes()
        assert [p.name for p in sshd_server.outbox.iterdir()] == [source.name]
        waiting = transport.waiting()
        assert [(w.name, w.size) for w in waiting] == [("resp.999", 8)]
        dest = tmp_path / "staging"
        dest.mkdir()
        fetched = transport.fetch(waiting[0], dest)
        assert fetched.read_bytes() == b"ISA*999~" and [p.name for p in dest.iterdir()] == ["resp.999"]
    finally:
        transport.close()
        transport.close()


def test_wrong_passphrase_is_an_authentication_error(sshd_server: SshdServer) -> None:
    transport = SftpTransport(_config(sshd_server))
    with pytest.raises(AuthenticationError) as info:
        transport.open(Credentials(sshd_server.user, "not-the-passphrase"))
    assert "not-the-passphrase" not in str(info.value)


def test_key_not_authorized_is_an_authentication_error(sshd_server: SshdServer, tmp_path: Path) -> None:
    import subprocess

    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    transport = SftpTransport(_config(sshd_server, key_file=str(other)))
    with pytest.raises(AuthenticationError):
        transport.open(Credentials(sshd_server.user, ""))


def test_unknown_host_key_refused(sshd_server: SshdServer, tmp_path: Path) -> None:
    import subprocess

    other = tmp_path / "fake_host"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = (other.with_suffix(".pub") if False else Path(f"{other}.pub")).read_text().split()[:2]
    config = _config(sshd_server, known_hosts=f"[127.0.0.1]:{sshd_server.port} {kind} {key}")
    with pytest.raises(TransportError) as info:
        SftpTransport(config).open(Credentials(sshd_server.user, PASSPHRASE))
    assert info.value.retryable is False and not isinstance(info.value, AuthenticationError)


def test_dropped_upload_leaves_no_complete_file(sshd_server: SshdServer, tmp_path: Path) -> None:
    source = tmp_path / "837P.2.x12"
    source.write_bytes(b"0123456789" * 400_000)  # 4 MB: the server is killed while it is in flight
    transport = SftpTransport(_config(sshd_server))
    transport.open(Credentials(sshd_server.user, PASSPHRASE))
    sftp = transport._session()
    original = sftp.putfo

    def putfo_then_drop(fl, remotepath, file_size=0, callback=None, confirm=True):  # type: ignore[no-untyped-def]
        def cut(sent: int, total: int) -> None:
            if sent > 1_000_000:
                transport._client.get_transport().sock.close()  # type: ignore[union-attr]

        return original(fl, remotepath, file_size, cut, confirm)

    sftp.putfo = putfo_then_drop  # type: ignore[method-assign]
    with pytest.raises(TransportError) as info:
        transport.send(source, "837P", "pid-2")
    transport.close()
    assert info.value.retryable
    assert not (sshd_server.outbox / source.name).exists()
    assert Waiting("x").payload_id is None
