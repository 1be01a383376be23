"""Fan-out inside each ASGI process: one Redis subscription per process, each event rendered once, written to every
local socket that listens on its topic.

The event bus (``chat.events``) publishes every committed change on ``<prefix>:app:<id>``. The hub of each process
pattern-subscribes to all of them once, drops an event no local listener could hear, and, in one hand-off to a
database thread, turns it into (topic, event type, resource) deliveries and renders each resource once per base URL
and dialect that listen on its topic. Back in the event loop it hands the same body bytes to each local subscriber,
in one plain call each (no coroutine per socket); subscribers add only their own STOMP headers and write to their
transport at once (``chat.realtime.outbox``). A subscriber never gets its own Redis subscription (socket.io#1369:
that melts Redis). The hub also keeps this process's marks (``chat.realtime.marks``): per channel, the sequence
number up to which every local listener has written the channel's messages (what a session resumes from if this
process dies).
"""

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from chat import metrics
from chat.errors import database_unavailable
from chat.realtime.control import Recheck, control_group
from chat.realtime.deliveries import Delivery, Listening, audible, deliveries, topic_kind, typing_deliveries
from chat.realtime.marks import ALIVE_EVERY_SECONDS, MESSAGES_TOPIC, hub_key, missed, renew_alive, save
from chat.realtime.resources import Resources, channel_topic
from chat.selectors.live import presence_changed_since

logger = logging.getLogger(__name__)
T = TypeVar("T")

TYPING_TIMEOUT = 3.0  # seconds without a keystroke after which a user has stopped typing
# Reconnecting to a lost bus: the first wait, doubled each failed try up to the last, each jittered (x 0.5-1).
RECONNECT_FIRST_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 1.0
# Presence recomputed after the bus was lost: whatever changed from this long before the loss was noticed (a dead
# connection is noticed by its health check, every 5 s; clocks of hosts differ a little).
LOST_MARGIN_SECONDS = 10.0


class Subscriber(Protocol):
    """A local connection that listens on topics (a STOMP or a sails.io consumer)."""

    base_url: str
    dialect: str  # how its frames are rendered: "stomp" or "sails"

    def deliver(self, topic: str, body: bytes, event_key: tuple[str, int | None], sequence: int | None) -> None:
        """Write (or queue) one event (its channel sequence number, if any) on this connection's subscription of
        ``topic``, without waiting."""

    async def recheck(self, recheck: Recheck) -> None:
        """Check again what this connection may hear, if ``recheck`` concerns it (``chat.realtime.control``)."""

    @property
    def marks(self) -> Mapping[int, int]:
        """Up to which sequence number this connection has written each channel's messages (read for the channels
        whose messages topic it listens to: a plain mapping, read for every listener of every message)."""

    def hold(self) -> None:
        """The hub lost the bus: hold back live deliveries until ``catch_up`` has sent what was missed."""

    async def catch_up(self) -> None:
        """The hub has the bus again: send what this connection missed meanwhile (from the database, each once),
        then what was held back."""


class Typing:
    """Typing indicators derived from keystrokes, per process: the first keystroke of a user in a channel starts
    typing; 3 s without one, or a message from them there, stops it. Every process sees the same events in the same
    order, so each derives the same state for its own listeners, with no extra traffic. A bus outage replays nothing
    here: an indicator started before it stops by its timer, and keystrokes lost in it start none."""

    def __init__(self, hub: "Hub") -> None:
        self.hub = hub
        self.timers: dict[tuple[int, int], asyncio.TimerHandle] = {}

    async def keystrokes(self, event: dict[str, Any]) -> None:
        """A user typed in a channel."""
        key = (event["channel_id"], event["data"]["user_id"])
        timer = self.timers.pop(key, None)
        if timer is None:
            await self._announce(key, started=True)
        else:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self.timers[key] = loop.call_later(TYPING_TIMEOUT, lambda: loop.create_task(self.stop(key)))

    async def stop(self, key: tuple[int, int]) -> None:
        """The user stopped typing (silence, or they sent what they typed)."""
        timer = self.timers.pop(key, None)
        if timer is not None:
            timer.cancel()
            await self._announce(key, started=False)

    async def _announce(self, key: tuple[int, int], *, started: bool) -> None:
        channel_id, user_id = key
        hub = self.hub
        prepared = await from_database(
            lambda: rendered(typing_deliveries(channel_id, user_id, started, hub.listening), hub.styles_of)
        )
        for delivery in prepared:
            hub.deliver([delivery], (delivery.event_type, user_id), None)


