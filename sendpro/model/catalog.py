"""Field catalogues: the medical/dental model and the pharmacy model.

A layout names the catalogue its fields belong to (``model = "medical"`` by
default, ``"pharmacy"`` for ``mce-rx-v1``); readers, rules and builders take the
catalogue from the layout instead of assuming one global model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sendpro.model.fields import CLAIM_TYPE_NAMES, CLAIM_TYPES, FIELDS, FieldDef, Level, Usage
from sendpro.model.rx_fields import RX, RX_FIELDS


@dataclass(frozen=True)
class Catalog:
    """The model fields and claim types of one kind of encounter."""

    name: str
    fields: tuple[FieldDef, ...]
    claim_types: tuple[str, ...]
    type_names: Mapping[str, str]
    #: The amount fields reconciliation sums: claim charge and paid, line charge and paid.
    totals: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)
    by_name: Mapping[str, FieldDef] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", MappingProxyType({fd.name: fd for fd in self.fields}))

    @property
    def rows_are_claims(self) -> bool:
        """Return True when each row is a claim of its own (no service lines: pharmacy).

        Medical rows are the lines of a claim and repeat its totals; a pharmacy row is
        a whole claim, so control totals count every row, also one repeating a claim id.
        """
        return self.totals[2] is None

    @property
    def claim_fields(self) -> tuple[str, ...]:
        """Return the claim-level field names."""
        return tuple(fd.name for fd in self.fields if fd.level is Level.CLAIM)

    @property
    def line_fields(self) -> tuple[str, ...]:
        """Return the line-level field names."""
        return tuple(fd.name for fd in self.fields if fd.level is Level.LINE)

    def required(self, claim_type: str) -> Iterator[FieldDef]:
        """Yield the fields a claim of ``claim_type`` always requires."""
        for fd in self.fields:
            if fd.usage_for(claim_type) is Usage.REQUIRED:
                yield fd

    def type_name(self, claim_type: str | None) -> str:
        """Return the readable name of a claim type (``professional``...)."""
        return self.type_names.get(claim_type or "", "these")


MEDICAL = Catalog(
    "medical", FIELDS, CLAIM_TYPES, CLAIM_TYPE_NAMES, ("total_charge", "total_paid", "line_charge", "line_paid")
)
PHARMACY = Catalog(
    "pharmacy",
    RX_FIELDS,
    (RX,),
    MappingProxyType({RX: "pharmacy"}),
    ("gross_amount_due", "total_amount_paid", None, None),
)

#: Catalogues by the name a layout uses.
CATALOGS: Mapping[str, Catalog] = MappingProxyType({c.name: c for c in (MEDICAL, PHARMACY)})
