"""An event of the log as backends receive it, in the feed (``GET /v1/events``) and in webhooks alike: its id, type,
place in the feed (``cursor``), time, channel and sequence number, its data in the wire's camelCase, and its resource
as the Platform API renders it."""

from typing import Any

from chat.models import EventRecord
from chat.wire.timestamps import timestamp


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def render_event(record: EventRecord) -> dict[str, Any]:
    """The event's one rendering (its resource was rendered when the relay placed it)."""
    return {
        "id": record.pk,
        "type": record.type,
        "cursor": record.position,
        "createdTime": timestamp(record.created_time),
        "channelId": record.channel_id,
        "sequence": record.sequence,
        "data": {_camel(key): value for key, value in record.data.items() if key not in ("snapshot", "sequence")},
        "resource": record.resource,
    }
