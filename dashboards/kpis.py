"""KPI stat panels shown on more than one dashboard (one definition each)."""

from __future__ import annotations

from grafanalib.core import Stat

from dashboards import helpers as h
from dashboards.i18n import Tr

#: Heating compliance: red below 90 %, orange below 98 %.
WARM_STEPS = h.steps(h.ACTION, (0.9, h.WARN), (0.98, h.OK))


def detector_online_rate(tr: Tr, key: str) -> Stat:
    """Share of known detectors online, hourly, from `kpi_detector_online_rate`."""
    return h.stat(
        tr(f"{key}.title"),
        tr(f"{key}.description"),
        [
            h.sql_series(
                f"""
                SELECT bucket AS "time",
                  sum(detectors_online)::float8 / NULLIF(sum(detectors_known), 0)
                  AS online_rate
                FROM kpi_detector_online_rate
                WHERE {h.hour_range("bucket")} AND {h.DISTRICT_FILTER}
                GROUP BY 1
                ORDER BY 1
                """
            )
        ],
        unit="percentunit",
        decimals=2,
        graph=True,
        thresholds=h.steps(h.WARN, (0.95, h.MINOR), (0.99, h.OK)),
    )


def heating_compliance(tr: Tr, key: str) -> Stat:
    """Share of stations with indoor >= 18 °C, hourly, from `kpi_heating_compliance`."""
    return h.stat(
        tr(f"{key}.title"),
        tr(f"{key}.description"),
        [
            h.sql_series(
                f"""
                SELECT bucket AS "time",
                  sum(stations_warm)::float8 / NULLIF(sum(stations_reporting), 0)
                  AS warm_share
                FROM kpi_heating_compliance
                WHERE {h.hour_range("bucket")} AND {h.DISTRICT_FILTER}
                GROUP BY 1
                ORDER BY 1
                """
            )
        ],
        unit="percentunit",
        decimals=2,
        graph=True,
        thresholds=WARM_STEPS,
    )
