"""The ack service over HTTP: GET confirms, POST writes, bad links are refused, logs hold no token.

The HTTP layer runs for real (aiohttp on a loopback port); the Kafka write is a
recording function here, and the real broker in tests/test_ack_end_to_end.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from sinks.ack_service import build_app
from streams.acklink import link, sign

KEY = b"s" * 32
ALERT = "gas.lel_high:gd-7:1764403200000"
OFFLINE = "gas.detector_offline:gd-7:1764403200000"
NOW = 1_764_403_300.0

Check = Callable[[aiohttp.ClientSession, str, list[tuple[bytes, bytes]]], Awaitable[None]]


def serve(check: Check) -> list[tuple[bytes, bytes]]:
    written: list[tuple[bytes, bytes]] = []

    async def publish(key: bytes, value: bytes) -> None:
        written.append((key, value))

    async def main() -> None:
        server = TestServer(build_app(KEY, publish, clock=lambda: NOW), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                await check(session, str(server.make_url("")).rstrip("/"), written)
        finally:
            await server.close()

    asyncio.run(main())
    return written


def test_get_shows_a_form_and_writes_nothing_then_the_post_writes() -> None:
    async def check(session: aiohttp.ClientSession, base: str, written: list[Any]) -> None:
        url = link(base, KEY, ALERT, "ack", int(NOW) + 600)
        async with session.get(url) as response:
            page = await response.text()
            assert response.status == 200
            assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "<form method='post'>" in page and "gd-7" in page
        assert written == []  # a link prefetcher acknowledges nothing
        token = url.split("?t=")[1]
        form = {"t": token, "by": "Wang Fang", "note": "on my way"}
        async with session.post(url.split("?")[0], data=form) as response:
            assert response.status == 200, await response.text()
            assert "acknowledged by" in await response.text()

    ((key, value),) = serve(check)
    record = orjson.loads(value)
    assert key == b"gd-7"  # the entity id: it reaches the worker owning the entity
    assert (record["alert_id"], record["by"], record["note"], record["action"]) == (
        ALERT,
        "Wang Fang",
        "on my way",
        "ack",
    )


@pytest.mark.parametrize(
    ("alert_id", "action", "token", "status", "reason"),
    [
        (ALERT, "ack", None, 401, "missing token"),
        (ALERT, "ack", sign(KEY, ALERT, "ack", int(NOW) + 600)[:-2] + "xx", 403, "altered"),
        (ALERT, "ack", sign(KEY, OFFLINE, "ack", int(NOW) + 600), 403, "another"),
        (ALERT, "ack", sign(KEY, ALERT, "ack", int(NOW) - 10), 410, "expired"),
        (ALERT, "resolve", sign(KEY, ALERT, "resolve", int(NOW) + 600), 403, "resolve on data"),
        ("nonsense", "ack", "1.x", 404, "not a CityOps alert"),
    ],
)
def test_bad_links_are_refused_with_a_status_and_a_reason_and_write_nothing(
    alert_id: str, action: str, token: str | None, status: int, reason: str
) -> None:
    async def check(session: aiohttp.ClientSession, base: str, written: list[Any]) -> None:
        url = f"{base}/alerts/{alert_id}/{action}"
        params = {} if token is None else {"t": token}
        async with session.get(url, params=params) as response:
            assert response.status == status
            assert reason in await response.text()
        form = {"by": "mallory", **params}
        async with session.post(url, data=form) as response:
            assert response.status == status
            assert reason in await response.text()

    assert serve(check) == []


def test_one_click_without_a_name_and_a_bad_name_is_refused() -> None:
    async def check(session: aiohttp.ClientSession, base: str, written: list[Any]) -> None:
        token = sign(KEY, ALERT, "ack", int(NOW) + 600)
        url = f"{base}/alerts/{ALERT}/ack"
        async with session.post(url, data={"t": token, "by": "x\x07y"}) as response:
            assert response.status == 400  # a control character: refused, nothing written
        assert written == []
        async with session.post(url, data={"t": token}) as response:
            assert response.status == 200

    ((_, value),) = serve(check)
    assert orjson.loads(value)["by"] == "notification link"


def test_manual_resolve_where_the_rule_allows_it() -> None:
    async def check(session: aiohttp.ClientSession, base: str, written: list[Any]) -> None:
        token = sign(KEY, OFFLINE, "resolve", int(NOW) + 600)
        form = {"t": token, "by": "Li Lei", "note": "detector removed"}
        async with session.post(f"{base}/alerts/{OFFLINE}/resolve", data=form) as response:
            assert response.status == 200, await response.text()

    ((_, value),) = serve(check)
    assert orjson.loads(value)["action"] == "resolve"


def test_every_request_is_logged_without_its_token(caplog: pytest.LogCaptureFixture) -> None:
    token = sign(KEY, ALERT, "ack", int(NOW) + 600)

    async def check(session: aiohttp.ClientSession, base: str, written: list[Any]) -> None:
        async with session.get(f"{base}/alerts/{ALERT}/ack", params={"t": token}):
            pass
        async with session.post(f"{base}/alerts/{ALERT}/ack", data={"t": token, "by": "Wang Fang"}):
            pass
        async with session.get(f"{base}/alerts/{ALERT}/ack", params={"t": token + "x"}):
            pass

    with caplog.at_level(logging.INFO, logger="sinks.ack_service"):
        serve(check)
    lines = [r.getMessage() for r in caplog.records if r.name == "sinks.ack_service"]
    assert len(lines) == 3
    assert lines[0].startswith(f"GET /alerts/{ALERT}/ack -> 200")
    assert lines[1].startswith(f"POST /alerts/{ALERT}/ack -> 200 acknowledged by Wang Fang")
    assert lines[2].startswith(f"GET /alerts/{ALERT}/ack -> 403")
    mac = token.split(".")[1]
    assert not any(mac in line for line in caplog.text.splitlines())


def test_the_service_refuses_to_start_without_a_secret(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env["CITYOPS_KAFKA_BOOTSTRAP"] = "127.0.0.1:1"
    result = subprocess.run(
        [sys.executable, "-m", "cityops.cli", "ack-service"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "set CITYOPS_ACK_SECRET to a random string of at least 32 characters" in result.stderr
