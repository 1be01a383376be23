"""Reads of channels: lookups, lists with the joins that keep a page to a fixed number of queries, members,
moderators, participants, invites, blocks and room keys."""

import datetime
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from chat.errors import NotFound
from chat.models import (
    Application,
    Channel,
    ChannelBlock,
    ChannelInvite,
    ChannelMembership,
    ChannelType,
    ChatUser,
    Message,
    RoomKey,
    Thread,
    UserBlock,
)
from chat.selectors.rows import model_from_row, select_list
from chat.selectors.users import filter_properties, user_key, user_not_found


def get_channel_and_user(
    *, application: Application, channel_id: int, reference: Any | None, field: str = "user"
) -> tuple[Channel, ChatUser | None]:
    """A channel of this application and the live user ``reference`` names (if given), in one query.

    Sending a message needs both; one round trip instead of two is a tenth of its cost. 404s as ``get_channel`` and
    ``resolve_user`` do.
    """
    key = user_key(reference, field) if reference is not None else None
    with connection.cursor() as cursor:
        cursor.execute(channel_and_user_query(key), channel_and_user_params(key, channel_id, application.pk))
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Channel {channel_id} not found.")
    channel, user = channel_and_user_of(row, with_user=key is not None)
    if key is not None and user is None:
        raise user_not_found(key, field)
    return channel, user


def channel_and_user_query(key: tuple[str, Any] | None) -> str:
    """The one query of ``get_channel_and_user`` (the benchmark's same-SQL reference runs it too)."""
    return _channel_and_user_query(key[0] if key is not None else None)


@cache
def _channel_and_user_query(column: str | None) -> str:
    columns = select_list(Channel, "c")
    join = ""
    if column is not None:
        columns += select_list(ChatUser, "u")
        join = (
            f" LEFT JOIN {ChatUser._meta.db_table} u ON u.application_id = c.application_id"
            f" AND u.deleted_time IS NULL AND u.{column} = %s"
        )
    table = Channel._meta.db_table
    return f"SELECT {', '.join(columns)} FROM {table} c{join} WHERE c.id = %s AND c.application_id = %s"  # noqa: S608


def channel_and_user_params(key: tuple[str, Any] | None, channel_id: int, application_id: int) -> list[Any]:
    """The parameters of ``channel_and_user_query``."""
    return [*([key[1]] if key is not None else []), channel_id, application_id]


def channel_and_user_of(row: Sequence[Any], *, with_user: bool) -> tuple[Channel, ChatUser | None]:
    """The channel and the user (None: not asked for, or not found) of a row of ``channel_and_user_query``."""
    split = len(Channel._meta.concrete_fields)
    channel = model_from_row(Channel, "c", row[:split])
    if not with_user or row[split] is None:
        return channel, None
    return channel, model_from_row(ChatUser, "u", row[split:])


def members_prefetch(lookup: str) -> Prefetch:
    """Channel memberships with their users, as ``prefetched`` (what channel rendering reads)."""
    return Prefetch(
        lookup, queryset=ChannelMembership.objects.select_related("user").order_by("id"), to_attr="prefetched"
    )


def _channels_for_rendering(channels: QuerySet[Channel]) -> QuerySet[Channel]:
    return channels.select_related("creator").prefetch_related(members_prefetch("memberships"))


def list_channels(
    *,
    application: Application,
    channel_type: str | None = None,
    members: list[str] | None = None,
    start_time: datetime.datetime | None = None,
    end_time: datetime.datetime | None = None,
    properties: dict[str, Any] | None = None,
) -> QuerySet[Channel]:
    """The application's channels, filtered by type, members (all of these usernames), creation time, properties."""
    channels = Channel.objects.filter(application=application)
    if channel_type:
        channels = channels.filter(type=channel_type)
    for username in members or []:
        channels = channels.filter(
            Exists(ChannelMembership.objects.filter(channel=OuterRef("pk"), user__name=username))
        )
    if start_time:
        channels = channels.filter(created_time__gte=start_time)
    if end_time:
        channels = channels.filter(created_time__lte=end_time)
    if properties:
        channels = filter_properties(channels, properties)
    return _channels_for_rendering(channels)


def user_channels(*, user: ChatUser) -> QuerySet[Channel]:
    """Channels the user created or joined."""
    joined = Exists(ChannelMembership.objects.filter(channel=OuterRef("pk"), user=user))
    channels = Channel.objects.filter(application_id=user.application_id).filter(Q(creator=user) | joined)
    return _channels_for_rendering(channels)


def last_messages(channels: list[Channel]) -> dict[int, Message | None]:
    """The newest message of each channel's main thread (an index seek per channel), by channel id, in two queries."""
    thread_to_channel = {channel.main_thread_id: channel.pk for channel in channels if channel.main_thread_id}
    newest = Message.objects.filter(thread_id=OuterRef("pk")).order_by("-id").values("id")[:1]
    newest_ids = dict(
        Thread.objects.filter(pk__in=thread_to_channel).annotate(newest=Subquery(newest)).values_list("pk", "newest")
    )
    messages = Message.objects.select_related("user").in_bulk([pk for pk in newest_ids.values() if pk])
    found: dict[int, Message | None] = {channel.pk: None for channel in channels}
    for thread_id, channel_id in thread_to_channel.items():
        found[channel_id] = messages.get(newest_ids.get(thread_id))  # type: ignore[arg-type]
    return found


