"""Notifications as the wire shows them, with the channel and message they are about."""

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat.models import (
    Notification,
)
from chat.wire.channels import ChannelResource
from chat.wire.fields import Computed, LinksField, Resource, Timestamp
from chat.wire.messages import MessageResource
from chat.wire.users import ChatUserResourceSerializer

if TYPE_CHECKING:
    from chat.wire.renderer import Renderer


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
