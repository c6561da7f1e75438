"""What the roll-up windows remember per device, stored incrementally.

The windows keep a little per device between windows: a light's last status
(the streetlight snapshots), a gas detector's recent heartbeats (online
rates). In megacity that is ~300k lights and ~100k detectors. The entity stage
stores its windows at every checkpoint (`streams.stages.snapshot`); pickling
all of them each time, even packed as columns (`streams.windows.columns`), was
~0.3-0.6 s of CPU per checkpoint, against a 1 s checkpoint interval
(`python -m cityops.bench.processing`, 2026-12-01). So the device memory is a
`DeviceMemory`: a `{district: {device id: device}}` dict that remembers which
devices changed; the snapshot stores the windows without it, plus one state key
per device changed since the last checkpoint (`device_key`), and rebuilds it
from those keys on load. Pickled on its own (tests, a copy), it packs into
columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

D = TypeVar("D")

#: State keys of the device memory: `~wd:<kind>:` + JSON [district, device id].
KEY_PREFIX = b"~wd:"


@dataclass(frozen=True, slots=True)
class Codec(Generic[D]):
    """How one kind of device is stored: as JSON (a key each), or as columns (whole)."""

    encode: Callable[[D], Any]  # -> plain JSON
    decode: Callable[[Any], D]
    pack: Callable[[dict[str, D]], Any]  # one district -> columns
    unpack: Callable[[Any], dict[str, D]]


CODECS: dict[str, Codec[Any]] = {}


def device_key(kind: str, district: str, device_id: str) -> bytes:
    return KEY_PREFIX + kind.encode() + b":" + orjson.dumps([district, device_id])


class DeviceMemory(dict[str, dict[str, D]]):
    """`{district: {device id: device}}`; the aggregator calls `mark` for every device
    it creates or changes (devices are never removed)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.dirty: set[tuple[str, str]] = set()

    def mark(self, district: str, device_id: str) -> None:
        self.dirty.add((district, device_id))

    def take_changes(self) -> dict[bytes, bytes]:
        """State key -> stored value of each device changed since the last call."""
        encode = CODECS[self.kind].encode
        out: dict[bytes, bytes] = {}
        for district, device_id in self.dirty:
            device = self[district][device_id]
            out[device_key(self.kind, district, device_id)] = orjson.dumps(encode(device))
        self.dirty = set()
        return out

    def restore(self, key: bytes, value: bytes) -> None:
        """Put back one device stored under `key` (clean: it is stored already)."""
        district, device_id = orjson.loads(key[len(KEY_PREFIX) + len(self.kind) + 1 :])
        self.setdefault(district, {})[device_id] = CODECS[self.kind].decode(orjson.loads(value))

    def __reduce__(self) -> tuple[Any, ...]:
        pack = CODECS[self.kind].pack
        return (_unpacked, (self.kind, {d: pack(devices) for d, devices in self.items()}))


def _unpacked(kind: str, packed: dict[str, Any]) -> DeviceMemory[Any]:
    memory: DeviceMemory[Any] = DeviceMemory(kind)
    unpack = CODECS[kind].unpack
    for district, columns in packed.items():
        devices = memory[district] = unpack(columns)
        memory.dirty.update((district, i) for i in devices)  # not stored as keys yet
    return memory
