"""The rule engine's state store over a Faust table.

The engine wants a `MutableMapping[str, plain JSON]`; a Faust table with the
app's raw serializers holds bytes. This adapter encodes with orjson and, more
importantly, *buffers writes for one batch*: every event writes its entity and
the feed's watermark key, so writing through would send one changelog message
per key per event. Flushing once per batch collapses repeated keys (the
watermark key is written once per batch instead of once per event).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson

_DELETED = object()
_ABSENT = object()  # not in the pending writes (None may be a stored value)


class BufferedJsonStore(MutableMapping[str, Any]):
    def __init__(self, table: MutableMapping[bytes, bytes]) -> None:
        self._table = table
        self._pending: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        # Direct, not Mapping.get's raise-and-catch KeyError on every miss: the
        # engine looks up many absent keys (timers, new entities); 13-16 % of the
        # pure processor's time in alternating runs (measured, direct runtime).
        # One dict lookup on the pending writes, not `in` and then `[]`: the
        # engine reads ~4.4 keys per event, most of them written in this batch.
        value = self._pending.get(key, _ABSENT)
        if value is not _ABSENT:
            return default if value is _DELETED else value
        raw = self._table.get(key.encode())
        return default if raw is None else orjson.loads(raw)

    def __getitem__(self, key: str) -> Any:
        if key in self._pending:
            value = self._pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        raw = self._table[key.encode()]  # KeyError when absent
        if raw is None:
            raise KeyError(key)
        return orjson.loads(raw)

    def __setitem__(self, key: str, value: Any) -> None:
        self._pending[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._pending[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self._pending:
            return self._pending[key] is not _DELETED
        return key.encode() in self._table

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for key, value in self._pending.items():
            seen.add(key)
            if value is not _DELETED:
                yield key
        for raw_key in list(self._table):
            key = raw_key.decode()
            if key not in seen:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write the batch's changes to the table (one changelog message per key)."""
        written = len(self._pending)
        for key, value in self._pending.items():
            if value is _DELETED:
                self._table.pop(key.encode(), None)
            else:
                # A copy: orjson's result keeps ~4 KiB of memory per value whatever
                # its length (measured: 1,350 -> 285 MiB of worker RSS on megacity).
                self._table[key.encode()] = bytes(memoryview(orjson.dumps(value)))
        self._pending.clear()
        return written
