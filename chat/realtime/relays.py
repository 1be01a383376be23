"""Relays: the reads of the StompX protocol (SUBSCRIBE ``/application/….relay``, answered by one MESSAGE).

Each handler takes the session, its destination's match and the parameters (SUBSCRIBE headers and query string), and
returns the resource to send. Pages are newest first; ``_relays.next`` is the older page, ``prev`` the newer one.
"""

import re
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django.db.models import Q, QuerySet

from chat.errors import NotFound
from chat.models import Channel, Message, MessageType, ThreadType
from chat.realtime.context import (
    PAGE_SIZE,
    Session,
    channel_id,
    require_moderator,
    visible_channel,
    visible_message,
    visible_thread,
)
from chat.realtime.grants import read_grant, write_grant
from chat.realtime.resources import page
from chat.selectors.channels import (
    belongs,
    channel_blocks,
    channel_members,
    channel_moderators,
    channel_participants,
    listed_channels,
)
from chat.selectors.channels import (
    joinable_channels as joinable_channels_of,
)
from chat.selectors.messages import (
    channel_history,
    channel_messages,
    channel_readers,
    channel_threads,
    every_channel_message,
    message_read_receipts,
    replies_to,
    sent_messages,
    unread_messages,
)
from chat.selectors.messages import (
    last_read_message as last_read_message_of,
)
from chat.selectors.unread import has_unread, unread_in_channel
from chat.selectors.users import get_user, live_users, user_blocks
from chat.wire.timestamps import timestamp

Relay = Callable[[Session, re.Match[str], dict[str, str]], Any]
LIST_LIMIT = 100
# The ``type`` filter of message lists: a kind covers what users and the system send of it.
MESSAGE_KINDS: dict[str, list[str]] = {
    MessageType.TEXT: [MessageType.TEXT, MessageType.SYSTEM_TEXT],
    MessageType.FILE: [MessageType.FILE, MessageType.SYSTEM_FILE],
}


def _given(params: dict[str, str], key: str) -> str | None:
    """A filter parameter, where the SDK's ``undefined`` and an empty value mean none."""
    value = params.get(key)
    return None if value in (None, "", "undefined", "null") else value


def _flag(params: dict[str, str], key: str) -> bool:
    return params.get(key) == "true"


# --- the current user ---------------------------------------------------------------------------------------------


