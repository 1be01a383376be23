"""Resource representations: every model as the JSON the ChatKitty clients expect.

Serializers declare the exact camelCase keys (so the OpenAPI document is the wire format); absent optionals are
omitted, never null. ``Renderer`` reuses one serializer per kind for a whole response and builds absolute links.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from chat.bounds import renderable
from chat.models import (
    Application,
    Channel,
    ChannelMembership,
    ChannelType,
    ChatSession,
    ChatUser,
    Message,
    MessageType,
    Notification,
    RoomKey,
    Thread,
    UserSession,
    UserType,
)
from chat.selectors import channels_by_id, last_messages, users_by_id
from chat.wire.reuse import reused
from chat.wire.timestamps import timestamp

LINKS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {"href": {"type": "string"}},
        "required": ["href"],
    },
}


class Timestamp(serializers.DateTimeField):
    """ISO-8601 UTC with milliseconds."""

    def to_representation(self, value: Any) -> str:
        """Format a datetime the way the clients parse it."""
        return timestamp(value)


@extend_schema_field(LINKS_SCHEMA)
class LinksField(serializers.SerializerMethodField):
    """``_links``: a HAL map of rel → ``{"href"}``; dropped on nested resources."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(method_name="links", **kwargs)


class Computed(serializers.Field):
    """A required value computed by the serializer's ``get_<name>`` method, documented with ``schema``.

    Unlike ``SerializerMethodField`` it is not read-only, so the OpenAPI document lists it as required.
    """

    def __init__(self, schema: Any, **kwargs: Any) -> None:
        super().__init__(source="*", **kwargs)
        extend_schema_field(schema)(self)  # type: ignore[type-var]

    def to_representation(self, value: Any) -> Any:
        """Ask the parent serializer."""
        return getattr(self.parent, f"get_{self.field_name}")(value)


def kind(*values: str) -> serializers.ChoiceField:
    """The ``type`` discriminator of one concrete resource."""
    return serializers.ChoiceField(choices=[str(value) for value in values])


class Resource(serializers.Serializer):
    """Base of every representation: omits absent (``None``) values."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """Serialize, leaving out keys whose value is absent."""
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if value is not None}

    @property
    def nested(self) -> bool:
        """Nested resources carry no ``_links``."""
        return bool(self.context.get("nested"))

    def url(self, path: str) -> dict[str, str]:
        """A link object to ``path`` on this server."""
        return {"href": self.context["base_url"] + path}


class PresenceSerializer(serializers.Serializer):
    """A user's presence."""

    status = serializers.CharField()
    online = serializers.BooleanField()


class StoredObjectField(serializers.DictField):
    """A stored JSON object (properties), rendered as ``{}`` when it nests too deep to render (``chat.bounds``)."""

    def to_representation(self, value: Any) -> Any:
        """The object, or ``{}``."""
        return super().to_representation(renderable(value, self.field_name or "properties"))


class StoredJSONField(serializers.JSONField):
    """Any stored JSON value (secrets, function arguments and results), contained like ``StoredObjectField``."""

    def to_representation(self, value: Any) -> Any:
        """The value, or ``{}``."""
        return super().to_representation(renderable(value, self.field_name or "value"))


class ChatUserPropertiesSerializer(Resource):
    """A user as embedded in other resources."""

    type = kind(*UserType.values)
    id = serializers.IntegerField()
    name = serializers.CharField()
    displayName = serializers.CharField(source="display_name")
    displayPictureUrl = Computed(OpenApiTypes.STR)
    isGuest = serializers.BooleanField(source="is_guest")
    presence = Computed(PresenceSerializer)
    properties = StoredObjectField()

    def get_displayPictureUrl(self, user: ChatUser) -> str:  # noqa: N802
        """The user's picture, or a generated avatar of their initials."""
        if user.display_picture:
            return str(user.display_picture["url"])
        return self.context["base_url"] + "/avatars/initials.svg?name=" + quote(user.display_name)

    def get_presence(self, user: ChatUser) -> dict[str, Any]:
        """Presence status and whether the user is online now."""
        return {"status": user.presence_status, "online": user.online}


class ChatUserResourceSerializer(ChatUserPropertiesSerializer):
    """A user."""

    _links = LinksField()

    def links(self, user: ChatUser) -> dict[str, Any] | None:
        """Self, channels and display picture."""
        if self.nested:
            return None
        return {
            "self": self.url(f"/v1/users/{user.pk}"),
            "channels": self.url(f"/v1/users/{user.pk}/channels"),
            "displayPicture": {"href": self.get_displayPictureUrl(user)},
        }


