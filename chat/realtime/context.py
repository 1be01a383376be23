"""What every relay and action handler works with: the session it serves, what it may see, and what it answers.

Handlers run in a worker thread (they use the ORM). Each takes the session, the match of its destination and the
frame's parameters or body, and returns a resource (relays) or an ``Outcome`` (actions), or raises a ``ChatError``
that the consumer reports on ``/user/queue/errors``.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from chat.errors import Forbidden, Invalid, NotFound, RateLimited
from chat.models import Application, Channel, ChannelType, ChatUser, Message, Thread, UserSession
from chat.rates import Budget
from chat.realtime.resources import Resources
from chat.selectors.channels import get_channel, is_blocked_from, is_member, is_moderator
from chat.selectors.messages import get_message, get_thread
from chat.selectors.users import resolve_user

PAGE_SIZE = 25


@dataclass
class Session:
    """What a handler knows of the websocket session it serves."""

    application: Application
    user: ChatUser
    user_session: UserSession
    base_url: str

    def resources(self) -> Resources:
        """Resources for one answer (links and avatars under this connection's host)."""
        return Resources(self.base_url)


@dataclass
class Outcome:
    """What an action produced: a resource pushed to the caller with its receipt (as event ``event`` on ``topic``),
    or only a RECEIPT frame. ``answers`` names the bus event that will carry the same news to everyone listening on
    ``topic``; the caller, already answered, skips it."""

    resource: Any = None
    event: str | None = None
    topic: str | None = None
    answers: tuple[str, int | None] | None = None
    receipt_only: bool = False


def channel_id(match: re.Match[str]) -> int:
    """The channel a destination names."""
    return int(match["channel"])


def visible_channel(session: Session, pk: int, *, for_rendering: bool = False) -> Channel:
    """A channel this user may read: a member's, or any public channel of the application that its moderators have
    not blocked the user from.

    ``for_rendering`` also loads its creator and members, which only an answer that renders the channel needs.
    """
    channel = get_channel(application=session.application, channel_id=pk, for_rendering=for_rendering)
    if channel.type != ChannelType.PUBLIC:
        if not is_member(channel=channel, user=session.user):
            raise NotFound(f"Channel {pk} not found.")
    elif is_blocked_from(channel=channel, user=session.user):  # a blocked user is no member (blocking removes them)
        raise Forbidden(f"User {session.user.name!r} is blocked from this channel.", field="user")
    return channel


def visible_message(session: Session, pk: int) -> Message:
    """A message of a channel this user may read."""
    message = get_message(application=session.application, message_id=pk)
    visible_channel(session, message.channel_id)
    return message


def visible_thread(session: Session, pk: int) -> Thread:
    """A thread of a channel this user may read."""
    thread = get_thread(application=session.application, thread_id=pk)
    visible_channel(session, thread.channel_id)
    return thread


def require_member(session: Session, channel: Channel) -> None:
    """Refuse a write in a channel the user does not belong to."""
    if not is_member(channel=channel, user=session.user):
        raise Forbidden(f"You are not a member of channel {channel.pk}.")


def require_moderator(session: Session, channel: Channel) -> None:
    """Refuse a change that only the channel's creator or moderators may make."""
    if not is_moderator(channel=channel, user=session.user):
        raise Forbidden(f"Only a moderator of channel {channel.pk} may do this.")


def referenced_user(session: Session, body: dict[str, Any], key: str = "user") -> ChatUser:
    """The user a body names, as ``{"user": {"id"|"name"|"username": …}}`` or the reference itself."""
    return resolve_user(application=session.application, reference=body.get(key, body), field=key)


def text(body: dict[str, Any], key: str) -> str | None:
    """An optional string field of a body."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{key} must be a string.", field=key)
    return value


def json_object(body: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional JSON-object field of a body (empty when absent)."""
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise Invalid(f"{key} must be an object.", field=key)
    return value


RATE_WINDOW_SECONDS = 10


def check_message_rate(session: Session) -> None:
    """Refuse a message beyond the user's budget (``PARLEY_STOMP_MESSAGES_PER_10_SECONDS``), counted in Redis per
    10-second window so that all of the user's connections, on any process, share it. If Redis fails, allow."""
    limit = settings.PARLEY_STOMP_MESSAGES_PER_10_SECONDS
    if Budget(limit, RATE_WINDOW_SECONDS).spend(f"messages:{session.user.pk}") is not None:
        raise RateLimited(f"At most {limit} messages per {RATE_WINDOW_SECONDS} seconds: wait a moment and retry.")
