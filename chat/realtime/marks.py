"""Where each live session has got to in each channel whose messages it hears, so that a resumed session misses
nothing: after a reconnect (to any process, even after the old one crashed) it is sent the messages that follow.

A connection keeps, in memory, the last sequence number it wrote on each channel (a dict update per frame handed to
the transport, which the kernel still sends if the process dies) and saves it when it closes; when it subscribes it
saves its starting mark and which process's hub serves it. Each hub saves, per channel, the lowest of its listeners'
marks once they wrote an event (one Redis write per round of writes and process, not per connection): that is where
a session starts again if its process died without closing it. A session resumed after a clean close starts from
exactly where it was (a resume waits a moment for the close of its previous connection to be saved, unless that
connection's hub is no longer alive); after a crash, none is missed, and a message may come twice only if it was
written in the instant before the crash, or another listener of the process was behind. Everything lives as long as
a session can be resumed.
"""

import asyncio
import re

import orjson
import redis.asyncio as aioredis
from django.conf import settings

from chat.realtime.deliveries import created_event_type
from chat.realtime.resources import Resources
from chat.selectors.applications import RESUME_WINDOW
from chat.selectors.live import messages_after

REPLAY_LIMIT = 1000  # messages per channel; a client further behind reloads history through the relays
MESSAGES_TOPIC = re.compile(r"/topic/channels/(?P<channel>\d+)/messages")
HUB_FIELD = "hub"  # in a session's marks: the hub that served it, while it is connected
SETTLE_SECONDS = 3.0  # how long a resumed session waits for its previous connection's close to be saved
SETTLE_STEP = 0.05
# A live hub renews its alive key every ALIVE_EVERY_SECONDS; the key lapses ALIVE_SECONDS after its process died.
ALIVE_SECONDS = 2
ALIVE_EVERY_SECONDS = 0.5


def _ttl() -> int:
    return int(RESUME_WINDOW.total_seconds()) + 60


def session_key(session: str) -> str:
    """The Redis hash of one session's marks (channel id → sequence, and ``hub`` while connected)."""
    return f"{settings.PARLEY_EVENT_PREFIX}:marks:{session}"


def hub_key(hub_id: str) -> str:
    """The Redis hash of one hub's marks (channel id → highest sequence dispatched)."""
    return f"{settings.PARLEY_EVENT_PREFIX}:hub-marks:{hub_id}"


def alive_key(hub_id: str) -> str:
    """The Redis key that exists while the hub ``hub_id`` is alive (``renew_alive``)."""
    return f"{settings.PARLEY_EVENT_PREFIX}:hub-alive:{hub_id}"


async def renew_alive(client: aioredis.Redis, hub_id: str) -> None:
    """Say that the hub is alive for ``ALIVE_SECONDS`` more."""
    await client.set(alive_key(hub_id), 1, ex=ALIVE_SECONDS)


async def save(
    client: aioredis.Redis, key: str, marks: dict[int, int], *, hub_id: str | None = None, closed: bool = False
) -> None:
    """Record marks in one round trip; for a session, ``hub_id`` names the hub serving it, and ``closed`` says it
    closed cleanly (its marks are then exact)."""
    mapping: dict[str, str | int] = {str(channel): sequence for channel, sequence in marks.items()}
    pipe = client.pipeline(transaction=False)
    if hub_id is not None:
        mapping[HUB_FIELD] = hub_id
    if closed:
        pipe.hdel(key, HUB_FIELD)
    if mapping:
        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
    pipe.expire(key, _ttl())
    await pipe.execute()


async def load(client: aioredis.Redis, session: str) -> dict[int, int]:
    """Where a session got to: its own marks, raised to its hub's if it did not close cleanly.

    A client that reconnects at once may be back before the server has seen its previous connection close (the
    close saves the exact marks, and is likely handled by another process): while the hub that served it is alive,
    its marks are awaited for up to ``SETTLE_SECONDS`` before the hub's are trusted, so that what that connection
    sent is not sent again. A dead hub's connections never close cleanly: its marks are trusted at once.
    """
    key = session_key(session)
    for _ in range(int(SETTLE_SECONDS / SETTLE_STEP)):
        serving = await client.hget(key, HUB_FIELD)  # type: ignore[misc]
        if serving is None or not await client.exists(alive_key(_str(serving))):
            break
        await asyncio.sleep(SETTLE_STEP)
    saved = _text(await client.hgetall(key))
    hub_id = saved.pop(HUB_FIELD, None)
    marks = {int(channel): int(sequence) for channel, sequence in saved.items()}
    if hub_id is not None:
        dispatched = _text(await client.hgetall(hub_key(hub_id)))
        for channel, sequence in dispatched.items():
            if int(channel) in marks:
                marks[int(channel)] = max(marks[int(channel)], int(sequence))
    return marks


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _text(mapping: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {_str(key): _str(value) for key, value in mapping.items()}


def missed(channel_id: int, after: int, base_url: str) -> list[tuple[int, bytes]]:
    """The channel's messages after sequence ``after``, oldest first, each as the body of its created event (their
    reactions and mentions read together)."""
    messages = messages_after(channel_id, after, REPLAY_LIMIT)
    resources = Resources(base_url).messages(messages)
    return [
        (
            message.sequence or 0,
            orjson.dumps({"type": created_event_type(message), "version": "v1", "resource": resource}),
        )
        for message, resource in zip(messages, resources, strict=True)
    ]
