"""Roll-up windows kept in a partition's state mapping, so a restart resumes them.

The windows (`streams.windows.RollupWindows`) are small pure objects with no
key-value shape of their own, so a partition's windows are stored whole, as a
pickle, at each checkpoint (`StageTask.flush`), in chunks under `~windows:<i>`
(`~windows` = the chunk count): a chunk stays below the broker's default 1 MiB
message limit. The city (the darkness clock the streetlight windows hold) is not
stored: it is the one object outside the windows, and it is put back on load.

`Snapshots` decides when the stored windows change: in line (`save`), or, when
the runtime gives it a `SnapshotRunner` (`streams.direct`: a forked child,
`streams.forked`), encoded away from the runtime's thread and stored with the
offsets of the moment it started, at the first flush after it is done.

Pickle is safe here: the worker reads only the changelog it wrote itself.
"""

from __future__ import annotations

import io
import logging
import pickle
import zlib
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar
from functools import partial
from typing import Any, Protocol

from streams.windows import DarkClock, RollupWindows

log = logging.getLogger(__name__)

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
    return store(state, encode(windows, city))


def encode(windows: RollupWindows, city: DarkClock) -> bytes:
    """The stored form of `windows` (what `store` writes): the long part of `save`, which
    the direct runtime runs in a forked child (`streams.forked`)."""
    buf = io.BytesIO()
    _Pickler(buf, city).dump(windows)
    # level 1: ~4x smaller for ~the time of the pickling itself
    return zlib.compress(buf.getvalue(), 1)


def store(state: MutableMapping[bytes, bytes], blob: bytes) -> int:
    """Write an `encode` result into `state`, in chunks; returns its length."""
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


class SnapshotJob(Protocol):
    def poll(self) -> bytes | None: ...
    def cancel(self) -> None: ...


class SnapshotRunner(Protocol):
    """Runs `encode` away from the runtime's thread (`streams.forked.ForkedRunner`)."""

    def start(self, compute: Callable[[], bytes]) -> SnapshotJob: ...


class Snapshots:
    """A partition's windows into its state: when due, and in line or encoded away.

    Encoded away, the snapshot is of the windows when it started (a forked child's
    copy-on-write view) and is stored with the offsets of that moment, together,
    in one flush: until then `meta["windows_at"]` names the previous snapshot, so
    a restore in between replays from there (a longer replay, the same windows).
    The first snapshot of a partition is taken in line (the windows are small then,
    and before it there is nothing to replay from)."""

    def __init__(self, state: MutableMapping[bytes, bytes], city: DarkClock, partition: int):
        self.state = state
        self.city = city
        self.partition = partition
        self.runner: SnapshotRunner | None = None
        self.pending: tuple[SnapshotJob, dict[str, int]] | None = None

    def flush(
        self,
        windows: RollupWindows,
        offsets: dict[str, int],
        meta: dict[str, Any],
        due: bool,
    ) -> bool:
        """Store an encoded snapshot that is done; start (or take) one if `due`.
        `offsets`: the source offsets the windows have seen; `meta`: where
        `windows_at` is kept. True when a snapshot of the windows now was taken or
        started (the caller counts from zero again)."""
        if self.pending is not None:
            job, at = self.pending
            try:
                blob = job.poll()
            except Exception as exc:  # the child failed: the windows now, in line
                log.warning("partition %d: windows snapshot failed (%s)", self.partition, exc)
                self.pending = None
                return self._in_line(windows, offsets, meta)
            if blob is None:
                return False  # still encoding: the next one waits for it
            store(self.state, blob)
            meta["windows_at"] = at
            self.pending = None
        if not due:
            return False
        if self.runner is None or "windows_at" not in meta:
            return self._in_line(windows, offsets, meta)
        try:
            job = self.runner.start(partial(encode, windows, self.city))
        except OSError as exc:  # e.g. no memory to fork
            log.warning("partition %d: windows snapshot in line (%s)", self.partition, exc)
            return self._in_line(windows, offsets, meta)
        self.pending = (job, dict(offsets))
        return True

    def close(self) -> None:
        """The windows are dropped: a snapshot still being encoded is not wanted."""
        if self.pending is not None:
            self.pending[0].cancel()
            self.pending = None

    def _in_line(
        self, windows: RollupWindows, offsets: dict[str, int], meta: dict[str, Any]
    ) -> bool:
        save(self.state, windows, self.city)
        meta["windows_at"] = dict(offsets)
        return True


def _chunk_key(i: int) -> bytes:
    return b"~windows:%d" % i
