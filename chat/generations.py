"""Per-process caches that every process drops at once when what they hold changes: a read kept under the generation
its scope had in Redis, renewed by whoever changes it.

A hot read that rarely changes (which functions an event triggers, which application a bearer token names) costs a
query on every request or event. Each process keeps it instead, under the generation its scope had in Redis *before*
the read; a change renews the generation when it is made and again once it commits. A process then pays one Redis GET
per use, and after a change it never uses the old read again (it asks under a generation nobody wrote it under), with
no race: a read made before the commit was kept under a generation that the commit renews. Without Redis, the
database answers every time; an entry lives at most ``ttl_seconds`` in case a renewal was lost (Redis away at the
moment of the change).
"""

import logging
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import transaction
from redis.exceptions import RedisError

from chat.events import bus_redis

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
            generation = str(bus_redis().get(self._key(scope)))
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
                bus_redis().set(self._key(scope), uuid.uuid4().hex)
            except RedisError as error:
                logger.warning("%s of %s changed; processes may use the old read for %.0f s: %s",
                               self.name, scope, self.ttl_seconds, error)  # fmt: skip

        renew()
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(renew)
