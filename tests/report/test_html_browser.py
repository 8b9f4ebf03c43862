"""report.html in a real headless browser: no console errors, the figures in the rendered DOM, with and without JS.

Chromium is driven from the command line (no extra Python package): ``--dump-dom``
prints the DOM after the page loaded and its scripts ran, and
``--enable-logging=stderr --v=0`` prints every console message on stderr. The
installed Chromium (156, Debian 12) prints them all at INFO level, whatever
their kind::

    [pid:tid:1123/171610.881529:INFO:CONSOLE:2] "deliberate console error", source: file:///…/page.html (2)
    [pid:tid:1123/171610.882891:INFO:CONSOLE:3] "Uncaught TypeError: Cannot read properties of null …", source: …

(older builds write ``INFO:CONSOLE(2)]``), so console.error cannot be told
from console.log there. The page logs nothing by design, so any console line
fails the test: errors, uncaught exceptions, unhandled rejections and
Content-Security-Policy violations all arrive this way.
:func:`test_detector_catches_a_broken_page` proves it on a deliberately broken page.

Without a browser on PATH these tests are skipped, unless
``SENDPRO_REQUIRE_BROWSER=1`` (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sendpro import api
from sendpro.report.html import render_html, write_html_report
from tests.helpers import test_config
from tests.report.test_html import DEMO, Page, money_text

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 60
# Both spellings: "INFO:CONSOLE:2]" (current Chromium) and "INFO:CONSOLE(2)]" (older builds).
CONSOLE_LINE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\]\s*(?P<message>.*)$")


@dataclass
class Loaded:
    """What the browser made of a page."""

    returncode: int
    dom: str
    console: list[str]
    seconds: float


def find_browser() -> str | None:
    """Return the first Chromium-family browser on PATH."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_browser() -> str:
    """Return the browser; skip without one, or fail when CI requires it (SENDPRO_REQUIRE_BROWSER=1)."""
    found = find_browser()
    if found is not None:
        return found
    if os.environ.get("SENDPRO_REQUIRE_BROWSER", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(
            f"SENDPRO_REQUIRE_BROWSER=1 but none of {', '.join(BROWSERS)} is on PATH: "
            "run `make browser` (installs Debian's chromium) or unset SENDPRO_REQUIRE_BROWSER",
            pytrace=False,
        )
    pytest.skip(f"no headless browser on PATH ({', '.join(BROWSERS)}); `make browser` installs Debian's chromium")


def console_messages(stderr: str) -> list[str]:
    """Return the console messages Chromium logged on stderr (each one a failure for our page)."""
    found = []
    for line in stderr.splitlines():
        match = CONSOLE_LINE.search(line)
        if match:
            found.append(match.group("message"))
    return found


def load(browser: str, page: Path, profile: Path) -> Loaded:
    """Open ``page`` headless; return the exit code, the DOM after load and the console messages."""
    args = [
        browser,
        "--headless=new",
        # Root in a container has no usable sandbox; the page is our own, from a temporary directory.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--disable-background-networking",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    args += ["--dump-dom", page.as_uri()]
    started = time.monotonic()
    # Its own process group, so a hung browser is killed with all its helper processes.
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{browser} did not finish loading {page.name} within {TIMEOUT_S} s", pytrace=False)
    stderr = err.decode("utf-8", "replace")
    return Loaded(proc.returncode, out.decode("utf-8", "replace"), console_messages(stderr), time.monotonic() - started)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], tuple[dict[str, Any], Path]]:
    """The demo converted once, with its report.html: made on first use, so a skip costs no conversion."""
    made: list[tuple[dict[str, Any], Path]] = []

    def make() -> tuple[dict[str, Any], Path]:
        if not made:
            out = tmp_path_factory.mktemp("demo-browser") / "out"
            api.convert_files([DEMO], out, test_config())
            write_html_report(out / "report.json", out / "errors.jsonl", out / "report.html")
            made.append((json.loads((out / "report.json").read_text()), out / "report.html"))
        return made[0]

    return make