class FilePropertiesSerializer(serializers.Serializer):
    """A file attached to a message or used as a picture."""

    type = serializers.CharField()
    url = serializers.CharField()
    name = serializers.CharField()
    contentType = serializers.CharField()
    size = serializers.IntegerField()


class MessageMentionChannelPropertiesSerializer(Resource):
    """A mentioned channel, in brief."""

    type = kind(*ChannelType.values)
    id = serializers.IntegerField()
    name = serializers.CharField(required=False)
    displayName = serializers.CharField(source="display_name", required=False)
    creator = ChatUserPropertiesSerializer(required=False)
    properties = StoredObjectField()
    createdTime = Timestamp(source="created_time")


class MentionBaseSerializer(serializers.Serializer):
    """Where a mention sits in the text, in UTF-16 code units."""

    tag = serializers.CharField()
    startPosition = serializers.IntegerField()
    endPosition = serializers.IntegerField()


class ChatUserMessageMentionPropertiesSerializer(MentionBaseSerializer):
    """A mention of a user."""

    type = kind("USER")
    user = ChatUserPropertiesSerializer()


class ChannelMessageMentionPropertiesSerializer(MentionBaseSerializer):
    """A mention of a channel (``#name``, or ``@channel`` for the channel itself)."""

    type = kind("CHANNEL")
    channel = MessageMentionChannelPropertiesSerializer()


MENTIONS_SCHEMA = PolymorphicProxySerializer(
    component_name="MessageMentionProperties",
    serializers={
        "USER": ChatUserMessageMentionPropertiesSerializer,
        "CHANNEL": ChannelMessageMentionPropertiesSerializer,
    },
    resource_type_field_name="type",
    many=True,
)


class MessageBaseSerializer(Resource):
    """Fields every message has."""

    id = serializers.IntegerField()
    channelId = serializers.IntegerField(source="channel_id")
    nestedLevel = serializers.IntegerField(source="nested_level")
    properties = StoredObjectField()
    createdTime = Timestamp(source="created_time")
    groupTag = serializers.CharField(source="group_tag", required=False)
    repliesCount = serializers.IntegerField(source="replies_count", required=False)
    lastEditedTime = Timestamp(source="last_edited_time", required=False)
    reportCount = serializers.SerializerMethodField(required=False)
    mentions = serializers.SerializerMethodField(required=False)
    _links = LinksField(required=False)

    @extend_schema_field(MENTIONS_SCHEMA)
    def get_mentions(self, message: Message) -> list[dict[str, Any]] | None:
        """The users and channels the text mentions, as they are now; omitted when there are none."""
        if not message.mentions:
            return None
        return self.context["renderer"].mentions(message.mentions)

    @extend_schema_field(OpenApiTypes.INT)
    def get_reportCount(self, message: Message) -> int | None:  # noqa: N802
        """How many users reported the message; omitted when none did."""
        return message.report_count or None

    def links(self, message: Message) -> dict[str, Any] | None:
        """Self, channel, thread and read receipts."""
        if self.nested:
            return None
        return {
            "self": self.url(f"/v1/messages/{message.pk}"),
            "channel": self.url(f"/v1/channels/{message.channel_id}"),
            "thread": self.url(f"/v1/threads/{message.thread_id}"),
            "readReceipts": self.url(f"/v1/messages/{message.pk}/read-receipts"),
        }


class TextChatUserMessageResourceSerializer(MessageBaseSerializer):
    """A text message sent by a user."""

    type = kind(MessageType.TEXT)
    body = serializers.CharField()
    user = ChatUserPropertiesSerializer()


class FileChatUserMessageResourceSerializer(MessageBaseSerializer):
    """A file message sent by a user."""

    type = kind(MessageType.FILE)
    file = FilePropertiesSerializer()
    user = ChatUserPropertiesSerializer()


class TextSystemMessageResourceSerializer(MessageBaseSerializer):
    """A text message sent by the application."""

    type = kind(MessageType.SYSTEM_TEXT)
    body = serializers.CharField()


class FileSystemMessageResourceSerializer(MessageBaseSerializer):
    """A file message sent by the application."""

    type = kind(MessageType.SYSTEM_FILE)
    file = FilePropertiesSerializer()


