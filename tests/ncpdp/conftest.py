"""Fixtures for the NCPDP tests: pharmacy encounters built once per session, the bundled layouts."""

from __future__ import annotations

import pytest

from sendpro.model.pharmacy import PharmacyEncounter
from sendpro.ncpdp.layout import NcpdpLayout, load_ncpdp_layout
from tests.ncpdp.support import HAND_ROWS, encounters_from_rows, sample_encounters


@pytest.fixture(scope="session")
def hand_encounters(tmp_path_factory: pytest.TempPathFactory) -> list[PharmacyEncounter]:
    """The four hand-written claims (original, void, replacement, zero), in that order."""
    encs = encounters_from_rows(tmp_path_factory.mktemp("rx-hand"), HAND_ROWS)
    assert [e.claim_id for e in encs] == ["RX100", "RX101", "RX102", "RX103"]
    return encs


@pytest.fixture(scope="session")
def rx_encounters(
    tmp_path_factory: pytest.TempPathFactory, hand_encounters: list[PharmacyEncounter]
) -> list[PharmacyEncounter]:
    """The hand-written claims followed by 16 synthetic sample claims."""
    sample = sample_encounters(tmp_path_factory.mktemp("rx-sample"), 16, seed=11)
    assert len(sample) == 16
    return [*hand_encounters, *sample]


@pytest.fixture(scope="session")
def post_adjudication() -> NcpdpLayout:
    return load_ncpdp_layout("post-adjudication")


@pytest.fixture(scope="session")
def batch_d0() -> NcpdpLayout:
    return load_ncpdp_layout("batch-d0")


@pytest.fixture(params=["post-adjudication", "batch-d0"])
def any_layout(request: pytest.FixtureRequest) -> NcpdpLayout:
    """Each bundled layout in turn."""
    return load_ncpdp_layout(request.param)
