"""Reads: typed, keyword-only, tenant-first queries with the joins that keep a page to a fixed number of queries."""

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, Model, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce

from chat.errors import Invalid, NotFound
from chat.models import (
    Application,
    Channel,
    ChannelBlock,
    ChannelInvite,
    ChannelMembership,
    ChannelType,
    ChatSession,
    ChatUser,
    Message,
    Notification,
    PushMessage,
    ReadMark,
    RoomKey,
    Thread,
    UserBlock,
    UserSecret,
    UserSession,
)


def live_users(*, application: Application) -> QuerySet[ChatUser]:
    """Users of the application that have not been deleted."""
    return ChatUser.objects.filter(application=application, deleted_time__isnull=True)


def get_user(*, application: Application, user_id: int) -> ChatUser:
    """A live user of this application by id (404 for another tenant's id)."""
    try:
        return live_users(application=application).get(pk=user_id)
    except ChatUser.DoesNotExist:
        raise NotFound(f"User {user_id} not found.") from None


def get_user_by_name(*, application: Application, name: str) -> ChatUser:
    """A live user of this application by username."""
    try:
        return live_users(application=application).get(name=name)
    except ChatUser.DoesNotExist:
        raise NotFound(f"User {name!r} not found.", field="username") from None


def _user_key(reference: Any, field: str) -> tuple[str, Any]:
    """The column and value a user reference names (``("id", 1)`` or ``("name", "jane")``); 400 if malformed."""
    if not isinstance(reference, dict):
        raise Invalid(f"{field} must be an object with an id or a username.", field=field)
    if reference.get("id") is not None:
        user_id = reference["id"]
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise Invalid(f"{field}.id must be an integer.", field=f"{field}.id")
        return "id", user_id
    username = reference.get("username", reference.get("name"))
    if isinstance(username, str) and username:
        return "name", username
    raise Invalid(f"{field} must have an id or a username.", field=field)


def _user_not_found(key: tuple[str, Any], field: str) -> NotFound:
    column, value = key
    return NotFound(f"User {value if column == 'id' else repr(value)} not found.", field=field)


def resolve_user(*, application: Application, reference: Any, field: str = "user") -> ChatUser:
    """Resolve a user reference, ``{"id": 1}`` or ``{"username": "jane"}``; a bad one names ``field``."""
    key = _user_key(reference, field)
    try:
        return live_users(application=application).get(**{key[0]: key[1]})
    except ChatUser.DoesNotExist:
        raise _user_not_found(key, field) from None


def _load(model: type[Model], alias: str, values: Sequence[Any]) -> Any:
    """A model instance from its concrete columns as a raw cursor returned them (with the ORM's conversions)."""
    fields = model._meta.concrete_fields
    converted = []
    for model_field, value in zip(fields, values, strict=True):
        column = model_field.get_col(alias)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [model_field.attname for model_field in fields], converted)


def get_channel_and_user(
    *, application: Application, channel_id: int, reference: Any | None, field: str = "user"
) -> tuple[Channel, ChatUser | None]:
    """A channel of this application and the live user ``reference`` names (if given), in one query.

    Sending a message needs both; one round trip instead of two is a tenth of its cost. 404s as ``get_channel`` and
    ``resolve_user`` do.
    """
    key = _user_key(reference, field) if reference is not None else None
    columns = [f"c.{f.column}" for f in Channel._meta.concrete_fields]
    params: list[Any] = []
    join = ""
    if key is not None:
        columns += [f"u.{f.column}" for f in ChatUser._meta.concrete_fields]
        join = (
            f" LEFT JOIN {ChatUser._meta.db_table} u ON u.application_id = c.application_id"
            f" AND u.deleted_time IS NULL AND u.{key[0]} = %s"
        )
        params.append(key[1])
    sql = f"SELECT {', '.join(columns)} FROM {Channel._meta.db_table} c{join} WHERE c.id = %s AND c.application_id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, channel_id, application.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"Channel {channel_id} not found.")
    split = len(Channel._meta.concrete_fields)
    channel = _load(Channel, "c", row[:split])
    if key is None:
        return channel, None
    if row[split] is None:
        raise _user_not_found(key, field)
    return channel, _load(ChatUser, "u", row[split:])


def filter_properties(queryset: QuerySet[Any], properties: dict[str, Any]) -> QuerySet[Any]:
    """Keep rows whose ``properties`` hold every key of ``properties`` with the same value. A key is a key, whatever
    it holds (``__`` included): never a lookup."""
    for index, (key, value) in enumerate(properties.items()):
        alias = f"_property_{index}"
        queryset = queryset.alias(**{alias: KeyTransform(str(key), "properties")}).filter(**{alias: value})
    return queryset


