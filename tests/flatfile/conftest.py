from __future__ import annotations

import pytest

from sendpro.flatfile.layout import Layout, load_layout


@pytest.fixture(scope="session")
def mce() -> Layout:
    return load_layout("mce-v1")


@pytest.fixture(scope="session")
def fw() -> Layout:
    return load_layout("mce-fw-example")
