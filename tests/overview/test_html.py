"""The HTML report as a file: inert manifest text, nothing to fetch, accessible structure.

(tests/overview/test_browser.py opens it in a real Chromium.)
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from tests.overview.conftest import DISCOVERY, report

HOSTILE_TITLE = '<script>alert(1)</script><img src="http://evil.example/x.png" onerror="alert(2)">'
HOSTILE_DISCOVERED = "</title><style>@import url(https://evil.example/x.css)</style>"


def page(root: Path, tmp_path: Path, *args: str | Path) -> BeautifulSoup:
    out = tmp_path / "report.html"
    run = report(root, "-o", out, *args)
    assert run.exit_code in (0, 1), run.stderr
    assert run.stdout == f"Report written to {out}\n"
    return BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")


def hostile(root: Path, tmp_path: Path) -> Path:
    """The fixture catalog with markup in a manifest's title and a discovered tool's."""
    alpha = root / "manifests" / "alpha.yaml"
    text = alpha.read_text(encoding="utf-8")
    alpha.write_text(text.replace("title: Tool alpha", f"title: '{HOSTILE_TITLE}'"), "utf-8")
    discovery = tmp_path / "discovery.json"
    discovery.write_text(
        DISCOVERY.read_text(encoding="utf-8").replace(
            '"title": "Notion"', '"title": "' + HOSTILE_DISCOVERED.replace('"', '\\"') + '"'
        ),
        encoding="utf-8",
    )
    return discovery


def test_text_from_manifests_and_discovery_stays_text(report_catalog: Path, tmp_path: Path) -> None:
    discovery = hostile(report_catalog, tmp_path)
    soup = page(report_catalog, tmp_path, "--discovery", discovery)
    assert len(soup.find_all("script")) == 1  # the sorting script, nothing else
    assert len(soup.find_all("style")) == 1
    assert soup.find_all("img") == []
    handlers = [
        (tag.name, name)
        for tag in soup.find_all(True)
        for name in tag.attrs
        if name.startswith("on")
    ]
    assert handlers == []
    shown = soup.get_text()
    assert HOSTILE_TITLE in shown and HOSTILE_DISCOVERED in shown  # shown literally


def test_the_page_loads_nothing_and_allows_only_its_own_style_and_script(
    report_catalog: Path, tmp_path: Path
) -> None:
    soup = page(report_catalog, tmp_path, "--discovery", hostile(report_catalog, tmp_path))
    for tag in soup.find_all(True):
        for name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href"):
            value = tag.get(name)
            assert value is None or str(value).startswith("#"), (tag.name, name, value)
    style = soup.find("style")
    script = soup.find("script")
    assert isinstance(style, Tag) and isinstance(script, Tag)
    assert "url(" not in style.string and "@import" not in style.string  # type: ignore[operator]
    meta = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert isinstance(meta, Tag)
    policy = str(meta["content"])
    assert policy.startswith("default-src 'none'; ")
    assert f"style-src {digest(str(style.string))};" in policy
    assert f"script-src {digest(str(script.string))};" in policy
    assert "unsafe-inline" not in policy and "http" not in policy


def digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_tables_have_real_headers_and_charts_have_text_alternatives(
    report_catalog: Path, tmp_path: Path
) -> None:
    soup = page(report_catalog, tmp_path, "--discovery", DISCOVERY)
    html = soup.find("html")
    assert isinstance(html, Tag) and html["lang"] == "en"
    assert len(soup.find_all("h1")) == 1
    tables = soup.find_all("table")
    assert len(tables) == 13
    for table in tables:
        assert table.find("caption").get_text(strip=True)
        headers = table.find("thead").find_all("th")
        assert headers and all(th["scope"] == "col" and th.find("button") for th in headers)
        for row in table.find("tbody").find_all("tr"):
            cells = row.find_all(["th", "td"], recursive=False)
            assert cells[0].name == "th" and cells[0]["scope"] == "row"
            assert len(cells) == len(headers)
    charts = soup.find_all("svg")
    assert len(charts) == 3
    for svg in charts:
        assert svg["role"] == "img"
        labels = str(svg["aria-labelledby"]).split()
        assert [soup.find(id=label).name for label in labels] == ["title", "desc"]
        assert all(soup.find(id=label).get_text(strip=True) for label in labels)
        figure = svg.find_parent("figure")
        link = figure.find("a")
        assert soup.find(id=str(link["href"]).removeprefix("#")).find("table")


def test_the_page_shows_the_totals_renewals_and_notes(report_catalog: Path, tmp_path: Path) -> None:
    soup = page(report_catalog, tmp_path)
    assert text_of(soup, "total-annual") == "21,200"
    assert text_of(soup, "total-tco") == "54,000"
    assert text_of(soup, "total-renewals") == "3"
    assert text_of(soup, "rate-date") == "2026-05-01"
    assert text_of(soup, "total-shadow") == "not measured"
    rows = soup.find(id="renewals").find("tbody").find_all("tr")
    assert [c.get_text() for c in rows[1].find_all(["th", "td"])] == [
        "alpha", "growth", "2026-06-21", "20", "30", "12,000", "30", "2026-05-22", "-10", "yes",
    ]  # fmt: skip
    assert rows[1].find_all("td")[4]["data-sort"] == "12000.00"
    notes = soup.find("ul", class_="notes").get_text()
    assert "5,000 CHF" in notes and "g-missing" in notes


def text_of(soup: BeautifulSoup, element: str) -> str:
    found = soup.find(id=element)
    assert found is not None, element
    return str(found.get_text(strip=True))


# WCAG 2.1: text needs 4.5:1 against its background, graphics (chart bars) 3:1.
PAIRS = [
    ("body text", "#1a1a1a", "#ffffff", 4.5),
    ("lede", "#333333", "#ffffff", 4.5),
    ("code", "#1a1a1a", "#f0f2f5", 4.5),
    ("links", "#1f5f99", "#ffffff", 4.5),
    ("card labels", "#3d4650", "#f7f9fb", 4.5),
    ("table headers", "#1a1a1a", "#e9eef3", 4.5),
    ("captions", "#3d4650", "#ffffff", 4.5),
    ("sort arrows", "#595959", "#e9eef3", 4.5),
    ("year one bars", "#1f5f99", "#ffffff", 3.0),
    ("after year one bars", "#b45309", "#ffffff", 3.0),
    ("markers", "#6b6b6b", "#ffffff", 3.0),
]


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_colours_have_sufficient_contrast() -> None:
    from guardrails.overview.formats.html_format import TEMPLATES

    stylesheet = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    used = set(re.findall(r"#[0-9a-f]{6}", stylesheet))
    borders = {"#c9d1da", "#d5dbe1"}  # decoration, not information
    assert used <= {c for _, fg, bg, _ in PAIRS for c in (fg, bg)} | borders
    for name, foreground, background, needed in PAIRS:
        assert foreground in used and background in used, name
        light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= needed, name
