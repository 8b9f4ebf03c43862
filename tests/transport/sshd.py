"""A real OpenSSH server on loopback for the SFTP tests: ``sshd -D -e`` with a throwaway config and keys.

Runs as the current user (root in CI, hence ``PermitRootLogin prohibit-password``)
with a client key whose passphrase is :data:`PASSPHRASE`. Without /usr/sbin/sshd
the tests skip, unless ``SENDPRO_REQUIRE_SSHD=1`` (CI), where they fail.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
#: The client key's passphrase (synthetic; the secret-leak test greps for it).
PASSPHRASE = "sftp-test-passphrase-7Q2"


@dataclass(frozen=True)
class SshdServer:
    """Where the test server listens and what a client needs to log in."""

    host: str
    port: int
    user: str
    known_hosts: str  # one known_hosts line for the server's host key
    key_file: Path  # the client's private key (passphrase PASSPHRASE)
    outbox: Path
    inbox: Path
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, passphrase: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path), "-C", "sendpro-test"], check=True
    )


@pytest.fixture
def sshd_server(tmp_path: Path) -> Iterator[SshdServer]:
    """Start sshd on a free loopback port for one test; stop it (and wait for it) afterwards."""
    if not SSHD.exists():
        if os.environ.get("SENDPRO_REQUIRE_SSHD") == "1":
            pytest.fail("SENDPRO_REQUIRE_SSHD=1 but /usr/sbin/sshd is missing: run `make sftp-server`")
        pytest.skip("/usr/sbin/sshd is missing (make sftp-server installs it)")
    if os.getuid() == 0 and not Path("/run/sshd").is_dir():
        if os.environ.get("SENDPRO_REQUIRE_SSHD") == "1":
            pytest.fail("sshd started by root needs /run/sshd: run `make sftp-server`")
        pytest.skip("sshd started by root needs /run/sshd (make sftp-server makes it)")
    root = tmp_path / "sshd"
    root.mkdir()
    _keygen(root / "host_key", "")
    _keygen(root / "client_key", PASSPHRASE)
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {root / 'host_key'}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    outbox, inbox = tmp_path / "remote-out", tmp_path / "remote-in"
    outbox.mkdir()
    inbox.mkdir()
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                pytest.fail(f"sshd exited at start: {err}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("sshd did not listen within 10 s")
                time.sleep(0.05)
        host_pub = (root / "host_key.pub").read_text().split()
        known = f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}"
        yield SshdServer("127.0.0.1", port, getpass.getuser(), known, root / "client_key", outbox, inbox, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
