"""How many points a time-series panel asks for, chosen per panel (issue 12).

Grafana computes a panel's `$__interval` as max(panel `interval`, data source
`timeInterval`, round(range / `maxDataPoints`)) on its `roundInterval` ladder
(`rangeutil.ts`), and `$__timeGroupAlias(col, $__interval)` becomes
`time_bucket('<seconds>s',col)`. grafanalib's default of 100 points gives 5-minute
buckets at the dashboards' default 6 h range; these presets say what each kind of
data deserves instead. tests/fixtures/grafana_macros.py reproduces the computation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resolution:
    max_points: int  # the panel's maxDataPoints
    min_interval: str  # the panel's interval: $__interval never goes below it


#: 1-minute roll-ups and 60 s readings: one point per minute up to the default 6 h
#: (6 h / 360 = 60 s), 5 min over a day; never finer than the data.
PER_MINUTE = Resolution(max_points=360, min_interval="1m")
#: Alert starts and response times: counts per bucket read better in coarser bars,
#: 5 min at 6 h, 15 min over a day.
EVENTS = Resolution(max_points=100, min_interval="1m")
#: KPI views bucketed by hour or day in SQL: the panel asks for no finer points.
HOURLY = Resolution(max_points=168, min_interval="1h")
DAILY = Resolution(max_points=90, min_interval="1d")
#: Prometheus scrapes every 15 s (deploy/prometheus.yml): one point per scrape at the
#: pipeline dashboard's 1 h default (1 h / 240 = 15 s).
SCRAPES = Resolution(max_points=240, min_interval="15s")
