"""The vocabulary every dashboard module composes, as one import (`h.stat`, `h.OK`, ...).

Each name is defined in the module that has its job: `datasources`, `style`
(colours, severities), `limits` (alert thresholds, from the rules' TOML file),
`sqlparts` (SQL fragments), `targets`, `fields` (steps, mappings, overrides),
`variables`, `panels` and `layout` (grid, dashboard shell).
"""

from __future__ import annotations

from dashboards.board import Board
from dashboards.datasources import POSTGRES, POSTGRES_UID, PROMETHEUS, PROMETHEUS_UID
from dashboards.fields import (
    column_names,
    display_names,
    fixed_color,
    override,
    rate_cell,
    severity_mappings,
    steps,
    value_mappings,
)
from dashboards.layout import SCHEMA_VERSION, Grid, dashboard, iter_panels
from dashboards.limits import GAS_OFFLINE_S, INDOOR_MIN_C, LEL_FIRST, LEL_SECOND, LIT_RATE_TARGET
from dashboards.panels import barchart, count, geomap, stat, table, timeseries
from dashboards.resolution import DAILY, EVENTS, HOURLY, PER_MINUTE, SCRAPES, Resolution
from dashboards.sqlparts import (
    DISTRICT_FILTER,
    ENTERPRISE_FILTER,
    LIT_RATE,
    ROUTE_FILTER,
    TIME_FROM,
    TIME_TO,
    clean_sql,
    day_range,
    district_filter,
    hour_range,
    kpi_series,
    label_case,
    rollup_series,
    severity_rank_sql,
    sql_literal,
)
from dashboards.style import ACTION, INFO, MINOR, NEUTRAL, OK, SEVERITIES, SEVERITY_COLOR, WARN
from dashboards.targets import CitySqlTarget, PromTarget, prom, sql, sql_series
from dashboards.variables import ON_LOAD, ON_TIME_RANGE, district_var, enterprise_var, route_var

__all__ = [
    "ACTION",
    "DAILY",
    "DISTRICT_FILTER",
    "ENTERPRISE_FILTER",
    "EVENTS",
    "GAS_OFFLINE_S",
    "HOURLY",
    "INDOOR_MIN_C",
    "INFO",
    "LEL_FIRST",
    "LEL_SECOND",
    "LIT_RATE",
    "LIT_RATE_TARGET",
    "MINOR",
    "NEUTRAL",
    "OK",
    "ON_LOAD",
    "ON_TIME_RANGE",
    "PER_MINUTE",
    "POSTGRES",
    "POSTGRES_UID",
    "PROMETHEUS",
    "PROMETHEUS_UID",
    "ROUTE_FILTER",
    "SCHEMA_VERSION",
    "SCRAPES",
    "SEVERITIES",
    "SEVERITY_COLOR",
    "TIME_FROM",
    "TIME_TO",
    "WARN",
    "Board",
    "CitySqlTarget",
    "Grid",
    "PromTarget",
    "Resolution",
    "barchart",
    "clean_sql",
    "column_names",
    "count",
    "dashboard",
    "day_range",
    "display_names",
    "district_filter",
    "district_var",
    "enterprise_var",
    "fixed_color",
    "geomap",
    "hour_range",
    "iter_panels",
    "kpi_series",
    "label_case",
    "override",
    "prom",
    "rate_cell",
    "rollup_series",
    "route_var",
    "severity_mappings",
    "severity_rank_sql",
    "sql",
    "sql_literal",
    "sql_series",
    "stat",
    "steps",
    "table",
    "timeseries",
    "value_mappings",
]
