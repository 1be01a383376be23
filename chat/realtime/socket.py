"""What every live socket consumer shares (STOMP and sails.io): no per-socket channel-layer channel, no thread hop
per received frame, and database calls on threads of their own.

Channels gives each consumer its own layer channel (a name, a receiving task and a future, per socket), waits on its
messages through a task and an ``asyncio.wait`` per message, and closes old database connections in a worker thread
before every frame it dispatches. Parley's sockets hear events through their process's hub and take control messages
through one layer channel per process (``chat.realtime.control``), and each of their database calls already closes
old connections in its own thread: the per-socket channel and tasks are memory every idle socket held for nothing,
and the per-frame hop a thread hand-off for every frame a client sends (SEND, ACK, heart-beats, pings).

Channels' ``database_sync_to_async`` runs every call of every socket of a process on one shared thread: one socket's
SEND waited behind every other socket's, and a storm of connections (a deploy, a network blip) queued every action of
the process behind thousands of logins and session ends. ``in_database`` runs them on a pool of their own instead;
each socket still makes its calls one at a time, in order (a consumer handles one message at a time).
"""

import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

P = ParamSpec("P")
R = TypeVar("R")
SOCKET_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="parley-socket")


def in_database(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``function`` as a coroutine run on the sockets' database threads (old connections closed around each call,
    as Channels does)."""
    return database_sync_to_async(function, thread_sensitive=False, executor=SOCKET_THREADS)


NO_LAYER = "parley.no-layer"  # a channel-layer alias that names no layer: Channels then makes no channel per socket


class LiveSocket(AsyncWebsocketConsumer):
    """A websocket consumer fed by its process's hub, not by a channel-layer channel of its own."""

    channel_layer_alias = NO_LAYER

    async def __call__(self, scope: Any, receive: Callable[[], Awaitable[Any]], send: Callable[..., Any]) -> None:
        """Dispatch each websocket message as it comes, in order, until the consumer stops (Channels' own loop
        also waits on a layer channel: a task and a wait per message, kept by every idle socket)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hand a websocket message to its handler, in the event loop (no thread hop)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