def channels_by_id(ids: Iterable[int]) -> dict[int, Channel]:
    """Channels with their creators, by id."""
    return Channel.objects.select_related("creator").in_bulk(list(ids))


def get_channel(*, application: Application, channel_id: int, for_rendering: bool = False) -> Channel:
    """A channel of this application by id; ``for_rendering`` also loads its creator and members."""
    channels = Channel.objects.filter(application=application)
    try:
        return (_channels_for_rendering(channels) if for_rendering else channels).get(pk=channel_id)
    except Channel.DoesNotExist:
        raise NotFound(f"Channel {channel_id} not found.") from None


def channel_for_rendering(*, channel_id: int) -> Channel | None:
    """A channel of any application with what rendering it reads, or None if there is none with this id."""
    return channels_for_rendering([channel_id]).get(channel_id)


def channels_for_rendering(ids: Iterable[int]) -> dict[int, Channel]:
    """Channels of any application with what rendering them reads, by id (the ones there are)."""
    return _channels_for_rendering(Channel.objects.all()).in_bulk(list(ids))


def channel_members(*, channel: Channel) -> QuerySet[ChatUser]:
    """The channel's members."""
    return ChatUser.objects.filter(memberships__channel=channel)


def channel_moderators(*, channel: Channel) -> QuerySet[ChatUser]:
    """The channel's moderators."""
    return ChatUser.objects.filter(memberships__channel=channel, memberships__is_moderator=True)


def channel_participants(*, channel: Channel) -> QuerySet[ChatUser]:
    """Members of the channel who are online now."""
    return channel_members(channel=channel).filter(online=True)


def channel_memberships(*, channel: Channel) -> QuerySet[ChannelMembership]:
    """The channel's memberships with their users."""
    return ChannelMembership.objects.filter(channel=channel).select_related("user", "channel")


def channel_invites(*, channel: Channel) -> QuerySet[ChannelInvite]:
    """Invitations to join the channel."""
    return ChannelInvite.objects.filter(channel=channel).select_related("user", "channel")


def is_member(*, channel: Channel, user: ChatUser) -> bool:
    """Whether the user belongs to the channel."""
    return ChannelMembership.objects.filter(channel_id=channel.pk, user_id=user.pk).exists()


def is_moderator(*, channel: Channel, user: ChatUser) -> bool:
    """Whether the user created the channel or moderates it."""
    if channel.creator_id == user.pk:
        return True
    return ChannelMembership.objects.filter(channel=channel, user=user, is_moderator=True).exists()


def direct_key(user_ids: set[int]) -> str:
    """The key that identifies a direct channel by its member set."""
    return ",".join(str(i) for i in sorted(user_ids))


def find_direct_channel(*, application: Application, user_ids: set[int]) -> Channel | None:
    """The existing direct channel between exactly these users, if any."""
    return Channel.objects.filter(
        application=application, type=ChannelType.DIRECT, direct_key=direct_key(user_ids)
    ).first()


def is_blocked_from(*, channel: Channel, user: ChatUser) -> bool:
    """Whether the channel's moderators blocked the user."""
    return ChannelBlock.objects.filter(channel=channel, user=user).exists()


def is_blocked_by_a_member(*, channel: Channel, user: ChatUser) -> bool:
    """Whether another member of the (direct) channel blocked the user."""
    members = ChannelMembership.objects.filter(channel=channel).values("user_id")
    return UserBlock.objects.filter(blocked=user, blocker_id__in=members).exists()


def channel_blocks(*, channel: Channel) -> QuerySet[ChannelBlock]:
    """The users barred from a channel, most recent first."""
    return ChannelBlock.objects.filter(channel=channel).select_related("user").order_by("-id")


def room_key_by_secret(key: str) -> RoomKey | None:
    """The room key whose secret this is (revoked ones included), with its channel and bot."""
    return RoomKey.objects.select_related("channel", "bot").filter(key_hash=RoomKey.hash_of(key)).first()


def channel_room_keys(*, channel: Channel) -> QuerySet[RoomKey]:
    """A channel's room keys, newest first."""
    return RoomKey.objects.filter(channel=channel).select_related("bot").order_by("-id")


def _hidden_from(user_id: int) -> Exists:
    """Whether the user hid the outer channel and no message arrived in it since."""
    newer = Message.objects.filter(channel=OuterRef("channel_id"), sequence__gt=OuterRef("hidden_sequence"))
    hidden = ChannelMembership.objects.filter(channel=OuterRef("pk"), user_id=user_id, hidden_sequence__isnull=False)
    return Exists(hidden.exclude(Exists(newer)))


def listed_channels(*, user: ChatUser) -> QuerySet[Channel]:
    """The user's channel list: their channels but the direct ones they hid (until a new message arrives)."""
    return user_channels(user=user).exclude(_hidden_from(user.pk))


def joinable_channels(*, user: ChatUser) -> QuerySet[Channel]:
    """Public channels the user has not joined."""
    joined = ChannelMembership.objects.filter(user=user).values("channel_id")
    return Channel.objects.filter(application_id=user.application_id, type=ChannelType.PUBLIC).exclude(pk__in=joined)


def belongs(*, channel_id: int, user: ChatUser) -> bool:
    """Whether the user belongs to the channel of this id."""
    return ChannelMembership.objects.filter(channel_id=channel_id, user_id=user.pk).exists()
