"""The building blocks of every representation: resources that leave absent optionals out, timestamps as the
clients parse them, HAL links, computed fields, and stored JSON rendered only when it can be (``chat.bounds``)."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from chat.bounds import renderable
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


def polymorphic(component_name: str, shapes: Mapping[str, Any], **kwargs: Any) -> PolymorphicProxySerializer:
    """A resource of several shapes for the OpenAPI document, the shape picked by ``type``."""
    return PolymorphicProxySerializer(
        component_name=component_name,
        serializers={str(name): shape for name, shape in shapes.items()},
        resource_type_field_name="type",
        **kwargs,
    )
