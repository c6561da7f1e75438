"""The entity stage's stored windows: saved and loaded whole, the city put back."""

from __future__ import annotations

import io
import pickle
import zlib
from typing import Any

from streams.stages import snapshot
from streams.windows import RollupWindows
from tests.fixtures.rollup_events import NIGHT, FakeCity, at, gas, light, topic_of


def _windows(city: FakeCity) -> RollupWindows:
    windows = RollupWindows(city)
    for s in range(0, 200, 20):
        for event in (gas("g1", at(s)), gas("g2", at(s + 1), district="d2"), light("l1", at(s))):
            windows.add(topic_of(event), event)
    return windows


def _devices(windows: RollupWindows) -> dict[str, Any]:
    return {
        "gas": windows.aggregators["gas.detector.v1"]._detectors,  # type: ignore[attr-defined]
        "lights": windows.aggregators["streetlight.status.v1"]._lights,  # type: ignore[attr-defined]
    }


def test_saved_windows_load_with_the_same_devices_and_the_given_city() -> None:
    kept = _windows(NIGHT)
    state: dict[bytes, bytes] = {}
    snapshot.save(state, kept, NIGHT)
    other_city = FakeCity(NIGHT.dark_from, NIGHT.dark_until, name="the running one")
    loaded = snapshot.load(state, other_city)
    assert loaded is not None
    assert _devices(loaded) == _devices(kept)
    assert loaded.aggregators["streetlight.status.v1"].city is other_city  # type: ignore[attr-defined]


def test_windows_stored_by_the_previous_format_still_load() -> None:
    """Before 2026-12-01 the city was a persistent id and the ids plain lists."""

    class OldPickler(pickle.Pickler):
        def persistent_id(self, obj: Any) -> str | None:
            return "city" if obj is NIGHT else None

    kept = _windows(NIGHT)
    fields = {"gas.detector.v1": "_detectors", "streetlight.status.v1": "_lights"}
    classes = {feed: type(kept.aggregators[feed]) for feed in fields}
    originals = {feed: cls.__getstate__ for feed, cls in classes.items()}
    buf = io.BytesIO()
    try:
        for feed, field in fields.items():
            packed = originals[feed](kept.aggregators[feed])[field]
            columns = {d: (c[0].split("\n"), *c[1:]) for d, c in packed.items()}

            def old_getstate(self: Any, _field: str = field, _columns: Any = columns) -> Any:
                return {**self.__dict__, _field: _columns}

            classes[feed].__getstate__ = old_getstate  # type: ignore[method-assign]
        OldPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(kept)
    finally:
        for feed, cls in classes.items():
            cls.__getstate__ = originals[feed]  # type: ignore[method-assign]
    state = {b"~windows": b"1", b"~windows:0": zlib.compress(buf.getvalue(), 1)}
    loaded = snapshot.load(state, NIGHT)
    assert loaded is not None
    assert _devices(loaded) == _devices(kept)
