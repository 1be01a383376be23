"""The event catalogue: every type of event the bus carries, the data it carries, and who consumes it.

An action can only build an ``Event`` of a type declared here, with the data declared here (``chat.events.Event``
checks both when it is made). ``tests/chat/test_event_catalogue.py`` runs every action and fails when a declared
type is never sent, or when a type declared for live clients reaches none; the hub's handlers
(``chat.realtime.deliveries``) and the function triggers (``functions.triggers``) must cover exactly the types
declared for them.
"""

import enum
from dataclasses import dataclass, field


class Consumer(enum.Flag):
    """Who hears of an event: live clients (websockets, through every process's hub), chat functions, and tenants'
    backends (the event log: ``GET /v1/events`` and webhooks; every lasting change, nothing fleeting)."""

    LIVE = enum.auto()
    FUNCTIONS = enum.auto()
    BACKENDS = enum.auto()


LIVE, FUNCTIONS, BACKENDS = Consumer.LIVE, Consumer.FUNCTIONS, Consumer.BACKENDS


@dataclass(frozen=True)
class EventType:
    """One type of event: what it is about (``resource``), its data by key, and who consumes it.

    Lasting channel events take the channel's next sequence number (``data["sequence"]``); fleeting ones
    (``sequenced=False``) take none.
    """

    name: str
    resource: str
    consumers: Consumer
    data: dict[str, str] = field(default_factory=dict)
    optional: dict[str, str] = field(default_factory=dict)
    sequenced: bool = True

    def allows(self, keys: set[str]) -> str | None:
        """Why ``keys`` are not this type's data (None when they are)."""
        missing = set(self.data) - keys
        unknown = keys - set(self.data) - set(self.optional) - {"sequence"}
        if missing or unknown:
            return f"{self.name}: missing {sorted(missing)}, undeclared {sorted(unknown)}"
        return None


USER = {"user_id": "the user concerned"}
MESSAGE = {"thread_id": "the message's thread", "user_id": "its sender (None for a system message)"}
REACTION = {"user_id": "who reacted", "emoji": "the reaction"}
JOB = {"job_type": "what the job imports or exports"}

CATALOGUE: dict[str, EventType] = {
    declared.name: declared
    for declared in (
        EventType("application.settings.updated", "application", LIVE | BACKENDS),
        EventType("user.created", "user", FUNCTIONS | BACKENDS),
        EventType("user.updated", "user", LIVE | FUNCTIONS | BACKENDS),
        EventType("user.deleted", "user", FUNCTIONS | BACKENDS),
        EventType("user.presence.changed", "user", LIVE | BACKENDS, {"online": "whether the user is online now"}),
        EventType("user.blocked", "user", LIVE | BACKENDS, {"blocker_id": "who blocked the user"}),
        EventType("user.unblocked", "user", LIVE | BACKENDS, {"blocker_id": "who lifted the block"}),
        EventType("channel.created", "channel", LIVE | FUNCTIONS | BACKENDS),
        EventType("channel.updated", "channel", LIVE | FUNCTIONS | BACKENDS),
        EventType("channel.deleted", "channel", LIVE | FUNCTIONS | BACKENDS, {"member_ids": "who belonged to it"}),
        EventType("channel.messages.deleted", "channel", LIVE | BACKENDS),
        EventType("channel.member.added", "channel", LIVE | FUNCTIONS | BACKENDS, USER),
        EventType("channel.member.removed", "channel", LIVE | FUNCTIONS | BACKENDS, USER),
        EventType("channel.member.muted", "channel", LIVE | BACKENDS, {**USER, "muted": "muted (true) or unmuted"}),
        EventType("channel.moderator.added", "channel", LIVE | BACKENDS, USER),
        EventType("channel.moderator.removed", "channel", LIVE | BACKENDS, USER),
        EventType("channel.invite.sent", "channel", FUNCTIONS | BACKENDS, USER),
        EventType("channel.block_record.created", "channel", LIVE | BACKENDS, USER),
        EventType("channel.block_record.deleted", "channel", LIVE | BACKENDS, USER),
        EventType("channel.hidden", "channel", LIVE | BACKENDS, USER),
        EventType(
            "channel.history.cleared",
            "channel",
            LIVE | BACKENDS,
            {**USER, "sequence_cleared": "the newest message cleared"},
        ),
        EventType(
            "channel.read",
            "channel",
            LIVE | FUNCTIONS | BACKENDS,
            {**USER, "message_id": "read up to this message", "read_time": "when (ISO 8601)"},
        ),
        EventType("channel.unread", "channel", LIVE | BACKENDS, {**USER, "message_id": "unread from this message on"}),
        EventType("channel.thread.created", "channel", FUNCTIONS | BACKENDS, {"thread_id": "the new named thread"}),
        EventType(
            "channel.event.sent",
            "channel",
            LIVE | FUNCTIONS | BACKENDS,
            {"event_type": "the custom event's type", "properties": "its properties"},
            {"user_id": "who sent it (absent: the system)"},
        ),
        EventType("channel.participant.active", "channel", LIVE | FUNCTIONS, USER, sequenced=False),
        EventType("user.session.started", "user_session", BACKENDS, USER),
        EventType("user.session.resumed", "user_session", BACKENDS, USER),
        EventType("user.session.ended", "user_session", BACKENDS, USER),
        EventType("chat.session.started", "chat_session", BACKENDS, USER, sequenced=False),
        EventType("chat.session.ended", "chat_session", BACKENDS, USER, sequenced=False),
        EventType("job.created", "job", BACKENDS, JOB),
        EventType("job.started", "job", BACKENDS, JOB),
        EventType("job.finished", "job", BACKENDS, JOB),
        EventType("job.failed", "job", BACKENDS, {**JOB, "reason": "why it cannot go on"}),
        EventType("channel.participant.inactive", "channel", LIVE, USER, sequenced=False),
        EventType(
            "thread.keystrokes.created",
            "thread",
            LIVE,
            {**USER, "username": "the typist's name", "keys": "what they typed"},
            sequenced=False,
        ),
        EventType(
            "message.created",
            "message",
            LIVE | FUNCTIONS | BACKENDS,
            MESSAGE,
            {"unhides": "members who had hidden the (direct) channel and see it again"},
        ),
        EventType("message.updated", "message", LIVE | FUNCTIONS | BACKENDS, MESSAGE),
        EventType("message.reported", "message", LIVE | BACKENDS, MESSAGE),
        EventType(
            "message.deleted", "message", LIVE | FUNCTIONS | BACKENDS, {**MESSAGE, "snapshot": "the message as it was"}
        ),
        EventType("message.reaction.created", "message", LIVE | FUNCTIONS | BACKENDS, REACTION),
        EventType("message.reaction.removed", "message", LIVE | BACKENDS, REACTION),
        EventType(
            "push.sent",
            "push",
            LIVE,
            {"channel": "the socket-service channel name", "event": "the event's name", "data": "its data"},
        ),
    )
}

UNSEQUENCED = frozenset(name for name, declared in CATALOGUE.items() if not declared.sequenced)


def of_consumer(consumer: Consumer) -> set[str]:
    """The types that ``consumer`` hears of."""
    return {name for name, declared in CATALOGUE.items() if consumer in declared.consumers}
