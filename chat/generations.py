"""Per-process caches that every process drops at once when what they hold changes: a read kept under the generation
its scope had in Redis, renewed by whoever changes it.

A hot read that rarely changes (which functions an event triggers, which application a bearer token names) costs a
query on every request or event. Each process keeps it instead, under the generation its scope had in Redis *before*
the read; a change renews the generation when it is made and again once it commits. After a change a process never
uses the old read again (it asks under a generation nobody wrote it under), with no race: a read made before the
commit was kept under a generation that the commit renews.

Knowing the current generation costs no round trip: a renewal also publishes it, and each process listens
(``Generations``): before each use it takes in, without waiting, what Redis has already sent it, which includes every
renewal that was answered before the use began. Until it is listening (and again after it lost Redis, when renewals
may have passed it by) it asks Redis with a GET. Without Redis, the database answers every time; an entry lives at
most ``ttl_seconds`` in case a renewal was lost (Redis away at the moment of the change).
"""

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import redis
from django.conf import settings
from django.db import transaction
from redis.client import PubSub
from redis.exceptions import RedisError

from chat.events import bus_redis

logger = logging.getLogger(__name__)
T = TypeVar("T")


GENERATIONS_CHANNEL = "generations"  # the pub/sub channel of renewals: "<key> <generation>"
RETRY_SECONDS = 1.0  # how long a process that lost Redis waits before it listens again (meanwhile: a GET per use)
KEPT_GENERATIONS = 100_000
# A generation heard is asked for again after this long: a subscription that died without a word (a half-open
# connection) leaves a process behind by no more than this.
CHECK_SECONDS = 1.0


class Generations:
    """This process's knowledge of the current generations: what it heard renewed on the pub/sub channel since it
    has been listening, and what it asked Redis for meanwhile. One lock: reads of the subscription must not
    interleave, and a GET's answer must not overwrite a renewal heard while it was on its way."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: redis.Redis | None = None
        self.pubsub: PubSub | None = None
        self.listening = False  # subscribed, and everything renewed since is in ``known``
        self.known: dict[str, tuple[str, float]] = {}  # key → (generation, when it was heard or asked)
        self.retry_at = 0.0

    def forked(self) -> None:
        """In a forked child (a Celery worker's): the parent's subscription and lock are not its own."""
        self.lock = threading.Lock()
        self.pubsub, self.listening = None, False
        self.known.clear()

    def _channel(self) -> str:
        return f"{settings.PARLEY_EVENT_PREFIX}:{GENERATIONS_CHANNEL}"

    def current(self, key: str) -> str:
        """The generation of ``key`` now (``"None"`` if nobody renewed it); raises ``RedisError`` without Redis."""
        with self.lock:
            self._hear()
            now = time.monotonic()
            found = self.known.get(key)
            if found is not None and now - found[1] < CHECK_SECONDS:
                return found[0]
            generation = str(_text(bus_redis().get(key)))
            if self.listening:
                if len(self.known) >= KEPT_GENERATIONS:
                    self.known.clear()
                self.known[key] = (generation, now)
            return generation

    def _hear(self) -> None:
        """Take in what the subscription has received, without waiting; (re)subscribe if it is not up."""
        client = bus_redis()
        if self.pubsub is not None and self.client is not client:  # the process's Redis changed
            self._drop()
        if self.pubsub is None:
            if time.monotonic() < self.retry_at:
                return
            self.client = client
            self.pubsub = client.pubsub()
        try:
            if not self.pubsub.subscribed:
                self.pubsub.subscribe(self._channel())
            while (message := self.pubsub.get_message(timeout=0)) is not None:
                if message["type"] == "subscribe":  # (again, after a reconnect): renewals may have been missed
                    self.known.clear()
                    self.listening = True
                elif message["type"] == "message":
                    key, _, generation = str(_text(message["data"])).partition(" ")
                    if self.listening:
                        self.known[key] = (generation, time.monotonic())
        except RedisError as error:
            logger.warning("not listening to generation renewals (a GET each use meanwhile): %s", error)
            self._drop()
            self.retry_at = time.monotonic() + RETRY_SECONDS

    def _drop(self) -> None:
        self.listening = False
        self.known.clear()
        if self.pubsub is not None:
            with contextlib.suppress(RedisError):
                self.pubsub.close()
        self.pubsub = None

    def renew(self, key: str) -> None:
        """Give ``key`` a new generation, and tell every process."""
        generation = uuid.uuid4().hex
        pipe = bus_redis().pipeline(transaction=False)
        pipe.set(key, generation)
        pipe.publish(self._channel(), f"{key} {generation}")
        pipe.execute()


GENERATIONS = Generations()
os.register_at_fork(after_in_child=GENERATIONS.forked)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class GenerationCache(Generic[T]):
    """One kind of cached read (``name``), by scope (an application, or all of them) and key."""

    def __init__(self, name: str, *, ttl_seconds: float, kept: int = 10_000) -> None:
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.kept = kept
        self.entries: dict[tuple[Hashable, str, Hashable], tuple[T, float]] = {}

    def _key(self, scope: Hashable) -> str:
        return f"{settings.PARLEY_EVENT_PREFIX}:generation:{self.name}:{scope}"

    def get(self, scope: Hashable, key: Hashable, load: Callable[[], T | None]) -> T | None:
        """The cached read of ``key`` under the scope's current generation, or ``load()`` (kept unless None)."""
        try:
            generation = GENERATIONS.current(self._key(scope))
        except RedisError:
            return load()
        now = time.monotonic()
        found = self.entries.get((scope, generation, key))
        if found is not None and now - found[1] < self.ttl_seconds:
            return found[0]
        value = load()
        if value is not None:
            if len(self.entries) >= self.kept:
                self.entries.clear()
            self.entries[(scope, generation, key)] = (value, now)
        return value

    def renew(self, scope: Hashable) -> None:
        """Have every process read the scope again: now, and once more when the current transaction commits (a read
        made in between, of what was not committed yet, is kept under the generation renewed now, and so dropped)."""

        def renew() -> None:
            try:
                GENERATIONS.renew(self._key(scope))
            except RedisError as error:
                logger.warning("%s of %s changed; processes may use the old read for %.0f s: %s",
                               self.name, scope, self.ttl_seconds, error)  # fmt: skip

        renew()
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(renew)