MESSAGE_SERIALIZERS: dict[str, type[MessageBaseSerializer]] = {
    MessageType.TEXT: TextChatUserMessageResourceSerializer,
    MessageType.FILE: FileChatUserMessageResourceSerializer,
    MessageType.SYSTEM_TEXT: TextSystemMessageResourceSerializer,
    MessageType.SYSTEM_FILE: FileSystemMessageResourceSerializer,
}


def MessageResource(**kwargs: Any) -> PolymorphicProxySerializer:  # noqa: N802  (reads as a serializer)
    """The message resource for the OpenAPI document: one of four shapes, picked by ``type``."""
    return PolymorphicProxySerializer(
        component_name="MessageResource",
        serializers=dict(MESSAGE_SERIALIZERS),
        resource_type_field_name="type",
        **kwargs,
    )


class ChannelBaseSerializer(Resource):
    """Fields every channel has."""

    id = serializers.IntegerField()
    properties = StoredObjectField()
    createdTime = Timestamp(source="created_time")
    creator = ChatUserPropertiesSerializer(required=False)
    lastReceivedMessage = serializers.SerializerMethodField(required=False)
    _links = LinksField(required=False)

    @extend_schema_field(MessageResource())
    def get_lastReceivedMessage(self, channel: Channel) -> dict[str, Any] | None:  # noqa: N802
        """The newest message of the channel's main thread."""
        renderer: Renderer = self.context["renderer"]
        message = renderer.last_message(channel)
        return None if message is None else renderer.message(message, nested=True)

    def links(self, channel: Channel) -> dict[str, Any] | None:
        """Self, participants, members, messages and the main thread."""
        if self.nested:
            return None
        links = {
            "self": self.url(f"/v1/channels/{channel.pk}"),
            "participants": self.url(f"/v1/channels/{channel.pk}/participants"),
            "members": self.url(f"/v1/channels/{channel.pk}/members"),
            "messages": self.url(f"/v1/channels/{channel.pk}/messages"),
        }
        if channel.main_thread_id:
            links["thread"] = self.url(f"/v1/threads/{channel.main_thread_id}")
        return links


class PublicChannelResourceSerializer(ChannelBaseSerializer):
    """A public channel: anyone may join."""

    type = kind(ChannelType.PUBLIC)
    name = serializers.CharField()
    displayName = serializers.CharField(source="display_name")


class PrivateChannelResourceSerializer(PublicChannelResourceSerializer):
    """A private channel: members join by invitation."""

    type = kind(ChannelType.PRIVATE)


class DirectChannelResourceSerializer(ChannelBaseSerializer):
    """A direct channel, defined by its members."""

    type = kind(ChannelType.DIRECT)
    members = Computed(ChatUserPropertiesSerializer(many=True))

    def get_members(self, channel: Channel) -> list[dict[str, Any]]:
        """Every member, as user properties."""
        memberships = getattr(channel, "prefetched", None)
        if memberships is None:
            memberships = channel.memberships.select_related("user").order_by("id")
        renderer: Renderer = self.context["renderer"]
        return [renderer.user(membership.user, nested=True) for membership in memberships]


CHANNEL_SERIALIZERS: dict[str, type[ChannelBaseSerializer]] = {
    ChannelType.DIRECT: DirectChannelResourceSerializer,
    ChannelType.PUBLIC: PublicChannelResourceSerializer,
    ChannelType.PRIVATE: PrivateChannelResourceSerializer,
}


def ChannelResource(**kwargs: Any) -> PolymorphicProxySerializer:  # noqa: N802  (reads as a serializer)
    """The channel resource for the OpenAPI document: direct or group, picked by ``type``."""
    return PolymorphicProxySerializer(
        component_name="ChannelResource",
        serializers=dict(CHANNEL_SERIALIZERS),
        resource_type_field_name="type",
        **kwargs,
    )


class ReplyThreadResourceSerializer(Resource):
    """A thread: a channel's main thread, a message's replies, or a named standalone thread."""

    id = serializers.IntegerField()
    type = serializers.CharField()
    name = serializers.CharField(required=False)
    properties = StoredObjectField()
    createdTime = Timestamp(source="created_time")
    _links = LinksField(required=False)

    def links(self, thread: Thread) -> dict[str, Any] | None:
        """Self, channel, messages and, for replies, the message replied to."""
        links = {
            "self": self.url(f"/v1/threads/{thread.pk}"),
            "channel": self.url(f"/v1/channels/{thread.channel_id}"),
            "messages": self.url(f"/v1/threads/{thread.pk}/messages"),
        }
        if thread.parent_message_id:
            links["message"] = self.url(f"/v1/messages/{thread.parent_message_id}")
        return links


