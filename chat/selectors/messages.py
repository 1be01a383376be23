"""Reads of messages and threads: histories, what "unread" means (one definition, used by every door), read
receipts and reach."""

from collections.abc import Sequence

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from chat.errors import NotFound
from chat.models import (
    Application,
    Channel,
    ChannelMembership,
    ChatUser,
    Message,
    Reaction,
    ReadMark,
    Thread,
)
from chat.selectors.channels import members_prefetch
from chat.selectors.unread import unread_in_any_channel, unread_of_membership


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


def read_receipt_summaries(*, application: Application) -> QuerySet[ChannelMembership]:
    """Memberships with unread messages, each annotated with ``unread_count``, with their user and channel."""
    counts = unread_of_membership().order_by().values("channel_id").annotate(n=Count("*")).values("n")
    return (
        ChannelMembership.objects.filter(channel__application=application, user__deleted_time__isnull=True)
        .annotate(unread_count=Subquery(counts))
        .filter(unread_count__gt=0)
        .select_related("user", "channel__creator")
        .prefetch_related(members_prefetch("channel__memberships"))
    )


def reported_messages(*, channel: Channel) -> QuerySet[Message]:
    """The channel's messages that users reported."""
    return _messages_for_rendering(Message.objects.filter(channel=channel, report_count__gt=0))


def unread_messages(*, user: ChatUser) -> QuerySet[Message]:
    """Messages in the user's channels, sent by others, newer than what the user has read."""
    return _messages_for_rendering(unread_in_any_channel(user=user))


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


def message_reach(message: Message) -> tuple[int, int, int]:
    """How many members the message's channel has, how many of the others are online (it reached them live), and
    how many of the others have read it."""
    other = ~Q(user_id=message.user_id)
    counts = ChannelMembership.objects.filter(channel_id=message.channel_id).aggregate(
        members=Count("pk"),
        online=Count("pk", filter=other & Q(user__online=True)),
        read=Count("pk", filter=other & Q(last_read_message_id__gte=message.pk)),
    )
    return counts["members"], counts["online"], counts["read"]


def channel_history(*, channel: Channel, user: ChatUser) -> QuerySet[Message]:
    """The channel's own messages as the user sees them: without those they cleared from their history."""
    messages = channel_messages(channel=channel)
    cleared = (
        ChannelMembership.objects.filter(channel=channel, user=user)
        .values_list("history_cleared_sequence", flat=True)
        .first()
    )
    return messages.filter(sequence__gt=cleared) if cleared else messages


def every_channel_message(*, channel: Channel) -> QuerySet[Message]:
    """All the channel's messages, replies included."""
    return Message.objects.filter(channel=channel)


def channel_readers(*, channel: Channel) -> list[tuple[int, int | None]]:
    """Each member who read something of the channel, with the last message they read: (user id, message id)."""
    readers = ChannelMembership.objects.filter(channel=channel, last_read_message_id__isnull=False)
    return list(readers.values_list("user_id", "last_read_message_id"))


def last_read_message(*, channel: Channel, user: ChatUser, username: str | None = None) -> Message | None:
    """The last message the member named ``username`` (by default ``user``) read in the channel."""
    memberships = ChannelMembership.objects.filter(channel=channel)
    memberships = memberships.filter(user__name=username) if username else memberships.filter(user=user)
    last_read = memberships.values_list("last_read_message_id", flat=True).first()
    return Message.objects.filter(channel=channel, pk=last_read).select_related("user").first() if last_read else None


def replies_to(*, message: Message) -> QuerySet[Message]:
    """The replies to a message (none before its first)."""
    return _messages_for_rendering(Message.objects.filter(thread__parent_message=message))


def channel_threads(*, channel: Channel, kinds: Sequence[str]) -> QuerySet[Thread]:
    """The channel's threads of these kinds, newest first."""
    return Thread.objects.filter(channel=channel, type__in=kinds).order_by("-id")


def reactions_of(message_ids: list[int]) -> QuerySet[Reaction]:
    """The reactions to these messages, with who reacted, oldest first."""
    return Reaction.objects.filter(message_id__in=message_ids).select_related("user").order_by("pk")


def main_thread(*, channel: Channel) -> Thread:
    """The channel's main thread."""
    return Thread.objects.get(pk=channel.main_thread_pk)
