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


def _in_district_var(name: str, tr: Tr, column: str, table: str) -> Template:
    """The values of `column` seen in `table` in the range, within the chosen districts."""
    return _query_var(
        name,
        tr(f"var.{name}"),
        f"SELECT DISTINCT {column} FROM {table}"
        f" WHERE $__timeFilter(ts) AND {DISTRICT_FILTER} ORDER BY 1",
        ON_TIME_RANGE,
    )


def enterprise_var(tr: Tr) -> Template:
    return _in_district_var("enterprise", tr, "enterprise_id", "heating_station_readings")


def route_var(tr: Tr) -> Template:
    return _in_district_var("route", tr, "route_id", "fleet_gps_readings")
