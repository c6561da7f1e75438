"""What the two merging stages (circuit, district) share.

Both read one repartition topic written by every entity partition (records and
watermark markers) plus `alerts.ack.v1`, hold a `streams.stages.gate.Gate` and
what waits behind it in one stored record, and run one `RuleEngine` over their
partition's state. A stage says which repartition topic, which alerts it
acknowledges, what it receives and what it releases; this module does the rest
(construction, the message loop, ticks with escalation's processing-time
fallback, the flush).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from cityops.base.thresholds import Thresholds
from streams import topics
from streams.models import AlertAck
from streams.pipeline import EscalationFallback, Output, RawMessage
from streams.rules.city import CityContext
from streams.rules.engine import RuleEngine
from streams.stages.base import StageOutput, StageTopics
from streams.stages.entity import MARK_KEY
from streams.stages.gate import Gate
from streams.state import BufferedJsonStore
from streams.validation import decode_model

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class MergingStage:
    """A stage over `repartition()` and `alerts.ack.v1`, one `task_type` per partition."""

    name: ClassVar[str]
    task_type: ClassVar[type[MergingTask]]
    names: StageTopics
    thresholds: Thresholds
    city: CityContext
    _: KW_ONLY
    runbook_base_url: str
    #: the wall clock of escalation's processing-time fallback (tick)
    clock: Callable[[], datetime] = _utcnow

    def __post_init__(self) -> None:
        self.inputs = (self.repartition(), self.names.topic(topics.ALERTS_ACK))
        self.changelog = self.names.changelog(self.name)

    def repartition(self) -> str:
        """The repartition topic the stage merges (of `self.names`)."""
        raise NotImplementedError

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> MergingTask:
        return self.task_type(self, partition, state)


class MergingTask:
    """One partition of a merging stage: the stored record `STATE_KEY` holds the
    gate and what the stage keeps behind it (`saved`/`load`)."""

    STATE_KEY: str
    #: the rule whose acknowledgements this stage handles (alert ids `<rule>:...`)
    ACK_RULE: str

    def __init__(
        self, stage: MergingStage, partition: int, state: MutableMapping[bytes, bytes]
    ) -> None:
        self.stage = stage
        self.partition = partition
        self.store = BufferedJsonStore(state)
        self.engine = RuleEngine(
            stage.thresholds, stage.city, self.store, runbook_base_url=stage.runbook_base_url
        )
        saved = self.store.get(self.STATE_KEY) or {}
        self.gate = Gate(stage.names.partitions, saved)
        self.load(saved)
        self.changed = False
        self.fallback = EscalationFallback(self.engine)

    # --- what a stage defines ---
    def load(self, saved: dict[str, Any]) -> None:
        """Take what waits behind the gate from the stored record."""
        raise NotImplementedError

    def saved(self) -> dict[str, Any]:
        """What waits behind the gate, for the stored record (beside the gate's)."""
        raise NotImplementedError

    def _marker(self, body: dict[str, Any], src: int) -> None:
        """A watermark marker of source partition `src` (idle, active, or a mark)."""
        raise NotImplementedError

    def _record(self, body: dict[str, Any], src: int) -> None:
        """A record of `src` the gate accepted (not a repeat): keep it behind the gate."""
        raise NotImplementedError

    def _release(self) -> Output:
        raise NotImplementedError

    def _stream(self, body: dict[str, Any]) -> str:
        """The source's numbered stream a record belongs to (`Gate.accept`)."""
        return ""

    # --- the task interface (streams.stages) ---
    def process(self, messages: Sequence[RawMessage]) -> StageOutput:
        result = StageOutput()
        acks = self.stage.inputs[1]
        for msg in messages:
            if msg.source_topic == acks:
                result.out.extend_from(self._ack(msg))
            else:
                self._receive(msg)
        result.out.extend_from(self._release())
        return result

    def replay_range(self) -> dict[str, tuple[int, int]] | None:
        return None  # the whole state is in the changelog

    def replay(self, messages: Sequence[RawMessage]) -> None:
        raise NotImplementedError("nothing to replay")

    def tick(self) -> StageOutput:
        out = self._release()
        # escalation's processing-time fallback when no more records come (Processor.tick)
        until = self.fallback.until(
            "streetlight", self.engine.escalation_clock("streetlight"), self.stage.clock()
        )
        if until is not None:
            out.alerts += self.engine.escalate_quiet("streetlight", until)
        return StageOutput(out=out)

    def flush(self) -> None:
        if self.changed:
            self.store[self.STATE_KEY] = {**self.gate.to_json(), **self.saved()}
            self.changed = False
        self.store.flush()

    def _receive(self, msg: RawMessage) -> None:
        try:
            body = orjson.loads(msg.value or b"")
            src = int(body["src"])
            if msg.key == MARK_KEY:
                self._marker(body, src)
            elif self.gate.accept(src, int(body["seq"]), self._stream(body)):
                self._record(body, src)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            # Only the entity stage writes these topics: a record it cannot have
            # written is dropped (and logged), never allowed to stop the stage.
            log.warning("dropped a malformed record at %d", msg.offset)
            return
        self.changed = True

    def _ack(self, msg: RawMessage) -> Output:
        """An acknowledgement of this stage's rule (others are not this stage's)."""
        ack = decode_model(AlertAck, msg.value) if msg.value is not None else None
        out = Output()
        if isinstance(ack, AlertAck) and ack.alert_id.startswith(f"{self.ACK_RULE}:"):
            out.alerts += self.engine.on_ack(ack)
        return out
