"""Channels as the wire shows them (public, private, direct), memberships and invites, unread summaries, chat
sessions and room keys."""

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from chat.models import (
    Channel,
    ChannelMembership,
    ChannelType,
    ChatSession,
    RoomKey,
)
from chat.wire.fields import Computed, LinksField, Resource, StoredObjectField, Timestamp, kind, polymorphic
from chat.wire.messages import MessageResource
from chat.wire.users import ChatUserPropertiesSerializer, ChatUserSessionPropertiesSerializer

if TYPE_CHECKING:
    from chat.wire.renderer import Renderer


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
    return polymorphic("ChannelResource", CHANNEL_SERIALIZERS, **kwargs)


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
