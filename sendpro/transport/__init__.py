"""Sending files to MassHealth and fetching its responses: ``sendpro submit`` and ``sendpro retrieve``.

:mod:`~sendpro.transport.base` defines what a transport offers, :mod:`~sendpro.transport.config`
reads the profile's ``[transport]`` table, :mod:`~sendpro.transport.credentials` finds the secret,
:mod:`~sendpro.transport.factory` builds the transport the profile names (CORE, SFTP, directory)
and :mod:`~sendpro.transport.session` applies MassHealth's conduct rules to all of them alike.
"""
