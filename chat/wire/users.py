"""Users as the wire shows them: their properties, their resource with links, their sessions, their secrets."""

from typing import Any
from urllib.parse import quote

from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from chat.models import (
    ChatUser,
    UserSession,
    UserType,
)
from chat.wire.fields import Computed, LinksField, Resource, StoredJSONField, StoredObjectField, Timestamp, kind


class PresenceSerializer(serializers.Serializer):
    """A user's presence."""

    status = serializers.CharField()
    online = serializers.BooleanField()


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


class SecretResourceSerializer(serializers.Serializer):
    """A user secret's value: any JSON."""

    secret = StoredJSONField()
