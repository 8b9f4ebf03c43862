"""Submission profiles: who sends, who receives, and how the envelope looks.

A profile is a TOML file in ``schemas/profiles/`` (or any path). Values that
start with ``PLACEHOLDER`` mark trading-partner ids nobody has filled in yet;
production usage (ISA15 = P) is refused while any remain.
"""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendpro.errors import ProfileError
from sendpro.ncpdp.writer import NcpdpSettings
from sendpro.resources import schemas_dir
from sendpro.x12.envelope import EnvelopeSettings
from sendpro.x12.segments import Delimiters
from sendpro.x12.writer import PacdrSettings

PLACEHOLDER = "PLACEHOLDER"
#: The placeholder marker for fields of six characters or fewer.
SHORT_PLACEHOLDER = "PLHLDR"


@dataclass(frozen=True)
class Profile:
    """A loaded submission profile."""

    name: str
    title: str
    source: Path
    usage: str
    data: dict[str, Any]

    def placeholders(self) -> list[str]:
        """Return the dotted keys whose value is still a placeholder."""
        return [
            key
            for key, value in _walk(self.data)
            if isinstance(value, str) and value.startswith((PLACEHOLDER, SHORT_PLACEHOLDER))
        ]

    def _get(self, section: str, key: str, default: Any = None) -> Any:
        value = self.data.get(section, {}).get(key, default)
        if value is None:
            raise ProfileError(f"profile {self.name} ({self.source}): [{section}].{key} is required")
        return value

    def _text(self, section: str, key: str, max_len: int | None = None, default: str | None = None) -> str:
        value = self._get(section, key, default)
        if not isinstance(value, str):
            raise ProfileError(f"profile {self.name}: [{section}].{key} must be text")
        if max_len is not None and len(value) > max_len:
            raise ProfileError(f"profile {self.name}: [{section}].{key} is longer than {max_len} characters")
        return value

    def delimiters(self) -> Delimiters:
        """Return the X12 separators the profile asks for."""
        try:
            return Delimiters(
                element=self._text("interchange", "element_separator", default="*"),
                component=self._text("interchange", "component_separator", default=":"),
                repetition=self._text("interchange", "repetition_separator", default="^"),
                segment=self._text("interchange", "segment_terminator", default="~"),
                newline=bool(self._get("interchange", "segment_newline", True)),
            )
        except ValueError as exc:
            raise ProfileError(f"profile {self.name}: {exc}") from None

    def pacdr_settings(self, usage: str | None = None) -> PacdrSettings:
        """Return the 837 writer settings for ``usage`` (T or P; default the profile's).

        Raises:
            ProfileError: production usage with placeholders left, or a bad value.
        """
        usage = (usage or self.usage).upper()
        if usage not in ("T", "P"):
            raise ProfileError(f"usage {usage!r} must be T (test) or P (production)")
        if usage == "P":
            left = self.placeholders()
            if left:
                raise ProfileError(
                    f"profile {self.name} still has placeholder values ({', '.join(left)}); production files "
                    "(--usage P) need the ids MassHealth assigned: copy the profile, fill them in and pass "
                    "--profile PATH"
                )
        entity = self._text("data_receiver", "entity", default="PR")
        if entity not in ("PR", "ZD"):
            raise ProfileError(f"profile {self.name}: [data_receiver].entity must be PR or ZD")
        max_claims = self._get("transaction", "max_claims", 5000)
        if not isinstance(max_claims, int) or not 1 <= max_claims <= 5000:
            raise ProfileError(f"profile {self.name}: [transaction].max_claims must be 1-5000")
        envelope = EnvelopeSettings(
            sender_qualifier=self._text("interchange", "sender_qualifier", 2),
            sender_id=self._text("interchange", "sender_id", 15),
            receiver_qualifier=self._text("interchange", "receiver_qualifier", 2),
            receiver_id=self._text("interchange", "receiver_id", 15),
            sender_code=self._text("group", "sender_code", 15),
            receiver_code=self._text("group", "receiver_code", 15),
            usage=usage,
            ack_requested=self._text("interchange", "ack_requested", 1, default="0"),
            delimiters=self.delimiters(),
        )
        return PacdrSettings(
            envelope=envelope,
            submitter_name=self._text("submitter", "name", 60),
            submitter_id=self._text("submitter", "id", 80),
            contact_name=self._text("submitter", "contact_name", 60),
            contact_phone=self._text("submitter", "contact_phone", 256),
            receiver_name=self._text("receiver", "name", 60),
            receiver_id=self._text("receiver", "id", 80),
            data_receiver_entity=entity,
            data_receiver_name=self._text("data_receiver", "name", 60),
            data_receiver_id_qualifier=self._text("data_receiver", "id_qualifier", 2, default=""),
            data_receiver_id=self._text("data_receiver", "id", 80, default=""),
            payer_name=self._text("payer", "name", 60),
            payer_id_qualifier=self._text("payer", "id_qualifier", 2),
            payer_id=self._text("payer", "id", 80),
            subscriber_responsibility=self._text("coverage", "subscriber_responsibility", 1, default="P"),
            subscriber_filing_code=self._text("coverage", "subscriber_filing_code", 2, default="MC"),
            payer_responsibility=self._text("coverage", "payer_responsibility", 1, default="P"),
            payer_filing_code=self._text("coverage", "payer_filing_code", 2, default="MC"),
            max_claims_per_transaction=max_claims,
        )

    def ncpdp_settings(self, usage: str | None = None) -> NcpdpSettings:
        """Return the NCPDP envelope values (``[ncpdp]``) for ``usage`` (T or P).

        Raises:
            ProfileError: production usage with placeholders left, or a missing value.
        """
        usage = (usage or self.usage).upper()
        if usage == "P":
            left = [k for k in self.placeholders() if k.startswith(("ncpdp.", "profile."))]
            if left:
                raise ProfileError(
                    f"profile {self.name} still has placeholder NCPDP values ({', '.join(left)}); production files "
                    "need the ids MassHealth assigned: copy the profile, fill them in and pass --profile PATH"
                )
        return NcpdpSettings(
            sender_id=self._text("ncpdp", "sender_id", 24),
            receiver_id=self._text("ncpdp", "receiver_id", 24),
            file_type=usage,
            bin=self._text("ncpdp", "bin", 6, default=""),
            pcn=self._text("ncpdp", "pcn", 10, default=""),
            software_id=self._text("ncpdp", "software_id", 10, default=""),
        )

    def ncpdp_file_name(self, date: dt.date) -> str:
        """Return the NCPDP output file name (``[ncpdp].file_name``)."""
        template = self._text("ncpdp", "file_name", default="RX.ncpdp")
        try:
            name = template.format(type="RX", date=date.strftime("%Y%m%d"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ProfileError(f"profile {self.name}: [ncpdp].file_name {template!r}: {exc}") from None
        if "/" in name or "\\" in name or name.startswith("."):
            raise ProfileError(f"profile {self.name}: [ncpdp].file_name must be a plain file name")
        return name

    def file_name(self, kind: str, when: dt.datetime, icn: int, usage: str = "T", ledger: bool = False) -> str:
        """Return the 837 file name for ``kind`` (``837P`` ...) from ``[transaction].file_name``.

        The pattern's tokens are in :data:`FILE_NAME_TOKENS`. Without a pattern the
        name is ``837P.x12``, and ``837P.<ISA13>.x12`` when the run keeps a ledger,
        so no two runs of one ledger publish files of the same name (``status`` and
        ``reconcile`` list them all). ``when`` is the run's clock when the file is
        closed; ``usage`` the interchange's ISA15.

        Raises:
            ProfileError: a token the pattern names is unknown or has no value, or the name is not a plain file name.
        """
        default = DEFAULT_FILE_NAME_LEDGER if ledger else DEFAULT_FILE_NAME
        template = self._text("transaction", "file_name", default=default)
        fields: dict[str, object] = {
            "type": kind,
            "letter": kind[-1].lower(),
            "submitter": self._text("interchange", "sender_id", 15).strip(),
            "date": when.strftime("%Y%m%d"),
            "timestamp": _Stamp(when),
            "icn": f"{icn:09d}",
            "isa13": f"{icn:09d}",
            "usage": usage,
            "usage_word": "production" if usage == "P" else "test",
        }
        pidsl = self.data.get("submitter", {}).get("pidsl")
        if pidsl is not None:
            fields["pidsl"] = str(pidsl).strip()
        try:
            name = template.format_map(fields)
        except KeyError as exc:
            token = exc.args[0] if exc.args else "?"
            why = (
                "needs [submitter].pidsl (the MCE's 10-character MassHealth provider id and service location)"
                if token == "pidsl"
                else f"unknown token {{{token}}}; known: {', '.join('{' + t + '}' for t in FILE_NAME_TOKENS)}"
            )
            raise ProfileError(f"profile {self.name}: [transaction].file_name {template!r} {why}") from None
        except (IndexError, ValueError) as exc:
            raise ProfileError(f"profile {self.name}: [transaction].file_name {template!r}: {exc}") from None
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
            raise ProfileError(f"profile {self.name}: [transaction].file_name must be a plain file name")
        return name


#: The 837 file name without a pattern in the profile, and with a ledger (unique per run: ISA13 never repeats).
DEFAULT_FILE_NAME = "{type}.x12"
DEFAULT_FILE_NAME_LEDGER = "{type}.{isa13}.x12"

#: ``[transaction].file_name`` tokens and what they give.
FILE_NAME_TOKENS = {
    "type": "the transaction: 837P, 837I or 837D",
    "letter": "the claim type's letter, lower case: p, i or d",
    "submitter": "ISA06, the submitter's interchange id",
    "pidsl": "[submitter].pidsl, the MCE's MassHealth provider id and service location",
    "date": "the run's date, CCYYMMDD",
    "timestamp": "the run's time, CCYYMMDDHHMMSS, or any strftime format: {timestamp:%m%d%Y%H%M%S}",
    "isa13": "the interchange control number, 9 digits ({icn} too)",
    "icn": "the interchange control number, 9 digits",
    "usage": "ISA15: T or P",
    "usage_word": "test or production",
}


class _Stamp:
    """A time in a file name: CCYYMMDDHHMMSS by default, or the strftime format the pattern gives."""

    def __init__(self, when: dt.datetime) -> None:
        self.when = when

    def __format__(self, spec: str) -> str:
        return self.when.strftime(spec or "%Y%m%d%H%M%S")


def _walk(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _walk(value, dotted + ".")
        else:
            yield dotted, value


def bundled_profiles() -> dict[str, Path]:
    """Return the profiles shipped in ``schemas/profiles``, by name."""
    return {p.stem: p for p in sorted((schemas_dir() / "profiles").glob("*.toml"))}


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a profile by bundled name or path.

    Raises:
        ProfileError: not found, not TOML, or missing the [profile] table.
    """
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix and not path.exists():
        bundled = bundled_profiles()
        if text not in bundled:
            hint = difflib.get_close_matches(text, list(bundled), n=1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ProfileError(f"profile {text!r} is not a bundled profile{more}; bundled: {', '.join(bundled)}")
        path = bundled[text]
    if not path.is_file():
        raise ProfileError(f"profile file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"profile file {path} cannot be read: {exc}") from None
    meta = data.get("profile")
    if not isinstance(meta, dict):
        raise ProfileError(f"profile file {path}: missing the [profile] table")
    usage = str(meta.get("usage", "T")).upper()
    if usage not in ("T", "P"):
        raise ProfileError(f"profile file {path}: usage must be T or P")
    return Profile(str(meta.get("name", path.stem)), str(meta.get("title", "")), path, usage, data)
