"""The per-device memory of the roll-up windows, packed into columns for pickling.

The entity stage stores its windows whole at every checkpoint
(`streams.stages.snapshot`). Pickled as objects, the ~300k lights and ~100k gas
detectors of megacity cost ~1 s of CPU per checkpoint after one minute of
event time (a slotted object and a datetime or two per device, each through
its `__reduce_ex__`), more than the 1 s checkpoint interval itself: the worker
spent ~90 % of its CPU pickling (`python -m cityops.bench.processing`, py-spy,
2026-12-01). Packed here, the same memory is a list of ids plus a few `array`s
(event times as integer epoch microseconds), which pickle at memory speed.
Unpacking (a restart) rebuilds the very same objects.

The ids go as one newline-joined string (`join_ids`): pickled as a list, each
of the ~400k id strings cost the pickler a memo entry and a record of its own,
about a quarter of a save (`save` of megacity after 120 s: 0.22 of ~0.97 s of
CPU, 2026-12-01). Entity ids cannot hold a newline (`streams.models.EntityId`);
a list that would not survive the join is kept as a list.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from streams.windows.common import EPOCH

_US = timedelta(microseconds=1)
#: `last` of a light that has none (only pending statuses): no real event time.
_NONE = -(2**63)


def to_us(ts: datetime) -> int:
    return (ts - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


# (ts, lit, power_w), as streams.windows.streetlight keeps a status
Status = tuple[datetime, bool, float]


_SEP = "\n"


def join_ids(ids: list[str]) -> str | list[str]:
    """The ids as one string, or the list itself if one of them holds the separator."""
    joined = _SEP.join(ids)
    return joined if ids and joined.count(_SEP) == len(ids) - 1 else ids


def split_ids(packed: str | list[str], count: int) -> list[str]:
    """`join_ids` undone; `count` ids (a list, as packed before, is taken as it is)."""
    if isinstance(packed, list):
        return packed
    return packed.split(_SEP) if count else []


def pack_statuses(
    items: Iterable[tuple[str, Status | None, list[Status] | None]],
) -> tuple[Any, ...]:
    """(id, last status, pending statuses) per light -> columns."""
    # One pass, conversions inlined: this runs over every light at every checkpoint.
    ids: list[str] = []
    last_us = array("q")
    lit = bytearray()
    power = array("d")
    # pending statuses, flat: (index of the light, ts, lit, power) per status
    p_index, p_us, p_lit, p_power = array("q"), array("q"), bytearray(), array("d")
    epoch, us = EPOCH, _US
    for i, (light_id, last, waiting) in enumerate(items):
        ids.append(light_id)
        if last is None:
            last_us.append(_NONE)
            lit.append(0)
            power.append(0.0)
        else:
            last_us.append((last[0] - epoch) // us)
            lit.append(last[1])
            power.append(last[2])
        if waiting:
            for ts, on, watts in waiting:
                p_index.append(i)
                p_us.append((ts - epoch) // us)
                p_lit.append(on)
                p_power.append(watts)
    return (join_ids(ids), last_us, bytes(lit), power, (p_index, p_us, bytes(p_lit), p_power))


def unpack_statuses(
    columns: tuple[Any, ...], build: Callable[[Status | None, list[Status] | None], Any]
) -> dict[str, Any]:
    packed_ids, last_us, lit, power, (p_index, p_us, p_lit, p_power) = columns
    ids = split_ids(packed_ids, len(last_us))
    pending: dict[int, list[Status]] = {}
    for j, i in enumerate(p_index):
        pending.setdefault(i, []).append((from_us(p_us[j]), bool(p_lit[j]), p_power[j]))
    out: dict[str, Any] = {}
    for i, light_id in enumerate(ids):
        us = last_us[i]
        last = None if us == _NONE else (from_us(us), bool(lit[i]), power[i])
        out[light_id] = build(last, pending.get(i))
    return out


def pack_heartbeats(
    ids: list[str], firsts: list[datetime], recents: list[list[datetime]]
) -> tuple[Any, ...]:
    """Per detector: id, first seen, recent heartbeats -> columns."""
    # comprehensions into arrays: ~1/3 less than a loop of `append` calls
    epoch, us = EPOCH, _US
    first_us = array("q", [(first - epoch) // us for first in firsts])
    counts = array("q", [len(recent) for recent in recents])
    recent_us = array("q", [(ts - epoch) // us for recent in recents for ts in recent])
    return (join_ids(ids), first_us, counts, recent_us)


def unpack_heartbeats(
    columns: tuple[Any, ...], build: Callable[[datetime, list[datetime]], Any]
) -> dict[str, Any]:
    packed_ids, first_us, counts, recent_us = columns
    ids = split_ids(packed_ids, len(first_us))
    out: dict[str, Any] = {}
    at = 0
    for i, detector_id in enumerate(ids):
        n = counts[i]
        out[detector_id] = build(from_us(first_us[i]), [from_us(t) for t in recent_us[at : at + n]])
        at += n
    return out
