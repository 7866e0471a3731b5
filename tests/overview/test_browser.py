"""The HTML report in a real headless Chromium (Debian's `chromium`; .ci/run installs it).

Every run is inside its own network namespace: the network is off.

* a screenshot, checked not blank and showing the charts;
* the DOM as the browser built it (`--dump-dom`), asserted: totals, a renewal row,
  a chart's title;
* no request: the page is loaded over the DevTools protocol, which reports each
  request a page makes (even one that cannot connect) apart from the browser's own
  background traffic; a control page with an external image and stylesheet shows
  those requests are seen, so "none" means none;
* the sorting script, clicked through the same protocol.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from tests.overview.conftest import DISCOVERY, report
from tests.overview.devtools import Browser

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTH, HEIGHT = 1280, 2400


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (apt-get install chromium; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run these: never a silent skip there
        pytest.skip(message)
    return found


def command(profile: Path, *flags: str) -> list[str]:
    """Chromium with the flags that work here, a fresh profile, and no network."""
    return ["unshare", "--net", chromium_binary(), *FLAGS, f"--user-data-dir={profile}", *flags]


def browse(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once on `page` (a screenshot, a DOM dump)."""
    done = subprocess.run(
        [*command(profile, *flags), page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium driven over the DevTools protocol."""
    running = Browser(command(tmp_path / "devtools-profile"))
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def written(report_catalog: Path, tmp_path: Path) -> Path:
    """The fixture catalog's HTML report, with shadow IT."""
    out = tmp_path / "report.html"
    run = report(report_catalog, "-o", out, "--discovery", DISCOVERY)
    assert run.exit_code == 1, run.stderr  # written; some findings block
    return out


def test_a_page_that_fetches_is_caught(browser: Browser, tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://cdn.example.com/a.css">'
        '</head><body><img src="http://images.example.com/b.png" alt="b"></body></html>',
        encoding="utf-8",
    )
    page = browser.open(control)
    assert sorted(page.fetched) == [
        "http://images.example.com/b.png",
        "https://cdn.example.com/a.css",
    ]


def test_the_report_requests_nothing(browser: Browser, written: Path) -> None:
    page = browser.open(written)
    assert page.requested == [written.as_uri()]  # its own document, and nothing else
    assert page.fetched == []
    assert page.evaluate("document.querySelectorAll('svg').length") == 3  # it did render


def test_the_dumped_dom_has_the_totals_a_renewal_and_the_charts(
    written: Path, tmp_path: Path
) -> None:
    done = browse(written, tmp_path / "profile", "--dump-dom")
    dom = BeautifulSoup(done.stdout, "html.parser")
    assert dom.find(id="total-annual").get_text(strip=True) == "21,200"
    assert dom.find(id="total-tco").get_text(strip=True) == "54,000"
    assert dom.find(id="total-shadow").get_text(strip=True) == "3 tools"
    renewal = [
        [cell.get_text() for cell in row.find_all(["th", "td"])]
        for row in dom.find(id="renewals").find("tbody").find_all("tr")
    ]
    assert ["alpha", "growth", "2026-06-21", "20", "30", "12,000", "30", "2026-05-22", "-10",
            "yes"] in renewal  # fmt: skip
    titles = [t.get_text() for t in dom.select("svg > title")]
    assert "Annual spend by team" in titles
    assert "Renewals in the next 120 days, by week" in titles
    bars = dom.select("#chart-spend-by-team rect")
    assert [b.find("title").get_text() for b in bars] == [
        "growth: 20,000 EUR",
        "brand: 1,200 EUR",
        "it-workplace: 0 EUR",
    ]


def test_a_screenshot_shows_text_and_charts(written: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    browse(
        written,
        tmp_path / "profile",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={shot}",
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)  # [(count, (r, g, b)), ...]
    assert colours is not None
    counts = {colour: count for count, colour in colours}
    white = counts.get((255, 255, 255), 0)
    assert 0.05 < 1 - white / (WIDTH * HEIGHT) < 0.6  # ink, not a blank or a black page
    assert len(counts) > 200  # text and charts, not a flat colour
    # the year-one and spend bars (#1f5f99) are drawn: the charts rendered
    blue = sum(
        n for (r, g, b), n in counts.items() if max(abs(r - 31), abs(g - 95), abs(b - 153)) < 6
    )
    assert blue > 2000


def rows(page: object, table: str) -> list[str]:
    from tests.overview.devtools import Page

    assert isinstance(page, Page)
    names: list[str] = page.evaluate(
        f"Array.from(document.querySelectorAll('#{table} tbody tr th')).map(c => c.textContent)"
    )
    return names


def test_a_click_on_a_header_sorts_its_table(browser: Browser, written: Path) -> None:
    page = browser.open(written)
    header = "document.querySelectorAll('#{} thead th')[{}]"
    page.evaluate(header.format("cost", 4) + ".querySelector('button').click()")  # Annual (EUR)
    # ascending by the converted annual cost; unknown amounts (delta, epsilon) last
    assert rows(page, "cost") == ["zeta", "gamma", "beta", "alpha", "delta", "epsilon"]
    assert page.evaluate(header.format("cost", 4) + ".getAttribute('aria-sort')") == "ascending"
    page.evaluate(header.format("cost", 4) + ".querySelector('button').click()")
    assert rows(page, "cost") == ["alpha", "beta", "gamma", "zeta", "delta", "epsilon"]
    assert page.evaluate(header.format("cost", 4) + ".getAttribute('aria-sort')") == "descending"
    page.evaluate(header.format("spend-by-team", 0) + ".querySelector('button').click()")
    assert rows(page, "spend-by-team") == ["brand", "growth", "it-workplace"]
    assert page.evaluate(header.format("spend-by-team", 0) + ".getAttribute('aria-sort')") == (
        "ascending"
    )
