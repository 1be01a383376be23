"""Send, edit and delete messages; read channels. Sending notifies the other members and keeps unread state."""

import contextlib
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from chat.actions.channels import channel_event, do_add_member, newest_message_sequence, require_not_blocked
from chat.actions.delivery import Delivery, logs_its_event, store
from chat.actions.files import clean_file
from chat.actions.updates import patch_properties, save_changes
from chat.bounds import MAX_BODY_LENGTH, bounded_text
from chat.errors import Conflict, Forbidden, Invalid
from chat.events import Event, send_event_on_commit
from chat.mentions import find_mentions
from chat.models import (
    Application,
    Channel,
    ChannelMembership,
    ChannelType,
    ChatUser,
    Message,
    MessageReport,
    MessageType,
    Notification,
    ReadMark,
    Thread,
    ThreadType,
)
from chat.selectors.channels import is_blocked_by_a_member, is_member


def _message_event(message: Message, kind: str, **data: Any) -> Event:
    return Event(
        type=f"message.{kind}",
        application_id=message.application_id,
        channel_id=message.channel_id,
        resource_type="message",
        resource_id=message.pk,
        data={"thread_id": message.thread_id, "user_id": message.user_id, **data},
    )


def _clean_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise Invalid("A text message needs a non-blank body.", field="body")
    if len(body) > MAX_BODY_LENGTH:
        raise Invalid(f"body must be at most {MAX_BODY_LENGTH} characters.", field="body")
    return body


def check_send_message(
    channel: Channel,
    *,
    message_type: str,
    thread: Thread | None = None,
    body: Any = None,
    file: Any = None,
    user: ChatUser | None = None,
    group_tag: str | None = None,
    properties: dict[str, Any] | None = None,
    hosted: bool = False,
) -> Message:
    """Send a text or file message into a channel's main thread or one of its threads, by a user or the system.

    A user must be a member, except of a public channel, which they join by sending. ``hosted`` marks a file that
    was uploaded here (``chat.actions.files``) rather than linked.
    """
    if message_type == MessageType.TEXT:
        text, attachment = _clean_body(body), None
    elif message_type == MessageType.FILE:
        text, attachment = "", clean_file(file, hosted=hosted)
    else:
        raise Invalid("type must be TEXT or FILE.", field="type")
    stored_type: str
    if user is None:
        stored_type = MessageType.SYSTEM_TEXT if message_type == MessageType.TEXT else MessageType.SYSTEM_FILE
    else:
        stored_type = message_type
    send = partial(
        do_send_message,
        channel,
        thread=thread,
        message_type=stored_type,
        body=text,
        file=attachment,
        user=user,
        group_tag=group_tag or None,
        properties=properties or {},
    )
    if user is not None and channel.type == ChannelType.DIRECT and is_blocked_by_a_member(channel=channel, user=user):
        raise Forbidden("A member of this direct channel has blocked you.", field="user")
    message = send(sender_must_be_member=user is not None)
    if message is not None:
        return message
    if channel.type != ChannelType.PUBLIC:
        raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")  # type: ignore[union-attr]
    require_not_blocked(channel, user)  # type: ignore[arg-type]
    with transaction.atomic():
        do_add_member(channel, user)  # type: ignore[arg-type]
        joined = send(sender_must_be_member=False)
    assert joined is not None  # noqa: S101  (only a membership check can refuse the message)
    return joined