def test_demo_page_loads_cleanly_and_shows_the_figures(
    demo: Callable[[], tuple[dict[str, Any], Path]], tmp_path: Path
) -> None:
    browser = require_browser()
    doc, page = demo()
    loaded = load(browser, page, tmp_path / "profile")
    assert loaded.returncode == 0
    assert loaded.console == [], "the page logged to the console (errors, exceptions or CSP violations)"
    assert loaded.seconds < TIMEOUT_S
    dom = Page(loaded.dom)
    rec = dom.table("reconciliation-table")
    # The overall rows: input as the demo file holds it, the split as report.json says.
    start = rec.index(["all", "input", "60", "169", "169", "31,598.21", "20,593.82", "yes"])
    everything = doc["reconciliation"]["all"]
    for offset, side in enumerate(("accepted", "rejected", "skipped"), start=1):
        totals = everything[side]
        assert rec[start + offset][:2] == [side, f"{totals['claims']:,}"]
        assert rec[start + offset][4:6] == [money_text(totals["total_charge"]), money_text(totals["total_paid"])]
    assert everything["rejected"]["claims"] > 0
    rules = sorted(doc["rules"], key=lambda r: (-r["issues"], r["code"]))
    top = rules[0]
    first = dom.table("rules-table")[1]
    assert first[0] == top["code"] and first[5] == f"{top['issues']:,}"
    assert f"{top['code']}: {top['issues']:,} issue(s)" in loaded.dom  # the chart's tooltip
    # The script ran: it added the filter box and counted the issue rows.
    written = doc["issues"]["written"]
    assert dom.by_id("issue-filter") is not None and dom.by_id("issue-rule") is not None
    assert f"{written} of {written} issue rows shown" in dom.all_text()
    assert 'class="sort"' in loaded.dom
    assert len(dom.table("issue-table")) == 1 + written


def test_page_is_complete_without_its_script(demo: Callable[[], tuple[dict[str, Any], Path]], tmp_path: Path) -> None:
    # --blink-settings=scriptEnabled=false also stops --dump-dom (it prints nothing), so
    # JavaScript off is the same page with its one script element removed.
    browser = require_browser()
    doc, page = demo()
    text = page.read_text(encoding="utf-8")
    start = text.rindex("<script>")
    static = tmp_path / "static.html"
    static.write_text(text[:start] + text[text.index("</script>", start) + len("</script>") :], encoding="utf-8")
    loaded = load(browser, static, tmp_path / "profile")
    assert loaded.returncode == 0 and loaded.console == []
    dom = Page(loaded.dom)
    assert dom.by_id("issue-filter") is None and "<script" not in loaded.dom
    assert ["all", "input", "60", "169", "169", "31,598.21", "20,593.82", "yes"] in dom.table("reconciliation-table")
    assert len(dom.table("rules-table")) == 1 + len(doc["rules"])
    assert len(dom.table("issue-table")) == 1 + doc["issues"]["written"]
    assert dom.by_id("rule-chart") is not None


def test_markup_in_the_data_does_not_run(tmp_path: Path) -> None:
    browser = require_browser()
    evil = '<script>console.error("injected")</script><img src=x onerror="console.error(1)">'
    report = {
        "status": "complete",
        "inputs": [{"file": evil, "rows": 1, "claims": 1}],
        "rules": [{"code": "CL015", "severity": "error", "name": evil, "summary": evil, "issues": 1}],
        "providers": [{"npi": "1234567893", "name": evil, "errors": 1}],
    }
    issues = [{"code": "CL015", "severity": "error", "message": evil, "claim_id": evil, "row": 2}]
    out = io.StringIO()
    render_html(report, issues, out, title=evil)
    page = tmp_path / "report.html"
    page.write_text(out.getvalue(), encoding="utf-8")
    loaded = load(browser, page, tmp_path / "profile")
    assert loaded.returncode == 0
    assert loaded.console == []
    dom = Page(loaded.dom)
    assert [t for t, _ in dom.tags].count("script") == 1 and [t for t, _ in dom.tags].count("img") == 0
    assert dom.table("issue-table")[1][3] == evil and dom.table("issue-table")[1][6] == evil


def test_detector_catches_a_broken_page(tmp_path: Path) -> None:
    """Negative self-check: what the tests above would report if the page were broken."""
    browser = require_browser()
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">"
        '<title>broken</title></head><body><p id="x">static</p>\n'
        '<img src="https://example.invalid/tracker.png" alt="">\n'
        '<script>console.error("deliberate console error");</script>\n'
        "<script>null.boom();</script>\n"
        '<script>Promise.reject(new Error("deliberate rejection"));</script>\n'
        '<script>document.getElementById("x").textContent = "ran";</script>\n'
        "</body></html>\n",
        encoding="utf-8",
    )
    loaded = load(browser, page, tmp_path / "profile")
    assert loaded.returncode == 0
    assert "ran" in loaded.dom
    joined = "\n".join(loaded.console)
    assert "deliberate console error" in joined
    assert "Uncaught TypeError" in joined
    assert "Uncaught (in promise) Error: deliberate rejection" in joined
    assert "Content Security Policy" in joined and "example.invalid" in joined  # blocked, never fetched
    assert len(loaded.console) == 4, loaded.console
