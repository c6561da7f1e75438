"""The circuit stage: `streetlight.circuit_outage`, keyed by circuit id.

Input: the by-circuit repartition topic (light facts from the entity stage,
key = circuit id, and watermark markers) and `alerts.ack.v1` (key = the alert's
entity id, so a circuit alert's acknowledgement lands on its circuit's
partition). State per partition: the circuits (`circuit:<id>`, the same record
and rule as before the split) and the gate (`~gate`: markers, repeats, facts
waiting for the watermark).

Facts are applied in (event time, source partition, sequence) order once the
minimum streetlight watermark over all source partitions has passed them
(`streams.stages.gate`): the circuit's dark share, and so the alert, is then the
same whichever way the sources' facts interleaved.
"""

from __future__ import annotations

import bisect
import logging
from itertools import pairwise
from operator import itemgetter
from typing import Any

import orjson

from streams.pipeline import Output
from streams.rules.circuit import OUTAGE
from streams.rules.engine import LightFact
from streams.stages.merging import MergingStage, MergingTask

log = logging.getLogger(__name__)


_GATE = "~gate"
CHANNEL = "streetlight"


def _in_order(pending: list[list]) -> bool:
    return all(a[0] <= b[0] for a, b in pairwise(pending))


class CircuitTask(MergingTask):
    STATE_KEY = _GATE
    ACK_RULE = OUTAGE

    def load(self, saved: dict[str, Any]) -> None:
        # [at, src, seq, circuit, light, out, district] in arrival order, sorted on release
        self.pending: list[list] = saved.get("pending", [])
        # Whether `pending` is in event-time order (one source partition, or facts
        # that happened to arrive in order): then the ready facts are a prefix.
        self._in_order = _in_order(self.pending)

    def saved(self) -> dict[str, Any]:
        # The facts themselves, encoded with the record at each checkpoint. Keeping
        # each fact's JSON from its arrival (to spare that encoding, ~5 % of the
        # stages' CPU) doubled the worker's peak RSS flat out on megacity, 633 ->
        # 1,411 MiB (`cityops bench --rate max`, 2026-12-01): under lag hundreds of
        # thousands of facts wait, and the joined copy came on top.
        return {"pending": self.pending}

    def _marker(self, body: dict[str, Any], src: int) -> None:
        if "idle" in body or "active" in body:
            # idleness markers name their feeds; those of other feeds are not this
            # stage's (they were logged as malformed records)
            if CHANNEL in body.get("idle", ()):
                self.gate.set_idle(CHANNEL, src)
            elif CHANNEL in body.get("active", ()):
                self.gate.set_active(CHANNEL, src)
        else:
            self.gate.mark(CHANNEL, src, int(body["wm"]))

    def _record(self, body: dict[str, Any], src: int) -> None:
        circuit, light, out, at, district = body["fact"]
        fact = [at, src, body["seq"], circuit, light, out, district]
        orjson.dumps(fact)  # storable, checked before appending: a TypeError drops it whole
        if self._in_order and self.pending and at < self.pending[-1][0]:
            self._in_order = False
        self.pending.append(fact)

    def _release(self) -> Output:
        out = Output()
        if not self.pending:
            return out
        horizon = self.gate.horizon(CHANNEL)
        if horizon is None:
            return out
        pending = self.pending
        if self._in_order:
            # the ready facts are a prefix: no pass over all that still waits
            cut = bisect.bisect_left(pending, horizon, key=itemgetter(0))
            if not cut:
                return out
            ready = pending[:cut]
            self.pending = pending[cut:]
        else:
            ready = [f for f in pending if f[0] < horizon]
            if not ready:
                return out
            self.pending = [f for f in pending if f[0] >= horizon]
            self._in_order = _in_order(self.pending)
        self.changed = True
        # (at, src, seq) is unique (the gate drops repeated sequence numbers), so
        # the lists sort by it without a key function
        ready.sort()
        for at, _src, _seq, circuit, light, dark, district in ready:
            fact = LightFact(circuit, light, dark, at, district)
            out.alerts += self.engine.circuit_fact(fact)
        return out


class CircuitStage(MergingStage):
    name = "circuit"
    task_type = CircuitTask

    def repartition(self) -> str:
        return self.names.by_circuit
