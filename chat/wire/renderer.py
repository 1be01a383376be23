"""The ``Renderer``: renders models for one response (an HTTP request's or a websocket frame's) with links under
its base URL, reusing one serializer per kind; the other apps add their kinds to ``Renderer.SERIALIZERS``."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from rest_framework import serializers

from chat.models import (
    Channel,
    ChatUser,
    Message,
    Thread,
)
from chat.selectors.applications import chat_sessions_by_id, user_sessions_by_id
from chat.selectors.channels import channels_by_id, channels_for_rendering, last_messages
from chat.selectors.live import messages_by_id
from chat.selectors.users import users_by_id
from chat.wire.applications import ApplicationResourceSerializer, ApplicationSettingsResourceSerializer
from chat.wire.channels import (
    CHANNEL_SERIALIZERS,
    ChannelInviteResourceSerializer,
    ChannelMembershipResourceSerializer,
    ChatSessionResourceSerializer,
    MessageReadReceiptSummaryResourceSerializer,
    RoomKeyResourceSerializer,
)
from chat.wire.messages import (
    MESSAGE_SERIALIZERS,
    MessageMentionChannelPropertiesSerializer,
    MessageReadReceiptResourceSerializer,
    ReplyThreadResourceSerializer,
)
from chat.wire.notifications import NotificationResourceSerializer
from chat.wire.reuse import reused
from chat.wire.users import ChatUserPropertiesSerializer, ChatUserResourceSerializer, ChatUserSessionResourceSerializer


class Renderer:
    """Renders models for one response (an HTTP request's, or a websocket frame's), with links under ``base_url``."""

    # The core's kinds; the other apps add theirs (``functions.wire``, ``imports.wire``) in their AppConfig.ready.
    SERIALIZERS: ClassVar[dict[str, type[serializers.Serializer]]] = {
        "user": ChatUserResourceSerializer,
        "user_properties": ChatUserPropertiesSerializer,
        "thread": ReplyThreadResourceSerializer,
        "membership": ChannelMembershipResourceSerializer,
        "invite": ChannelInviteResourceSerializer,
        "receipt": MessageReadReceiptResourceSerializer,
        "receipt_summary": MessageReadReceiptSummaryResourceSerializer,
        "notification": NotificationResourceSerializer,
        "user_session": ChatUserSessionResourceSerializer,
        "chat_session": ChatSessionResourceSerializer,
        "room_key": RoomKeyResourceSerializer,
        "application": ApplicationResourceSerializer,
        "settings": ApplicationSettingsResourceSerializer,
    }

    # How ``by_ids`` loads the kinds it renders plainly (by ``SERIALIZERS``); the other apps add theirs.
    LOADERS: ClassVar[dict[str, Callable[[set[int]], dict[int, Any]]]] = {
        "user_session": user_sessions_by_id,
        "chat_session": chat_sessions_by_id,
    }

    def __init__(self, base_url: str, *, one_moment: bool = False) -> None:
        """``one_moment``: everything this renderer renders shows one moment (one event's deliveries), so that each
        message is rendered once however many resources show it."""
        self.base_url = base_url.rstrip("/")
        self._messages: dict[tuple[int, bool], dict[str, Any]] | None = {} if one_moment else None
        self._contexts = {
            nested: {"base_url": self.base_url, "renderer": self, "nested": nested} for nested in (False, True)
        }
        self._mentioned_users: dict[int, ChatUser] = {}
        self._mentioned_channels: dict[int, Channel] = {}
        self._last_messages: dict[int, Message | None] = {}

    def _serializer(self, cls: type[serializers.Serializer], nested: bool) -> serializers.Serializer:
        serializer = reused(cls, nested)
        serializer._context = self._contexts[nested]  # DRF's own attribute for the context; see chat.wire.reuse
        return serializer

    def render(self, kind: str, instance: Any) -> dict[str, Any]:
        """Render one instance of a kind named in ``SERIALIZERS``."""
        return self._serializer(self.SERIALIZERS[kind], False).to_representation(instance)

    # The channels that one item of a kind renders, so that a page loads their newest messages in one batch.
    CHANNELS_OF: ClassVar[dict[str, Callable[[Any], list[Channel | None]]]] = {
        "notification": lambda notification: [notification.channel, notification.mentioned_channel],
        "receipt_summary": lambda membership: [membership.channel],
    }

    def many(self, kind: str) -> Callable[[Iterable[Any]], list[dict[str, Any]]]:
        """A function rendering a page of instances of ``kind``."""

        def render_page(items: Iterable[Any]) -> list[dict[str, Any]]:
            items = list(items)
            if kind in self.CHANNELS_OF:
                self.load_last_messages([c for item in items for c in self.CHANNELS_OF[kind](item) if c is not None])
            return [self.render(kind, item) for item in items]

        return render_page

    def by_id(self, kind: str, pk: int | None) -> dict[str, Any] | None:
        """A user, channel, message or thread found by id, rendered as it is now; None when there is none (deleted)
        (what chat functions' arguments show)."""
        return self.by_ids(kind, [pk]).get(pk) if pk else None

    def by_ids(self, kind: str, pks: Iterable[int | None]) -> dict[int, dict[str, Any]]:
        """Users, channels, messages, threads or a kind of ``LOADERS`` found by id, in one query per kind (and what
        they show), rendered as they are now; the ones that are gone are left out (what the event log's resources
        show)."""
        wanted = {pk for pk in pks if pk}
        if not wanted:
            return {}
        if kind == "message":
            found = messages_by_id(wanted)
            self.load_mentioned([row for message in found.values() for row in message.mentions or ()])
            return {pk: self.message(message) for pk, message in found.items()}
        if kind == "channel":
            channels = channels_for_rendering(wanted)
            self.load_last_messages(channels.values())
            return {pk: self.channel(channel) for pk, channel in channels.items()}
        if kind == "user":
            return {pk: self.user(user) for pk, user in users_by_id(wanted).items()}
        if kind == "thread":
            return {pk: self.render("thread", thread) for pk, thread in Thread.objects.in_bulk(list(wanted)).items()}
        if kind in self.LOADERS:
            return {pk: self.render(kind, found) for pk, found in self.LOADERS[kind](wanted).items()}
        return {}

    def user(self, user: ChatUser, nested: bool = False) -> dict[str, Any]:
        """A user; nested users carry no links."""
        return self._serializer(ChatUserResourceSerializer, nested).to_representation(user)

    def message(self, message: Message, nested: bool = False) -> dict[str, Any]:
        """A message of any type."""
        if self._messages is None:
            return self._serializer(MESSAGE_SERIALIZERS[message.type], nested).to_representation(message)
        key = (message.pk, nested)
        if key not in self._messages:
            self._messages[key] = self._serializer(MESSAGE_SERIALIZERS[message.type], nested).to_representation(message)
        return self._messages[key]

    def messages(self, messages: Iterable[Message]) -> list[dict[str, Any]]:
        """A list of messages; what they mention is loaded in one query per kind."""
        messages = list(messages)
        self.load_mentioned([row for message in messages for row in message.mentions or ()])
        return [self.message(message) for message in messages]

    def load_mentioned(self, rows: Iterable[dict[str, Any]]) -> None:
        """Load, in one query per kind, the users and channels that stored mention rows name."""
        rows = list(rows)
        user_ids = {row["user_id"] for row in rows if "user_id" in row} - self._mentioned_users.keys()
        channel_ids = {row["channel_id"] for row in rows if "channel_id" in row} - self._mentioned_channels.keys()
        if user_ids:
            self._mentioned_users.update(users_by_id(user_ids))
        if channel_ids:
            self._mentioned_channels.update(channels_by_id(channel_ids))

    def mentions(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stored mention rows with the users and channels they name (rows whose target is gone are left out)."""
        self.load_mentioned(rows)
        rendered = []
        for row in rows:
            position = {"tag": row["tag"], "startPosition": row["startPosition"], "endPosition": row["endPosition"]}
            if "user_id" in row and row["user_id"] in self._mentioned_users:
                user = self.user(self._mentioned_users[row["user_id"]], nested=True)
                rendered.append({"type": "USER", **position, "user": user})
            elif "channel_id" in row and row["channel_id"] in self._mentioned_channels:
                channel = self._serializer(MessageMentionChannelPropertiesSerializer, True).to_representation(
                    self._mentioned_channels[row["channel_id"]]
                )
                rendered.append({"type": "CHANNEL", **position, "channel": channel})
        return rendered

    def channel(self, channel: Channel, nested: bool = False) -> dict[str, Any]:
        """A channel of any type."""
        return self._serializer(CHANNEL_SERIALIZERS[channel.type], nested).to_representation(channel)

    def channels(self, channels: Sequence[Channel]) -> list[dict[str, Any]]:
        """A list of channels; their newest messages are loaded together."""
        self.load_last_messages(channels)
        return [self.channel(channel) for channel in channels]

    def load_last_messages(self, channels: Iterable[Channel]) -> None:
        """Load the newest message of each channel in one batch, for ``lastReceivedMessage``."""
        missing = {channel.pk: channel for channel in channels if channel.pk not in self._last_messages}
        if missing:
            self._last_messages.update(last_messages(list(missing.values())))

    def last_message(self, channel: Channel) -> Message | None:
        """The newest message of the channel's main thread."""
        self.load_last_messages([channel])
        return self._last_messages[channel.pk]
