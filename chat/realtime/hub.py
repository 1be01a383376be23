"""Fan-out inside each ASGI process: one Redis subscription per process, each event rendered once, written to every
local socket that listens on its topic.

The event bus (``chat.events``) publishes every committed change on ``<prefix>:app:<id>``. The hub of each process
pattern-subscribes to all of them once, turns an event into (topic, event type, resource) deliveries, renders the
resource once per base URL, and hands the same body bytes to each local subscriber; subscribers add only their own
STOMP headers. A subscriber never gets its own Redis subscription (socket.io#1369: that melts Redis).
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings

from chat.models import Message
from chat.realtime.destinations import Resources, channel_topic

logger = logging.getLogger(__name__)


class Subscriber(Protocol):
    """A local connection that listens on topics (the STOMP consumer)."""

    base_url: str

    async def deliver(self, topic: str, body: bytes, event_key: tuple[str, int | None]) -> None:
        """Write one event to the socket, on this connection's subscription of ``topic``."""


@dataclass(frozen=True)
class Delivery:
    """One event to push: on ``topic``, typed ``event_type``, its resource rendered by ``render``."""

    topic: str
    event_type: str
    render: Callable[[Resources], Any]


def _deliveries(event: dict[str, Any]) -> list[Delivery]:
    """What one bus event means for live clients (loaded from the database in a worker thread)."""
    if event["type"] == "message.created" and event["channel_id"] is not None:
        message = Message.objects.select_related("user", "channel").filter(pk=event["resource_id"]).first()
        if message is None:
            return []
        return [Delivery(channel_topic(message.channel_id, "messages"), "channel.message.created", _message(message))]
    return []


def _message(message: Message) -> Callable[[Resources], Any]:
    return lambda resources: resources.message(message)


class Hub:
    """This process's topics → local subscribers, fed by one pattern subscription to the event bus."""

    def __init__(self) -> None:
        self.topics: dict[str, set[Subscriber]] = defaultdict(set)
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def add(self, topic: str, subscriber: Subscriber) -> None:
        """Start delivering ``topic`` to ``subscriber`` (the bus subscription is made on first use)."""
        self.topics[topic].add(subscriber)
        if self._listener is None or self._listener.done():
            self._ready.clear()
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        await self._ready.wait()

    def remove(self, topic: str, subscriber: Subscriber) -> None:
        """Stop delivering ``topic`` to ``subscriber``."""
        listeners = self.topics.get(topic)
        if listeners is not None:
            listeners.discard(subscriber)
            if not listeners:
                del self.topics[topic]

    def remove_all(self, subscriber: Subscriber) -> None:
        """Forget a closed connection."""
        for topic in [topic for topic, listeners in self.topics.items() if subscriber in listeners]:
            self.remove(topic, subscriber)

    async def _listen(self) -> None:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(f"{settings.PARLEY_EVENT_PREFIX}:app:*")
            self._ready.set()
            async for message in pubsub.listen():
                if message["type"] == "pmessage":
                    try:
                        await self.dispatch(orjson.loads(message["data"]))
                    except Exception:
                        logger.exception("could not deliver an event")
        finally:
            self._ready.set()
            await pubsub.aclose()
            await client.aclose()

    async def dispatch(self, event: dict[str, Any]) -> None:
        """Deliver one bus event to every local subscriber of its topics."""
        deliveries = await database_sync_to_async(_deliveries)(event)
        for delivery in deliveries:
            listeners = list(self.topics.get(delivery.topic, ()))
            if not listeners:
                continue
            bodies: dict[str, bytes] = {}
            for subscriber in listeners:
                if subscriber.base_url not in bodies:
                    bodies[subscriber.base_url] = await _render(delivery, subscriber.base_url)
            key = (event["type"], event.get("resource_id"))
            await asyncio.gather(
                *(subscriber.deliver(delivery.topic, bodies[subscriber.base_url], key) for subscriber in listeners)
            )


@database_sync_to_async
def _render(delivery: Delivery, base_url: str) -> bytes:
    resources = Resources(base_url)
    return orjson.dumps({"type": delivery.event_type, "version": "v1", "resource": delivery.render(resources)})


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """This process's hub (one per event loop)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
