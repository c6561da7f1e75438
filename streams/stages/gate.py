"""The event-time gate of a merging stage: a watermark that is the minimum over
its input partitions, with processing-time idleness.

Every source partition p (of the entity stage) sends markers to every partition
of a repartition topic: per channel (the streetlight watermark, or one feed's
closed-window horizon) "nothing earlier than this will come from p". A merging
task holds what it received until the minimum over all sources has passed it,
then releases it in a fixed order: the result no longer depends on how the
sources' records interleaved on the way (which worker ran them, how fast).

Idleness (Flink `withIdleness`, Kafka Streams `max.task.idle.ms`): a source
whose marker of a channel has not moved for `idle_s` of processing time stops
holding that channel back (a partition without trucks never moves the fleet
channel). When every source is idle, everything buffered is released. This is
the one place timing can change a result: set `idle_s`
(`CITYOPS_WORKER_IDLE_TIMEOUT_S`) well above a rebalance and a restore.

Repeats: every record from a source carries that source's sequence number; a
number not above the last one accepted from that source is a repeat (the source
re-processed after a crash and sent it again) and is dropped.

The gate's durable part is plain JSON (`to_json`/`from_json`); the idleness
clocks are not stored: a task starts with every source fresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: The horizon when every source is idle: release everything.
ALL = 2**62


class Gate:
    def __init__(
        self,
        sources: int,
        idle_s: float,
        state: dict[str, Any] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = sources
        self.idle_s = idle_s
        self.monotonic = monotonic
        state = state or {}
        # channel -> {src (str, JSON keys): mark}
        self.marks: dict[str, dict[str, int]] = state.get("marks", {})
        self.seen: dict[str, int] = state.get("seen", {})
        now = monotonic()
        self._moved: dict[tuple[str, int], float] = {}
        self._started = now

    def resume(self) -> None:
        """Restart every source's idleness clock: the sources were paused (partitions
        moving between workers), not idle, and the time that took must not count."""
        self._moved = {}
        self._started = self.monotonic()

    def to_json(self) -> dict[str, Any]:
        return {"marks": self.marks, "seen": self.seen}

    def accept(self, src: int, seq: int) -> bool:
        """False for a repeat of a record already accepted from `src`."""
        key = str(src)
        if seq <= self.seen.get(key, 0):
            return False
        self.seen[key] = seq
        return True

    def mark(self, channel: str, src: int, value: int) -> None:
        marks = self.marks.setdefault(channel, {})
        key = str(src)
        old = marks.get(key)
        if old is None or value > old:
            marks[key] = value
            self._moved[(channel, src)] = self.monotonic()

    def horizon(self, channel: str) -> int | None:
        """Everything strictly before this may be released (None: nothing yet)."""
        now = self.monotonic()
        marks = self.marks.get(channel, {})
        low: int | None = None
        active = False
        for src in range(self.sources):
            moved = self._moved.get((channel, src), self._started)
            if now - moved > self.idle_s:
                continue  # idle: does not hold the channel back
            mark = marks.get(str(src))
            if mark is None:
                return None  # a live source that has not said anything yet
            active = True
            low = mark if low is None else min(low, mark)
        return low if active else ALL
