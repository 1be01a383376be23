"""What one event of the bus means for live clients: which topics hear of it, as which StompX event, with what.

``deliveries`` runs in a worker thread (it reads the database) and is called once per event per process; the hub
renders each delivery once per base URL and writes it to every local listener. ``listening`` tells which topics
have local listeners, so that per-user deliveries (notifications, a member's channel list) are only looked up for
users connected to this process, and not at all (no query of members or contacts) when no local connection listens
to that kind of topic.
"""

from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from chat.models import ChannelBlock, Message, Notification, ThreadType
from chat.realtime.resources import Resources, channel_topic, features, user_topic
from chat.selectors.channels import channel_for_rendering
from chat.selectors.live import (
    application_by_id,
    author_id,
    channel_block,
    channel_ids_of,
    contact_ids,
    live_notifications,
    member_ids,
    message_by_id,
    online_user_ids,
    user_by_id,
)
from chat.wire.timestamps import timestamp


@dataclass(frozen=True)
class Listening:
    """Which topics have listeners on this process: each topic, and each kind of topic (``topic_kind``)."""

    topics: Container[str]
    kinds: Mapping[str, int]

    def __call__(self, topic: str) -> bool:
        """Whether a local connection listens on ``topic``."""
        return topic in self.topics

    def anyone(self, kind: str) -> bool:
        """Whether a local connection listens on any topic of ``kind`` (``users/notifications``)."""
        return bool(self.kinds.get(kind))


@dataclass(frozen=True)
class Delivery:
    """One event to push: on ``topic``, typed ``event_type``, its resource rendered by ``render``."""

    topic: str
    event_type: str
    render: Callable[[Resources], Any]


def _listening_users(user_ids: Callable[[], Iterable[int]], name: str, listening: Listening) -> list[int]:
    """The users whose ``name`` topic has a local listener; ``user_ids`` is only read if some user's has."""
    if not listening.anyone(f"users/{name}"):
        return []
    return [pk for pk in user_ids() if listening(user_topic(pk, name))]


