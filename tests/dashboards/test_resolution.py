"""Every time-series panel says how fine its points are, and Grafana's $__interval
at the dashboard's default range is what the preset promises (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboards.resolution import DAILY, EVENTS, HOURLY, PER_MINUTE, SCRAPES
from tests.fixtures.grafana_macros import grafana_interval, parse_interval

PRESETS = {(r.max_points, r.min_interval) for r in (PER_MINUTE, EVENTS, HOURLY, DAILY, SCRAPES)}
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_time_series_panels_set_points_and_interval(
    generated: tuple[str, str, dict[str, Any]],
) -> None:
    lang, slug, data = generated
    default_range = parse_interval(data["time"]["from"].removeprefix("now-"))
    panels = [p for p in data["panels"] if p["type"] == "timeseries"]
    for panel in panels:
        where = (lang, slug, panel["title"])
        assert (panel["maxDataPoints"], panel["interval"]) in PRESETS, where
        interval = grafana_interval(
            NOW - default_range, NOW, panel["maxDataPoints"], panel["interval"]
        )
        sql = " ".join(t.get("rawSql", "") for t in panel["targets"])
        if "FROM rollups_1m" in sql or "FROM heating_station_readings" in sql:
            # per-minute data over the default 6 h: one bucket per minute, not 5
            assert interval == parse_interval("1m"), where
        assert interval >= parse_interval(panel["interval"]), where
