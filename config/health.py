"""``/healthz`` and ``/readyz`` for load balancers and orchestrators, answered in front of Django (no host check, no
HTTPS redirect, no session: a probe may come by IP, over plain HTTP).

``/healthz``: the process is up and its event loop turns. ``/readyz``: the database answers, Redis answers, and this
process's hub (if it has one) is subscribed to the event bus; each check is bounded (2 s), so readiness fails within
5 s of losing either and recovers by itself. Both answer JSON; readiness failures use the API's error shape (503).
"""

import asyncio
from typing import Any

import orjson
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from chat.events import BUS_COUNTERS
from chat.realtime.hub import bus_subscribed
from config.bodies import ASGIApp, Receive, Scope, Send
from platform_api.errors import error_body

CHECK_SECONDS = 2.0


def _database() -> None:
    """One round trip, on a connection of the probe's own thread (closed after: probes are rare)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


async def _check(name: str, probe: Any) -> str | None:
    """Why the probe failed (None: it answered in time)."""
    try:
        await asyncio.wait_for(probe, CHECK_SECONDS)
    except TimeoutError:
        return f"{name} did not answer within {CHECK_SECONDS:g} s"
    except Exception as error:  # noqa: BLE001  (any failure of the dependency is the answer)
        return f"{name}: {type(error).__name__}: {str(error)[:200]}"
    return None


async def _redis() -> None:
    client = aioredis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_SECONDS, socket_connect_timeout=CHECK_SECONDS
    )
    try:
        await client.ping()  # type: ignore[misc]
    finally:
        await client.aclose()


async def readiness() -> tuple[int, dict[str, Any]]:
    """The readiness answer: status and body."""
    failures = [
        failure
        for failure in await asyncio.gather(
            _check("the database", database_sync_to_async(_database, thread_sensitive=False)()),
            _check("Redis", _redis()),
        )
        if failure is not None
    ]
    if bus_subscribed() is False:
        failures.append("this process's hub is not subscribed to the event bus")
    if failures:
        return 503, error_body(503, "Not ready: " + "; ".join(failures), checks=failures)
    return 200, {"status": "ready", "hub": bus_subscribed(), "publishFailures": BUS_COUNTERS["publish_failures"]}


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


def health(app: ASGIApp) -> ASGIApp:
    """Answer the two probes; hand everything else to ``app``."""

    async def probed(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] == "http" and path == "/healthz":
            await _answer(send, 200, {"status": "up"})
        elif scope["type"] == "http" and path == "/readyz":
            await _answer(send, *await readiness())
        else:
            await app(scope, receive, send)

    return probed