def do_send_message(
    channel: Channel,
    *,
    thread: Thread | None,
    message_type: str,
    body: str,
    file: dict[str, Any] | None,
    user: ChatUser | None,
    group_tag: str | None,
    properties: dict[str, Any],
    sender_must_be_member: bool = False,
) -> Message | None:
    """Store a validated message, notify the other members and publish it after commit.

    With ``sender_must_be_member`` nothing is stored (and None returned) unless the sender belongs to the channel.
    """
    thread_id = thread.pk if thread is not None else channel.main_thread_pk
    is_reply = thread is not None and thread.type == ThreadType.MESSAGE
    mentions = find_mentions(body, channel)
    message = Message(
        application_id=channel.application_id,
        channel=channel,
        thread_id=thread_id,
        type=message_type,
        user=user,
        body=body,
        file=file,
        group_tag=group_tag,
        properties=properties,
        mentions=mentions.rows or None,
        nested_level=1 if is_reply else 0,
    )
    parent = thread.parent_message if is_reply and thread is not None else None
    in_statement = logs_its_event()  # else the event is logged here, in one transaction with the message
    with contextlib.nullcontext() if in_statement else transaction.atomic():
        unhides = store(Delivery(message, parent, mentions, sender_must_be_member))
        if unhides is None:
            return None
        unhidden = {"unhides": unhides} if unhides else {}
        event = _message_event(message, "created", sequence=message.sequence, **unhidden)
        send_event_on_commit(event, logged=in_statement)
    return message


def check_update_message(message: Message, patch: dict[str, Any]) -> Message:
    """Apply a merge patch of ``body`` (text messages only) and ``properties``."""
    fields: list[str] = []
    if patch.get("body") is not None:
        if message.file is not None:
            raise Invalid("A file message has no body to edit.", field="body")
        message.body = _clean_body(patch["body"])
        message.mentions = find_mentions(message.body, message.channel).rows or None
        message.last_edited_time = timezone.now()
        fields += ["body", "mentions", "last_edited_time"]
    patch_properties(message, patch, fields)
    save_changes(message, fields, lambda: _message_event(message, "updated"))
    return message


@transaction.atomic
def do_delete_message(message: Message) -> Thread:
    """Delete a message (and its replies); returns the thread it was in."""
    thread = message.thread
    snapshot = {
        "id": message.pk,
        "type": message.type,
        "channelId": message.channel_id,
        "nestedLevel": message.nested_level,
        "createdTime": message.created_time.isoformat(),
    }
    send_event_on_commit(_message_event(message, "deleted", snapshot=snapshot))
    if message.nested_level and thread.parent_message_id:
        Message.objects.filter(pk=thread.parent_message_id, replies_count__gt=0).update(
            replies_count=F("replies_count") - 1
        )
    message.delete()
    return thread


@transaction.atomic
def do_delete_all_messages(application: Application) -> None:
    """Delete every message of the application; each channel that had some tells its live members."""
    emptied = Channel.objects.filter(pk__in=Message.objects.filter(application=application).values("channel_id"))
    for channel in emptied.only("pk", "application_id"):
        send_event_on_commit(channel_event(channel, "messages.deleted"))
    Message.objects.filter(application=application).delete()


@transaction.atomic
def check_read_channel(channel: Channel, user: ChatUser, *, up_to: Message | None = None) -> bool:
    """Mark the channel read by the user up to a message (the latest by default); returns whether anything changed."""
    membership = ChannelMembership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
    if up_to is None:
        up_to = Message.objects.filter(channel=channel).order_by("-id").first()
    if up_to is None or (membership.last_read_message_id or 0) >= up_to.pk:
        return False
    now = timezone.now()
    membership.last_read_message_id = up_to.pk
    membership.last_read_time = now
    membership.save(update_fields=["last_read_message_id", "last_read_time"])
    ReadMark.objects.create(channel=channel, user=user, message_id=up_to.pk, created_time=now)
    Notification.objects.filter(user=user, channel=channel, message_id__lte=up_to.pk, read_time__isnull=True).update(
        read_time=now
    )
    send_event_on_commit(
        channel_event(channel, "read", user_id=user.pk, message_id=up_to.pk, read_time=now.isoformat())
    )
    return True


