"""Panel factories with deliberate units and colours: stat, time series, table,
bar chart, geomap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafanalib.core import (
    BarChart,
    Stat,
    Table,
    Target,
    TimeSeries,
)

from dashboards.datasources import POSTGRES
from dashboards.fields import steps
from dashboards.geomap import Geomap, MarkersLayer
from dashboards.resolution import Resolution
from dashboards.style import ACTION, NEUTRAL, OK


def _shared(
    title: str, description: str, targets: list[Target], datasource: Any = None
) -> dict[str, Any]:
    """What every panel states: its texts, its queries and their datasource (by default
    the first query's)."""
    if datasource is None:
        datasource = targets[0].to_json_data()["datasource"]
    return {
        "title": title,
        "description": description,
        "dataSource": datasource,
        "targets": targets,
    }


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
    return Stat(
        **_shared(title, description, targets),
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


def count(
    title: str, description: str, targets: list[Target], *, alarm: str, **options: Any
) -> Stat:
    """A count that should be zero: green at 0, `alarm` from 1 (an ACTION count fills the
    whole panel), 0 when the query finds no rows."""
    return stat(
        title,
        description,
        targets,
        thresholds=steps(OK, (1, alarm)),
        color_mode="background" if alarm == ACTION else "value",
        no_value="0",
        **options,
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
    resolution: Resolution,
) -> TimeSeries:
    """`resolution` has no default: each panel says how fine its points are
    (`dashboards/resolution.py`), rather than inheriting grafanalib's 100."""
    custom: dict[str, Any] = {}
    if soft_min is not None:
        custom["axisSoftMin"] = soft_min
    if soft_max is not None:
        custom["axisSoftMax"] = soft_max
    defaults: dict[str, Any] = {"custom": custom} if custom else {}
    if color:
        defaults["color"] = color
    return TimeSeries(
        **_shared(title, description, targets),
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
        maxDataPoints=resolution.max_points,
        interval=resolution.min_interval,
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
        **_shared(title, description, targets, POSTGRES),
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
    judged: bool = False,
    overrides: list[dict[str, Any]] | None = None,
    horizontal: bool = True,
    soft_min: float | None = None,
) -> BarChart:
    """`judged`: the bars coloured by the thresholds, drawn as a line across them."""
    custom: dict[str, Any] = {"thresholdsStyle": {"mode": "line" if judged else "off"}}
    if soft_min is not None:
        custom["axisSoftMin"] = soft_min
    return BarChart(
        **_shared(title, description, targets, POSTGRES),
        orientation="horizontal" if horizontal else "vertical",
        showValue="auto",
        colorMode="thresholds" if judged else "palette-classic",
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
        **_shared(title, description, targets, POSTGRES),
        layers=layers,
        mappings=mappings or [],
        overrides=overrides or [],
        zoom=zoom,
        thresholds=steps(OK),
    )
