"""KPI stat panels shown on more than one dashboard (one definition each)."""

from __future__ import annotations

from typing import Any

from grafanalib.core import Stat

from dashboards import helpers as h
from dashboards.i18n import Tr

#: Heating compliance: red below 90 %, orange below 98 %.
WARM_STEPS = h.steps(h.ACTION, (0.9, h.WARN), (0.98, h.OK))
#: Detector online rate: yellow below 95 %, blue below 99 %.
ONLINE_STEPS = h.steps(h.WARN, (0.95, h.MINOR), (0.99, h.OK))


#: Hourly shares, by the name the share has in its KPI view: (view, numerator, denominator).
SHARES = {
    "online_rate": ("kpi_detector_online_rate", "detectors_online", "detectors_known"),
    "warm_share": ("kpi_heating_compliance", "stations_warm", "stations_reporting"),
}


def _hourly_share(tr: Tr, key: str, alias: str, thresholds: list[dict[str, Any]]) -> Stat:
    """sum(numerator) / sum(denominator) per hour from the hourly KPI view of `alias`."""
    view, numerator, denominator = SHARES[alias]
    return h.stat(
        tr(f"{key}.title"),
        tr(f"{key}.description"),
        [
            h.sql_series(
                f"""
                SELECT bucket AS "time",
                  sum({numerator})::float8 / NULLIF(sum({denominator}), 0)
                  AS {alias}
                FROM {view}
                WHERE {h.hour_range("bucket")} AND {h.DISTRICT_FILTER}
                GROUP BY 1
                ORDER BY 1
                """
            )
        ],
        unit="percentunit",
        decimals=2,
        graph=True,
        thresholds=thresholds,
    )


def detector_online_rate(tr: Tr, key: str) -> Stat:
    """Share of known detectors online, hourly, from `kpi_detector_online_rate`."""
    return _hourly_share(tr, key, "online_rate", ONLINE_STEPS)


def heating_compliance(tr: Tr, key: str) -> Stat:
    """Share of stations with indoor >= 18 °C, hourly, from `kpi_heating_compliance`."""
    return _hourly_share(tr, key, "warm_share", WARM_STEPS)
