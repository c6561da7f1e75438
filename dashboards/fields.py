"""Field config pieces: threshold steps, value mappings, overrides, fixed colours."""

from __future__ import annotations

from typing import Any

from dashboards.i18n import Tr
from dashboards.style import SEVERITIES, SEVERITY_COLOR


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


def rate_cell(field: str, name: str, rate_steps: list[dict[str, Any]]) -> dict[str, Any]:
    """A table column of shares (0..1) shown as percent, its text coloured by `rate_steps`."""
    return override(
        field,
        displayName=name,
        unit="percentunit",
        decimals=1,
        thresholds={"mode": "absolute", "steps": rate_steps},
        custom__cellOptions={"type": "color-text"},
    )


def column_names(tr: Tr, fields: str) -> list[dict[str, Any]]:
    """Translated headers of the space-separated SQL columns `fields`: `col.<column>`,
    without an `_id` suffix (`detector_id` -> `col.detector`)."""
    return display_names({f: tr(f"col.{f.removesuffix('_id')}") for f in fields.split()})


def fixed_color(color: str) -> dict[str, str]:
    return {"fixedColor": color, "mode": "fixed"}
