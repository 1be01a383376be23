"""Messages as the wire shows them (text and file, from users and the system, with mentions), reply threads,
read receipts, keystrokes and custom channel events."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from chat.models import (
    ChannelType,
    ChatUser,
    Message,
    MessageType,
    Thread,
)
from chat.wire.fields import LinksField, Resource, StoredObjectField, Timestamp, kind, polymorphic
from chat.wire.timestamps import timestamp
from chat.wire.users import ChatUserPropertiesSerializer


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
    return polymorphic("MessageResource", MESSAGE_SERIALIZERS, **kwargs)


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
