"""Exceptions for program failures: things that stop a run (exit code 2).

Data problems are never exceptions: they are :class:`~sendpro.report.issue.Issue`
objects and the claim they belong to goes to the rejects file. An exception here
means the run as a whole cannot go on: a bad layout, an unusable input file, a
map that cannot be built, or a sendpro bug caught by a self-check.
"""

from __future__ import annotations


class SendproError(Exception):
    """Base class: a failure that ends the run with exit code 2 and one readable line."""

    code: str = "SP000"


class UsageError(SendproError):
    """The command line or configuration asks for something that cannot work."""

    code = "SP001"


class LayoutError(SendproError):
    """A layout file is missing, unreadable or inconsistent."""

    code = "SP002"


class ProfileError(SendproError):
    """A submission profile is missing, unreadable or refuses the requested use."""

    code = "SP003"


class InputFileError(SendproError):
    """An input file cannot be used at all (empty, wrong layout, bad encoding...).

    Carries the flat-file rule code (``FFnnn``) so the message can be matched to
    ``sendpro rules``.
    """

    def __init__(self, message: str, code: str = "FF000") -> None:
        super().__init__(message)
        self.code = code


class MapError(SendproError):
    """The project's pyx12 maps cannot be derived or loaded."""

    code = "SP004"


class OutputValidationError(SendproError):
    """An output file failed validation: a sendpro bug, the file is not published."""

    code = "SP005"


class ReconciliationError(SendproError):
    """Counts or money totals do not reconcile: a sendpro bug, nothing is published."""

    code = "SP006"


class LedgerError(SendproError):
    """The submission ledger cannot be opened, is in use or newer than this sendpro, or refuses an operation."""

    code = "SP007"
