"""Roll-up windows kept in a partition's state mapping, so a restart resumes them.

The windows (`streams.windows.RollupWindows`) are small pure objects with no
key-value shape of their own, so a partition's windows are stored whole, as a
pickle, at each checkpoint (`StageTask.flush`), in chunks under `~windows:<i>`
(`~windows` = the chunk count): a chunk stays below the broker's default 1 MiB
message limit. The city (the darkness clock the streetlight windows hold) is not
stored: it is the one object outside the windows, and it is put back on load.

What the windows remember per device (~400k lights and detectors in megacity)
is not in the pickle: each device changed since the last checkpoint is stored
under a key of its own (`streams.windows.devices`: pickling all of them at every
checkpoint was most of the worker's CPU), and the memory is rebuilt from those
keys on load.

Pickle is safe here: the worker reads only the changelog it wrote itself.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import MutableMapping
from typing import Any

from streams.windows import DarkClock, RollupWindows
from streams.windows.devices import KEY_PREFIX, DeviceMemory

COUNT_KEY = b"~windows"
CHUNK_BYTES = 512 * 1024
_CITY = "city"
_DEVICES = "devices:"


class _Pickler(pickle.Pickler):
    def __init__(self, file: Any, city: DarkClock) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.city = city
        self.devices: list[DeviceMemory[Any]] = []

    def persistent_id(self, obj: Any) -> str | None:
        if obj is self.city:
            return _CITY
        if type(obj) is DeviceMemory:  # stored as keys of their own, changed ones only
            self.devices.append(obj)
            return _DEVICES + obj.kind
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, city: DarkClock, devices: dict[str, DeviceMemory[Any]]) -> None:
        super().__init__(file)
        self.city = city
        self.devices = devices

    def persistent_load(self, pid: Any) -> Any:
        if pid == _CITY:
            return self.city
        if isinstance(pid, str) and pid.startswith(_DEVICES):
            kind = pid[len(_DEVICES) :]
            return self.devices.get(kind) or DeviceMemory(kind)
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def save(state: MutableMapping[bytes, bytes], windows: RollupWindows, city: DarkClock) -> int:
    """Write `windows` into `state`; returns the stored bytes."""

    buf = io.BytesIO()
    pickler = _Pickler(buf, city)
    pickler.dump(windows)
    for memory in pickler.devices:
        state.update(memory.take_changes())
    # level 1: ~4x smaller for ~the time of the pickling itself
    blob = zlib.compress(buf.getvalue(), 1)
    chunks = [blob[i : i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)] or [b""]
    old = int(state.get(COUNT_KEY) or b"0")
    for i, chunk in enumerate(chunks):
        state[_chunk_key(i)] = chunk
    for i in range(len(chunks), old):
        state.pop(_chunk_key(i), None)
    state[COUNT_KEY] = str(len(chunks)).encode()
    return len(blob)


def load(state: MutableMapping[bytes, bytes], city: DarkClock) -> RollupWindows | None:
    """The windows stored in `state`, or None when there are none."""
    raw = state.get(COUNT_KEY)
    if raw is None:
        return None

    blob = b"".join(state[_chunk_key(i)] for i in range(int(raw)))
    windows = _Unpickler(io.BytesIO(zlib.decompress(blob)), city, _devices(state)).load()
    if not isinstance(windows, RollupWindows):
        raise TypeError(f"stored windows are a {type(windows).__name__}")
    return windows


def _devices(state: MutableMapping[bytes, bytes]) -> dict[str, DeviceMemory[Any]]:
    """The device memories stored under their own keys, by kind."""
    out: dict[str, DeviceMemory[Any]] = {}
    for key in list(state):
        if key.startswith(KEY_PREFIX):
            kind = key[len(KEY_PREFIX) :].split(b":", 1)[0].decode()
            memory = out.get(kind)
            if memory is None:
                memory = out[kind] = DeviceMemory(kind)
            memory.restore(key, state[key])
    return out


def _chunk_key(i: int) -> bytes:
    return b"~windows:%d" % i
