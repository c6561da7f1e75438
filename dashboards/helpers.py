"""Small shared builders for the CityOps dashboards.

Every dashboard module composes these: datasource references, SQL and PromQL
targets, template variables, panel factories with deliberate units and
colours, a grid that places panels and numbers them, and the dashboard shell.

Colour policy (DESIGN.md "Dashboards"): red means somebody must act now
(a critical/major alert, a gas alarm, a cold home, a circuit outage); orange
is a warning or a missed target; yellow is minor; blue is information; green
is healthy. Nothing is red merely because it is large.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attr
from grafanalib.core import (
    BarChart,
    Dashboard,
    DashboardLink,
    GridPos,
    Panel,
    SqlTarget,
    Stat,
    Table,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

from dashboards.geomap import Geomap, MarkersLayer
from dashboards.i18n import Lang, Tr

# --- datasources (uids fixed; grafana/provisioning/datasources/cityops.yml) ---
POSTGRES_UID = "cityops-timescaledb"
PROMETHEUS_UID = "cityops-prometheus"
POSTGRES: dict[str, str] = {"type": "postgres", "uid": POSTGRES_UID}
PROMETHEUS: dict[str, str] = {"type": "prometheus", "uid": PROMETHEUS_UID}

#: Dashboard JSON schema of Grafana 10.4/11: no migration runs on load.
SCHEMA_VERSION = 39

# --- semantic colours ---
OK = "green"
ACTION = "red"
WARN = "orange"
MINOR = "yellow"
INFO = "blue"
NEUTRAL = "text"

SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "info")
SEVERITY_COLOR: dict[str, str] = {
    "critical": ACTION,
    "major": "dark-red",
    "minor": MINOR,
    "warning": WARN,
    "info": INFO,
}

#: Lit-rate target of DESIGN.md (Zhuhai: >= 98 %).
LIT_RATE_TARGET = 0.98
#: Northern-China heating: indoor temperature >= 18 °C.
INDOOR_MIN_C = 18
#: gas.lel_high first and second alarm levels, % LEL.
LEL_FIRST = 25
LEL_SECOND = 50

# --- SQL fragments shared by the dashboards (Grafana PostgreSQL macros) ---
DISTRICT_FILTER = "district IN (${district:sqlstring})"
ENTERPRISE_FILTER = "enterprise_id IN (${enterprise:sqlstring})"
ROUTE_FILTER = "route_id IN (${route:sqlstring})"
TIME_TO = "$__timeTo()::timestamptz"
TIME_FROM = "$__timeFrom()::timestamptz"


def district_filter(alias: str = "") -> str:
    """`district IN ($district)`, optionally qualified with a table alias."""
    return f"{alias}.{DISTRICT_FILTER}" if alias else DISTRICT_FILTER


def hour_range(col: str) -> str:
    """Hourly KPI buckets overlapping the dashboard range (the first one starts before it)."""
    return f"{col} >= date_trunc('hour', {TIME_FROM}) AND {col} < {TIME_TO}"


def day_range(col: str) -> str:
    """Daily KPI rows (UTC days, like the views) overlapping the dashboard range."""
    return (
        f"{col} >= ({TIME_FROM} AT TIME ZONE 'UTC')::date"
        f" AND {col} <= ({TIME_TO} AT TIME ZONE 'UTC')::date"
    )


def sql_literal(text: str) -> str:
    """A SQL string literal (legends are text, translated, in the query)."""
    return "'" + text.replace("'", "''") + "'"


def label_case(column: str, labels: dict[str, str]) -> str:
    """`CASE column WHEN 'x' THEN 'label' ... ELSE column END` for translated legends."""
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in labels.items())
    return f"CASE {column} {whens} ELSE {column} END"


def severity_rank_sql(column: str = "severity") -> str:
    """1 for critical .. 5 for info, to sort the most urgent first."""
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES, start=1))
    return f"CASE {column} {whens} ELSE 9 END"


def clean_sql(sql: str) -> str:
    """Strip the indentation of triple-quoted SQL so the JSON stays readable."""
    lines = [line.strip() for line in sql.strip().splitlines()]
    return "\n".join(line for line in lines if line)


# --- targets ---
@attr.s
class CitySqlTarget(SqlTarget):
    """A raw-SQL target in code mode on the TimescaleDB datasource.

    `expects_rows` is metadata for the live-database test (does a simulated
    run fill this query?); it is not part of the dashboard JSON.
    """

    expects_rows: bool = attr.ib(default=True, kw_only=True)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": POSTGRES,
            "editorMode": "code",
            "format": self.format,
            "hide": self.hide,
            "rawQuery": True,
            "rawSql": self.rawSql,
            "refId": self.refId,
        }


@attr.s
class PromTarget(Target):
    """A PromQL range query on the Prometheus datasource."""

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "expr": self.expr,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }


def sql(
    query: str, ref_id: str = "A", fmt: str = "table", *, expects_rows: bool = True
) -> CitySqlTarget:
    # mypy's attrs plugin cannot see the fields inherited from untyped grafanalib classes
    return CitySqlTarget(  # type: ignore[call-arg]
        rawSql=clean_sql(query), refId=ref_id, format=fmt, expects_rows=expects_rows
    )


def sql_series(query: str, ref_id: str = "A", *, expects_rows: bool = True) -> CitySqlTarget:
    """A time-series SQL target (columns `time`, optional `metric`, values)."""
    return sql(query, ref_id, "time_series", expects_rows=expects_rows)


def prom(expr: str, legend: str, ref_id: str = "A", *, instant: bool = False) -> PromTarget:
    return PromTarget(expr=expr, legendFormat=legend, refId=ref_id, instant=instant)  # type: ignore[call-arg]


# --- thresholds, mappings, overrides ---
def steps(base: str, *pairs: tuple[float, str]) -> list[dict[str, Any]]:
    """Threshold steps: `base` colour below the first value, then (value, colour)."""
    return [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in pairs]


def value_mappings(entries: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """One value mapping: raw value -> (translated text, colour)."""
    options = {
        raw: {"color": color, "index": i, "text": text}
        for i, (raw, (text, color)) in enumerate(entries.items())
    }
    return [{"options": options, "type": "value"}]


def severity_mappings(tr: Tr) -> list[dict[str, Any]]:
    return value_mappings({s: (tr(f"severity.{s}"), SEVERITY_COLOR[s]) for s in SEVERITIES})


def override(field: str, **props: Any) -> dict[str, Any]:
    """A by-name field override; keyword = Grafana property id (dots as `__`)."""
    properties = [{"id": k.replace("__", "."), "value": v} for k, v in props.items()]
    return {"matcher": {"id": "byName", "options": field}, "properties": properties}


def display_names(names: dict[str, str]) -> list[dict[str, Any]]:
    """Translated column headers / series names for SQL column aliases."""
    return [override(field, displayName=text) for field, text in names.items()]


def fixed_color(color: str) -> dict[str, str]:
    return {"fixedColor": color, "mode": "fixed"}


# --- template variables ---
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


# --- panels ---
def stat(
    title: str,
    description: str,
    targets: list[Target],
    *,
    unit: str = "none",
    thresholds: list[dict[str, Any]] | None = None,
    decimals: int | None = None,
    graph: bool = False,
    reduce: str = "lastNotNull",
    overrides: list[dict[str, Any]] | None = None,
    color_mode: str = "value",
    no_value: str = "-",
) -> Stat:
    datasource = targets[0].to_json_data()["datasource"]
    return Stat(
        title=title,
        description=description,
        dataSource=datasource,
        targets=targets,
        format=unit,
        decimals=decimals,
        thresholds=thresholds or steps(OK),
        graphMode="area" if graph else "none",
        reduceCalc=reduce,
        overrides=overrides or [],
        colorMode=color_mode,
        noValue=no_value,
        extraJson={"fieldConfig": {"defaults": {"color": {"mode": "thresholds"}}}},
    )


def timeseries(
    title: str,
    description: str,
    targets: list[Target],
    *,
    unit: str,
    thresholds: list[dict[str, Any]] | None = None,
    threshold_style: str = "off",
    bars: bool = False,
    stacked: bool = False,
    overrides: list[dict[str, Any]] | None = None,
    soft_min: float | None = None,
    soft_max: float | None = None,
    legend_calcs: Sequence[str] = ("lastNotNull", "max"),
    color: dict[str, str] | None = None,
) -> TimeSeries:
    datasource = targets[0].to_json_data()["datasource"]
    custom: dict[str, Any] = {}
    if soft_min is not None:
        custom["axisSoftMin"] = soft_min
    if soft_max is not None:
        custom["axisSoftMax"] = soft_max
    defaults: dict[str, Any] = {"custom": custom} if custom else {}
    if color:
        defaults["color"] = color
    return TimeSeries(
        title=title,
        description=description,
        dataSource=datasource,
        targets=targets,
        unit=unit,
        thresholds=thresholds or steps(OK),
        thresholdsStyleMode=threshold_style,
        drawStyle="bars" if bars else "line",
        fillOpacity=70 if bars else 10,
        lineWidth=1 if bars else 2,
        showPoints="never",
        stacking={"group": "A", "mode": "normal"} if stacked else {"mode": "none"},
        legendDisplayMode="table",
        legendPlacement="right" if len(legend_calcs) > 1 else "bottom",
        legendCalcs=list(legend_calcs),
        tooltipMode="multi",
        tooltipSort="desc",
        spanNulls=True,
        overrides=overrides or [],
        extraJson={"fieldConfig": {"defaults": defaults}} if defaults else None,
    )


def table(
    title: str,
    description: str,
    targets: list[Target],
    *,
    overrides: list[dict[str, Any]] | None = None,
    mappings: list[dict[str, Any]] | None = None,
    sort_by: str | None = None,
    thresholds: list[dict[str, Any]] | None = None,
) -> Table:
    extra: dict[str, Any] = {
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "custom": {"cellOptions": {"type": "auto"}},
                "mappings": mappings or [],
            }
        },
        "options": {"cellHeight": "sm", "footer": {"show": False}},
    }
    return Table(
        title=title,
        description=description,
        dataSource=POSTGRES,
        targets=targets,
        overrides=overrides or [],
        filterable=True,
        thresholds=thresholds or steps(NEUTRAL),
        sortBy=[],
        extraJson=extra if sort_by is None else _with_sort(extra, sort_by),
    )


def _with_sort(extra: dict[str, Any], field: str) -> dict[str, Any]:
    extra["options"]["sortBy"] = [{"desc": False, "displayName": field}]
    return extra


def barchart(
    title: str,
    description: str,
    targets: list[Target],
    *,
    unit: str,
    thresholds: list[dict[str, Any]] | None = None,
    threshold_line: bool = False,
    color_by_threshold: bool = False,
    overrides: list[dict[str, Any]] | None = None,
    horizontal: bool = True,
    soft_min: float | None = None,
) -> BarChart:
    custom: dict[str, Any] = {"thresholdsStyle": {"mode": "line" if threshold_line else "off"}}
    if soft_min is not None:
        custom["axisSoftMin"] = soft_min
    return BarChart(
        title=title,
        description=description,
        dataSource=POSTGRES,
        targets=targets,
        orientation="horizontal" if horizontal else "vertical",
        showValue="auto",
        colorMode="thresholds" if color_by_threshold else "palette-classic",
        thresholdSteps=thresholds or steps(OK),
        overrides=overrides or [],
        legendDisplayMode="list",
        extraJson={"fieldConfig": {"defaults": {"custom": custom, "unit": unit}}},
    )


def geomap(
    title: str,
    description: str,
    targets: list[Target],
    layers: list[MarkersLayer],
    *,
    mappings: list[dict[str, Any]] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    zoom: float = 11.0,
) -> Geomap:
    return Geomap(  # type: ignore[call-arg]
        title=title,
        description=description,
        dataSource=POSTGRES,
        targets=targets,
        layers=layers,
        mappings=mappings or [],
        overrides=overrides or [],
        zoom=zoom,
        thresholds=steps(OK),
    )


# --- layout ---
class Grid:
    """Places panels left to right on Grafana's 24-column grid, numbering them 1, 2, ..."""

    WIDTH = 24

    def __init__(self) -> None:
        self.panels: list[Panel] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def add(self, panel: Panel, w: int, h: int) -> None:
        if not 0 < w <= self.WIDTH:
            raise ValueError(f"panel width {w} not in 1..{self.WIDTH}")
        if self._x + w > self.WIDTH:
            self.newline()
        pos = GridPos(h=h, w=w, x=self._x, y=self._y)
        self.panels.append(attr.evolve(panel, gridPos=pos, id=len(self.panels) + 1))
        self._x += w
        self._row_height = max(self._row_height, h)

    def newline(self) -> None:
        self._y += self._row_height
        self._x = 0
        self._row_height = 0


def dashboard(
    slug: str,
    lang: Lang,
    tr: Tr,
    grid: Grid,
    *,
    templates: Iterable[Template] = (),
    time_from: str = "now-6h",
    refresh: str = "1m",
) -> Dashboard:
    """The dashboard shell: stable uid `cityops-<slug>-<lang>`, tags, links to the others."""
    return Dashboard(
        title=tr(f"{slug}.title"),
        description=tr(f"{slug}.description"),
        uid=f"cityops-{slug}-{lang}",
        tags=["cityops", lang],
        panels=grid.panels,
        templating=Templating(list=list(templates)),
        time=Time(time_from, "now"),
        timezone="browser",
        refresh=refresh,
        schemaVersion=SCHEMA_VERSION,
        graphTooltip=1,
        editable=False,
        links=[
            DashboardLink(
                asDropdown=True,
                includeVars=True,
                keepTime=True,
                tags=["cityops", lang],
                title=tr("links.dashboards"),
                type="dashboards",
            )
        ],
    )


def iter_panels(panels: Iterable[Panel]) -> Iterator[Panel]:
    yield from panels
