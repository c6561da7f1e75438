"""Merging partial roll-ups: the partitions' windows of one (feed, district, minute)
into the one `rollups.v1` record the contract defines (`streams.windows`).

Every entity is in exactly one partition, so counts of distinct entities add up;
sums add, `lel_max_pct` takes the max, `indoor_temp_min_c` the min, and the
ratios and means are worked out again from the merged counts and sums, as the
windows do (`streams/windows/*.py`).
"""

from __future__ import annotations

from typing import Any

from streams.models import Rollup

_SUM = (
    "readings",
    "detectors_reporting",
    "detectors_known",
    "detectors_online",
    "detectors_alarming",
    "lights_reporting",
    "lights_expected_lit",
    "lights_lit",
    "power_w_sum",
    "stations_reporting",
    "supply_temp_sum_c",
    "return_temp_sum_c",
    "stations_warm",
    "trucks_active",
    "km_travelled",
    "load_kitchen_kg",
    "load_recyclable_kg",
    "load_other_kg",
    "load_hazardous_kg",
)
_MAX = ("lel_max_pct",)
_MIN = ("indoor_temp_min_c",)


def merge(into: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Add partial `part` (a `Rollup.model_dump(mode="json")`) into `into`, in place."""
    for name in _SUM:
        value = part.get(name)
        if value is not None:
            old = into.get(name)
            into[name] = value if old is None else old + value
    for name in _MAX:
        value = part.get(name)
        if value is not None and (into.get(name) is None or value > into[name]):
            into[name] = value
    for name in _MIN:
        value = part.get(name)
        if value is not None and (into.get(name) is None or value < into[name]):
            into[name] = value
    for name in ("feed", "district", "bucket", "bucket_end"):
        into.setdefault(name, part[name])
    return into


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


def finish(merged: dict[str, Any]) -> Rollup:
    """The merged roll-up, with its ratios and means recomputed."""
    m = dict(merged)
    feed = m["feed"]
    if feed == "gas":
        m["detector_online_rate"] = _ratio(m.get("detectors_online"), m.get("detectors_known"))
    elif feed == "streetlight":
        m["lit_rate"] = _ratio(m.get("lights_lit"), m.get("lights_expected_lit"))
    elif feed == "heating":
        m["supply_temp_mean_c"] = _ratio(m.get("supply_temp_sum_c"), m.get("readings"))
        m["return_temp_mean_c"] = _ratio(m.get("return_temp_sum_c"), m.get("readings"))
        m["warm_share"] = _ratio(m.get("stations_warm"), m.get("stations_reporting"))
    return Rollup.model_validate(m)
