"""Where each live session has got to in each channel whose messages it hears, so that a resumed session misses
nothing: after a reconnect (to any process, even after the old one crashed) it is sent the messages that follow.

A mark is the highest channel sequence number a session has been delivered on a channel's messages topic, or the
channel's number when it subscribed. Marks live in Redis (one hash per session, kept as long as a session can be
resumed); the hub saves the changed ones every ``SAVE_INTERVAL`` and a connection saves its own when it closes. A
process that dies can lose the last interval's marks: those messages are then sent twice, never missed.
"""

import re
from collections.abc import Iterable

import orjson
import redis.asyncio as aioredis
from django.conf import settings

from chat.models import Message
from chat.realtime.auth import RESUME_WINDOW
from chat.realtime.resources import Resources

SAVE_INTERVAL = 0.5  # seconds
REPLAY_LIMIT = 1000  # messages per channel; a client further behind reloads history through the relays
MESSAGES_TOPIC = re.compile(r"/topic/channels/(?P<channel>\d+)/messages")


class Marks:
    """One connection's marks: channel id → sequence number, and whether some are not saved yet."""

    def __init__(self, session_key: str, saved: dict[int, int] | None = None) -> None:
        self.session_key = session_key
        self.seen: dict[int, int] = dict(saved or {})
        self.resumed = dict(saved or {})  # where the previous connection of this session got to
        self.unsaved: dict[int, int] = {}

    def advance(self, channel_id: int, sequence: int) -> bool:
        """Record a delivered (or skipped-to) sequence number; True if it moved the mark."""
        if sequence <= self.seen.get(channel_id, 0):
            return False
        self.seen[channel_id] = self.unsaved[channel_id] = sequence
        return True


def _key(session_key: str) -> str:
    return f"{settings.PARLEY_EVENT_PREFIX}:marks:{session_key}"


def _ttl() -> int:
    return int(RESUME_WINDOW.total_seconds()) + 60


async def load(client: aioredis.Redis, session_key: str) -> dict[int, int]:
    """The saved marks of a session."""
    saved = await client.hgetall(_key(session_key))
    return {int(channel): int(sequence) for channel, sequence in saved.items()}


async def save(client: aioredis.Redis, marks: Iterable[Marks]) -> None:
    """Write the unsaved marks of some connections in one round trip."""
    pipe = client.pipeline(transaction=False)
    for connection_marks in marks:
        if connection_marks.unsaved:
            pipe.hset(_key(connection_marks.session_key), mapping=connection_marks.unsaved)  # type: ignore[arg-type]
            pipe.expire(_key(connection_marks.session_key), _ttl())
            connection_marks.unsaved = {}
    if len(pipe):
        await pipe.execute()


def missed(channel_id: int, after: int, base_url: str) -> list[tuple[int, bytes]]:
    """The channel's messages after sequence ``after``, oldest first, each as the body of its created event."""
    messages = (
        Message.objects.select_related("user", "channel")
        .filter(channel_id=channel_id, sequence__gt=after)
        .order_by("sequence")[:REPLAY_LIMIT]
    )
    resources = Resources(base_url)
    return [
        (
            message.sequence or 0,
            orjson.dumps({"type": "channel.message.created", "version": "v1", "resource": resources.message(message)}),
        )
        for message in messages
    ]
