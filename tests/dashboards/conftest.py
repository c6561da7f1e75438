from __future__ import annotations

import json
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, GENERATED_DIR
from dashboards.i18n import LANGS
from tests.fixtures.db_timescale import pglite_installed, timescale_url

__all__ = ["pglite_installed", "timescale_url"]


def load(lang: str, slug: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (GENERATED_DIR / lang / f"{slug}.json").read_text(encoding="utf-8")
    )
    return data


@pytest.fixture(params=[(lang, slug) for lang in LANGS for slug in DASHBOARDS], ids=str)
def generated(request: pytest.FixtureRequest) -> tuple[str, str, dict[str, Any]]:
    lang, slug = request.param
    return lang, slug, load(lang, slug)
