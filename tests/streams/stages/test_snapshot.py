"""The entity stage's window snapshot: devices stored incrementally, restored exactly."""

from __future__ import annotations

from streams.models import Event
from streams.stages import snapshot
from streams.windows import RollupWindows
from streams.windows.devices import KEY_PREFIX
from tests.fixtures.rollup_events import NIGHT, at, gas, light, topic_of


def _events(start_s: int, minutes: int, lights: int = 3) -> list[Event]:
    events: list[Event] = []
    for s in range(start_s, start_s + 60 * minutes, 30):
        events.append(gas("g1", at(s), lel=30.0 if s % 120 == 0 else 1.0))
        events.append(gas("g2", at(s + 1), district="d2"))
        if s % 60 == 0:
            for n in range(lights):
                state = "off" if (s // 60 + n) % 3 == 0 else "on"
                events.append(light(f"l{n}", at(s + 2 + n), state=state, district=f"d{n % 2}"))
    return events


def _run(windows: RollupWindows, events: list[Event]) -> list[str]:
    out: list[str] = []
    for event in events:
        windows.add(topic_of(event), event)
        for feed in ("gas.detector.v1", "streetlight.status.v1"):
            out += [r.model_dump_json() for r in windows.close_ready(feed)]
    return out


def _device_keys(state: dict[bytes, bytes]) -> set[bytes]:
    return {k for k in state if k.startswith(KEY_PREFIX)}


def test_devices_are_stored_once_each_and_then_only_when_changed() -> None:
    state: dict[bytes, bytes] = {}
    windows = RollupWindows(NIGHT)
    _run(windows, _events(0, 3))
    snapshot.save(state, windows, NIGHT)
    first = dict(state)
    assert len(_device_keys(state)) == 2 + 3  # two detectors, three lights
    snapshot.save(state, windows, NIGHT)  # nothing changed: the same keys, same bytes
    assert state == first
    # one detector reports: only its key is rewritten (and the windows blob)
    windows.add("gas.detector.v1", gas("g2", at(200), district="d2"))
    written: list[bytes] = []

    class Recording(dict[bytes, bytes]):
        def __setitem__(self, key: bytes, value: bytes) -> None:
            written.append(key)
            super().__setitem__(key, value)

        def update(self, other: dict[bytes, bytes]) -> None:  # type: ignore[override]
            for key, value in other.items():
                self[key] = value

    recording = Recording(state)
    snapshot.save(recording, windows, NIGHT)
    assert [k for k in written if k.startswith(KEY_PREFIX)] == [
        KEY_PREFIX + b'gas:["d2","g2"]'
    ]


def test_a_restored_snapshot_gives_the_same_rollups() -> None:
    state: dict[bytes, bytes] = {}
    windows = RollupWindows(NIGHT)
    _run(windows, _events(0, 4))
    snapshot.save(state, windows, NIGHT)
    _run(windows, _events(4 * 60, 3, lights=4))  # a new light, settled lights
    snapshot.save(state, windows, NIGHT)  # the second checkpoint: changes only
    restored = snapshot.load(state, NIGHT)
    assert restored is not None
    later = _events(7 * 60, 8, lights=4)
    expected = _run(windows, later)
    assert expected
    assert _run(restored, later) == expected
