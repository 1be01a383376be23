"""What live delivery reads: single rows by id and compact id lists, for the hub's deliveries of bus events and the
catching up of resumed sessions. Each is one query; a row deleted meanwhile is None (the event is then dropped)."""

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from chat.events import Event
from chat.models import Application, Channel, ChannelBlock, ChannelMembership, ChatUser, Message, Notification, Thread
from chat.selectors.rows import model_from_row, select_list


def message_by_id(pk: int) -> Message | None:
    """A message with its sender, channel and thread (the hub reads one per message event and process: one fixed
    statement instead of an ORM query built and compiled each time)."""
    with connection.cursor() as cursor:
        cursor.execute(_message_query(), [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    offset = len(Message._meta.concrete_fields)
    message = model_from_row(Message, "m", row[:offset])
    for field, model, alias in MESSAGE_RELATIONS:
        width = len(model._meta.concrete_fields)
        values = row[offset : offset + width]
        offset += width
        related = None if values[0] is None else model_from_row(model, alias, values)
        getattr(Message, field).field.set_cached_value(message, related)  # as select_related does
    return message


# What ``message_by_id`` reads with a message: (field, model, table alias); a message without a sender (a system
# message) has a NULL user.
MESSAGE_RELATIONS = (("channel", Channel, "c"), ("thread", Thread, "t"), ("user", ChatUser, "u"))


@cache
def _message_query() -> str:
    columns = select_list(Message, "m")
    joins = []
    for field, model, alias in MESSAGE_RELATIONS:
        columns += select_list(model, alias)
        join = "LEFT JOIN" if Message._meta.get_field(field).null else "JOIN"
        joins.append(f"{join} {model._meta.db_table} {alias} ON {alias}.id = m.{field}_id")
    return f"SELECT {', '.join(columns)} FROM {Message._meta.db_table} m {' '.join(joins)} WHERE m.id = %s"  # noqa: S608


def messages_by_id(ids: Iterable[int]) -> dict[int, Message]:
    """Messages with their senders, channels and threads, by id (the ones there are)."""
    return Message.objects.select_related("user", "channel", "thread").in_bulk(list(ids))


def user_by_id(pk: int) -> ChatUser | None:
    """A user."""
    return ChatUser.objects.filter(pk=pk).first()


def application_by_id(pk: int) -> Application | None:
    """An application."""
    return Application.objects.filter(pk=pk).first()


def presence_changed_since(moment: datetime) -> list[dict[str, Any]]:
    """The presence events of every user whose presence changed at or after ``moment`` (as ``chat.actions.sessions``
    sends them), to recompute what a hub without its event bus may have missed."""
    changed = ChatUser.objects.filter(presence_time__gte=moment).values_list("pk", "application_id", "online")
    return [
        dataclasses.asdict(Event("user.presence.changed", application_id, "user", pk, data={"online": online}))
        for pk, application_id, online in changed
    ]


def member_ids(channel_id: int, *, but: int | None = None) -> list[int]:
    """The ids of the channel's members (but one)."""
    members = ChannelMembership.objects.filter(channel_id=channel_id)
    if but is not None:
        members = members.exclude(user_id=but)
    return list(members.values_list("user_id", flat=True))


def channel_ids_of(user: ChatUser) -> list[int]:
    """The ids of the channels the user belongs to."""
    return list(ChannelMembership.objects.filter(user=user).values_list("channel_id", flat=True))


def contact_ids(user: ChatUser) -> set[int]:
    """The ids of the users who share a channel with the user."""
    shared = ChannelMembership.objects.filter(channel__memberships__user=user).values_list("user_id", flat=True)
    return set(shared) - {user.pk}


def online_user_ids(application: Application) -> list[int]:
    """The ids of the application's users online now."""
    return list(ChatUser.objects.filter(application=application, online=True).values_list("pk", flat=True))


def author_id(message_id: int) -> int | None:
    """Who sent the message (None: the system, or it is gone)."""
    return Message.objects.filter(pk=message_id).values_list("user_id", flat=True).first()


def live_notifications(message: Message, user_ids: Iterable[int]) -> list[Notification]:
    """The notifications of a new message to these users that are not muted, ready to render."""
    return list(
        Notification.objects.filter(message=message, user_id__in=list(user_ids), muted=False).select_related(
            "channel", "message__user", "mentioned_user", "mentioned_channel"
        )
    )


def channel_block(channel_id: int, user_id: int) -> ChannelBlock | None:
    """The block that bars the user from the channel, with the user."""
    return ChannelBlock.objects.filter(channel_id=channel_id, user_id=user_id).select_related("user").first()


def messages_after(channel_id: int, after: int, limit: int) -> list[Message]:
    """The channel's messages after sequence number ``after``, oldest first, at most ``limit``."""
    found = Message.objects.select_related("user", "channel", "thread").filter(
        channel_id=channel_id, sequence__gt=after
    )
    return list(found.order_by("sequence")[:limit])
