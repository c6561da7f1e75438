"""The report in headless Chromium: a screenshot that is not blank, and a PDF.

Chromium is Debian's `chromium` from scripts/install-system-deps.sh; the test is
skipped, saying so, only where it is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cityops.report import pdf
from cityops.report.fmt import LANGS, Lang
from tests.cityops.report.test_report_db import render_month
from tests.fixtures.png import grey_stats
from tests.fixtures.report_month import write_month

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> str:
    found = pdf.find_chromium()
    if found is None:
        pytest.skip("chromium is not installed (scripts/install-system-deps.sh installs it)")
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_screenshot_is_a_page_of_text_and_charts(
    browser: str, database_url: str, tmp_path: Path, lang: Lang
) -> None:
    write_month(database_url)
    html = tmp_path / "report.html"
    html.write_text(render_month(database_url, lang, None), encoding="utf-8")
    png = tmp_path / "report.png"
    pdf.screenshot(browser, html, png, width=800, height=1100)
    mean, variance, inked = grey_stats(png)
    # A blank or failed page is one flat colour (variance ~0, nothing inked); a page of
    # text, tables and charts on white is mostly white with a few per cent inked.
    assert variance > 300, f"screenshot looks blank: grey variance {variance:.1f}"
    assert 0.02 < inked < 0.6, f"inked share {inked:.3f} is not a page of text"
    assert mean > 150, f"mean grey {mean:.0f}: the page should be dark text on white"


def test_pdf_is_written(browser: str, database_url: str, tmp_path: Path) -> None:
    write_month(database_url)
    html = tmp_path / "report.html"
    html.write_text(render_month(database_url, "zh", None), encoding="utf-8")
    out = tmp_path / "report.pdf"
    pdf.to_pdf(browser, html, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = data.count(b"/Type /Page") - data.count(b"/Type /Pages")
    assert pages >= 2, f"{pages} pages: a month's report with charts spans several"