class ChannelMembershipResourceSerializer(Resource):
    """When a user joined a channel."""

    createdTime = Timestamp(source="created_time")
    _links = LinksField(required=False)

    def links(self, membership: ChannelMembership) -> dict[str, Any]:
        """The member and the channel."""
        return {
            "user": self.url(f"/v1/users/{membership.user_id}"),
            "channel": self.url(f"/v1/channels/{membership.channel_id}"),
        }


class ChannelInviteResourceSerializer(ChannelMembershipResourceSerializer):
    """When a user was invited to a channel."""


class MessageReadReceiptResourceSerializer(Resource):
    """A user who read a message, and when."""

    user = ChatUserPropertiesSerializer()
    createdTime = Timestamp(source="read_time")
    _links = LinksField(required=False)

    def links(self, user: ChatUser) -> dict[str, Any]:
        """The reader."""
        return {"user": self.url(f"/v1/users/{user.pk}")}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """A receipt is built from the reading user, annotated with ``read_time``."""
        return {
            "user": self.context["renderer"].user(instance, nested=True),
            "createdTime": timestamp(instance.read_time),
            "_links": self.links(instance),
        }


class MessageReadReceiptSummaryResourceSerializer(Resource):
    """How many messages of a channel a member has not read yet."""

    channel = ChannelResource()
    count = serializers.IntegerField(source="unread_count")
    user = ChatUserPropertiesSerializer()
    _links = LinksField(required=False)

    def links(self, membership: ChannelMembership) -> dict[str, Any]:
        """The member and the channel."""
        return {
            "user": self.url(f"/v1/users/{membership.user_id}"),
            "channel": self.url(f"/v1/channels/{membership.channel_id}"),
        }

    def to_representation(self, instance: ChannelMembership) -> dict[str, Any]:
        """The channel and user are rendered nested, as in the clients' models."""
        renderer: Renderer = self.context["renderer"]
        return {
            "channel": renderer.channel(instance.channel, nested=True),
            "count": instance.unread_count,  # type: ignore[attr-defined]
            "user": renderer.user(instance.user, nested=True),
            "_links": self.links(instance),
        }


class NotificationDataSerializer(serializers.Serializer):
    """What a notification is about; ``type`` picks which of the other keys are present."""

    type = serializers.CharField()
    channelId = serializers.IntegerField()
    message = MessageResource()
    parent = MessageResource(required=False)
    mentionedUser = ChatUserResourceSerializer(required=False)
    mentionedChannel = ChannelResource(required=False)
    _relays = serializers.DictField()


class NotificationResourceSerializer(Resource):
    """A notification a user received."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    channel = serializers.SerializerMethodField(required=False)
    data = Computed(NotificationDataSerializer)  # type: ignore[assignment]
    muted = serializers.BooleanField()
    createdTime = Timestamp(source="created_time")
    readTime = Timestamp(source="read_time", required=False)
    _links = LinksField(required=False)

    @extend_schema_field(ChannelResource())
    def get_channel(self, notification: Notification) -> dict[str, Any] | None:
        """The channel the notification came from."""
        if notification.channel is None:
            return None
        return self.context["renderer"].channel(notification.channel, nested=True)

    def get_data(self, notification: Notification) -> dict[str, Any]:
        """The message (and parent, mention) the notification is about, with the relays to fetch them live."""
        renderer: Renderer = self.context["renderer"]
        data: dict[str, Any] = {
            "type": notification.type,
            "message": renderer.message(notification.message),
            "channelId": notification.message.channel_id,
            "_relays": {"message": f"/application/v1/messages/{notification.message_id}.relay"},
        }
        if notification.parent_message is not None:
            data["parent"] = renderer.message(notification.parent_message)
        if notification.mentioned_user is not None:
            data["mentionedUser"] = renderer.user(notification.mentioned_user)
        if notification.mentioned_channel is not None:
            data["mentionedChannel"] = renderer.channel(notification.mentioned_channel)
        return data

    def links(self, notification: Notification) -> dict[str, Any]:
        """The recipient's notifications."""
        return {"user": self.url(f"/v1/users/{notification.user_id}/notifications")}


class ChatUserSessionPropertiesSerializer(Resource):
    """A user session as embedded in a chat session."""

    id = serializers.IntegerField()
    user = ChatUserPropertiesSerializer()
    state = serializers.CharField()
    userAgent = serializers.SerializerMethodField(required=False)
    createdTime = Timestamp(source="created_time")
    endTime = Timestamp(source="end_time", required=False)

    def get_userAgent(self, session: UserSession) -> str | None:  # noqa: N802
        """The client's user agent, when it sent one."""
        return session.user_agent or None


