"""OpenAPI helpers: list envelopes and the shared query parameters, so the document says what the wire carries, and
what drf-spectacular cannot derive from the views (it leaves out every HEAD operation, and the reference has one:
``checkUserExists``)."""

from collections.abc import Callable
from functools import cache
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from chat.wire.fields import LinksField

# The tag of Parley's own operations (the reference has none of them): the reference page groups them apart.
PARLEY_TAGS = ["parley"]

_PAGE_METADATA = inline_serializer(
    "PageMetadata",
    {
        "size": serializers.IntegerField(),
        "totalElements": serializers.IntegerField(),
        "totalPages": serializers.IntegerField(),
        "number": serializers.IntegerField(),
    },
)
_CURSOR_METADATA = inline_serializer("CursorPageMetadata", {"size": serializers.IntegerField()})


@cache
def paged(name: str, rel: str, item: Callable[..., Any]) -> Any:
    """``PagedModel<name>``: ``_embedded.<rel>``, ``_links`` and ``page``."""
    many = item(many=True)
    return inline_serializer(
        f"PagedModel{name}",
        {
            "_embedded": inline_serializer(f"PagedModel{name}Embedded", {rel: many}),
            "_links": LinksField(),
            "page": _PAGE_METADATA,
        },
    )


@cache
def cursor_paged(name: str, rel: str, item: Callable[..., Any]) -> Any:
    """``CursorPagedModel<name>``: like a page, with only ``page.size``."""
    many = item(many=True)
    return inline_serializer(
        f"CursorPagedModel{name}",
        {
            "_embedded": inline_serializer(f"CursorPagedModel{name}Embedded", {rel: many}),
            "_links": LinksField(),
            "page": _CURSOR_METADATA,
        },
    )


PAGE_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Zero-based page index (0..N)", default=0),
    OpenApiParameter("size", OpenApiTypes.INT, description="The size of the page (at most 100)", default=25),
    OpenApiParameter("sort", OpenApiTypes.STR, many=True, description="property,(asc|desc); repeatable"),
]
CURSOR_PARAMETERS = [
    OpenApiParameter("size", OpenApiTypes.INT, description="The size of the page (at most 100)", default=25),
    OpenApiParameter("start", OpenApiTypes.INT, description="Start cursor value, from a link"),
    OpenApiParameter("next", OpenApiTypes.INT, description="Next page cursor value, from a link"),
    OpenApiParameter("relation", OpenApiTypes.STR, enum=["SELF", "PREVIOUS", "NEXT"], description="Cursor relation"),
]
MESSAGE_FILTERS = [
    OpenApiParameter("username", OpenApiTypes.STR, description="Filters messages by a sender's username"),
    OpenApiParameter("query", OpenApiTypes.STR, description="Filters text messages by text in the body"),
]
STATE_PARAMETER = OpenApiParameter("state", OpenApiTypes.STR, enum=["ACTIVE", "ENDED"], description="Filter by state")
PROPERTIES_PARAMETER = OpenApiParameter(
    "properties", OpenApiTypes.STR, description="A JSON object; keeps items whose custom properties hold its entries"
)


def add_user_exists_check(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Document ``HEAD /v1/users?name=`` (answered by the users list's GET: 200 when a user has the name, else 404)."""
    users = result["paths"].get("/v1/users")
    if users is not None:
        users["head"] = {
            "operationId": "checkUserExists",
            "summary": "Check a user exists",
            "description": "Checks if a user exists: 200 when a user of the application has this name, else 404.",
            "tags": ["users"],
            "parameters": [
                {
                    "in": "query",
                    "name": "name",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "the user's name",
                }
            ],
            "responses": {"200": {"description": "A user has this name."}, "404": {"description": "None has."}},
        }
    return result