@transaction.atomic
def check_unread_message(message: Message, user: ChatUser) -> bool:
    """Mark a message and everything after it unread for the user again; returns whether anything changed."""
    membership = ChannelMembership.objects.select_for_update().filter(channel=message.channel, user=user).first()
    if membership is None:
        raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
    if membership.last_read_message_id is None or membership.last_read_message_id < message.pk:
        return False
    before = Message.objects.filter(channel=message.channel, pk__lt=message.pk).order_by("-pk").values("pk").first()
    membership.last_read_message_id = before["pk"] if before else None
    membership.save(update_fields=["last_read_message_id"])
    ReadMark.objects.filter(channel=message.channel, user=user, message_id__gte=message.pk).delete()
    Notification.objects.filter(user=user, channel=message.channel, message_id__gte=message.pk).update(read_time=None)
    send_event_on_commit(channel_event(message.channel, "unread", user_id=user.pk, message_id=message.pk))
    return True


def check_open_reply_thread(message: Message) -> Thread:
    """The thread that holds the replies to a top-level message (made on the first reply)."""
    if message.nested_level:
        raise Invalid("Replies to replies are not supported: reply to the top-level message.", field="message")
    thread = Thread.objects.filter(parent_message=message).first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return Thread.objects.create(
                application_id=message.application_id,
                channel_id=message.channel_id,
                type=ThreadType.MESSAGE,
                parent_message=message,
            )
    except IntegrityError:
        return Thread.objects.get(parent_message=message)


def check_create_thread(channel: Channel, *, name: Any, properties: dict[str, Any] | None = None) -> Thread:
    """Start a named (standalone) thread in a channel: a side conversation whose messages stay out of the channel's
    own history. Names are unique within the channel."""
    name = bounded_text(name, "name")
    with transaction.atomic():
        if Thread.objects.filter(channel=channel, type=ThreadType.STANDALONE, name=name).exists():
            raise Conflict(f"This channel already has a thread named {name!r}.", field="name")
        thread = Thread.objects.create(
            application_id=channel.application_id,
            channel=channel,
            type=ThreadType.STANDALONE,
            name=name,
            properties=properties or {},
        )
        send_event_on_commit(channel_event(channel, "thread.created", thread_id=thread.pk))
    return thread


def do_read_thread(thread: Thread, user: ChatUser) -> None:
    """The user has read a thread: its notifications to them are read."""
    Notification.objects.filter(user=user, message__thread=thread, read_time__isnull=True).update(
        read_time=timezone.now()
    )


MAX_REPORT_REASON_LENGTH = 1024


def check_report_message(message: Message, user: ChatUser, *, reason: Any = "") -> MessageReport:
    """Flag a message for the channel's moderators; a user reports a message once (409 the second time)."""
    if not isinstance(reason, str) or len(reason) > MAX_REPORT_REASON_LENGTH:
        raise Invalid(f"reason must be text of at most {MAX_REPORT_REASON_LENGTH} characters.", field="reason")
    if message.user_id == user.pk:
        raise Invalid("Users cannot report their own messages.", field="message")
    if not is_member(channel=message.channel, user=user):
        raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
    with transaction.atomic():
        report, created = MessageReport.objects.get_or_create(message=message, user=user, defaults={"reason": reason})
        if not created:
            raise Conflict("This user already reported this message.", field="message")
        Message.objects.filter(pk=message.pk).update(report_count=F("report_count") + 1)
        message.report_count += 1
        send_event_on_commit(_message_event(message, "reported"))
    return report


def check_clear_channel_history(channel: Channel, user: ChatUser) -> None:
    """Clear a member's history of a channel: the messages sent so far are gone from what they see (for everyone
    else nothing changes), and the channel counts as read."""
    with transaction.atomic():
        newest = newest_message_sequence(channel)
        updated = ChannelMembership.objects.filter(channel=channel, user=user).update(history_cleared_sequence=newest)
        if not updated:
            raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
        send_event_on_commit(channel_event(channel, "history.cleared", user_id=user.pk, sequence_cleared=newest))
        check_read_channel(channel, user)
