"""Fixtures shared by the report.html tests: the demo extract converted once for the whole package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sendpro import api
from sendpro.report.html import write_html_report
from tests.helpers import test_config
from tests.report.test_html import DEMO, DemoPage


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo extract converted once: a real report.json, errors.jsonl and reasons files (with seeded defects)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    report = api.convert_files([DEMO], out, test_config())
    assert report.exit_code == 1
    # kept aside: demo_page rewrites report.html from the run's files
    (out / "report.html").rename(out / "report.convert.html")
    return out


@pytest.fixture(scope="package")
def demo_page(demo: Path) -> DemoPage:
    """The demo's report.html as ``write_html_report`` makes it, with the report.json and issues it was made from."""
    written = write_html_report(demo / "report.json", demo / "errors.jsonl", demo / "report.html")
    doc = json.loads((demo / "report.json").read_text())
    issues = [json.loads(line) for line in (demo / "errors.jsonl").read_text().splitlines()]
    assert written == len(issues) == doc["issues"]["written"] > 10
    return DemoPage(doc, issues, (demo / "report.html").read_text(encoding="utf-8"))