def _message(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    message = message_by_id(event["resource_id"])
    if message is None:
        return []
    created = event["type"] == "message.created"
    event_type = created_event_type(message) if created else "channel.message.updated"  # edited, or reported
    found = [Delivery(channel_topic(message.channel_id, "messages"), event_type, _of_message(message, new=created))]
    if created:
        found += _notifications(message, listening)
        found += _unhidden(message, event["data"].get("unhides", ()), listening)
    return found


def _unhidden(message: Message, unhides: Any, listening: Listening) -> list[Delivery]:
    """Members who hid the channel see it again in their list when a new message arrives."""
    recipients = _listening_users(lambda: unhides, "channels", listening)
    if not recipients:
        return []
    channel = channel_for_rendering(channel_id=message.channel_id)
    return [
        Delivery(user_topic(pk, "channels"), "user.channel.unhidden", lambda r: r.channel(channel))
        for pk in recipients
        if channel is not None
    ]


# A member changed the channel for themselves: their channel list (in every session of theirs) hears it as this.
OWN_CHANNEL_EVENTS = {
    "channel.hidden": "user.channel.hidden",
    "channel.member.muted": "user.channel.updated",
    "channel.history.cleared": "user.channel.updated",
}


def _own_channel_change(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    user_id = event["data"]["user_id"]
    channel = channel_for_rendering(channel_id=event["channel_id"])
    if channel is None or not listening(user_topic(user_id, "channels")):
        return []
    event_type = OWN_CHANNEL_EVENTS[event["type"]]
    return [Delivery(user_topic(user_id, "channels"), event_type, lambda r: r.channel(channel))]


def created_event_type(message: Message) -> str:
    """A new message reaches the channel's chat, or, in a named thread, that thread's listeners (on the channel's
    topic)."""
    return "thread.message.created" if message.thread.type == ThreadType.STANDALONE else "channel.message.created"


def _of_message(message: Message, *, new: bool) -> Callable[[Resources], Any]:
    if new:
        return lambda resources: resources.new_message(message)
    return lambda resources: resources.message(message)


def _notifications(message: Message, listening: Listening) -> list[Delivery]:
    recipients = _listening_users(lambda: member_ids(message.channel_id), "notifications", listening)
    if not recipients:
        return []
    notifications = live_notifications(message, recipients)
    return [
        Delivery(user_topic(notification.user_id, "notifications"), "user.notification.created", _of(notification))
        for notification in notifications
    ]


def _of(notification: Notification) -> Callable[[Resources], Any]:
    return lambda resources: resources.renderer.render("notification", notification)


def _deleted_message(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    snapshot = {**event["data"]["snapshot"]}
    snapshot["createdTime"] = timestamp(datetime.fromisoformat(snapshot["createdTime"]))
    return [
        Delivery(
            channel_topic(event["channel_id"], "messages"),
            "channel.message.deleted",
            lambda resources: resources.deleted_message(snapshot),
        )
    ]


def _reaction(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    message = message_by_id(event["resource_id"])
    user = user_by_id(event["data"]["user_id"])
    if message is None or user is None:
        return []
    emoji = event["data"]["emoji"]
    return [
        Delivery(
            channel_topic(message.channel_id, "reactions"),
            event["type"],
            lambda resources: resources.reaction(message, emoji, user),
        )
    ]


def _receipt(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    user = user_by_id(event["data"]["user_id"])
    if user is None:
        return []
    message_id = event["data"]["message_id"]
    read = event["type"] == "channel.read"
    name = "message.read_receipt.created" if read else "message.read_receipt.deleted"
    created = timestamp(datetime.fromisoformat(event["data"]["read_time"])) if "read_time" in event["data"] else ""

    def render(resources: Resources) -> Any:
        return resources.receipt(user, message_id, created)

    found = [Delivery(channel_topic(event["channel_id"], "readReceipts"), name, render)]
    author = author_id(message_id)
    if author and author != user.pk and listening(user_topic(author, "readReceipts")):
        found.append(Delivery(user_topic(author, "readReceipts"), name, render))
    return found


def _channel_change(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    kind = event["type"].split(".", 1)[1]
    pk = event["channel_id"]
    if kind == "deleted":
        snapshot = {"id": pk, "_relays": {}, "_topics": {}, "_actions": {}}
        members = _listening_users(lambda: event["data"].get("member_ids", []), "channels", listening)
        return [
            Delivery(channel_topic(pk, "self"), "channel.self.deleted", lambda resources: snapshot),
            *(Delivery(user_topic(m, "channels"), "user.channel.deleted", lambda r: snapshot) for m in members),
        ]
    channel = channel_for_rendering(channel_id=event["channel_id"])
    if channel is None:
        return []

    def render(resources: Resources) -> Any:
        return resources.channel(channel)

    if kind in ("updated", "messages.deleted"):  # a new name or properties; or no more messages
        return [
            Delivery(channel_topic(pk, "self"), "channel.self.updated", render),
            *(
                Delivery(user_topic(m, "channels"), "user.channel.updated", render)
                for m in _listening_users(lambda: member_ids(pk), "channels", listening)
            ),
        ]
    if kind == "created":
        return [
            Delivery(user_topic(m, "channels"), "user.channel.joined", render)
            for m in _listening_users(lambda: member_ids(pk), "channels", listening)
        ]
    return []


MEMBER_EVENTS = {
    "channel.member.added": ("members", "channel.member.joined", "user.channel.joined"),
    "channel.member.removed": ("members", "channel.member.left", "me.channel.left"),
    "channel.moderator.added": ("moderators", "channel.moderator.added", None),
    "channel.moderator.removed": ("moderators", "channel.moderator.deleted", None),
}


def _membership(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    topic, channel_event, user_event = MEMBER_EVENTS[event["type"]]
    user = user_by_id(event["data"]["user_id"])
    if user is None:
        return []
    found = [Delivery(channel_topic(event["channel_id"], topic), channel_event, lambda r: r.user(user))]
    if user_event and listening(user_topic(user.pk, "channels")):
        channel = channel_for_rendering(channel_id=event["channel_id"])
        if channel is not None:
            found.append(Delivery(user_topic(user.pk, "channels"), user_event, lambda r: r.channel(channel)))
    return found


def _custom_event(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    data = event["data"]
    user = user_by_id(data["user_id"]) if data.get("user_id") else None

    def render(resources: Resources) -> Any:
        resource = {"type": data["event_type"], "properties": data["properties"], "_relays": {}}
        if user is not None:
            resource["user"] = resources.renderer.user(user, nested=True)
        return resource

    return [Delivery(channel_topic(event["channel_id"], "events"), "channel.event.triggered", render)]


def _keystrokes(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    data = event["data"]
    resource = {"username": data["username"], "keys": data["keys"], "_relays": {}}
    return [Delivery(channel_topic(event["channel_id"], "keystrokes"), "thread.keystrokes.created", lambda r: resource)]


def _user_change(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    user = user_by_id(event["resource_id"])
    if user is None:
        return []
    found = []
    if event["type"] == "user.updated":
        found.append(Delivery(user_topic(user.pk, "self"), "user.self.updated", lambda r: r.current_user(user)))
    contact_event = "contact.presence.changed" if event["type"] == "user.presence.changed" else "contact.user.updated"
    contacts = _listening_users(lambda: contact_ids(user), "contacts", listening)
    found += [Delivery(user_topic(pk, "contacts"), contact_event, lambda r: r.user(user)) for pk in contacts]
    if event["type"] == "user.presence.changed" and listening.anyone("channels/participants"):
        channels = channel_ids_of(user)
        found += [
            Delivery(channel_topic(pk, "participants"), "participant.presence.changed", lambda r: r.user(user))
            for pk in channels
            if listening(channel_topic(pk, "participants"))
        ]
    return found


def _channel_block(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    kind = event["type"].rsplit(".", 1)[1]
    block = ChannelBlock(
        channel_id=event["channel_id"],
        user=user_by_id(event["data"]["user_id"]),
        created_time=timezone.now(),
    )
    if kind == "created":
        block = channel_block(event["channel_id"], event["data"]["user_id"]) or block
    if block.user is None:
        return []
    return [
        Delivery(
            channel_topic(event["channel_id"], "blockRecords"),
            f"channel.block_record.{kind}",
            lambda r: r.channel_block(block),
        )
    ]


def _user_block(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    blocker, blocked_id = event["data"]["blocker_id"], event["resource_id"]
    blocked = user_by_id(blocked_id)
    if blocked is None or not listening(user_topic(blocker, "users")):
        return []
    event_type = "user.user_blocklist_item.created" if event["type"] == "user.blocked" else "user.user.unblocked"
    return [Delivery(user_topic(blocker, "users"), event_type, lambda r: r.user(blocked))]


def _participant(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    """Someone entered or left a channel's chat."""
    user = user_by_id(event["data"]["user_id"])
    if user is None:
        return []
    return [Delivery(channel_topic(event["channel_id"], "participants"), event["type"], lambda r: r.user(user))]


def push_topic(application_id: int, channel: str) -> str:
    """The hub topic of a socket-service channel name."""
    return f"push:{application_id}:{channel}"


def _push(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    """An event a backend pushed to a socket-service channel name: the sockets subscribed to it get it as is."""
    pushed = event["data"]
    return [Delivery(push_topic(event["application_id"], pushed["channel"]), pushed["event"], lambda r: pushed["data"])]


def typing_deliveries(channel_id: int, user_id: int, started: bool, listening: Listening) -> list[Delivery]:
    """A user started or stopped typing: on the channel's typing topic, and on the other members' participants
    topics (the SDK's global typing listeners)."""
    user = user_by_id(user_id)
    if user is None:
        return []
    kind = "started" if started else "stopped"
    found = []
    if listening(channel_topic(channel_id, "typing")):
        found.append(Delivery(channel_topic(channel_id, "typing"), f"thread.typing.{kind}", lambda r: r.user(user)))
    for pk in _listening_users(lambda: member_ids(channel_id, but=user_id), "participants", listening):
        found.append(Delivery(user_topic(pk, "participants"), f"participant.typing.{kind}", lambda r: r.user(user)))
    return found


def _application_settings(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    application = application_by_id(event["application_id"])
    if application is None:
        return []
    listeners = _listening_users(lambda: online_user_ids(application), "features", listening)
    options = features(application) if listeners else {}
    return [Delivery(user_topic(pk, "features"), "application.features.updated", lambda r: options) for pk in listeners]


HANDLERS: dict[str, Callable[[dict[str, Any], Listening], list[Delivery]]] = {
    "message.created": _message,
    "message.updated": _message,
    "message.reported": _message,
    "message.deleted": _deleted_message,
    "message.reaction.created": _reaction,
    "message.reaction.removed": _reaction,
    "channel.read": _receipt,
    "channel.unread": _receipt,
    "channel.created": _channel_change,
    "channel.updated": _channel_change,
    "channel.deleted": _channel_change,
    "channel.messages.deleted": _channel_change,
    **dict.fromkeys(OWN_CHANNEL_EVENTS, _own_channel_change),
    "channel.block_record.created": _channel_block,
    "channel.block_record.deleted": _channel_block,
    "application.settings.updated": _application_settings,
    "push.sent": _push,
    "user.blocked": _user_block,
    "user.unblocked": _user_block,
    **dict.fromkeys(MEMBER_EVENTS, _membership),
    "channel.event.sent": _custom_event,
    "channel.participant.active": _participant,
    "channel.participant.inactive": _participant,
    "thread.keystrokes.created": _keystrokes,
    "user.updated": _user_change,
    "user.presence.changed": _user_change,
}


# Who can hear of an event: topics of its own channel by name, then topics of any user (or any channel) by name.
AUDIENCE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "message.created": (("messages", "typing"), ("users/notifications", "users/channels")),
    "message.updated": (("messages",), ()),
    "message.reported": (("messages",), ()),
    "message.deleted": (("messages",), ()),
    "message.reaction.created": (("reactions",), ()),
    "message.reaction.removed": (("reactions",), ()),
    "channel.read": (("readReceipts",), ("users/readReceipts",)),
    "channel.unread": (("readReceipts",), ("users/readReceipts",)),
    "channel.created": ((), ("users/channels",)),
    "channel.updated": (("self",), ("users/channels",)),
    "channel.deleted": (("self",), ("users/channels",)),
    "channel.messages.deleted": (("self",), ("users/channels",)),
    "channel.hidden": ((), ("users/channels",)),
    "channel.member.muted": ((), ("users/channels",)),
    "channel.history.cleared": ((), ("users/channels",)),
    "channel.block_record.created": (("blockRecords",), ()),
    "channel.block_record.deleted": (("blockRecords",), ()),
    "application.settings.updated": ((), ("users/features",)),
    "user.blocked": ((), ("users/users",)),
    "user.unblocked": ((), ("users/users",)),
    "channel.member.added": (("members",), ("users/channels",)),
    "channel.member.removed": (("members",), ("users/channels",)),
    "channel.moderator.added": (("moderators",), ()),
    "channel.moderator.removed": (("moderators",), ()),
    "channel.event.sent": (("events",), ()),
    "channel.participant.active": (("participants",), ()),
    "channel.participant.inactive": (("participants",), ()),
    "thread.keystrokes.created": (("keystrokes", "typing"), ("users/participants",)),
    "user.updated": ((), ("users/self", "users/contacts")),
    "user.presence.changed": ((), ("users/contacts", "channels/participants")),
}


def topic_kind(topic: str) -> str:
    """``users/contacts`` for ``/topic/users/7/contacts``: what a topic is, whoever it belongs to."""
    parts = topic.split("/")
    return f"{parts[2]}/{parts[-1]}" if len(parts) == 5 else topic


def audible(event: dict[str, Any], topics: Any, kinds: Any) -> bool:
    """Whether any local listener could hear of ``event``; decided without the database."""
    if event["type"] == "push.sent":
        return push_topic(event["application_id"], event["data"]["channel"]) in topics
    audience = AUDIENCE.get(event["type"])
    if audience is None:
        return False
    own, anyone = audience
    channel = event.get("channel_id")
    return any(kinds.get(kind) for kind in anyone) or (
        channel is not None and any(channel_topic(channel, name) in topics for name in own)
    )


def deliveries(event: dict[str, Any], listening: Listening) -> list[Delivery]:
    """The deliveries of one bus event (none for events live clients do not hear of)."""
    handler = HANDLERS.get(event["type"])
    return handler(event, listening) if handler is not None else []
