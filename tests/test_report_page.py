"""The HTML report page in a real browser: headless Chromium from the system packages.

The page is rendered from the committed results (every torch release of the matrix, cpu, cuda and
the test device), so it has the shape users see: many columns, the cuda ones entirely not run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conformance import report
from helpers import ROOT

WIDTH = 1400


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; CI installs it (apt-get install chromium), see .ci/run")
    pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and runs this test")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page")
    assert report.main([str(ROOT / "results"), "-o", str(out)]) == 0
    return out / "verified-behaviour.html"


def _browser(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", f"--window-size={WIDTH},1000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _probe(page: Path, tmp_path: Path) -> Path:
    """A copy of the page that records, after its own script ran, what the browser laid out."""
    text = page.read_text(encoding="utf-8")
    probe = ("<script>document.body.setAttribute('data-probe', [document.documentElement.scrollWidth, "
             "document.getElementById('overview-table').parentElement.offsetWidth, "
             "document.querySelectorAll('tr.claim-row:not(.hidden)').length, "
             "document.getElementById('filter-topic').value, window.location.search].join('|'));</script>")
    copy = tmp_path / "probe.html"
    copy.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    return copy


def _dom(path: Path, query: str = "") -> tuple[str, list[str]]:
    result = _browser("--virtual-time-budget=3000", "--dump-dom", path.as_uri() + query)
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert match, result.stdout[-2000:]
    return result.stdout, match.group(1).split("|")


def test_marks_are_text_with_svg_icons_and_empty_columns_are_folded(page):
    text = page.read_text(encoding="utf-8")
    overview = text.split('id="overview-table"', 1)[1].split("</table>", 1)[0]
    for emoji in report.MARKS.values():
        assert not emoji or emoji not in overview, emoji
    assert '<use href="#i-passed"/></svg>pass</td>' in overview and '<symbol id="i-passed"' in text
    shown = overview.split("</tr>", 1)[0].count('<th class="col">')
    merged = report.merge(report.load_runs(sorted((ROOT / "results").glob("*.json")))[0])
    ran = {(c["torch"], c["device"]) for row in merged["claims"] for c in row["cells"]
           if c["outcome"] in ("passed", "failed", "error", "xfailed", "xpassed")}
    assert 0 < shown == len(ran), "a column is shown exactly when some claim ran in it"
    assert "cuda" in text.split('id="not-run"', 1)[1], "the cuda columns where nothing ran are named under Not run"


def test_the_page_fits_1400_px_and_keeps_its_filters_in_the_url(page, tmp_path):
    probe = _probe(page, tmp_path)
    _, (scroll_width, table_width, rows, topic, search) = _dom(probe)
    assert int(scroll_width) <= WIDTH, "the page itself must not scroll sideways; wide tables scroll in their box"
    assert int(table_width) <= WIDTH, "the overview's scroll box fits the window"
    all_rows = int(rows)
    dom, (_, _, rows, topic, search) = _dom(probe, "?topic=detach")
    detach = len(re.findall(r'<tr class="claim-row" data-topic="detach"', dom))
    assert topic == "detach" and search == "?topic=detach" and int(rows) == detach and 0 < detach < all_rows
    assert f"{detach} of {all_rows} claims shown" in dom


def test_screenshot_at_1400_px(page, tmp_path):
    shot = tmp_path / "page.png"
    result = _browser(f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])  # the PNG header's IHDR
    assert (width, height) == (WIDTH, 1000)
    keep = os.environ.get("CONFORMANCE_SCREENSHOT")
    if keep:  # for a person to look at: CONFORMANCE_SCREENSHOT=/tmp/page.png pytest tests/test_report_page.py
        shutil.copyfile(shot, keep)
