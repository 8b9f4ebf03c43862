"""Fixtures of the transport tests: loopback servers started by the tests."""

from tests.transport.core_server import core_server  # noqa: F401
from tests.transport.sshd import sshd_server  # noqa: F401
