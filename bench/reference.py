"""The same-SQL reference of ``bench.platform_api`` (issue 22): an ASGI app that answers ``POST
/ref/channels/{id}/messages`` by running exactly the SQL of a Platform API send (the token lookup, the channel and
sender lookup, the one statement that stores the message, its notifications and its event row) through psycopg's
async pool, and nothing else: no Django request, middleware, view, rendering, publish or function trigger. The send
path's distance to it is what Parley adds above the database.

Run by the benchmark as ``uvicorn bench.reference:app --workers 2`` with ``DATABASE_URL`` and
``DJANGO_SETTINGS_MODULE=bench.settings`` (Django is set up only to build the statements from the models).
"""

import hashlib
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

import django
import orjson

django.setup()

from django.conf import settings  # noqa: E402  (Django must be set up first)
from django.db import connection  # noqa: E402
from django.db.backends.postgresql.psycopg_any import get_adapters_template  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg.rows import tuple_row  # noqa: E402
from psycopg_pool import AsyncConnectionPool  # noqa: E402

from bench.harness import answer, read_body  # noqa: E402
from chat.actions.delivery import Delivery, send_statement  # noqa: E402
from chat.mentions import Mentions  # noqa: E402
from chat.models import Message, MessageType  # noqa: E402
from chat.selectors.channels import channel_and_user_of, channel_and_user_params, channel_and_user_query  # noqa: E402
from platform_api.auth import TOKEN_LOOKUP  # noqa: E402

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PATH = re.compile(r"^/ref/channels/(\d+)/messages$")
pool: AsyncConnectionPool | None = None


def _conninfo() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgres://", "postgresql://", 1)


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    await answer(send, status, orjson.dumps(body))


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The reference endpoint."""
    global pool  # noqa: PLW0603  (one pool per worker process, opened at its first request)
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    found = PATH.match(scope["path"])
    if found is None or scope["method"] != "POST":
        await _answer(send, 404, {"error": "NotFound"})
        return
    if pool is None:
        adapters = get_adapters_template(settings.USE_TZ, connection.timezone)  # the loaders Django's connections use
        pool = AsyncConnectionPool(_conninfo(), min_size=4, max_size=16, open=False, kwargs={"context": adapters})
        await pool.open()
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
    checksum = hashlib.sha256(authorization.removeprefix("Bearer ").encode()).hexdigest()
    data = orjson.loads(body)
    key = ("id", data["user"]["id"])
    async with pool.connection() as database:
        cursor = database.cursor(row_factory=tuple_row)
        await cursor.execute(TOKEN_LOOKUP, [checksum, timezone.now()])
        tenant = await cursor.fetchone()
        if tenant is None:
            await _answer(send, 401, {"error": "UnauthorizedError"})
            return
        await cursor.execute(channel_and_user_query(key), channel_and_user_params(key, int(found[1]), tenant[0]))
        row = await cursor.fetchone()
        if row is None:
            await _answer(send, 404, {"error": "ResourceNotFoundError"})
            return
        channel, user = channel_and_user_of(row, with_user=True)
        message = Message(
            application_id=channel.application_id,
            channel=channel,
            thread_id=channel.main_thread_pk,
            type=MessageType.TEXT,
            user=user,
            body=data["body"],
            properties={},
            nested_level=0,
        )
        sql, params = send_statement(Delivery(message, None, Mentions([], frozenset(), False), True))
        await cursor.execute(sql, params)
        stored = await cursor.fetchone()
    if stored is None:  # the sender may not send there: the benchmark expects 200, so this shows
        await _answer(send, 403, {"error": "ForbiddenError"})
        return
    await _answer(send, 200, {"id": stored[0]})