def current_user(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The CurrentUser, read afresh."""
    session.user.refresh_from_db()
    return session.resources().current_user(session.user)


def file_grant(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The session's grant for uploads (write) or downloads (read)."""
    issue = write_grant if match[1] == "write" else read_grant
    return {"grant": issue(session.user_session)}


def _my_channels(session: Session, params: dict[str, str]) -> QuerySet[Channel]:
    channels = listed_channels(user=session.user)
    if name := _given(params, "name"):
        channels = channels.filter(Q(name__icontains=name) | Q(display_name__icontains=name))
    if type_ := _given(params, "type"):
        channels = channels.filter(type=type_.upper())
    if _flag(params, "unread"):
        channels = channels.filter(has_unread(user_id=session.user.pk))
    return channels


def my_channels(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The user's channels, newest first (``unread`` keeps those with unread messages)."""
    channels = list(_my_channels(session, params).order_by("-id")[:LIST_LIMIT])
    return page("channels", session.resources().channels(channels), {})


def unread_channels(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The user's channels with unread messages."""
    return my_channels(session, match, {**params, "unread": "true"})


def my_channels_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many channels the user has (``unread``: with unread messages)."""
    return {"count": _my_channels(session, params).count()}


def unread_channels_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many of the user's channels have unread messages."""
    return my_channels_count(session, match, {**params, "unread": "true"})


def joinable_channels(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Public channels the user has not joined."""
    channels = joinable_channels_of(user=session.user)
    if name := _given(params, "name"):
        channels = channels.filter(Q(name__icontains=name) | Q(display_name__icontains=name))
    found = list(channels.order_by("-id")[:LIST_LIMIT])
    return page("channels", session.resources().channels(found), {})


def unread_messages_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many messages by others, in all the user's channels, the user has not read."""
    return {"count": unread_messages(user=session.user).count()}


def my_messages(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Messages the user sent, newest first."""
    return _message_page(session, sent_messages(user=session.user), params, "/application/user/messages.relay")


def _contacts(session: Session, params: dict[str, str]) -> QuerySet[Any]:
    users = live_users(application=session.application).exclude(pk=session.user.pk)
    if name := _given(params, "name"):
        users = users.filter(name__icontains=name)
    if display_name := _given(params, "displayName"):
        users = users.filter(display_name__icontains=display_name)
    if _given(params, "online") is not None:
        users = users.filter(online=_flag(params, "online"))
    return users


def contacts(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The application's other users (the directory), by display name."""
    users = list(_contacts(session, params).order_by("display_name", "pk")[:LIST_LIMIT])
    resources = session.resources()
    return page("users", [resources.user(user) for user in users], {})


def contacts_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many users ``contacts`` would list."""
    return {"count": _contacts(session, params).count()}


def channel_member(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Whether the user belongs to the channel named by ``channelId``."""
    pk = _given(params, "channelId") or ""
    return {"exists": pk.isdigit() and belongs(channel_id=int(pk), user=session.user)}


def user(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Another user of the application."""
    return session.resources().user(get_user(application=session.application, user_id=int(match["user"])))


# --- channels -----------------------------------------------------------------------------------------------------


def channel(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """One channel."""
    return session.resources().channel(visible_channel(session, channel_id(match), for_rendering=True))


def _message_page(session: Session, messages: QuerySet[Message], params: dict[str, str], relay: str) -> Any:
    """A page of messages: the newest, or those ``before`` (older than) or ``after`` (newer than) a message id."""
    before, after = _given(params, "before") or "", _given(params, "after") or ""
    if after.isdigit():
        found = list(messages.filter(pk__gt=int(after)).order_by("pk")[: PAGE_SIZE + 1])
        more_newer = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE][::-1]
        more_older = True
    else:
        if before.isdigit():
            messages = messages.filter(pk__lt=int(before))
        found = list(messages.order_by("-pk")[: PAGE_SIZE + 1])
        more_older = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        more_newer = before.isdigit()
    joiner = "&" if "?" in relay else "?"
    relays = {}
    if found and more_older:
        relays["next"] = f"{relay}{joiner}before={found[-1].pk}"
    if found and more_newer:
        relays["prev"] = f"{relay}{joiner}after={found[0].pk}"
    return page("messages", session.resources().messages(found), relays)


def channel_messages_page(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """A channel's history, page by page (``mainThread``: only messages that are not replies)."""
    found = visible_channel(session, channel_id(match))
    messages = channel_history(channel=found, user=session.user)
    if _flag(params, "mainThread"):
        messages = messages.filter(nested_level=0)
    if kind := (_given(params, "type") or "").upper():
        messages = messages.filter(type__in=MESSAGE_KINDS.get(kind, [kind]))
    return _message_page(session, messages, params, f"/application/channels/{found.pk}/messages.relay")


def channel_context(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Who read which of the channel's messages between two message ids (``startCursor``, ``endCursor``; by default
    the newest page): ``readBy`` maps each message id to the ids of the members who read it."""
    found = visible_channel(session, channel_id(match))
    messages = channel_messages(channel=found)
    start, end = _given(params, "startCursor") or "", _given(params, "endCursor") or ""
    if start.isdigit():
        messages = messages.filter(pk__gte=int(start))
    if end.isdigit():
        messages = messages.filter(pk__lte=int(end))
    rows = list(messages.order_by("-pk").values_list("pk", "user_id")[:LIST_LIMIT])
    readers = channel_readers(channel=found)
    read_by = {
        str(pk): [user for user, last_read in readers if (last_read or 0) >= pk and user != author]
        for pk, author in rows
    }
    return {
        "startCursor": str(rows[-1][0]) if rows else start,
        "endCursor": str(rows[0][0]) if rows else end,
        "readBy": read_by,
    }


def channel_messages_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many messages the channel has (``unread``: that the user has not read)."""
    found = visible_channel(session, channel_id(match))
    if _flag(params, "unread"):
        return {"count": unread_in_channel(channel=found, user=session.user).count()}
    return {"count": every_channel_message(channel=found).count()}


def channel_unread(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Whether the channel has messages the user has not read."""
    found = visible_channel(session, channel_id(match))
    return {"exists": unread_in_channel(channel=found, user=session.user).exists()}


def last_read_message(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The last message a member (``username``, by default the user) has read in the channel."""
    found = visible_channel(session, channel_id(match))
    message = last_read_message_of(channel=found, user=session.user, username=_given(params, "username"))
    if message is None:
        raise NotFound("No message has been read in this channel.")
    return session.resources().message(message)


def _user_page(session: Session, users: QuerySet[Any], params: dict[str, str]) -> Any:
    if display_name := _given(params, "displayName"):
        users = users.filter(display_name__icontains=display_name)
    found = list(users.order_by("display_name", "pk")[:LIST_LIMIT])
    resources = session.resources()
    return page("users", [resources.user(user) for user in found], {})


def members(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The channel's members by display name."""
    return _user_page(session, channel_members(channel=visible_channel(session, channel_id(match))), params)


def moderators(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The channel's moderators by display name."""
    return _user_page(session, channel_moderators(channel=visible_channel(session, channel_id(match))), params)


def participants(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The channel's members online now."""
    return _user_page(session, channel_participants(channel=visible_channel(session, channel_id(match))), params)


def participants_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many of the channel's members are online now."""
    return {"count": channel_participants(channel=visible_channel(session, channel_id(match))).count()}


# --- messages -----------------------------------------------------------------------------------------------------


def message(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """One message."""
    return session.resources().message(visible_message(session, int(match["message"])))


def replies(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Replies to a message, newest first."""
    found = visible_message(session, int(match["message"]))
    return _message_page(session, replies_to(message=found), params, f"/application/messages/{found.pk}/replies.relay")


def replies_count(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """How many replies a message has."""
    return {"count": visible_message(session, int(match["message"])).replies_count}


def parent(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The message a reply answers."""
    found = visible_message(session, int(match["message"]))
    parent_message = found.thread.parent_message if found.nested_level else None
    if parent_message is None:
        raise NotFound(f"Message {found.pk} is not a reply.")
    return session.resources().message(parent_message)


def reactions(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """A message's reactions, grouped by emoji."""
    found = visible_message(session, int(match["message"]))
    return page("reactions", session.resources().reactions(found), {})


def read_receipts(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """Who read a message, earliest first."""
    found = visible_message(session, int(match["message"]))
    readers = sorted(message_read_receipts(message=found)[:LIST_LIMIT], key=attrgetter("read_time"))
    resources = session.resources()
    receipts = [resources.receipt(reader, found.pk, timestamp(reader.read_time)) for reader in readers]  # type: ignore[attr-defined]
    return page("receipts", receipts, {})


# --- threads ------------------------------------------------------------------------------------------------------


def threads(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """A channel's threads, newest first: its named ones (``standalone``: only those), and its main thread unless
    ``includeMainThread`` is false."""
    found = visible_channel(session, channel_id(match))
    kinds = [ThreadType.STANDALONE]
    if params.get("includeMainThread") != "false" and not _flag(params, "standalone"):
        kinds.append(ThreadType.MAIN)
    listed = channel_threads(channel=found, kinds=kinds)[:LIST_LIMIT]
    resources = session.resources()
    return page("threads", [resources.thread(thread) for thread in listed], {})


def thread_channel(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The channel of a thread."""
    found = visible_thread(session, int(match["thread"]))
    return session.resources().channel(visible_channel(session, found.channel_id, for_rendering=True))


def thread_message(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The message a reply thread answers."""
    found = visible_thread(session, int(match["thread"]))
    if found.parent_message_id is None:
        raise NotFound(f"Thread {found.pk} does not answer a message.")
    return session.resources().message(visible_message(session, found.parent_message_id))


# --- blocks -------------------------------------------------------------------------------------------------------


def block_list(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The users the current user blocked."""
    resources = session.resources()
    return page("items", [resources.user_block(block) for block in user_blocks(user=session.user)[:LIST_LIMIT]], {})


def block_records(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    """The users barred from a channel (its moderators only; ``displayName`` filters)."""
    found = visible_channel(session, channel_id(match))
    require_moderator(session, found)
    blocks = channel_blocks(channel=found)
    if display_name := _given(params, "displayName"):
        blocks = blocks.filter(user__display_name__icontains=display_name)
    resources = session.resources()
    return page("records", [resources.channel_block(block) for block in blocks[:LIST_LIMIT]], {})


RELAYS: list[tuple[str, Relay]] = [
    (r"/application/user\.relay", current_user),
    (r"/application/user\.(read|write)_file_access_grant\.relay", file_grant),
    (r"/application/user/channels\.relay", my_channels),
    (r"/application/user/channels\.count\.relay", my_channels_count),
    (r"/application/user/joinable_channels\.relay", joinable_channels),
    (r"/application/user/unread_channels\.relay", unread_channels),
    (r"/application/user/unread_channels\.count\.relay", unread_channels_count),
    (r"/application/user/unread_messages\.count\.relay", unread_messages_count),
    (r"/application/user/messages\.relay", my_messages),
    (r"/application/user/contacts\.relay", contacts),
    (r"/application/user/contacts\.count\.relay", contacts_count),
    (r"/application/user/channel_member\.relay", channel_member),
    (r"/application/user/block_list_items\.relay", block_list),
    (r"/application/users/(?P<user>\d+)\.relay", user),
    (r"/application/channels/(?P<channel>\d+)\.relay", channel),
    (r"/application/channels/(?P<channel>\d+)/messages\.relay", channel_messages_page),
    (r"/application/channels/(?P<channel>\d+)/messages\.count\.relay", channel_messages_count),
    (r"/application/channels/(?P<channel>\d+)/unread\.relay", channel_unread),
    (r"/application/channels/(?P<channel>\d+)/last_read_message\.relay", last_read_message),
    (r"/application/channels/(?P<channel>\d+)/members\.relay", members),
    (r"/application/channels/(?P<channel>\d+)/moderators\.relay", moderators),
    (r"/application/channels/(?P<channel>\d+)/participants\.relay", participants),
    (r"/application/channels/(?P<channel>\d+)/participants\.count\.relay", participants_count),
    (r"/application/channels/(?P<channel>\d+)/block_records\.relay", block_records),
    (r"/application/channels/(?P<channel>\d+)/threads\.relay", threads),
    (r"/application/channels/(?P<channel>\d+)/context\.relay", channel_context),
    (r"/application/threads/(?P<thread>\d+)/channel\.relay", thread_channel),
    (r"/application/threads/(?P<thread>\d+)/message\.relay", thread_message),
    (r"/application/messages/(?P<message>\d+)\.relay", message),
    (r"/application/messages/(?P<message>\d+)/replies\.relay", replies),
    (r"/application/messages/(?P<message>\d+)/replies\.count\.relay", replies_count),
    (r"/application/messages/(?P<message>\d+)/parent\.relay", parent),
    (r"/application/messages/(?P<message>\d+)/reactions\.relay", reactions),
    (r"/application/messages/(?P<message>\d+)/read_receipts\.relay", read_receipts),
]