def list_users(
    *,
    application: Application,
    name: str | None = None,
    properties: dict[str, Any] | None = None,
    unread: bool | None = None,
) -> QuerySet[ChatUser]:
    """The application's users, optionally by exact username, custom properties, and whether they have unread."""
    users = live_users(application=application)
    if name:
        users = users.filter(name=name)
    if properties:
        users = filter_properties(users, properties)
    if unread is not None:
        behind = Exists(ChannelMembership.objects.filter(user=OuterRef("pk")).filter(Exists(_unread_of_membership())))
        users = users.filter(behind) if unread else users.exclude(behind)
    return users


def _members_prefetch(lookup: str) -> Prefetch:
    """Channel memberships with their users, as ``prefetched`` (what channel rendering reads)."""
    return Prefetch(
        lookup, queryset=ChannelMembership.objects.select_related("user").order_by("id"), to_attr="prefetched"
    )


def _channels_for_rendering(channels: QuerySet[Channel]) -> QuerySet[Channel]:
    return channels.select_related("creator").prefetch_related(_members_prefetch("memberships"))


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


def users_by_id(ids: Iterable[int]) -> dict[int, ChatUser]:
    """Users (deleted ones too, as old messages still name them) by id."""
    return ChatUser.objects.in_bulk(list(ids))


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
    return _channels_for_rendering(Channel.objects.filter(pk=channel_id)).first()


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


def _messages_for_rendering(messages: QuerySet[Message]) -> QuerySet[Message]:
    return messages.select_related("user")


def get_message(*, application: Application, message_id: int) -> Message:
    """A message of this application by id."""
    try:
        return _messages_for_rendering(Message.objects.filter(application=application)).get(pk=message_id)
    except Message.DoesNotExist:
        raise NotFound(f"Message {message_id} not found.") from None


def thread_messages(*, thread: Thread) -> QuerySet[Message]:
    """Messages of a thread (the channel's main thread holds the channel's own messages)."""
    return _messages_for_rendering(Message.objects.filter(thread=thread))


def channel_messages(*, channel: Channel, username: str | None = None, query: str | None = None) -> QuerySet[Message]:
    """The channel's own messages (not replies), optionally by sender and by text."""
    messages = Message.objects.filter(thread_id=channel.main_thread_pk)
    return _filter_messages(messages, username=username, query=query)


def application_messages(
    *, application: Application, username: str | None = None, query: str | None = None
) -> QuerySet[Message]:
    """Every message of the application, optionally by sender and by text."""
    return _filter_messages(Message.objects.filter(application=application), username=username, query=query)


def _filter_messages(messages: QuerySet[Message], *, username: str | None, query: str | None) -> QuerySet[Message]:
    if username:
        messages = messages.filter(user__name=username, user__deleted_time__isnull=True)
    if query:
        messages = messages.filter(body__icontains=query)
    return _messages_for_rendering(messages)


def _unread_of_membership() -> QuerySet[Message]:
    """Messages newer than the outer membership's last read one, sent by anyone but its member."""
    return Message.objects.filter(
        channel_id=OuterRef("channel_id"), id__gt=Coalesce(OuterRef("last_read_message_id"), Value(0))
    ).exclude(user_id=OuterRef("user_id"))


def read_receipt_summaries(*, application: Application) -> QuerySet[ChannelMembership]:
    """Memberships with unread messages, each annotated with ``unread_count``, with their user and channel."""
    counts = _unread_of_membership().order_by().values("channel_id").annotate(n=Count("*")).values("n")
    return (
        ChannelMembership.objects.filter(channel__application=application, user__deleted_time__isnull=True)
        .annotate(unread_count=Subquery(counts))
        .filter(unread_count__gt=0)
        .select_related("user", "channel__creator")
        .prefetch_related(_members_prefetch("channel__memberships"))
    )


def reported_messages(*, channel: Channel) -> QuerySet[Message]:
    """The channel's messages that users reported."""
    return _messages_for_rendering(Message.objects.filter(channel=channel, report_count__gt=0))


def unread_messages(*, user: ChatUser) -> QuerySet[Message]:
    """Messages in the user's channels, sent by others, newer than what the user has read."""
    messages = Message.objects.filter(
        channel__memberships__user=user,
        id__gt=Coalesce(F("channel__memberships__last_read_message_id"), Value(0)),
    ).exclude(user=user)
    return _messages_for_rendering(messages)


def sent_messages(*, user: ChatUser) -> QuerySet[Message]:
    """Messages the user sent."""
    return _messages_for_rendering(Message.objects.filter(user=user))


def get_thread(*, application: Application, thread_id: int) -> Thread:
    """A thread of this application by id."""
    try:
        return Thread.objects.select_related("channel").get(application=application, pk=thread_id)
    except Thread.DoesNotExist:
        raise NotFound(f"Thread {thread_id} not found.") from None


def message_read_receipts(*, message: Message) -> QuerySet[ChatUser]:
    """Users other than the sender who read the message, each annotated with ``read_time``, earliest first."""
    marks = ReadMark.objects.filter(channel_id=message.channel_id, user_id=OuterRef("pk"), message_id__gte=message.pk)
    readers = ChatUser.objects.filter(Exists(marks)).annotate(
        read_time=Subquery(marks.order_by("created_time").values("created_time")[:1])
    )
    if message.user_id:
        readers = readers.exclude(pk=message.user_id)
    return readers


