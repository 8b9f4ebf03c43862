"""Build the transport a ``[transport]`` table names."""

from __future__ import annotations

from typing import Any

from sendpro.errors import ProfileError
from sendpro.transport.base import Transport, TransportConfig


def make_transport(config: TransportConfig, **kw: Any) -> Transport:
    """Return a transport for ``config.kind``; ``kw`` goes to the CORE transports (clock, uuid).

    The CORE and SFTP modules are imported here, not at the top, so a directory
    drop does not load requests, lxml or paramiko.

    Raises:
        ProfileError: the kind is not one sendpro knows.
    """
    if config.kind == "core-soap":
        from sendpro.transport.core import CoreSoapTransport

        return CoreSoapTransport(config, **kw)
    if config.kind == "core-mime":
        from sendpro.transport.core import CoreMimeTransport

        return CoreMimeTransport(config, **kw)
    if config.kind == "sftp":
        from sendpro.transport.sftp import SftpTransport

        return SftpTransport(config)
    if config.kind == "directory":
        from sendpro.transport.directory import DirectoryTransport

        return DirectoryTransport(config)
    raise ProfileError(f"unknown transport kind {config.kind!r}")