class Hub:
    """This process's topics → local subscribers, fed by one pattern subscription to the event bus."""

    def __init__(self) -> None:
        self.topics: dict[str, set[Subscriber]] = defaultdict(set)
        # topic → how many of its listeners want each (base URL, dialect): what its deliveries are rendered as
        self.styles: dict[str, Counter[tuple[str, str]]] = {}
        self.kinds: Counter[str] = Counter()  # topics with local listeners, by kind (``users/contacts``)
        self.listening = Listening(self.topics, self.kinds)
        self.typing = Typing(self)
        self._listener: asyncio.Task[None] | None = None
        self._control: asyncio.Task[None] | None = None
        self._alive: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # Two lanes, each in order: a storm of presence changes (a reconnect wave) never delays messages.
        self._lanes = {lane: asyncio.Queue[dict[str, Any]]() for lane in ("chat", "users")}
        self._workers: list[asyncio.Task[None]] = []
        self._catching_up: set[asyncio.Task[None]] = set()
        # while connections catch up together: (channel, after, base URL) → what they missed, queried once
        self._replays: dict[tuple[int, int, str], asyncio.Future[list[tuple[int, bytes]]]] = {}
        self.subscribed = False  # whether the bus subscription is live (readiness)
        self.lost_at: float | None = None  # when the bus was lost, less the margin (None: it was not)
        self.id = uuid.uuid4().hex
        self.saved: dict[int, int] = {}  # channel id → the mark last saved (``wrote``)
        self._unsaved: set[int] = set()  # channels whose mark may have moved since
        self._saving: asyncio.Task[None] | None = None
        # For marks (the bus subscription has its own connection); a burst of closing sockets waits for a connection.
        self.redis = aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                max_connections=16,
                decode_responses=True,
                # a stale connection after a Redis restart is replaced at once (``chat.events.RECONNECT_RETRY``)
                retry=AsyncRetry(ExponentialBackoff(cap=0.2, base=0.02), 2, supported_errors=(RedisConnectionError,)),
            )
        )

    async def add(self, topic: str, subscriber: Subscriber) -> None:
        """Start delivering ``topic`` to ``subscriber`` (the bus subscription is made on first use)."""
        if topic not in self.topics:
            self.kinds[topic_kind(topic)] += 1
        if subscriber not in self.topics[topic]:
            self.topics[topic].add(subscriber)
            self.styles.setdefault(topic, Counter())[subscriber.base_url, subscriber.dialect] += 1
            metrics.SUBSCRIPTIONS.inc()
        if self._control is None or self._control.done():
            self._control = asyncio.get_running_loop().create_task(self._listen_control())
        if self._alive is None or self._alive.done():
            self._alive = asyncio.get_running_loop().create_task(self._stay_alive())
        if self._listener is None or self._listener.done():
            self._ready.clear()
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        await self._ready.wait()

    def remove(self, topic: str, subscriber: Subscriber) -> None:
        """Stop delivering ``topic`` to ``subscriber``."""
        listeners = self.topics.get(topic)
        if listeners is not None and subscriber in listeners:
            listeners.discard(subscriber)
            styles = self.styles[topic]
            style = (subscriber.base_url, subscriber.dialect)
            styles[style] -= 1
            if not styles[style]:
                del styles[style]
            metrics.SUBSCRIPTIONS.dec()
            if not listeners:
                del self.topics[topic]
                del self.styles[topic]
                self.kinds[topic_kind(topic)] -= 1

    def remove_all(self, subscriber: Subscriber) -> None:
        """Forget a closed connection."""
        for topic in [topic for topic, listeners in self.topics.items() if subscriber in listeners]:
            self.remove(topic, subscriber)

    async def _stay_alive(self) -> None:
        """Keep this hub's alive key (``chat.realtime.marks``) for as long as the process lives."""
        while True:
            try:
                await renew_alive(self.redis, self.id)
            except RedisError as error:
                logger.warning("could not say that hub %s is alive: %s", self.id, error)
            await asyncio.sleep(ALIVE_EVERY_SECONDS)

    async def _listen_control(self) -> None:
        """Receive control messages on this process's own layer channel, a member of the control group."""
        layer = get_channel_layer()
        if layer is None:
            return
        channel = await layer.new_channel()
        await layer.group_add(control_group(), channel)
        try:
            while True:
                message = await layer.receive(channel)
                if message.get("type") == "recheck":
                    await self.recheck(Recheck.of(message))
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(control_group(), channel)

    async def recheck(self, recheck: Recheck) -> None:
        """Have every local connection that ``recheck`` may concern check its access again."""
        subscribers = self.subscribers()
        outcomes = await asyncio.gather(
            *(subscriber.recheck(recheck) for subscriber in subscribers), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                logger.error("a connection could not check its access again", exc_info=outcome)

    async def _listen(self) -> None:
        """Listen to the bus for as long as the process lives: a lost connection is made again (capped, jittered
        backoff), and every local connection is then caught up from the database before live delivery goes on."""
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._work(queue)) for queue in self._lanes.values()]
        attempts = failures = 0
        try:
            while True:
                attempts += 1
                try:
                    # every subscription but a first that succeeds at once follows a time without the bus
                    await self._subscribe_and_listen(reconnected=attempts > 1)
                except (RedisError, OSError) as error:
                    if self.subscribed:  # it was up, then lost: the backoff starts again
                        failures = 0
                        self.lost_at = self.lost_at or time.time() - LOST_MARGIN_SECONDS
                    self.subscribed = False
                    self._ready.set()  # a subscription never waits for a bus that is down
                    delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2**failures) * random.uniform(0.5, 1)  # noqa: S311  (jitter)
                    failures += 1
                    logger.warning("the event bus is lost (%s); trying again in %.1f s (%d)", error, delay, failures)
                    await asyncio.sleep(delay)
        finally:
            self.subscribed = False
            self._ready.set()
            for worker in self._workers:
                worker.cancel()

    async def _subscribe_and_listen(self, *, reconnected: bool) -> None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=5)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(f"{settings.PARLEY_EVENT_PREFIX}:app:*")
            if reconnected:
                subscribers = self.subscribers()
                for subscriber in subscribers:
                    subscriber.hold()  # before any live event is read: what comes now waits for the catch-up
                for subscriber in subscribers:
                    task = asyncio.get_running_loop().create_task(subscriber.catch_up())
                    self._catching_up.add(task)
                    task.add_done_callback(self._caught_up)
                logger.warning("the event bus is back: catching %d connections up", len(subscribers))
                self.saved.clear()  # Redis may have restarted, empty: the marks are saved again
                for topic in list(self.topics):
                    if match := MESSAGES_TOPIC.fullmatch(topic):
                        self.wrote(int(match["channel"]))
                await self._recompute_presence()
            self.subscribed = True
            self._ready.set()
            async for message in pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                event = orjson.loads(message["data"])
                if audible(event, self.topics, self.kinds):
                    self._lanes["users" if event["type"].startswith("user.") else "chat"].put_nowait(event)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    async def _recompute_presence(self) -> None:
        """Presence is recomputed, not replayed: each user whose presence changed since the bus was lost is announced
        as they are now, ahead of the live events (any later change comes live, after)."""
        if self.lost_at is None:
            return
        since, self.lost_at = datetime.fromtimestamp(self.lost_at, UTC), None
        try:
            changed = await on_hub_threads(presence_changed_since)(since)
        except Exception as error:
            if not database_unavailable(error):
                raise
            logger.warning("could not recompute presence: the database is unavailable (%s)", error)
            return
        for event in changed:
            if audible(event, self.topics, self.kinds):
                self._lanes["users"].put_nowait(event)

    async def missed(self, channel_id: int, after: int, base_url: str) -> list[tuple[int, bytes]]:
        """The channel's messages after sequence ``after``, as ``base_url`` shows them (``marks.missed``). While this
        process's connections catch up together after a bus outage, most missed the same messages: each distinct
        question goes to the database once."""
        if not self._catching_up:
            return await from_database(missed, channel_id, after, base_url)
        key = (channel_id, after, base_url)
        if key not in self._replays:
            self._replays[key] = asyncio.ensure_future(from_database(missed, channel_id, after, base_url))
        return await self._replays[key]

    def _caught_up(self, task: "asyncio.Task[None]") -> None:
        self._catching_up.discard(task)
        if not self._catching_up:
            self._replays.clear()
        if not task.cancelled() and task.exception() is not None:
            logger.error("a connection could not be caught up", exc_info=task.exception())

    def subscribers(self) -> list[Subscriber]:
        """Every local connection that listens on a topic."""
        return list({subscriber for listeners in self.topics.values() for subscriber in listeners})

    async def _work(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            event = await queue.get()
            try:
                await self.dispatch(event)
            except Exception:
                logger.exception("could not deliver a %s event", event.get("type"))

    def styles_of(self, topic: str) -> list[tuple[str, str]]:
        """The (base URL, dialect) pairs of the topic's listeners (read from a database thread: a copy, taken in one
        step)."""
        return list(self.styles.get(topic, ()))

    async def dispatch(self, event: dict[str, Any]) -> None:
        """Deliver one bus event to every local subscriber of its topics."""
        prepared = await from_database(lambda: rendered(deliveries(event, self.listening), self.styles_of))
        key = (event["type"], event.get("resource_id"))
        sequence = event["data"].get("sequence")
        if self.deliver(prepared, key, sequence) and "published" in event:
            metrics.FANOUT_SECONDS.observe(max(0.0, time.time() - event["published"]))
        if event["type"] == "thread.keystrokes.created":
            await self.typing.keystrokes(event)
        elif event["type"] == "message.created" and event["data"].get("user_id"):
            await self.typing.stop((event["channel_id"], event["data"]["user_id"]))

    def wrote(self, channel_id: int) -> None:
        """A local connection wrote a message of the channel: the hub's mark of it may move (saved soon, in one
        write per round whatever the number of listeners)."""
        self._unsaved.add(channel_id)
        if self._saving is None:
            self._saving = asyncio.get_running_loop().create_task(self._save_marks())

    async def _save_marks(self) -> None:
        """Save, per channel, the sequence number every local listener has written (the lowest of their marks: a
        session of a process that died resumes from there, so that it misses nothing)."""
        try:
            while self._unsaved:
                await asyncio.sleep(0)  # the other connections' writes of the same event go first
                channels, self._unsaved = self._unsaved, set()
                marks = {}
                for channel_id in channels:
                    written = [
                        mark
                        for subscriber in self.topics.get(channel_topic(channel_id, "messages"), ())
                        if (mark := subscriber.marks.get(channel_id)) is not None
                    ]
                    lowest = min(written, default=0)
                    if lowest > self.saved.get(channel_id, 0):
                        marks[channel_id] = self.saved[channel_id] = lowest
                if marks:
                    try:
                        await save(self.redis, hub_key(self.id), marks)
                    except RedisError as error:
                        logger.warning("could not save the marks of hub %s: %s", self.id, error)
        finally:
            self._saving = None  # no await since the loop's last check: a mark that moves later starts another

    def deliver(self, prepared: list["Rendered"], key: tuple[str, int | None], sequence: int | None) -> int:
        """Hand each rendered delivery of one event to every local listener of its topic, in order, each in one plain
        call; how many deliveries were handed to connections. A listener that came after the rendering, in a style
        nobody wanted then, gets nothing here (it subscribed after the event was read)."""
        handed = 0
        for delivery in prepared:
            listeners = self.topics.get(delivery.topic)
            if not listeners:
                continue
            bodies = delivery.bodies
            styles = self.styles[delivery.topic]
            # mostly every listener of a topic wants the same style: its body is then looked up once
            same = bodies.get(next(iter(styles))) if len(styles) == 1 else None
            for subscriber in tuple(listeners):
                body = same or bodies.get((subscriber.base_url, subscriber.dialect))
                if body is None:
                    continue
                try:
                    subscriber.deliver(delivery.topic, body, key, sequence)
                except Exception:
                    logger.exception("could not hand a %s event to a connection", delivery.event_type)
                    continue
                handed += 1
        if handed:
            metrics.EVENTS_DELIVERED.inc(handed)
        return handed


@dataclass(frozen=True, slots=True)
class Rendered:
    """A delivery's body in each (base URL, dialect) its topic's listeners want."""

    topic: str
    event_type: str
    bodies: dict[tuple[str, str], bytes]


def rendered(found: list[Delivery], styles_of: Callable[[str], list[tuple[str, str]]]) -> list[Rendered]:
    """The bodies of one event's deliveries in the styles their topics' listeners want (none for a topic that lost
    its listeners): one ``Resources`` per base URL for the whole event, so that what several deliveries show (the new
    message, in the channel's topic and in every member's notification) is rendered once."""
    shared: dict[str, Resources] = {}
    prepared = []
    for delivery in found:
        styles = styles_of(delivery.topic)
        if not styles:
            continue
        resources: dict[str, Any] = {}
        bodies = {}
        for base_url, dialect in sorted(styles):
            if base_url not in resources:
                resources[base_url] = delivery.render(shared.setdefault(base_url, Resources(base_url, one_moment=True)))
            resource = resources[base_url]
            if dialect == "sails":  # a socket.io EVENT packet: 42["<event>", <data>]
                bodies[base_url, dialect] = b"42" + orjson.dumps([delivery.event_type, resource])
            else:
                bodies[base_url, dialect] = orjson.dumps(
                    {"type": delivery.event_type, "version": "v1", "resource": resource}
                )
        prepared.append(Rendered(delivery.topic, delivery.event_type, bodies))
    return prepared


# The hub's own threads for the database (one per lane): Channels runs every consumer's database call on one shared
# thread, where a storm of connections closing (each ending its sessions) would hold fan-out back for seconds.
HUB_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parley-hub")


def on_hub_threads(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``function`` as a coroutine run on the hub's own database threads."""
    return database_sync_to_async(function, thread_sensitive=False, executor=HUB_THREADS)


async def from_database(function: Callable[..., T], *arguments: Any) -> T:
    """``function(*arguments)`` run on a hub thread with the database; while the database is unavailable it is tried
    again (capped backoff), so that the lane it runs in waits: its listeners get an event late, never not at all."""
    failures = 0
    while True:
        try:
            return await on_hub_threads(function)(*arguments)
        except Exception as error:
            if not database_unavailable(error):
                raise
            delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2**failures)
            failures += 1
            logger.warning("the database is unavailable (%s): trying again in %.1f s (%d)", error, delay, failures)
            await asyncio.sleep(delay)


_hubs: dict[int, Hub] = {}


def bus_subscribed() -> bool | None:
    """Whether this process's hubs are subscribed to the event bus (None: it has none, no socket came yet)."""
    started = [
        hub for hub in list(_hubs.values()) if hub._listener is not None and not hub._listener.get_loop().is_closed()
    ]
    return all(hub.subscribed for hub in started) if started else None


def hub() -> Hub:
    """This process's hub (one per event loop)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