def user_notifications(*, user: ChatUser) -> QuerySet[Notification]:
    """Notifications the user received."""
    return Notification.objects.filter(user=user).select_related(
        "channel__creator",
        "message__user",
        "parent_message__user",
        "mentioned_user",
        "mentioned_channel",
    )


def user_sessions(*, application: Application, state: str | None = None) -> QuerySet[UserSession]:
    """The application's user sessions, optionally by state."""
    sessions = UserSession.objects.filter(application=application).select_related("user")
    return sessions.filter(state=state) if state else sessions


def chat_sessions(*, application: Application, state: str | None = None) -> QuerySet[ChatSession]:
    """The application's chat sessions, optionally by state."""
    sessions = ChatSession.objects.filter(application=application).select_related("user_session__user", "channel")
    return sessions.filter(state=state) if state else sessions


def direct_key(user_ids: set[int]) -> str:
    """The key that identifies a direct channel by its member set."""
    return ",".join(str(i) for i in sorted(user_ids))


def find_direct_channel(*, application: Application, user_ids: set[int]) -> Channel | None:
    """The existing direct channel between exactly these users, if any."""
    return Channel.objects.filter(
        application=application, type=ChannelType.DIRECT, direct_key=direct_key(user_ids)
    ).first()


def get_user_secret(*, user: ChatUser, name: str) -> UserSecret:
    """A named secret of the user."""
    secret = UserSecret.objects.filter(user=user, name=name).first()
    if secret is None:
        raise NotFound(f"User {user.pk} has no secret named {name!r}.", field="name")
    return secret


def demo_application() -> Application | None:
    """The application the browser chat demo runs in (``manage.py bootstrap_demo`` creates it)."""
    return Application.objects.filter(name=Application.DEMO_NAME).order_by("pk").first()


def is_blocked_from(*, channel: Channel, user: ChatUser) -> bool:
    """Whether the channel's moderators blocked the user."""
    return ChannelBlock.objects.filter(channel=channel, user=user).exists()


def is_blocked_by_a_member(*, channel: Channel, user: ChatUser) -> bool:
    """Whether another member of the (direct) channel blocked the user."""
    members = ChannelMembership.objects.filter(channel=channel).values("user_id")
    return UserBlock.objects.filter(blocked=user, blocker_id__in=members).exists()


def user_blocks(*, user: ChatUser) -> QuerySet[UserBlock]:
    """The users a user blocked, most recent first."""
    return UserBlock.objects.filter(blocker=user).select_related("blocked").order_by("-id")


def channel_blocks(*, channel: Channel) -> QuerySet[ChannelBlock]:
    """The users barred from a channel, most recent first."""
    return ChannelBlock.objects.filter(channel=channel).select_related("user").order_by("-id")


def room_key_by_secret(key: str) -> RoomKey | None:
    """The room key whose secret this is (revoked ones included), with its channel and bot."""
    return RoomKey.objects.select_related("channel", "bot").filter(key_hash=RoomKey.hash_of(key)).first()


def channel_room_keys(*, channel: Channel) -> QuerySet[RoomKey]:
    """A channel's room keys, newest first."""
    return RoomKey.objects.filter(channel=channel).select_related("bot").order_by("-id")


def message_reach(message: Message) -> tuple[int, int, int]:
    """How many members the message's channel has, how many of the others are online (it reached them live), and
    how many of the others have read it."""
    members = ChannelMembership.objects.filter(channel_id=message.channel_id)
    others = members.exclude(user_id=message.user_id)
    return (
        members.count(),
        others.filter(user__online=True).count(),
        others.filter(last_read_message_id__gte=message.pk).count(),
    )


PUSH_SORTS = {"createdAt": "created_time", "id": "id", "channel": "channel", "event": "event"}


def push_messages(
    *, application: Application, channel: str | None = None, event: str | None = None, data: str | None = None
) -> QuerySet[PushMessage]:
    """An application's pushed events, filtered by channel name, event and (text in) data."""
    found = PushMessage.objects.filter(application=application)
    if channel:
        found = found.filter(channel=channel)
    if event:
        found = found.filter(event=event)
    if data:
        found = found.annotate(data_text=Cast("data", TextField())).filter(data_text__contains=data)
    return found


def application_by_reference(reference: str) -> Application | None:
    """The one application whose id, key or name this is (None if none or several match)."""
    matches = Application.objects.filter(Q(key=reference) | Q(name=reference))
    if reference.isdigit():
        matches = Application.objects.filter(Q(key=reference) | Q(name=reference) | Q(pk=int(reference)))
    found = list(matches.distinct()[:2])
    return found[0] if len(found) == 1 else None
