"""StompX destinations: which handler serves a relay or an action, and who may listen on a topic.

The SDK hard-codes six destinations and finds every other one in the resources the server sends
(``chat.realtime.resources``); relays live in ``relays``, actions in ``stomp_actions``.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from chat.errors import ChatError, Forbidden, NotFound
from chat.models import Channel
from chat.realtime.context import Outcome, Session, visible_channel
from chat.realtime.relays import RELAYS as RELAY_ROUTES
from chat.realtime.resources import CHANNEL_TOPICS, USER_TOPICS
from chat.realtime.stomp_actions import ACTIONS as ACTION_ROUTES
from chat.selectors.users import live_users

ERRORS_QUEUE = "/user/queue/errors"
RELAYS = [(re.compile(pattern), handler) for pattern, handler in RELAY_ROUTES]
ACTIONS = [(re.compile(pattern), handler) for pattern, handler in ACTION_ROUTES]
USER_TOPIC = re.compile(r"/topic/users/(?P<user>\d+)/(?P<name>\w+)")
CHANNEL_TOPIC = re.compile(r"/topic/channels/(?P<channel>\d+)/(?P<name>\w+)")


def split_destination(destination: str) -> tuple[str, dict[str, str]]:
    """The path of a destination and the parameters in its query string (``…relay?before=12``)."""
    path, _, query = destination.partition("?")
    return path, {key: values[-1] for key, values in parse_qs(query).items()}


def find(table: list[tuple[re.Pattern[str], Any]], path: str) -> tuple[Any, re.Match[str]]:
    """The handler of a destination path, or NotFound."""
    for pattern, handler in table:
        match = pattern.fullmatch(path)
        if match is not None:
            return handler, match
    raise NotFound(f"Unknown destination {path[:200]!r}.")


def user_exists(session: Session) -> bool:
    """Whether the session's user still exists (a deleted user's sessions end)."""
    return live_users(application=session.application).filter(pk=session.user.pk).exists()


def act(
    session: Session, handler: Callable[..., Outcome], match: re.Match[str], body: dict[str, Any]
) -> Outcome | None:
    """Run a SEND's action for the session's user, if it still exists (None: it does not, and nothing ran)."""
    if not user_exists(session):
        return None
    return handler(session, match, body)


def unauthorized_topics(session: Session, topics: list[str]) -> list[str] | None:
    """Which of the session's ``topics`` it may no longer listen on; None when its user no longer exists."""
    if not user_exists(session):
        return None
    lost = []
    for topic in topics:
        try:
            authorize_topic(session, topic)
        except ChatError:
            lost.append(topic)
    return lost


def authorize_topic(session: Session, destination: str) -> Channel | None:
    """Refuse a topic of another user, or of a channel this user may not read (another tenant's included); the
    channel of a channel topic."""
    if match := USER_TOPIC.fullmatch(destination):
        if int(match["user"]) != session.user.pk or match["name"] not in USER_TOPICS:
            raise Forbidden(f"Not your topic: {destination[:200]!r}.")
        return None
    if match := CHANNEL_TOPIC.fullmatch(destination):
        if match["name"] not in CHANNEL_TOPICS:
            raise NotFound(f"Unknown topic {destination[:200]!r}.")
        return visible_channel(session, int(match["channel"]))
    if destination != ERRORS_QUEUE:
        raise NotFound(f"Unknown topic {destination[:200]!r}.")
    return None
