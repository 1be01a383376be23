"""``GET /v1/events`` (Parley's own door): the application's event log in feed order, after a cursor, so that a
backend that was down (or hears nothing else) catches up by pulling; the events are those webhooks send, with the
same ids (``chat.feed``, ``chat.wire.events``)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.catalogue import BACKENDS, of_consumer
from chat.errors import Invalid
from chat.feed import feed
from chat.wire.events import render_event
from platform_api.hal import href, int_param, page_size
from platform_api.schema import PARLEY_TAGS, cursor_paged
from platform_api.views.base import PlatformView

EVENT_TYPES = sorted(of_consumer(BACKENDS))
EVENT_FIELDS: dict[str, serializers.Field] = {
    "id": serializers.IntegerField(help_text="The event's id: webhooks deliver it under the same id"),
    "type": serializers.ChoiceField(choices=EVENT_TYPES),
    "cursor": serializers.IntegerField(help_text="Its place in the feed: ask for after=<cursor> to go on"),
    "createdTime": serializers.DateTimeField(),
    "channelId": serializers.IntegerField(allow_null=True),
    "sequence": serializers.IntegerField(allow_null=True, help_text="The channel's sequence number"),
    "data": serializers.DictField(),
    "resource": serializers.DictField(help_text="The resource as the Platform API renders it"),
}


def event_resource(**kwargs: Any) -> Any:
    """``EventResource`` (``many=True`` for lists)."""
    return inline_serializer("EventResource", EVENT_FIELDS, **kwargs)


class EventsView(PlatformView):
    """``/v1/events``."""

    @extend_schema(
        operation_id="listEvents",
        tags=PARLEY_TAGS,
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="the cursor of the last event read (0: oldest)"),
            OpenApiParameter("size", OpenApiTypes.INT, description="events per page (at most 100)"),
            OpenApiParameter("type", OpenApiTypes.STR, many=True, description="only events of these types"),
        ],
        responses=cursor_paged("EventResource", "events", event_resource),
    )
    def get(self, request: Request) -> Response:
        """The events after ``after``, oldest first; ``_links.next`` holds the cursor to ask with next time."""
        after = int_param(request, "after", 0) or 0
        types = request.query_params.getlist("type")
        if unknown := sorted(set(types) - set(EVENT_TYPES)):
            raise Invalid(f"type must be among the event types, not {unknown[0]}.", field="type")
        size = page_size(request)
        events = list(feed(application=self.application, after=after, types=types)[:size])
        last = events[-1].position if events else after
        query = {"type": types} if types else {}
        links = {
            "self": href(request, request.path, {**query, "after": after, "size": size}),
            "next": href(request, request.path, {**query, "after": last, "size": size}),
        }
        return self.ok(
            {"_embedded": {"events": [render_event(e) for e in events]}, "_links": links, "page": {"size": size}}
        )
