"""Roll-up windows kept in a partition's state mapping, so a restart resumes them.

The windows (`streams.windows.RollupWindows`) are small pure objects with no
key-value shape of their own, so a partition's windows are stored whole, as a
pickle, at each checkpoint (`StageTask.flush`), in chunks under `~windows:<i>`
(`~windows` = the chunk count): a chunk stays below the broker's default 1 MiB
message limit. The city (the darkness clock the streetlight windows hold) is not
stored: it is the one object outside the windows, and it is put back on load.

Pickle is safe here: the worker reads only the changelog it wrote itself.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from streams.windows import DarkClock, RollupWindows

COUNT_KEY = b"~windows"
CHUNK_BYTES = 512 * 1024
_CITY = "city"


#: The city of the windows being loaded (`load`), for `_loading_city`.
_LOADING: ContextVar[DarkClock] = ContextVar("loading_city")


def _loading_city() -> DarkClock:
    """What a stored reference to the city unpickles to (the pickle names this function)."""
    return _LOADING.get()


class _Pickler(pickle.Pickler):
    """The city goes as a call of `_loading_city`, through `reducer_override`.

    Not `persistent_id` (as before 2026-12-01, still read by `load`): the pickler
    calls that for every object it writes, ~820k on megacity after 120 s, where
    `reducer_override` is skipped for strings, numbers and containers."""

    def __init__(self, file: Any, city: DarkClock) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.city = city

    def reducer_override(self, obj: Any) -> Any:
        return (_loading_city, ()) if obj is self.city else NotImplemented


class _Unpickler(pickle.Unpickler):
    """Reads the city as `_loading_city`, or as the persistent id of older snapshots."""

    def __init__(self, file: Any, city: DarkClock) -> None:
        super().__init__(file)
        self.city = city

    def persistent_load(self, pid: Any) -> Any:
        if pid != _CITY:
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return self.city


def save(state: MutableMapping[bytes, bytes], windows: RollupWindows, city: DarkClock) -> int:
    """Write `windows` into `state`; returns the stored bytes."""

    buf = io.BytesIO()
    _Pickler(buf, city).dump(windows)
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
    token = _LOADING.set(city)
    try:
        windows = _Unpickler(io.BytesIO(zlib.decompress(blob)), city).load()
    finally:
        _LOADING.reset(token)
    if not isinstance(windows, RollupWindows):
        raise TypeError(f"stored windows are a {type(windows).__name__}")
    return windows


def _chunk_key(i: int) -> bytes:
    return b"~windows:%d" % i
