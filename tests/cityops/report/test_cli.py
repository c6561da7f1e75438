"""`cityops report` as a user runs it: a report (and PDF) for a month, clear errors otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cityops.report import pdf
from tests.fixtures.report_month import write_month

pytestmark = pytest.mark.integration


def cityops(args: list[str], url: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    if url:
        env["CITYOPS_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "cityops.cli", "report", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "11-2026", "2026/11", "november"])
def test_bad_month_says_the_format(month: str, tmp_path: Path) -> None:
    result = cityops(["--month", month], None, tmp_path)
    assert result.returncode == 2
    assert "expected YYYY-MM (for example 2026-11)" in result.stderr


def test_month_without_data_says_so(database_url: str, tmp_path: Path) -> None:
    write_month(database_url)
    result = cityops(["--month", "2025-01", "--lang", "en"], database_url, tmp_path)
    assert result.returncode == 1
    assert "no data for 2025-01" in result.stderr
    result = cityops(["--month", "2026-11", "--district", "黄岛区"], database_url, tmp_path)
    assert result.returncode == 1
    assert "no data for 2026-11 in district '黄岛区'" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing is written when there is no data"


def test_writes_html_and_pdf(database_url: str, tmp_path: Path) -> None:
    write_month(database_url)
    out = tmp_path / "out" / "november.html"
    result = cityops(
        ["--month", "2026-11", "--lang", "zh", "--district", "市南区", "--out", str(out)],
        database_url,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "2026年11月" in html and "市南区" in html and "崂山区" not in html
    if pdf.find_chromium() is None:
        assert "no PDF: chromium is not installed" in result.stdout
    else:
        assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
        assert f"pdf: {out.with_suffix('.pdf')}" in result.stdout


def test_default_output_name(database_url: str, tmp_path: Path) -> None:
    write_month(database_url)
    result = cityops(["--month", "2026-11", "--lang", "en"], database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cityops-report-2026-11-en.html").exists()
