"""The event bus: the one module that publishes chat events, and only after the transaction commits.

Each event is one typed object of a type that ``chat.catalogue`` declares; realtime adapters subscribe per
application (``<prefix>:app:<id>``) and render it in their own dialect. Publishing failures are logged, never
raised: the change itself is already committed.

Every lasting channel event takes the channel's next sequence number (``data["sequence"]``) in the transaction that
makes the change: the channel row stays locked until commit, so within a channel sequence order is commit order.
Fleeting events (keystrokes, who is looking at a channel) take none.
"""

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
import redis
from django.conf import settings
from django.db import connection, transaction
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from chat import metrics
from chat.catalogue import BACKENDS, CATALOGUE, UNSEQUENCED, of_consumer
from chat.models import Channel, EventRecord

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened in an application, optionally in one channel, about one resource."""

    type: str
    application_id: int
    resource_type: str
    resource_id: int | None
    channel_id: int | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = CATALOGUE.get(self.type)
        if declared is None:
            raise ValueError(f"{self.type} is not declared in chat.catalogue")
        if declared.resource != self.resource_type:
            raise ValueError(f"{self.type} is about a {declared.resource}, not a {self.resource_type}")
        wrong = declared.allows(set(self.data))
        if wrong is not None:
            raise ValueError(f"undeclared data for {wrong}")

    def to_json(self) -> bytes:
        """The event as the bytes published on the bus, stamped with the time of publication (``published``: the
        hubs measure their fan-out latency from it)."""
        return orjson.dumps({**dataclasses.asdict(self), "published": time.time()})


# What went wrong on the bus in this process (``/readyz`` shows it): publishes that failed after their commit. What
# they carried is not lost: the hubs catch their connections up from the database when the bus comes back.
BUS_COUNTERS: Counter[str] = Counter()

FOR_BACKENDS = frozenset(of_consumer(BACKENDS))

# Called with every event once its transaction has committed, after it is published: other apps react here (chat
# functions queue their runs). A listener that fails is logged; the others still run.
COMMITTED_LISTENERS: list[Callable[[Event], None]] = []


def topic_for_application(application_id: int) -> str:
    """The Redis pub/sub channel that carries every event of one application."""
    return f"{settings.PARLEY_EVENT_PREFIX}:app:{application_id}"


# A pooled connection goes stale when Redis restarts: its next command fails before reaching the new server, and is
# sent again at once on a new connection. Only a connection error is retried (a timed-out PUBLISH may have been sent).
RECONNECT_RETRY = Retry(ExponentialBackoff(cap=0.2, base=0.02), 2, supported_errors=(redis.ConnectionError,))


@cache
def bus_redis() -> redis.Redis:
    """This process's (synchronous) connection to the Redis of the event bus."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2, retry=RECONNECT_RETRY)


def _publish(event: Event) -> None:
    try:
        bus_redis().publish(topic_for_application(event.application_id), event.to_json())
    except redis.RedisError as error:  # the hubs catch their listeners up once the bus is back
        BUS_COUNTERS["publish_failures"] += 1
        metrics.PUBLISH_FAILURES.inc()
        logger.warning("could not publish %s event for application %s: %s", event.type, event.application_id, error)
    else:
        metrics.EVENTS_PUBLISHED.inc()


def next_sequence(channel_id: int) -> int | None:
    """Take the channel's next sequence number (None if the channel is gone); locks the channel row until commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Channel._meta.db_table} SET last_sequence = last_sequence + 1 WHERE id = %s"  # noqa: S608
            " RETURNING last_sequence",
            [channel_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row is not None else None


def send_event_on_commit(event: Event, *, logged: bool = False) -> None:
    """Publish ``event`` once the current transaction commits (at once outside a transaction); drop it on rollback.

    A channel event without a sequence number takes the channel's next one first. An event for backends is written
    to the event log here, unless the statement that made the change wrote it already (``logged``).
    """
    if event.channel_id is not None and event.type not in UNSEQUENCED and "sequence" not in event.data:
        sequence = next_sequence(event.channel_id)
        if sequence is not None:
            event = dataclasses.replace(event, data={**event.data, "sequence": sequence})
    # in the same transaction: the event log holds it exactly when the change is made
    if event.type in FOR_BACKENDS and not logged:
        EventRecord.objects.create(
            application_id=event.application_id,
            type=event.type,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            channel_id=event.channel_id,
            sequence=event.data.get("sequence"),
            data=event.data,
        )
    transaction.on_commit(lambda: _committed(event), robust=True)


def _committed(event: Event) -> None:
    _publish(event)
    for listener in COMMITTED_LISTENERS:
        try:
            listener(event)
        except Exception:
            logger.exception("a listener failed on %s event for application %s", event.type, event.application_id)
