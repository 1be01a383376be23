"""StompX destinations: the resources a session reads (relays), writes (actions) and listens to (topics).

The server names every destination: each resource it sends carries ``_relays``, ``_topics``, ``_actions`` and
``_streams`` maps, and the SDK uses whatever strings it finds there (six are hard-coded in the SDK). Handlers run
in a worker thread (they use the ORM); each takes the session and the match of its destination and returns a
resource, or raises a ``ChatError`` that the consumer reports on ``/user/queue/errors``.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from chat.actions.messages import check_send_message, do_read_channel
from chat.errors import Forbidden, Invalid, NotFound
from chat.models import Application, Channel, ChannelType, ChatUser, Message, MessageType, UserSession
from chat.selectors import channel_messages, get_channel, is_member, user_channels
from platform_api.representations import Renderer

USER_TOPICS = (
    "self",
    "elements",
    "features",
    "styles",
    "channels",
    "messages",
    "readReceipts",
    "notifications",
    "contacts",
    "participants",
    "users",
    "reactions",
    "threads",
    "calls",
)
CHANNEL_TOPICS = (
    "self",
    "messages",
    "typing",
    "keystrokes",
    "participants",
    "readReceipts",
    "reactions",
    "events",
    "members",
    "moderators",
    "blockRecords",
)
PAGE_SIZE = 25
ERRORS_QUEUE = "/user/queue/errors"


def user_topic(user_id: int, name: str) -> str:
    """The topic string of one of a user's 14 topics."""
    return f"/topic/users/{user_id}/{name}"


def channel_topic(channel_id: int, name: str) -> str:
    """The topic string of one of a channel's 11 topics."""
    return f"/topic/channels/{channel_id}/{name}"


@dataclass
class Session:
    """What a handler knows of the websocket session it serves."""

    application: Application
    user: ChatUser
    user_session: UserSession
    base_url: str

    def resources(self) -> "Resources":
        """Resources for one answer (links and avatars under this connection's host)."""
        return Resources(self.base_url)


class Resources:
    """Resources in the StompX dialect: the Platform API's JSON plus the hypermedia maps the SDK navigates by."""

    def __init__(self, base_url: str) -> None:
        self.renderer = Renderer(base_url)

    def current_user(self, user: ChatUser) -> dict[str, Any]:
        """The CurrentUser: every relay, topic, action and stream the SDK looks for."""
        base = "/application/user"
        return {
            **self.renderer.user(user, nested=True),
            "_relays": {
                "self": f"{base}.relay",
                "readFileAccessGrant": f"{base}.read_file_access_grant.relay",
                "writeFileAccessGrant": f"{base}.write_file_access_grant.relay",
                "channelsCount": f"{base}/channels.count.relay",
                "channels": f"{base}/channels.relay",
                "messages": f"{base}/messages.relay",
                "joinableChannels": f"{base}/joinable_channels.relay",
                "unreadChannelsCount": f"{base}/unread_channels.count.relay",
                "unreadChannels": f"{base}/unread_channels.relay",
                "unreadMessagesCount": f"{base}/unread_messages.count.relay",
                "contactsCount": f"{base}/contacts.count.relay",
                "contacts": f"{base}/contacts.relay",
                "userBlockListItems": f"{base}/block_list_items.relay",
            },
            "_topics": {name: user_topic(user.pk, name) for name in USER_TOPICS},
            "_actions": {
                "update": f"{base}.update",
                "delete": f"{base}.delete",
                "createChannel": f"{base}.create_channel",
                "updateDisplayPicture": f"{base}.update_display_picture",
            },
            "_streams": {"displayPicture": f"/stream{base}.display_picture"},
        }

    def channel(self, channel: Channel) -> dict[str, Any]:
        """A channel with its relays, topics and actions."""
        base = f"/application/channels/{channel.pk}"
        actions = {
            "message": f"{base}.message",
            "keystrokes": f"{base}.keystrokes",
            "read": f"{base}.read",
        }
        if channel.type == ChannelType.PUBLIC:
            actions["join"] = f"{base}.join"
        return {
            **self.renderer.channel(channel, nested=True),
            "_relays": {
                "self": f"{base}.relay",
                "messages": f"{base}/messages.relay",
                "messagesCount": f"{base}/messages.count.relay",
                "unread": f"{base}.unread.relay",
            },
            "_topics": {name: channel_topic(channel.pk, name) for name in CHANNEL_TOPICS},
            "_actions": actions,
            "_streams": {"messages": f"/stream{base}/messages"},
        }

    def channels(self, channels: list[Channel]) -> list[dict[str, Any]]:
        """Channels, their newest messages loaded together."""
        self.renderer.load_last_messages(channels)
        return [self.channel(channel) for channel in channels]

    def message(self, message: Message) -> dict[str, Any]:
        """A message with the relays and actions the SDK uses on it."""
        base = f"/application/messages/{message.pk}"
        return {
            **self.renderer.message(message, nested=True),
            "_relays": {"channel": f"/application/channels/{message.channel_id}.relay"},
            "_actions": {"read": f"{base}.read"},
        }


def page(name: str, items: list[dict[str, Any]], relays: dict[str, str]) -> dict[str, Any]:
    """A paginated relay's answer (``_relays`` must be present, even empty)."""
    return {"_embedded": {name: items}, "page": {"size": len(items)}, "_relays": relays}


# --- relays -------------------------------------------------------------------------------------------------------


