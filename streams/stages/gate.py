"""The event-time gate of a merging stage: a watermark that is the minimum over
its input partitions, with idleness declared by the sources themselves.

Every source partition p (of the entity stage) sends markers to every partition
of a repartition topic: per channel (the streetlight watermark, or one feed's
closed-window horizon) "nothing earlier than this will come from p". A merging
task holds what it received until the minimum over all sources has passed it,
then releases it in a fixed order: the result no longer depends on how the
sources' records interleaved on the way (which worker ran them, how fast).

Idleness (Flink `withIdleness`, Kafka Streams `max.task.idle.ms`): a source
partition that has received no input of a channel's feed for
`CITYOPS_WORKER_IDLE_TIMEOUT_S` of processing time says so itself, with an idle
marker (`streams.stages.entity`); an idle source stops holding that channel back
(a partition without trucks never moves the fleet channel) until it says it is
active again (its first input of that feed) or its mark moves.
The source decides, not a timer here, because only the source can tell "nothing
arrives" from "not processed yet": a partition whose worker was killed, is being
restored or is behind sends nothing and so holds the channel back, as it must.
A timer here made exactly those look idle and dropped their partial roll-ups as
late (the scale-out test at a 20 s timeout on a loaded machine; `cityops bench
--rate max` on megacity logged "a partial roll-up came after its minute was
emitted"). When every source is idle, everything buffered is released.

Repeats: every record from a source carries that source's sequence number of its
stream (the light facts; each feed's partial roll-ups: `streams.stages.entity`); a
number not above the last one accepted from that source and stream is a repeat (the
source re-processed after a crash and sent it again) and is dropped.

The gate is plain JSON (`to_json`/`from_json`), idle flags included.
"""

from __future__ import annotations

from typing import Any

#: The horizon when every source is idle: release everything.
ALL = 2**62


class Gate:
    def __init__(self, sources: int, state: dict[str, Any] | None = None) -> None:
        self.sources = sources
        state = state or {}
        # channel -> {src (str, JSON keys): mark}
        self.marks: dict[str, dict[str, int]] = state.get("marks", {})
        self.seen: dict[str, int] = state.get("seen", {})
        # channel -> sources that declared themselves idle (sorted, JSON lists)
        self.idle: dict[str, list[int]] = state.get("idle", {})

    def to_json(self) -> dict[str, Any]:
        return {"marks": self.marks, "seen": self.seen, "idle": self.idle}

    def accept(self, src: int, seq: int, stream: str = "") -> bool:
        """False for a repeat of a record already accepted from `src` on `stream`."""
        key = f"{src}|{stream}" if stream else str(src)
        if seq <= self.seen.get(key, 0):
            return False
        self.seen[key] = seq
        return True

    def mark(self, channel: str, src: int, value: int) -> None:
        """A source's progress on a channel. Progress means input, so a source whose
        mark moves is no longer idle; a repeated mark (markers carry every channel of
        the source) leaves an idle flag alone."""
        marks = self.marks.setdefault(channel, {})
        key = str(src)
        old = marks.get(key)
        if old is None or value > old:
            marks[key] = value
            self.set_active(channel, src)

    def set_idle(self, channel: str, src: int) -> None:
        """`src` has had no input for `channel`: stop waiting for it."""
        idle = self.idle.setdefault(channel, [])
        if src not in idle:
            idle.append(src)
            idle.sort()

    def set_active(self, channel: str, src: int) -> None:
        """`src` has input for `channel` again: wait for it from its last mark on."""
        idle = self.idle.get(channel)
        if idle and src in idle:
            idle.remove(src)

    def horizon(self, channel: str) -> int | None:
        """Everything strictly before this may be released (None: nothing yet)."""
        marks = self.marks.get(channel, {})
        idle = self.idle.get(channel, ())
        low: int | None = None
        active = False
        for src in range(self.sources):
            if src in idle:
                continue  # idle: does not hold the channel back
            mark = marks.get(str(src))
            if mark is None:
                return None  # a live source that has not said anything yet
            active = True
            low = mark if low is None else min(low, mark)
        return low if active else ALL
