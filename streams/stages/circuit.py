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
from collections.abc import Callable, MutableMapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from operator import itemgetter

import orjson

from cityops.base.thresholds import Thresholds
from streams import topics
from streams.models import AlertAck
from streams.pipeline import EscalationFallback, Output, RawMessage
from streams.rules.city import CityContext
from streams.rules.engine import LightFact, RuleEngine
from streams.stages.base import StageOutput, StageTopics
from streams.stages.entity import MARK_KEY
from streams.stages.gate import Gate
from streams.state import BufferedJsonStore
from streams.validation import decode_model

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


_GATE = "~gate"
CHANNEL = "streetlight"


def _in_order(pending: list[list]) -> bool:
    return all(a[0] <= b[0] for a, b in pairwise(pending))


class CircuitStage:
    name = "circuit"

    def __init__(
        self,
        names: StageTopics,
        thresholds: Thresholds,
        city: CityContext,
        *,
        runbook_base_url: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.names = names
        self.inputs = (names.by_circuit, names.topic(topics.ALERTS_ACK))
        self.changelog = names.changelog(self.name)
        self.thresholds = thresholds
        self.city = city
        self.runbook_base_url = runbook_base_url
        # the wall clock of escalation's processing-time fallback (tick)
        self.clock = clock or _utcnow

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> CircuitTask:
        return CircuitTask(self, partition, state)


class CircuitTask:
    def __init__(
        self, stage: CircuitStage, partition: int, state: MutableMapping[bytes, bytes]
    ) -> None:
        self.stage = stage
        self.partition = partition
        self.store = BufferedJsonStore(state)
        self.engine = RuleEngine(
            stage.thresholds, stage.city, self.store, runbook_base_url=stage.runbook_base_url
        )
        saved = self.store.get(_GATE) or {}
        self.gate = Gate(stage.names.partitions, saved)
        # [at, src, seq, circuit, light, out, district] in arrival order, sorted on release
        self.pending: list[list] = saved.get("pending", [])
        # Each pending fact's JSON, encoded once on arrival: the gate is stored at
        # every checkpoint with every fact still waiting (on megacity ~20k facts,
        # ~2 MB), and re-encoding them all each time was 5 % of the stages' CPU
        # (py-spy, `cityops.bench.processing`, 2026-12-01). orjson writes the
        # same bytes for the list as for its items joined, so the record is unchanged.
        self._encoded: list[bytes] = [orjson.dumps(f) for f in self.pending]
        # Whether `pending` is in event-time order (one source partition, or facts
        # that happened to arrive in order): then the ready facts are a prefix.
        self._in_order = _in_order(self.pending)
        self.changed = False
        self.fallback = EscalationFallback(self.engine)

    def process(self, messages: Sequence[RawMessage]) -> StageOutput:
        result = StageOutput()
        acks = self.stage.inputs[1]
        for msg in messages:
            if msg.source_topic == acks:
                result.out.extend_from(self._ack(msg))
                continue
            self._receive(msg)
        result.out.extend_from(self._release())
        return result

    def replay_range(self) -> dict[str, tuple[int, int]] | None:
        return None  # the whole state is in the changelog

    def replay(self, messages: Sequence[RawMessage]) -> None:
        raise NotImplementedError("nothing to replay")

    def tick(self) -> StageOutput:
        out = self._release()
        # escalation's processing-time fallback when no more facts come (Processor.tick)
        until = self.fallback.until(
            "streetlight", self.engine.escalation_clock("streetlight"), self.stage.clock()
        )
        if until is not None:
            out.alerts += self.engine.escalate_quiet("streetlight", until)
        return StageOutput(out=out)

    def flush(self) -> None:
        if self.changed:
            pending = orjson.Fragment(b"[" + b",".join(self._encoded) + b"]")
            self.store[_GATE] = {**self.gate.to_json(), "pending": pending}
            self.changed = False
        self.store.flush()

    def _receive(self, msg: RawMessage) -> None:
        try:
            body = orjson.loads(msg.value or b"")
            src = int(body["src"])
            if msg.key == MARK_KEY:
                if CHANNEL in body.get("idle", ()):
                    self.gate.set_idle(CHANNEL, src)
                elif CHANNEL in body.get("active", ()):
                    self.gate.set_active(CHANNEL, src)
                else:
                    self.gate.mark(CHANNEL, src, int(body["wm"]))
            elif self.gate.accept(src, int(body["seq"])):
                circuit, light, out, at, district = body["fact"]
                fact = [at, src, body["seq"], circuit, light, out, district]
                encoded = orjson.dumps(fact)  # before appending: a TypeError drops it whole
                if self._in_order and self.pending and at < self.pending[-1][0]:
                    self._in_order = False
                self.pending.append(fact)
                self._encoded.append(encoded)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            # Only the entity stage writes this topic: a record it cannot have
            # written is dropped (and logged), never allowed to stop the stage.
            log.warning("dropped a malformed record at %d", msg.offset)
            return
        self.changed = True

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
            self._encoded = self._encoded[cut:]
        else:
            ready = [f for f in pending if f[0] < horizon]
            if not ready:
                return out
            waiting = [i for i, f in enumerate(pending) if f[0] >= horizon]
            self.pending = [pending[i] for i in waiting]
            self._encoded = [self._encoded[i] for i in waiting]
            self._in_order = _in_order(self.pending)
        self.changed = True
        # (at, src, seq) is unique (the gate drops repeated sequence numbers), so
        # the lists sort by it without a key function
        ready.sort()
        for at, _src, _seq, circuit, light, dark, district in ready:
            fact = LightFact(circuit, light, dark, at, district)
            out.alerts += self.engine.circuit_fact(fact)
        return out

    def _ack(self, msg: RawMessage) -> Output:
        """An acknowledgement of a circuit alert (others are not this stage's)."""
        ack = decode_model(AlertAck, msg.value) if msg.value is not None else None
        out = Output()
        if isinstance(ack, AlertAck) and ack.alert_id.startswith("streetlight.circuit_outage:"):
            out.alerts += self.engine.on_ack(ack)
        return out
