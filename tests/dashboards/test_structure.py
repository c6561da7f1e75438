"""Every generated dashboard is structurally sound, as Grafana would need to load it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, build
from dashboards.helpers import POSTGRES_UID, PROMETHEUS_UID, SCHEMA_VERSION
from dashboards.i18n import LANGS, Lang
from tests.dashboards.conftest import load

Generated = tuple[str, str, dict[str, Any]]

PANEL_TYPES = {"stat", "timeseries", "table", "barchart", "geomap"}
WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|drop|alter|create|truncate|grant|revoke|copy|call|do|"
    r"vacuum|lock|set|reset|comment|refresh)\b",
    re.IGNORECASE,
)
TIME_BOUND_TABLES = (
    "gas_detector_readings",
    "streetlight_readings",
    "heating_station_readings",
    "fleet_gps_readings",
    "rollups_1m",
)
VARIABLE_USE = re.compile(r"\$\{?([a-z_]+)")


def _sql_targets(panel: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in panel["targets"] if "rawSql" in t]


def test_identity(generated: Generated) -> None:
    lang, slug, data = generated
    assert data["uid"] == f"cityops-{slug}-{lang}"
    assert len(data["uid"]) <= 40  # Grafana's uid limit
    assert data["title"] and data["description"]
    assert data["schemaVersion"] == SCHEMA_VERSION
    assert data["tags"] == ["cityops", lang]
    assert data["id"] is None  # provisioning assigns database ids
    assert data["rows"] == []


def test_panel_ids_unique(generated: Generated) -> None:
    _, _, data = generated
    ids = [panel["id"] for panel in data["panels"]]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert len(ids) == len(set(ids)), ids


def test_grid_positions_fit_and_do_not_overlap(generated: Generated) -> None:
    _, _, data = generated
    cells: set[tuple[int, int]] = set()
    for panel in data["panels"]:
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        assert pos["h"] > 0 and pos["y"] >= 0
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_every_panel_has_type_datasource_and_targets(generated: Generated) -> None:
    _, slug, data = generated
    for panel in data["panels"]:
        title = panel["title"]
        assert panel["type"] in PANEL_TYPES, title
        assert title and panel["description"], panel["id"]
        uid = panel["datasource"]["uid"]
        assert uid in (POSTGRES_UID, PROMETHEUS_UID), title
        assert panel["targets"], title
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)) and all(ref_ids), title
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, title
            if uid == POSTGRES_UID:
                assert target["rawQuery"] is True and target["editorMode"] == "code"
                assert target["format"] in ("table", "time_series"), title
                assert target["rawSql"].strip(), title
            else:
                assert target["expr"].strip(), title
        if slug == "pipeline":
            assert uid == PROMETHEUS_UID, title
        else:
            assert uid == POSTGRES_UID, title


def test_thresholds_are_ascending_from_a_base(generated: Generated) -> None:
    _, _, data = generated

    def check(steps: list[dict[str, Any]], where: str) -> None:
        assert steps and steps[0]["value"] is None, where
        values = [s["value"] for s in steps[1:]]
        assert values == sorted(values) and len(values) == len(set(values)), where

    for panel in data["panels"]:
        defaults = panel["fieldConfig"]["defaults"]
        check(defaults["thresholds"]["steps"], panel["title"])
        for override in panel["fieldConfig"].get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "thresholds":
                    check(prop["value"]["steps"], f"{panel['title']} / {override['matcher']}")


def test_sql_is_read_only_and_time_bound(generated: Generated) -> None:
    _, _, data = generated
    for panel in data["panels"]:
        for target in _sql_targets(panel):
            sql = target["rawSql"]
            assert re.match(r"(?is)^\s*(select|with)\b", sql), panel["title"]
            assert ";" not in sql, panel["title"]
            assert not WRITE_WORDS.search(re.sub(r"'[^']*'", "''", sql)), panel["title"]
            if any(table in sql for table in TIME_BOUND_TABLES):
                assert "$__timeFilter(" in sql or "$__timeTo()" in sql, panel["title"]


def test_template_variables(generated: Generated) -> None:
    _, slug, data = generated
    variables = {v["name"]: v for v in data["templating"]["list"]}
    expected = {
        "pipeline": set(),
        "heating": {"district", "enterprise"},
        "fleet": {"district", "route"},
    }.get(slug, {"district"})
    assert set(variables) == expected
    for variable in variables.values():
        assert variable["type"] == "query" and variable["datasource"]["uid"] == POSTGRES_UID
        assert variable["multi"] and variable["includeAll"]
        assert re.match(r"(?is)^\s*select\b", variable["query"])
    # every variable a query uses is defined (built-ins start with __)
    for panel in data["panels"]:
        for target in _sql_targets(panel):
            used = set(VARIABLE_USE.findall(target["rawSql"])) - {"__"}
            used = {u for u in used if not u.startswith("__")}
            assert used <= set(variables), (panel["title"], used)


def test_geomap_layers_well_formed(generated: Generated) -> None:
    _, _, data = generated
    for panel in data["panels"]:
        if panel["type"] != "geomap":
            continue
        options = panel["options"]
        view = options["view"]
        assert view["id"] == "coords"
        assert 30 < view["lat"] < 45 and 110 < view["lon"] < 125  # the city (Qingdao)
        assert options["basemap"]["type"] == "default"
        layers = options["layers"]
        assert layers, panel["title"]
        sql_by_ref = {t["refId"]: t["rawSql"] for t in panel["targets"]}
        names = [layer["name"] for layer in layers]
        assert len(names) == len(set(names)) and all(names)
        for layer in layers:
            assert layer["type"] in ("markers", "heatmap")
            assert layer["filterData"] == {
                "id": "byRefId",
                "options": layer["filterData"]["options"],
            }
            ref = layer["filterData"]["options"]
            assert ref in sql_by_ref, f"{panel['title']}: layer {layer['name']} -> {ref}"
            location = layer["location"]
            assert location["mode"] == "coords"
            for field in (location["latitude"], location["longitude"]):
                assert re.search(rf"\b{field}\b", sql_by_ref[ref]), field
            style = layer["config"]["style"]
            color_field = style["color"].get("field")
            if color_field:
                assert re.search(rf"\b{color_field}\b", sql_by_ref[ref])
                assert panel["fieldConfig"]["defaults"]["mappings"], "colour needs mappings"
            assert style["size"]["fixed"] > 0 and 0 < style["opacity"] <= 1


@pytest.mark.parametrize("lang", LANGS)
def test_built_objects_match_files(lang: Lang) -> None:
    """Panel ids and uids are stable: the objects carry what the files say."""
    for slug in DASHBOARDS:
        dashboard = build(slug, lang)
        data = load(lang, slug)
        assert dashboard.uid == data["uid"]
        assert [p.id for p in dashboard.panels] == [p["id"] for p in data["panels"]]


def test_home_dashboard_is_city_overview() -> None:
    from dashboards.build import HOME

    assert HOME == "overview"
    assert next(iter(DASHBOARDS)) == HOME
