"""What the consume-loop tests against the real broker share: sending records one at
a time, and waiting for a condition the loop brings about."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaProducer


async def send_each(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Each value to partition 0 of `topic`, acknowledged before the next."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, partition=0)
    finally:
        await producer.stop()


async def eventually(check: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Wait until `check()` is true; fail naming `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
