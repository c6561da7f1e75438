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

import logging
from typing import Any

import orjson

from streams.pipeline import Output
from streams.rules.circuit import OUTAGE
from streams.stages.merging import MergingStage, MergingTask

log = logging.getLogger(__name__)


_GATE = "~gate"
CHANNEL = "streetlight"
#: Chunks of waiting facts beyond which they are joined into one (each release
#: looks at every chunk).
_MAX_CHUNKS = 64

# A run of waiting facts in arrival order: (lowest at, highest at, their JSON
# joined by commas: orjson's encoding of the list without its brackets).
_Chunk = tuple[Any, Any, bytes]
_NUMBER = (int, float)


def _chunk(facts: list[list[Any]]) -> _Chunk:
    ats = [f[0] for f in facts]
    return (min(ats), max(ats), orjson.dumps(facts)[1:-1])


def _facts(bodies: list[bytes]) -> list[list[Any]]:
    return orjson.loads(b"[" + b",".join(bodies) + b"]")


class CircuitTask(MergingTask):
    STATE_KEY = _GATE
    ACK_RULE = OUTAGE

    # The waiting facts are kept as their JSON, in chunks, never as lists: the
    # `~gate` record holds every one of them and is stored at every checkpoint, and
    # encoding them all again each time was 5-6 % of the stages' CPU (py-spy,
    # `cityops.bench.processing`, ~30k facts waiting on megacity). Each fact is
    # encoded once on arrival (the storability check encoded it anyway) and the
    # record is joined from those bytes: orjson writes a list as its items' JSON
    # joined by commas in brackets, so the stored bytes are the same. Kept as lists
    # beside their JSON, the facts doubled the worker's peak RSS under lag
    # (hundreds of thousands waiting, 633 -> 1,411 MiB, 2026-12-01); as JSON alone
    # they take less memory than the lists did. A release decodes the chunks it
    # takes (and re-encodes the rest of one that straddles the horizon).

    def load(self, saved: dict[str, Any]) -> None:
        # [at, src, seq, circuit, light, out, district] in arrival order, sorted on release
        pending: list[list[Any]] = saved.get("pending", [])
        self.chunks: list[_Chunk] = [_chunk(pending)] if pending else []
        # facts received since the last chunk was made: JSON, lowest and highest at
        self._arrived: list[bytes] = []
        self._low: Any = None
        self._high: Any = None

    def saved(self) -> dict[str, Any]:
        self._seal()
        if len(self.chunks) > _MAX_CHUNKS:
            bodies = [body for _, _, body in self.chunks]
            low = min(c[0] for c in self.chunks)
            high = max(c[1] for c in self.chunks)
            self.chunks = [(low, high, b",".join(bodies))]
        joined = b",".join(body for _, _, body in self.chunks)
        return {"pending": orjson.Fragment(b"[" + joined + b"]")}

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
        # storable, checked before keeping it: a TypeError drops it whole
        encoded = orjson.dumps([at, src, body["seq"], circuit, light, out, district])
        if self._arrived:
            if at < self._low:  # a time that is not a number: TypeError, dropped
                self._low = at
            elif at > self._high:
                self._high = at
        elif isinstance(at, _NUMBER):
            self._low = self._high = at
        else:
            raise TypeError(f"fact time {at!r}")
        self._arrived.append(encoded)

    def _seal(self) -> None:
        if self._arrived:
            self.chunks.append((self._low, self._high, b",".join(self._arrived)))
            self._arrived = []

    def _release(self) -> Output:
        out = Output()
        self._seal()
        if not self.chunks:
            return out
        horizon = self.gate.horizon(CHANNEL)
        if horizon is None:
            return out
        whole: list[bytes] = []
        ready: list[list[Any]] = []
        waiting: list[_Chunk] = []
        for chunk in self.chunks:
            low, high, body = chunk
            if high < horizon:
                whole.append(body)
            elif low >= horizon:
                waiting.append(chunk)
            else:  # straddles the horizon: split, in arrival order
                facts = _facts([body])
                ready += [f for f in facts if f[0] < horizon]
                waiting.append(_chunk([f for f in facts if f[0] >= horizon]))
        if not whole and not ready:
            return out
        self.chunks = waiting
        self.changed = True
        if whole:
            ready += _facts(whole)
        # (at, src, seq) is unique (the gate drops repeated sequence numbers), so
        # the lists sort by it without a key function
        ready.sort()
        # the facts' fields in `LightFact` order, to the engine in one call
        out.alerts += self.engine.circuit_facts(
            (circuit, light, dark, at, district)
            for at, _src, _seq, circuit, light, dark, district in ready
        )
        return out


class CircuitStage(MergingStage):
    name = "circuit"
    task_type = CircuitTask

    def repartition(self) -> str:
        return self.names.by_circuit
