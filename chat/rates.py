"""Fixed-window counters in Redis, shared by every process: the budgets of senders (websocket messages per user),
callers (Platform API requests per token) and guessers (failed token requests per client and address). A counter
that cannot reach Redis lets the call through (and logs): a Redis outage must not stop the chat."""

import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from chat.events import bus_redis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` counts per ``seconds``-long window (a limit of 0 or less: no limit)."""

    limit: int
    seconds: int

    def _key(self, name: str) -> tuple[str, int]:
        window = int(time.time() // self.seconds)
        retry = (window + 1) * self.seconds - int(time.time())
        return f"{settings.PARLEY_EVENT_PREFIX}:rate:{name}:{window}", max(1, retry)

    def spend(self, name: str) -> int | None:
        """Count one for ``name``; None if within the budget, else the seconds until the next window."""
        if self.limit <= 0:
            return None
        key, retry = self._key(name)
        try:
            pipe = bus_redis().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.seconds * 2)
            count, _ = pipe.execute()
        except redis.RedisError as error:
            logger.warning("could not count %s: %s", name, error)
            return None
        return retry if count > self.limit else None

    def spent(self, name: str) -> int | None:
        """Without counting: None if ``name`` is within the budget, else the seconds until the next window."""
        if self.limit <= 0:
            return None
        key, retry = self._key(name)
        try:
            count = int(bus_redis().get(key) or 0)
        except redis.RedisError as error:
            logger.warning("could not read %s: %s", name, error)
            return None
        return retry if count >= self.limit else None
