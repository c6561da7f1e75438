"""The stage interface (see the package docstring) and the names of the stage topics."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from streams import topics
from streams.pipeline import Output, RawMessage


class Record(NamedTuple):
    """One record for an internal topic (full name); partition None = by key."""

    topic: str
    key: bytes
    value: bytes
    partition: int | None = None


@dataclass(slots=True)
class StageOutput:
    out: Output = field(default_factory=Output)
    records: list[Record] = field(default_factory=list)

    def extend(self, other: StageOutput) -> None:
        self.out.extend_from(other.out)
        self.records += other.records


class StageTask(Protocol):
    def process(self, messages: Sequence[RawMessage]) -> StageOutput: ...

    def replay_range(self) -> dict[str, tuple[int, int]] | None: ...

    def replay(self, messages: Sequence[RawMessage]) -> None: ...

    def tick(self) -> StageOutput: ...

    def flush(self) -> None: ...


class Stage(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> tuple[str, ...]: ...

    @property
    def changelog(self) -> str: ...

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> StageTask: ...


@dataclass(frozen=True, slots=True)
class StageTopics:
    """Full names of every topic the stages read or write (Faust's naming for the
    internal ones: `<app id>-<source>-<key>-repartition`, `<app id>-<table>-changelog`)."""

    app_id: str
    prefix: str
    partitions: int

    def topic(self, bare: str) -> str:
        return f"{self.prefix}{bare}"

    @property
    def by_circuit(self) -> str:
        return f"{self.app_id}-{topics.STREETLIGHT_STATUS}-circuit_id-repartition"

    @property
    def by_district(self) -> str:
        return f"{self.app_id}-{topics.ROLLUPS}-district-repartition"

    @property
    def feed_time(self) -> str:
        """The entity partitions' newest event time per feed, each to every partition
        (markers only; `streams.stages.entity`, "peer time")."""
        return f"{self.app_id}-entity-feed-time"

    def changelog(self, stage: str) -> str:
        return f"{self.app_id}-{stage}-state-changelog"

    @property
    def internal(self) -> tuple[str, ...]:
        """The internal topics (created like the feeds, P partitions)."""
        return (self.by_circuit, self.by_district, self.feed_time)
