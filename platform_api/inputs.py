"""Input serializers that accept camelCase and snake_case keys, and the user reference every body may carry."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from platform_api.casing import snake_keys

USER_REFERENCE_SCHEMA = {
    "type": "object",
    "description": "Reference to a user: by id or by username",
    "properties": {"id": {"type": "integer"}, "username": {"type": "string"}},
}


class InputSerializer(serializers.Serializer):
    """Maps ``displayName`` and ``display_name`` alike onto the declared snake_case fields, at every level."""

    def to_internal_value(self, data: Any) -> Any:
        """Rename camelCase keys before validating."""
        if isinstance(data, Mapping):
            data = snake_keys(data, self.fields)
        return super().to_internal_value(data)


class UserReferenceSerializer(serializers.Serializer):
    """A user reference as a whole request body (``{"id"}`` or ``{"username"}``), for the doors' schema; the views
    read it with ``UserReferenceField``'s rules."""

    id = serializers.IntegerField(required=False)
    username = serializers.CharField(required=False)


@extend_schema_field(USER_REFERENCE_SCHEMA)
class UserReferenceField(serializers.Field):
    """``{"id": 1}`` or ``{"username": "jane"}``; resolved against the application by the view."""

    default_error_messages = {"invalid": "Must be an object with an integer id or a string username."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Check the shape; existence is the selector's concern."""
        if not isinstance(data, Mapping):
            self.fail("invalid")
        user_id = data.get("id")
        username = data.get("username", data.get("name"))
        if user_id is not None and not isinstance(user_id, bool) and isinstance(user_id, int):
            return {"id": user_id}
        if isinstance(username, str) and username:
            return {"username": username}
        self.fail("invalid")
        return {}

    def to_representation(self, value: Any) -> Any:
        """References are input only."""
        return value


class PropertiesField(serializers.DictField):
    """Custom data: any JSON object, kept exactly as sent."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Keep the object as it is; only its being an object is checked."""
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return data
