"""The event feed: the relay that gives committed events of the log (``chat.models.EventRecord``) their place, and
the reads of ``GET /v1/events``.

The relay takes the rows that have no position yet (only committed rows are visible to it), in the order it sees
them, gives them the next positions and renders their resources the way the Platform API renders them, in one
transaction; one relay runs at a time (a PostgreSQL advisory lock; elsewhere the unique position makes a second one
fail and retry). So positions grow in the order events became visible, with no gap, and a reader that asks for what
comes after its cursor misses nothing. A channel's events are serialized by its row lock, so they are placed in
sequence order. In the same transaction each placed event becomes a delivery to every webhook endpoint that wants it
(``chat.webhooks``).

Worker processes run the relay when the bus announces an event and every ``RELAY_POLL_SECONDS`` in case an
announcement was lost; ``purge`` drops what is older than ``PARLEY_EVENTS_RETENTION_DAYS``.
"""

import logging
import multiprocessing.synchronize
import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from redis import RedisError

from chat.events import bus_redis
from chat.models import Application, EventRecord
from chat.webhooks import create_deliveries
from chat.wire.renderer import Renderer

logger = logging.getLogger(__name__)
RELAY_LOCK = 0x7061726C6579  # "parley": the advisory lock of the one relay
RELAY_BATCH = 500
RELAY_POLL_SECONDS = 1.0


def _render_resources(records: list[EventRecord]) -> None:
    """Each event's resource as the Platform API renders it now (a deleted message as it was), in one query per
    kind of resource."""
    renderer = Renderer(settings.PARLEY_FUNCTIONS_API_URL, one_moment=True)
    wanted: dict[str, set[int]] = defaultdict(set)
    for record in records:
        if record.resource_id is not None:
            wanted[record.resource_type].add(record.resource_id)
    found = {kind: renderer.by_ids(kind, pks) for kind, pks in wanted.items()}
    for record in records:
        pk = record.resource_id
        rendered = found.get(record.resource_type, {}).get(pk) if pk is not None else None
        fallback = {"id": pk if pk is not None else record.application_id}
        record.resource = rendered or record.data.get("snapshot") or fallback


def _save_places(records: list[EventRecord]) -> None:
    """Write the positions and resources: on PostgreSQL in one statement from arrays (Django's ``bulk_update``
    builds a CASE per row and field, which costs more than the rendering); elsewhere with ``bulk_update``."""
    if connection.vendor != "postgresql":
        EventRecord.objects.bulk_update(records, ["position", "resource"])
        return
    table = EventRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET position = v.position, resource = v.resource::jsonb "  # noqa: S608  (our table)
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, position, resource) WHERE e.id = v.id",
            [
                [r.pk for r in records],
                [r.position for r in records],
                [orjson.dumps(r.resource).decode() for r in records],
            ],
        )


def relay(limit: int = RELAY_BATCH) -> int:
    """Place up to ``limit`` committed events in the feed; how many it placed (0: none waiting, or another relay
    is at work)."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [RELAY_LOCK])
                    if not cursor.fetchone()[0]:  # type: ignore[index]
                        return 0
            waiting = list(EventRecord.objects.filter(position__isnull=True).order_by("id")[:limit])
            if not waiting:
                return 0
            last = EventRecord.objects.aggregate(last=Max("position"))["last"] or 0
            for offset, record in enumerate(waiting, start=1):
                record.position = last + offset
            _render_resources(waiting)
            _save_places(waiting)
            create_deliveries(waiting)
    except IntegrityError:  # another relay placed the same positions first (no advisory lock here): try again later
        return 0
    return len(waiting)


def relay_all() -> int:
    """Place every committed event that waits; how many."""
    total = 0
    while placed := relay():
        total += placed
    return total


def purge() -> int:
    """Drop the events older than the retention; how many."""
    cutoff = timezone.now() - timedelta(days=settings.PARLEY_EVENTS_RETENTION_DAYS)
    deleted, _ = EventRecord.objects.filter(created_time__lt=cutoff, position__isnull=False).delete()
    return deleted


PURGE_EVERY_SECONDS = 3600.0


def run_relay(stop: "threading.Event | multiprocessing.synchronize.Event") -> None:
    """Relay until ``stop`` is set: as soon as the bus announces events (a burst of them at once), and every
    ``RELAY_POLL_SECONDS`` whatever it says (an announcement may be lost; the log is not); purge now and then."""
    pubsub: Any = None
    purged = 0.0
    while not stop.is_set():
        try:
            if pubsub is None:
                pubsub = bus_redis().pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(f"{settings.PARLEY_EVENT_PREFIX}:app:*")
            relay_all()
            if time.monotonic() - purged > PURGE_EVERY_SECONDS:
                purge()
                purged = time.monotonic()
            if pubsub.get_message(timeout=RELAY_POLL_SECONDS) is not None:
                while pubsub.get_message(timeout=0.005) is not None:
                    pass
        except (RedisError, DatabaseError) as error:
            logger.warning("the event relay waits: %s", error)
            pubsub = None
            stop.wait(RELAY_POLL_SECONDS)
        finally:
            close_old_connections()
    if pubsub is not None:
        pubsub.close()


def feed(*, application: Application, after: int, types: list[str] | None = None) -> QuerySet[EventRecord]:
    """The application's placed events after the cursor ``after``, in feed order."""
    found = EventRecord.objects.filter(application=application, position__gt=after).order_by("position")
    return found.filter(type__in=types) if types else found
