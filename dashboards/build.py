"""Build every dashboard in every language and write the JSON Grafana provisions.

Output: `dashboards/generated/<lang>/<slug>.json`, sorted keys, two-space
indent, UTF-8 (Chinese kept readable), a final newline: byte-stable, so the
committed files can be checked for staleness.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard

from dashboards import alerts, fleet, gas, heating, overview, pipeline, streetlights
from dashboards.i18n import LANGS, Lang

#: slug -> builder, in menu order. The uid of each is `cityops-<slug>-<lang>`.
DASHBOARDS: dict[str, Callable[[Lang], Dashboard]] = {
    overview.SLUG: overview.build,
    gas.SLUG: gas.build,
    streetlights.SLUG: streetlights.build,
    heating.SLUG: heating.build,
    fleet.SLUG: fleet.build,
    alerts.SLUG: alerts.build,
    pipeline.SLUG: pipeline.build,
}

GENERATED_DIR = Path(__file__).resolve().parent / "generated"
#: The home dashboard (GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).
HOME = overview.SLUG


def build(slug: str, lang: Lang) -> Dashboard:
    dashboard = DASHBOARDS[slug](lang)
    ids = [panel.id for panel in dashboard.panels]
    if len(ids) != len(set(ids)) or None in ids:
        raise ValueError(f"{slug}/{lang}: panel ids must be set and unique, got {ids}")
    return dashboard


def to_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as plain JSON data (what Grafana stores)."""
    data: dict[str, Any] = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return data


def render(dashboard: Dashboard) -> str:
    return json.dumps(to_json(dashboard), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_all(out_dir: Path = GENERATED_DIR, langs: Iterable[Lang] = LANGS) -> list[Path]:
    """Write `<out_dir>/<lang>/<slug>.json` for every dashboard; returns the paths."""
    written: list[Path] = []
    for lang in langs:
        lang_dir = out_dir / lang
        lang_dir.mkdir(parents=True, exist_ok=True)
        for slug in DASHBOARDS:
            path = lang_dir / f"{slug}.json"
            path.write_text(render(build(slug, lang)), encoding="utf-8")
            written.append(path)
    return written