class ChatUserSessionResourceSerializer(ChatUserSessionPropertiesSerializer):
    """A user's connection to the realtime API."""

    _links = LinksField(required=False)

    def links(self, session: UserSession) -> dict[str, Any]:
        """The user."""
        return {"user": self.url(f"/v1/users/{session.user_id}")}


class ChatSessionResourceSerializer(Resource):
    """A user session chatting live in one channel."""

    id = serializers.IntegerField()
    session = ChatUserSessionPropertiesSerializer(source="user_session")
    state = serializers.CharField()
    createdTime = Timestamp(source="created_time")
    endTime = Timestamp(source="end_time", required=False)
    _links = LinksField(required=False)

    def links(self, session: ChatSession) -> dict[str, Any]:
        """The channel."""
        return {"channel": self.url(f"/v1/channels/{session.channel_id}")}


class RoomKeyResourceSerializer(Resource):
    """A room API key of a channel (its secret is shown only when it is created)."""

    id = serializers.IntegerField()
    displayName = serializers.CharField(source="display_name")
    prefix = serializers.CharField()
    user = ChatUserPropertiesSerializer(source="bot")
    createdBy = ChatUserPropertiesSerializer(source="created_by", required=False)
    createdTime = Timestamp(source="created_time")
    lastUsedTime = Timestamp(source="last_used_time", required=False)
    revokedTime = Timestamp(source="revoked_time", required=False)
    _links = LinksField(required=False)

    def links(self, room_key: RoomKey) -> dict[str, Any]:
        """Self and the channel."""
        return {
            "self": self.url(f"/v1/channels/{room_key.channel_id}/api-keys/{room_key.pk}"),
            "channel": self.url(f"/v1/channels/{room_key.channel_id}"),
        }


class CreatedRoomKeyResourceSerializer(RoomKeyResourceSerializer):
    """A room API key just created, with its secret: the only time it is shown."""

    key = serializers.CharField()


class ApplicationResourceSerializer(Resource):
    """The authenticated application."""

    id = serializers.IntegerField()
    key = serializers.CharField()
    properties = StoredObjectField()
    createdTime = Timestamp(source="created_time")
    _links = LinksField(required=False)

    def links(self, application: Application) -> dict[str, Any]:
        """Self and settings."""
        return {"self": self.url("/v1/application"), "settings": self.url("/v1/application/settings")}


class ApplicationSettingsResourceSerializer(Resource):
    """The application's feature toggles."""

    guestUsers = serializers.ChoiceField(source="guest_users", choices=Application.Toggle.choices)
    userCreatedChannels = serializers.ChoiceField(source="user_created_channels", choices=Application.Toggle.choices)
    sessionAuthentication = serializers.ChoiceField(
        source="session_authentication", choices=Application.SessionAuthentication.choices
    )
    sessionTokenPublicKey = serializers.CharField(source="session_token_public_key")
    features = serializers.SerializerMethodField()
    _links = LinksField(required=False)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_features(self, application: Application) -> dict[str, str]:
        """The same toggles as the reference's ``features`` object shows them."""
        return {"guest_users": application.guest_users, "user_created_channels": application.user_created_channels}

    def links(self, application: Application) -> dict[str, Any]:
        """Self."""
        return {"self": self.url("/v1/application/settings")}


class SecretResourceSerializer(serializers.Serializer):
    """A user secret's value: any JSON."""

    secret = StoredJSONField()


class ReplyThreadKeystrokesResourceSerializer(serializers.Serializer):
    """Keystrokes relayed on behalf of a user."""

    keys = serializers.CharField()
    username = serializers.CharField()
    _links = serializers.DictField(required=False)


class ChannelGenericEventResourceSerializer(serializers.Serializer):
    """A custom event sent to a channel."""

    type = serializers.CharField()
    properties = StoredObjectField()
    _links = serializers.DictField(required=False)


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

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
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

    def user(self, user: ChatUser, nested: bool = False) -> dict[str, Any]:
        """A user; nested users carry no links."""
        return self._serializer(ChatUserResourceSerializer, nested).to_representation(user)

    def message(self, message: Message, nested: bool = False) -> dict[str, Any]:
        """A message of any type."""
        return self._serializer(MESSAGE_SERIALIZERS[message.type], nested).to_representation(message)

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
