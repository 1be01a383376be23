"""The application and its settings as the wire shows them."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat.models import (
    Application,
)
from chat.wire.fields import LinksField, Resource, StoredObjectField, Timestamp


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
