"""What "unread" means, in one place: a message of the channel newer than the last one its reader read there, sent by
anyone but the reader (system messages included). Every unread count, flag and list, of every door, is built on it."""

from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from chat.models import Channel, ChannelMembership, ChatUser, Message


def unread(*, last_read: Any, reader: Any) -> Q:
    """The one definition, as a condition on messages: ``last_read`` is the reader's last read message id in the
    message's channel (an expression; empty: nothing read), ``reader`` the reader's id."""
    return Q(id__gt=Coalesce(last_read, Value(0))) & ~Q(user_id=reader)


def unread_of_membership() -> QuerySet[Message]:
    """The unread messages of the outer membership (its channel, its member, what they read)."""
    return Message.objects.filter(
        Q(channel_id=OuterRef("channel_id"))
        & unread(last_read=OuterRef("last_read_message_id"), reader=OuterRef("user_id"))
    )


def unread_in_channel(*, channel: Channel, user: ChatUser) -> QuerySet[Message]:
    """The channel's messages ``user`` has not read."""
    read = ChannelMembership.objects.filter(channel=channel, user=user).values("last_read_message_id")[:1]
    return Message.objects.filter(Q(channel=channel) & unread(last_read=Subquery(read), reader=user.pk))


def unread_in_any_channel(*, user: ChatUser) -> QuerySet[Message]:
    """The messages of all the user's channels that the user has not read."""
    return Message.objects.filter(
        Q(channel__memberships__user=user)
        & unread(last_read=F("channel__memberships__last_read_message_id"), reader=user.pk)
    )


def has_unread(*, user_id: int) -> Exists:
    """Whether the outer channel has messages the user has not read."""
    read = ChannelMembership.objects.filter(channel=OuterRef(OuterRef("pk")), user_id=user_id)
    return Exists(
        Message.objects.filter(
            Q(channel=OuterRef("pk"))
            & unread(last_read=Subquery(read.values("last_read_message_id")[:1]), reader=user_id)
        )
    )
