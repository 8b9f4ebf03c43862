"""The default rule set, listed explicitly (no import-time registry or scanning)."""

from __future__ import annotations

from sendpro.validate.rule import Rule
from sendpro.validate.rules.claim import CLAIM_RULES
from sendpro.validate.rules.codesets import CODESET_RULES
from sendpro.validate.rules.dental import DENTAL_RULES
from sendpro.validate.rules.fields import FIELD_RULES
from sendpro.validate.rules.institutional import INSTITUTIONAL_RULES
from sendpro.validate.rules.ledger import LEDGER_RULES
from sendpro.validate.rules.line import LINE_FRAME_RULES, LINE_RULES
from sendpro.validate.rules.masshealth import MASSHEALTH_RULES
from sendpro.validate.rules.pharmacy import PHARMACY_FRAME_RULES, PHARMACY_RULES
from sendpro.validate.rules.provider import PROVIDER_RULES
from sendpro.validate.rules.situational import SITUATIONAL_RULES
from sendpro.validate.rules.structure import (
    STRUCTURE_FRAME_RULES,
    BlankLine,
    TextCleaned,
    UnknownColumn,
)

#: Every rule sendpro runs by default, in reporting order.
DEFAULT_RULES: tuple[type[Rule], ...] = (
    *STRUCTURE_FRAME_RULES,
    UnknownColumn,
    BlankLine,
    TextCleaned,
    *FIELD_RULES,
    *CLAIM_RULES,
    *LINE_FRAME_RULES,
    *LINE_RULES,
    *PROVIDER_RULES,
    *INSTITUTIONAL_RULES,
    *DENTAL_RULES,
    *PHARMACY_FRAME_RULES,
    *PHARMACY_RULES,
    *LEDGER_RULES,
    *SITUATIONAL_RULES,
    *CODESET_RULES,
    *MASSHEALTH_RULES,
)

__all__ = ["DEFAULT_RULES"]
