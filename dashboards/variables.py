"""Template variables (district, enterprise, route) and when they refresh."""

from __future__ import annotations

from grafanalib.core import (
    Template,
)

from dashboards.datasources import POSTGRES
from dashboards.i18n import Tr
from dashboards.sqlparts import DISTRICT_FILTER, clean_sql


def _query_var(name: str, label: str, query: str, refresh: int) -> Template:
    return Template(
        name=name,
        label=label,
        query=clean_sql(query),
        dataSource=POSTGRES,
        multi=True,
        includeAll=True,
        default="$__all",
        refresh=refresh,
        sort=1,
    )


#: Refresh a variable's options when the dashboard loads / the range changes.
ON_LOAD = 1
ON_TIME_RANGE = 2


def district_var(tr: Tr) -> Template:
    """Districts seen in the roll-ups of the last week (the pipeline's max event age)."""
    return _query_var(
        "district",
        tr("var.district"),
        "SELECT DISTINCT district FROM rollups_1m WHERE bucket > now() - interval '7 days'"
        " ORDER BY 1",
        ON_LOAD,
    )


def enterprise_var(tr: Tr) -> Template:
    return _query_var(
        "enterprise",
        tr("var.enterprise"),
        "SELECT DISTINCT enterprise_id FROM heating_station_readings"
        f" WHERE $__timeFilter(ts) AND {DISTRICT_FILTER} ORDER BY 1",
        ON_TIME_RANGE,
    )


def route_var(tr: Tr) -> Template:
    return _query_var(
        "route",
        tr("var.route"),
        "SELECT DISTINCT route_id FROM fleet_gps_readings"
        f" WHERE $__timeFilter(ts) AND {DISTRICT_FILTER} ORDER BY 1",
        ON_TIME_RANGE,
    )
