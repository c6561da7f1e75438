"""Grafana's Geomap panel, which grafanalib 0.7.1 does not have.

Typed attrs classes in grafanalib's own style (`to_json_data` returns the
panel JSON Grafana 10/11 stores), so dashboards describe map layers as objects
instead of scattering raw dicts. Only the parts CityOps uses are modelled:
a basemap, marker layers located by latitude/longitude columns, an initial
view centred on the city.
"""

from __future__ import annotations

from typing import Any, Literal

import attr
from attr.validators import in_, instance_of, optional
from grafanalib.core import Panel

GEOMAP_TYPE = "geomap"
CIRCLE = "img/icons/marker/circle.svg"
SQUARE = "img/icons/marker/square.svg"
TRIANGLE = "img/icons/marker/triangle.svg"

LayerType = Literal["markers", "heatmap"]


@attr.s(frozen=True)
class MarkersLayer:
    """A layer of points at (`lat_field`, `lon_field`) from the query with `ref_id`.

    :param name: legend and layer-control name (translated by the caller)
    :param ref_id: refId of the panel target whose rows this layer draws
    :param color_field: colour each marker by this field's mappings/thresholds;
        None = `fixed_color` for every marker
    :param size_field: scale marker size between `size_min`/`size_max` by this field
    :param text_field: label each marker with this field's value
    """

    name: str = attr.ib(validator=instance_of(str))
    ref_id: str = attr.ib(validator=instance_of(str))
    layer_type: LayerType = attr.ib(default="markers", validator=in_(("markers", "heatmap")))
    lat_field: str = attr.ib(default="lat", validator=instance_of(str))
    lon_field: str = attr.ib(default="lon", validator=instance_of(str))
    color_field: str | None = attr.ib(default=None, validator=optional(instance_of(str)))
    fixed_color: str = attr.ib(default="green", validator=instance_of(str))
    size: int = attr.ib(default=6, validator=instance_of(int))
    size_field: str | None = attr.ib(default=None, validator=optional(instance_of(str)))
    size_min: int = attr.ib(default=3, validator=instance_of(int))
    size_max: int = attr.ib(default=15, validator=instance_of(int))
    opacity: float = attr.ib(default=0.7, validator=instance_of(float))
    symbol: str = attr.ib(default=CIRCLE, validator=instance_of(str))
    text_field: str | None = attr.ib(default=None, validator=optional(instance_of(str)))
    show_legend: bool = attr.ib(default=True, validator=instance_of(bool))
    tooltip: bool = attr.ib(default=True, validator=instance_of(bool))

    def to_json_data(self) -> dict[str, Any]:
        color: dict[str, Any] = {"fixed": self.fixed_color}
        if self.color_field:
            color["field"] = self.color_field
        size: dict[str, Any] = {"fixed": self.size, "min": self.size_min, "max": self.size_max}
        if self.size_field:
            size["field"] = self.size_field
        config: dict[str, Any]
        if self.layer_type == "heatmap":
            config = {"blur": 15, "radius": 5, "weight": {"fixed": 1, "min": 0, "max": 1}}
        else:
            text: dict[str, Any] = {"mode": "field", "field": self.text_field, "fixed": ""}
            if not self.text_field:
                text = {"mode": "fixed", "fixed": ""}
            config = {
                "showLegend": self.show_legend,
                "style": {
                    "color": color,
                    "opacity": self.opacity,
                    "rotation": {"fixed": 0, "max": 360, "min": -360, "mode": "mod"},
                    "size": size,
                    "symbol": {"fixed": self.symbol, "mode": "fixed"},
                    "symbolAlign": {"horizontal": "center", "vertical": "center"},
                    "text": text,
                    "textConfig": {
                        "fontSize": 11,
                        "offsetX": 0,
                        "offsetY": -12,
                        "textAlign": "center",
                        "textBaseline": "middle",
                    },
                },
            }
        return {
            "config": config,
            "filterData": {"id": "byRefId", "options": self.ref_id},
            "location": {
                "latitude": self.lat_field,
                "longitude": self.lon_field,
                "mode": "coords",
            },
            "name": self.name,
            "tooltip": self.tooltip,
            "type": self.layer_type,
        }


@attr.s
class Geomap(Panel):
    """Grafana's `geomap` panel: marker layers over a basemap, centred on the city.

    :param layers: the `MarkersLayer`s drawn, bottom first
    :param center_lat, center_lon, zoom: the initial view
    :param mappings: value mappings (colour and text) for string fields used
        as a layer's `color_field`
    :param overrides: per-field overrides (display names, units, mappings)
    :param unit: default unit of numeric fields (shown in tooltips)
    """

    layers: list[MarkersLayer] = attr.ib(factory=list, validator=instance_of(list))
    center_lat: float = attr.ib(default=36.07, validator=instance_of(float))
    center_lon: float = attr.ib(default=120.38, validator=instance_of(float))
    zoom: float = attr.ib(default=11.0, validator=instance_of(float))
    basemap: str = attr.ib(default="default", validator=instance_of(str))
    mappings: list[dict[str, Any]] = attr.ib(factory=list, validator=instance_of(list))
    overrides: list[dict[str, Any]] = attr.ib(factory=list, validator=instance_of(list))
    unit: str = attr.ib(default="", validator=instance_of(str))
    colorMode: str = attr.ib(default="thresholds", validator=instance_of(str))
    tooltipMode: str = attr.ib(default="details", validator=in_(("details", "none")))

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": self.colorMode},
                        "custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False}},
                        "mappings": self.mappings,
                        "unit": self.unit,
                    },
                    "overrides": self.overrides,
                },
                "options": {
                    "basemap": {"config": {}, "name": "Basemap", "type": self.basemap},
                    "controls": {
                        "mouseWheelZoom": True,
                        "showAttribution": True,
                        "showDebug": False,
                        "showMeasure": False,
                        "showScale": True,
                        "showZoom": True,
                    },
                    "layers": [layer.to_json_data() for layer in self.layers],
                    "tooltip": {"mode": self.tooltipMode},
                    "view": {
                        "allLayers": True,
                        "id": "coords",
                        "lat": self.center_lat,
                        "lon": self.center_lon,
                        "zoom": self.zoom,
                    },
                },
                "type": GEOMAP_TYPE,
            }
        )
