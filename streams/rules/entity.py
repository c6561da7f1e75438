"""Per-entity rule state: plain JSON data, ordered by event time.

Every entity state has `ts` (epoch ms of the newest reading applied) and
`alerts` (its open alert records by rule). A reading whose `ts` is not newer
than `ts` is a duplicate or arrived out of order: rules ignore it, so a
straggler can neither flap an alert, resurrect a resolved one, nor start a
duration early.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]


def is_stale(state: State | None, ts_ms: int) -> bool:
    return state is not None and ts_ms <= state["ts"]


def held_since(since_ms: int | None, condition: bool, at_ms: int) -> int | None:
    """When a continuously true condition started (None while it is false)."""
    if not condition:
        return None
    return at_ms if since_ms is None else since_ms
