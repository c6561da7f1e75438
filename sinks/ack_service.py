"""`cityops ack-service`: acknowledge (or resolve) an alert from its notification.

Alertmanager notifications carry a signed one-click link per alert
(`streams/acklink.py`). Opening it is a GET, and a GET never writes: mail and chat
clients fetch links to preview them, so the GET only shows the alert and a form;
the form's POST (name of the responder, optional note, the token) writes one
`AlertAck` to `alerts.ack.v1`, keyed by the alert's entity id so it reaches the
worker that owns the entity. The worker turns it into the `acknowledged` (or
`resolved`) lifecycle event on `alerts.v1`, which the sink stores and the notifier
forwards, as for `cityops alerts ack`.

No write without a valid token: HMAC-SHA256 over (action, alert id, expiry), compared
in constant time; 401 without a token, 403 for an altered token or one made for
another alert or action, 410 once expired, 404 for what is not a CityOps alert.
Every request is logged (method, path, status, reason, client) without its query
string or body, so tokens never reach the log; aiohttp's own access log (which
prints the query string) is off.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from cityops.base.settings import ConfigurationError, Settings
from streams import topics
from streams.acklink import Refused, Target, ack_key, check_secret, verify
from streams.models import AlertAck

log = logging.getLogger(__name__)

#: Sends one alerts.ack.v1 record (key, value) and returns once the broker has it.
Publish = Callable[[bytes, bytes], Awaitable[None]]
Clock = Callable[[], float]

_REASON = web.RequestKey("cityops_reason", dict[str, str])
_HEADERS = {
    "Cache-Control": "no-store",
    # the GET URL holds the token: never hand it on in a Referer
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_VERB = {"ack": ("Acknowledge", "acknowledged"), "resolve": ("Resolve", "resolved")}
SEND_TIMEOUT_S = 10.0
#: `by` of an acknowledgement made through a link without a name typed in.
ANONYMOUS = "notification link"


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
        "max-width:40em;margin:2em auto;padding:0 1em}input,textarea{width:100%;"
        "margin:.3em 0 1em}button{font-size:1.2em;padding:.4em 1.5em}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html", headers=_HEADERS)


def _refused(request: web.Request, exc: Refused) -> web.Response:
    request[_REASON]["reason"] = exc.reason
    return _page("Link refused", f"<p>{html.escape(exc.reason)}</p>", exc.status)


def build_app(key: bytes, publish: Publish, clock: Clock = time.time) -> web.Application:
    """The HTTP app over `publish` (a Kafka producer in the service, a list in unit tests)."""

    @web.middleware
    async def log_requests(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        request[_REASON] = {}
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            # request.path excludes the query string (where GET links carry the token)
            log.info(
                "%s %s -> %d %s (client %s)",
                request.method,
                request.path,
                status,
                request[_REASON].get("reason", ""),
                request.remote,
            )

    def checked(request: web.Request, token: str | None) -> Target:
        info = request.match_info
        return verify(key, info["alert_id"], info["action"], token, clock())

    async def confirm(request: web.Request) -> web.Response:
        """GET: show what the link will do and a form that POSTs; writes nothing."""
        token = request.query.get("t")
        try:
            where = checked(request, token)
        except Refused as exc:
            return _refused(request, exc)
        verb, _ = _VERB[where.action]
        fields = (
            f"<input type='hidden' name='t' value='{html.escape(token or '', quote=True)}'>"
            "<label>Your name (optional; recorded with the acknowledgement)"
            "<input name='by' maxlength='100' autocomplete='name'></label>"
            "<label>Note (optional)<textarea name='note' maxlength='2000'></textarea></label>"
        )
        body = (
            f"<p>Alert <code>{html.escape(where.alert_id)}</code><br>rule "
            f"<b>{html.escape(where.rule)}</b> on <b>{html.escape(where.entity_id)}</b></p>"
            f"<form method='post'>{fields}<button type='submit'>{verb}</button></form>"
        )
        return _page(f"{verb} this alert?", body)

    async def act(request: web.Request) -> web.Response:
        """POST: verify the token again and write the acknowledgement."""
        form = await request.post()
        token = form.get("t") or request.query.get("t")
        try:
            where = checked(request, token if isinstance(token, str) else None)
        except Refused as exc:
            return _refused(request, exc)
        by, note = form.get("by"), form.get("note") or ""
        try:
            ack = AlertAck(
                alert_id=where.alert_id,
                # one click must be enough: without a name the record says it came
                # through a notification link (who exactly the token cannot tell)
                by=str(by or "").strip() or ANONYMOUS,
                at=datetime.now(UTC),
                note=str(note),
                action=where.action,
            )
        except ValidationError:
            return _refused(
                request, Refused(400, "a name up to 100 and a note up to 2000 printable characters")
            )
        try:
            await publish(ack_key(ack.alert_id), ack.model_dump_json().encode())
        except (KafkaError, TimeoutError, OSError) as exc:
            log.error("could not write the acknowledgement of %s: %s", ack.alert_id, exc)
            return _refused(request, Refused(503, "could not record it now; try again shortly"))
        _, done = _VERB[where.action]
        request[_REASON]["reason"] = f"{done} by {ack.by}"
        body = (
            f"<p>Alert <code>{html.escape(ack.alert_id)}</code> {done} by "
            f"<b>{html.escape(ack.by)}</b>. The alert list, the dashboards and Alertmanager "
            "show it within seconds (later reminders show it acknowledged); escalation "
            "stops.</p>"
        )
        return _page(done.capitalize(), body)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application(middlewares=[log_requests])
    app.router.add_get("/healthz", health)
    app.router.add_get("/alerts/{alert_id}/{action}", confirm)
    app.router.add_post("/alerts/{alert_id}/{action}", act)
    return app


def service_key(settings: Settings) -> bytes:
    """The HMAC key from the settings; ConfigurationError saying what to set otherwise."""
    secret = settings.ack_secret.get_secret_value() if settings.ack_secret else None
    try:
        return check_secret(secret)
    except ValueError as exc:
        raise ConfigurationError(f"cityops ack-service: {exc}") from None


async def run_ack_service(
    settings: Settings, *, stop: asyncio.Event | None = None, ready: asyncio.Event | None = None
) -> None:
    """Serve on `settings.ack_host:ack_port` until `stop` is set."""
    key = service_key(settings)
    if not settings.kafka_bootstrap:
        raise ConfigurationError("cityops ack-service needs CITYOPS_KAFKA_BOOTSTRAP (host:port)")
    stop = stop or asyncio.Event()
    topic = settings.topic(topics.ALERTS_ACK)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")

    async def publish(record_key: bytes, value: bytes) -> None:
        await asyncio.wait_for(
            producer.send_and_wait(topic, value, key=record_key), timeout=SEND_TIMEOUT_S
        )

    await producer.start()
    runner = web.AppRunner(build_app(key, publish), access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.ack_host, settings.ack_port)
        await site.start()
        log.info("ack service on http://%s:%d -> %s", settings.ack_host, settings.ack_port, topic)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        await producer.stop()
