"""The socket service's push: a backend sends an event to one or more channel names of its application. Each push is
stored (listed by ``GET /wssv/message``), published on the event bus for the sockets subscribed to those names, and,
where a name is also a Parley channel of the application, sent to that channel's live clients as a custom event."""

from typing import Any

import orjson
from django.conf import settings
from django.db import transaction

from chat.actions.channels import check_send_channel_event
from chat.bounds import MAX_NAME_LENGTH
from chat.errors import Invalid
from chat.events import Event, send_event_on_commit
from chat.models import Application, Channel, PushMessage

DEFAULT_EVENT = "Message"


def clean_channels(value: Any, field: str = "channel") -> list[str]:
    """A channel name or a list of them: non-blank strings, at most ``PARLEY_PUSH_MAX_CHANNELS``, without repeats."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise Invalid(f"{field} must be a channel name or a non-empty array of names.", field=field)
    if len(names) > settings.PARLEY_PUSH_MAX_CHANNELS:
        raise Invalid(f"{field} may name at most {settings.PARLEY_PUSH_MAX_CHANNELS} channels.", field=field)
    for name in names:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise Invalid(f"{field} names must be non-blank strings of at most {MAX_NAME_LENGTH} characters.", field)
    return list(dict.fromkeys(name.strip() for name in names))


def _clean_push(item: Any, field: str) -> tuple[list[str], str, Any]:
    if not isinstance(item, dict):
        raise Invalid(f"{field} must be an object with channel, event and data.", field=field)
    channels = clean_channels(item.get("channel"), f"{field}.channel" if field != "body" else "channel")
    event = item.get("event") or DEFAULT_EVENT
    if not isinstance(event, str) or len(event) > MAX_NAME_LENGTH:
        raise Invalid(f"event must be a string of at most {MAX_NAME_LENGTH} characters.", field="event")
    data = item.get("data")
    if len(orjson.dumps(data)) > settings.PARLEY_PUSH_MAX_PAYLOAD_BYTES:
        raise Invalid(f"data must be at most {settings.PARLEY_PUSH_MAX_PAYLOAD_BYTES} bytes of JSON.", field="data")
    return channels, event, data


def check_push(application: Application, items: Any, *, many: bool = False) -> list[PushMessage]:
    """Validate every push first (all or nothing), then store and publish them."""
    if many and (not isinstance(items, list) or not items):
        raise Invalid("body must be a non-empty array of messages.", field="body")
    if len(items) > settings.PARLEY_PUSH_MAX_MESSAGES:
        raise Invalid(f"At most {settings.PARLEY_PUSH_MAX_MESSAGES} messages per send-multi.", field="body")
    cleaned = [_clean_push(item, f"body[{index}]" if many else "body") for index, item in enumerate(items)]
    names = {name for channels, _, _ in cleaned for name in channels}
    parley_channels = {
        channel.name: channel for channel in Channel.objects.filter(application=application, name__in=names)
    }
    with transaction.atomic():
        pushed = PushMessage.objects.bulk_create(
            PushMessage(application=application, channel=name, event=event, data=data)
            for channels, event, data in cleaned
            for name in channels
        )
        for push in pushed:
            send_event_on_commit(
                Event(
                    type="push.sent",
                    application_id=application.pk,
                    resource_type="push",
                    resource_id=push.pk,
                    data={"channel": push.channel, "event": push.event, "data": push.data},
                )
            )
            if push.channel in parley_channels:
                properties = push.data if isinstance(push.data, dict) else {"data": push.data}
                check_send_channel_event(parley_channels[push.channel], event_type=push.event, properties=properties)
    return pushed