def _current_user(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    return session.resources().current_user(session.user)


def _file_grant(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    return {"grant": str(session.user_session.key)}


def _my_channels(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    channels = user_channels(user=session.user).order_by("-id")
    name = params.get("name")
    if name and name != "undefined":
        channels = channels.filter(name__icontains=name)
    return page("channels", session.resources().channels(list(channels[:100])), {})


def _joinable_channels(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    joined = user_channels(user=session.user).values("pk")
    channels = (
        Channel.objects.filter(application=session.application, type=ChannelType.PUBLIC)
        .exclude(pk__in=joined)
        .order_by("-id")
    )
    return page("channels", session.resources().channels(list(channels[:100])), {})


def _channel(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    channel = _visible_channel(session, int(match["channel"]), for_rendering=True)
    return session.resources().channel(channel)


def _channel_messages(session: Session, match: re.Match[str], params: dict[str, str]) -> Any:
    channel = _visible_channel(session, int(match["channel"]))
    messages = channel_messages(channel=channel).select_related("user")
    before = params.get("before", "")
    if before.isdigit():
        messages = messages.filter(pk__lt=int(before))
    found = list(messages.order_by("-pk")[: PAGE_SIZE + 1])
    relays = {}
    if len(found) > PAGE_SIZE:
        found = found[:PAGE_SIZE]
        relays["next"] = f"/application/channels/{channel.pk}/messages.relay?before={found[-1].pk}"
    resources = session.resources()
    resources.renderer.load_mentioned([row for m in found for row in m.mentions or ()])
    return page("messages", [resources.message(message) for message in found], relays)


def _visible_channel(session: Session, channel_id: int, *, for_rendering: bool = False) -> Channel:
    """A channel this user may read: a member's, or any public channel of the application.

    ``for_rendering`` also loads its creator and members, which only an answer that renders the channel needs.
    """
    channel = get_channel(application=session.application, channel_id=channel_id, for_rendering=for_rendering)
    if channel.type != ChannelType.PUBLIC and not is_member(channel=channel, user=session.user):
        raise NotFound(f"Channel {channel_id} not found.")
    return channel


# --- actions ------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What an action produced: a resource to push with the receipt (on ``topic``, as event ``event``), or only a
    RECEIPT frame. ``awaits`` names the bus event that carries the resource to this client when it listens on
    ``topic``, so that one frame answers the action and delivers the event."""

    resource: Any = None
    event: str | None = None
    topic: str | None = None
    awaits: tuple[str, int] | None = None
    receipt_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _send_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    channel = _visible_channel(session, int(match["channel"]))
    if body.get("type", MessageType.TEXT) != MessageType.TEXT:
        raise Invalid("Only TEXT messages can be sent as an action; upload files through the stream.", field="type")
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise Invalid("properties must be an object.", field="properties")
    group_tag = body.get("groupTag")
    message = check_send_message(
        channel,
        message_type=MessageType.TEXT,
        body=body.get("body"),
        user=session.user,
        group_tag=group_tag if isinstance(group_tag, str) else None,
        properties=properties,
    )
    return Outcome(
        resource=session.resources().message(message),
        event="channel.message.created",
        topic=channel_topic(channel.pk, "messages"),
        awaits=("message.created", message.pk),
    )


def _read_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    channel = _visible_channel(session, int(match["channel"]))
    if is_member(channel=channel, user=session.user):
        do_read_channel(channel, session.user)
    return Outcome(receipt_only=True)


def _keystrokes(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    _visible_channel(session, int(match["channel"]))
    return Outcome(receipt_only=True)


Relay = Callable[[Session, re.Match[str], dict[str, str]], Any]
Action = Callable[[Session, re.Match[str], dict[str, Any]], Outcome]

RELAYS: list[tuple[re.Pattern[str], Relay]] = [
    (re.compile(r"/application/user\.relay"), _current_user),
    (re.compile(r"/application/user\.(read|write)_file_access_grant\.relay"), _file_grant),
    (re.compile(r"/application/user/channels\.relay"), _my_channels),
    (re.compile(r"/application/user/joinable_channels\.relay"), _joinable_channels),
    (re.compile(r"/application/channels/(?P<channel>\d+)\.relay"), _channel),
    (re.compile(r"/application/channels/(?P<channel>\d+)/messages\.relay"), _channel_messages),
]
ACTIONS: list[tuple[re.Pattern[str], Action]] = [
    (re.compile(r"/application/channels/(?P<channel>\d+)\.message"), _send_message),
    (re.compile(r"/application/channels/(?P<channel>\d+)\.read"), _read_channel),
    (re.compile(r"/application/channels/(?P<channel>\d+)\.keystrokes"), _keystrokes),
]
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


def authorize_topic(session: Session, destination: str) -> None:
    """Refuse a topic of another user, or of a channel this user may not read (another tenant's included)."""
    if match := USER_TOPIC.fullmatch(destination):
        if int(match["user"]) != session.user.pk or match["name"] not in USER_TOPICS:
            raise Forbidden(f"Not your topic: {destination[:200]!r}.")
        return
    if match := CHANNEL_TOPIC.fullmatch(destination):
        if match["name"] not in CHANNEL_TOPICS:
            raise NotFound(f"Unknown topic {destination[:200]!r}.")
        _visible_channel(session, int(match["channel"]))
        return
    if destination != ERRORS_QUEUE:
        raise NotFound(f"Unknown topic {destination[:200]!r}.")
