"""HTML -> PDF (and PNG screenshots) with headless Chromium, when it is installed.

Debian's `chromium` comes from `scripts/install-system-deps.sh`. Each run gets a
fresh profile directory and the flags that keep Chromium from reaching the network
on its own (no sync, component updates, background networking, QUIC): the report is
self-contained, so nothing needs fetching.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI and containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_S = 120


class ConverterError(RuntimeError):
    """Chromium ran but produced no output."""


def find_chromium() -> str | None:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    return None


def _run(browser: str, html: Path, out: Path, args: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="cityops-chromium-") as profile:
        argv = [browser, *FLAGS, f"--user-data-dir={profile}", *args, html.resolve().as_uri()]
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ConverterError(f"{browser} did not finish within {TIMEOUT_S} s") from exc
    if result.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise ConverterError(f"{browser} exited {result.returncode} without {out.name}:\n{tail}")


def to_pdf(browser: str, html: Path, pdf: Path) -> None:
    pdf.unlink(missing_ok=True)
    _run(browser, html, pdf, [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"])


def screenshot(browser: str, html: Path, png: Path, width: int = 1000, height: int = 1400) -> None:
    png.unlink(missing_ok=True)
    _run(
        browser,
        html,
        png,
        [f"--screenshot={png}", f"--window-size={width},{height}", "--hide-scrollbars"],
    )
