"""`cityops record`: Kafka topics -> a gzip JSON Lines file, exact bytes, resumable.

One line per message:
`{"topic", "partition", "offset", "key", "value", "headers", "timestamp", "timestamp_type"}`
with `key`/`value` in base64 (the exact bytes; `null` when absent), `headers` a list of
`[name, base64 value]`, `timestamp` Kafka milliseconds and `timestamp_type` 0 (create
time) or 1 (log-append time). `topic` is the bare name (no prefix), so a recording can be
replayed under any prefix.

Resuming: re-running against an existing file reads it, continues every partition after
its last recorded offset and appends a new gzip member (a multi-member gzip file is one
valid gzip stream). The file itself is the checkpoint, so it cannot disagree with a
sidecar; a tail cut short by a crash is dropped (the file is rewritten without it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    topic: str  # bare name
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int
    timestamp_type: int

    def to_line(self) -> bytes:
        return orjson.dumps(
            {
                "topic": self.topic,
                "partition": self.partition,
                "offset": self.offset,
                "key": _b64(self.key),
                "value": _b64(self.value),
                "headers": [[k, _b64(v)] for k, v in self.headers],
                "timestamp": self.timestamp,
                "timestamp_type": self.timestamp_type,
            }
        )

    @classmethod
    def from_line(cls, line: bytes) -> RecordedMessage:
        d = orjson.loads(line)
        return cls(
            topic=d["topic"],
            partition=int(d["partition"]),
            offset=int(d["offset"]),
            key=_unb64(d["key"]),
            value=_unb64(d["value"]),
            headers=tuple((str(k), _unb64(v) or b"") for k, v in d.get("headers") or ()),
            timestamp=int(d["timestamp"]),
            timestamp_type=int(d.get("timestamp_type", 0)),
        )


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


class RecordingError(ValueError):
    """A recording file cannot be read."""


def read_recording(path: Path, *, tolerate_truncation: bool = False) -> Iterator[RecordedMessage]:
    """The messages of a recording, in file order (per partition: offset order)."""
    try:
        with gzip.open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield RecordedMessage.from_line(line)
                except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
                    if tolerate_truncation:
                        return  # a line cut short by a crash: the valid prefix is the record
                    where = f"{path}:{number}"
                    raise RecordingError(f"{where}: not a recorded message ({exc})") from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        if not tolerate_truncation:
            raise RecordingError(f"{path}: damaged gzip stream ({exc})") from exc


@dataclass
class ResumePoint:
    """What an existing file already holds: next offset per (bare topic, partition)."""

    next_offset: dict[tuple[str, int], int] = field(default_factory=dict)
    messages: int = 0


def resume_point(path: Path) -> ResumePoint:
    """Scan an existing recording; rewrite it without a damaged tail if it has one."""
    point = ResumePoint()
    if not path.exists() or path.stat().st_size == 0:
        return point
    clean = True
    try:
        for msg in read_recording(path):
            point.next_offset[(msg.topic, msg.partition)] = msg.offset + 1
            point.messages += 1
    except RecordingError:
        clean = False
    if not clean:
        # Rare (a crash mid-write): keep the valid prefix, drop the rest.
        good = list(read_recording(path, tolerate_truncation=True))
        point = ResumePoint()
        for msg in good:
            point.next_offset[(msg.topic, msg.partition)] = msg.offset + 1
        point.messages = len(good)
        _write_all(path, good)
    return point


def _write_all(path: Path, messages: Iterable[RecordedMessage]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wb") as fh:
        for msg in messages:
            fh.write(msg.to_line() + b"\n")
    os.replace(tmp, path)


def write_recording(path: Path, messages: Iterable[RecordedMessage]) -> int:
    """Write `messages` as a new recording (for tests and tools); returns the count."""
    items = list(messages)
    _write_all(path, items)
    return len(items)


#: called after each consumed batch (the CLI draws its progress bar from it)
Progress = Callable[["RecordStats"], None]


@dataclass
class RecordStats:
    per_topic: dict[str, int] = field(default_factory=dict)
    resumed_from: int = 0

    @property
    def total(self) -> int:
        return sum(self.per_topic.values())


@dataclass(eq=False)
class Recorder:
    """Consume `topics` (full name -> bare name) without a consumer group into `path`."""

    bootstrap: str
    topics: dict[str, str]
    path: Path
    _: KW_ONLY
    from_beginning: bool = False
    until_idle_s: float | None = None
    max_messages: int | None = None
    flush_every: int = 5000
    stats: RecordStats = field(default_factory=RecordStats, init=False)

    async def run(self, on_progress: Progress | None = None) -> RecordStats:
        point = resume_point(self.path)
        self.stats.resumed_from = point.messages
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if self.from_beginning else "latest",
        )
        await consumer.start()
        try:
            tps = await self._assign(consumer, point)
            await self._consume(consumer, tps, on_progress)
        finally:
            await consumer.stop()
        return self.stats

    async def _assign(self, consumer: AIOKafkaConsumer, point: ResumePoint) -> list[TopicPartition]:
        tps: list[TopicPartition] = []
        for full in self.topics:
            partitions = consumer.partitions_for_topic(full)
            for _ in range(20):  # a topic seen for the first time: metadata not loaded yet
                if partitions:
                    break
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(full)
                if not partitions:
                    await asyncio.sleep(0.1)
            if not partitions:
                raise RecordingError(f"topic {full!r} does not exist")
            tps += [TopicPartition(full, p) for p in sorted(partitions)]
        consumer.assign(tps)
        fresh = []
        for tp in tps:
            resume = point.next_offset.get((self.topics[tp.topic], tp.partition))
            if resume is not None:
                consumer.seek(tp, resume)
            else:
                fresh.append(tp)
        if fresh:
            if self.from_beginning:
                await consumer.seek_to_beginning(*fresh)
            else:
                await consumer.seek_to_end(*fresh)
        return tps

    async def _consume(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition], on_progress: Progress | None
    ) -> None:
        remaining = self.max_messages
        last_seen = time.monotonic()
        # append a new gzip member: earlier members stay untouched
        with gzip.open(self.path, "ab") as fh:
            pending = 0
            while remaining is None or remaining > 0:
                batch = await consumer.getmany(*tps, timeout_ms=200, max_records=remaining)
                got = [r for recs in batch.values() for r in recs]
                if not got:
                    if (
                        self.until_idle_s is not None
                        and time.monotonic() - last_seen >= self.until_idle_s
                    ):
                        break
                    continue
                last_seen = time.monotonic()
                for rec in got:
                    fh.write(self._message(rec).to_line() + b"\n")
                    bare = self.topics[rec.topic]
                    self.stats.per_topic[bare] = self.stats.per_topic.get(bare, 0) + 1
                pending += len(got)
                if remaining is not None:
                    remaining -= len(got)
                if pending >= self.flush_every:
                    fh.flush()
                    pending = 0
                if on_progress is not None:
                    on_progress(self.stats)

    def _message(self, rec: ConsumerRecord[bytes, bytes]) -> RecordedMessage:
        return RecordedMessage(
            topic=self.topics[rec.topic],
            partition=rec.partition,
            offset=rec.offset,
            key=rec.key,
            value=rec.value,
            headers=tuple((k, v or b"") for k, v in rec.headers or ()),
            timestamp=rec.timestamp,
            timestamp_type=rec.timestamp_type,
        )


def record(
    bootstrap: str,
    topics: dict[str, str],
    path: Path,
    *,
    from_beginning: bool = False,
    until_idle_s: float | None = None,
    max_messages: int | None = None,
    on_progress: Progress | None = None,
) -> RecordStats:
    """Blocking wrapper of `Recorder.run` (Ctrl-C keeps what was written)."""
    recorder = Recorder(
        bootstrap,
        topics,
        path,
        from_beginning=from_beginning,
        until_idle_s=until_idle_s,
        max_messages=max_messages,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(recorder.run(on_progress))
    return recorder.stats
