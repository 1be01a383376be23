"""Webhook endpoints and their delivery logs (Parley's own doors, ``/v1/webhooks``): list and create (the signing
secret is shown in that answer only), show, change, delete, rotate the secret, list deliveries with their attempts,
and replay one delivery or every dead one. Sending is ``chat.webhooks``'s."""

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.webhooks import (
    check_create_endpoint,
    check_update_endpoint,
    do_delete_endpoint,
    do_replay_deliveries,
    do_rotate_endpoint_secret,
)
from chat.errors import Invalid, NotFound
from chat.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from chat.wire.timestamps import timestamp
from platform_api.hal import href, page_size
from platform_api.schema import PARLEY_TAGS
from platform_api.views.base import PlatformView

ENDPOINT_FIELDS: dict[str, serializers.Field] = {
    "id": serializers.IntegerField(),
    "url": serializers.URLField(),
    "eventTypes": serializers.ListField(child=serializers.CharField(), help_text="empty: every type, future ones too"),
    "description": serializers.CharField(),
    "enabled": serializers.BooleanField(),
    "createdTime": serializers.DateTimeField(),
    "failingSince": serializers.DateTimeField(allow_null=True),
    "disabledReason": serializers.CharField(help_text="why Parley turned it off (empty: it did not)"),
    "secret": serializers.CharField(required=False, help_text="only when created or rotated: keep it"),
    "_links": serializers.DictField(),
}
WebhookEndpointResource = inline_serializer("WebhookEndpointResource", ENDPOINT_FIELDS)
WebhookEndpointList = inline_serializer(
    "WebhookEndpointList",
    {
        "_embedded": inline_serializer(
            "WebhookEndpointListEmbedded",
            {"endpoints": inline_serializer("WebhookEndpointResource", ENDPOINT_FIELDS, many=True)},
        )
    },
)
EndpointInput = inline_serializer(
    "WebhookEndpointInput",
    {
        "url": serializers.URLField(),
        "eventTypes": serializers.ListField(child=serializers.CharField(), required=False),
        "description": serializers.CharField(required=False),
        "enabled": serializers.BooleanField(required=False),
    },
)
ATTEMPT = inline_serializer(
    "WebhookAttemptResource",
    {
        "time": serializers.DateTimeField(),
        "status": serializers.IntegerField(allow_null=True),
        "latencyMs": serializers.IntegerField(),
        "error": serializers.CharField(),
    },
    many=True,
)
DELIVERY_FIELDS: dict[str, serializers.Field] = {
    "id": serializers.IntegerField(),
    "webhookId": serializers.CharField(help_text="the webhook-id header: the same for every attempt"),
    "eventId": serializers.IntegerField(),
    "eventType": serializers.CharField(),
    "state": serializers.ChoiceField(choices=DeliveryState.values),
    "attempts": serializers.IntegerField(),
    "nextAttemptTime": serializers.DateTimeField(allow_null=True),
    "deliveredTime": serializers.DateTimeField(allow_null=True),
    "lastStatus": serializers.IntegerField(allow_null=True),
    "lastError": serializers.CharField(),
    "lastLatencyMs": serializers.IntegerField(allow_null=True),
    "attemptLog": ATTEMPT,
}
DeliveryList = inline_serializer(
    "WebhookDeliveryList",
    {
        "_embedded": inline_serializer(
            "WebhookDeliveryListEmbedded",
            {"deliveries": inline_serializer("WebhookDeliveryResource", DELIVERY_FIELDS, many=True)},
        ),
        "_links": serializers.DictField(),
    },
)
Replayed = inline_serializer("WebhookReplayed", {"replayed": serializers.IntegerField()})


class EndpointScoped(PlatformView):
    """Views of one endpoint of the application."""

    def endpoint(self, endpoint_id: int) -> WebhookEndpoint:
        """The endpoint, 404 if it is not this application's."""
        found = WebhookEndpoint.objects.filter(application=self.application, pk=endpoint_id).first()
        if found is None:
            raise NotFound(f"Webhook endpoint {endpoint_id} not found.")
        return found

    def render_endpoint(self, endpoint: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
        """An endpoint as the API shows it (its secret only when asked: on creation and rotation)."""
        rendered: dict[str, Any] = {
            "id": endpoint.pk,
            "url": endpoint.url,
            "eventTypes": endpoint.event_types,
            "description": endpoint.description,
            "enabled": endpoint.enabled,
            "createdTime": timestamp(endpoint.created_time),
            "failingSince": timestamp(endpoint.failing_since) if endpoint.failing_since else None,
            "disabledReason": endpoint.disabled_reason,
            "_links": {
                "self": href(self.request, f"/v1/webhooks/{endpoint.pk}"),
                "deliveries": href(self.request, f"/v1/webhooks/{endpoint.pk}/deliveries"),
            },
        }
        if secret:
            rendered["secret"] = endpoint.secret
        return rendered


def render_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    """A delivery with its attempts, newest last."""
    pending = delivery.state == DeliveryState.PENDING
    last = delivery.last_attempt
    return {
        "id": delivery.pk,
        "webhookId": delivery.message_id,
        "eventId": delivery.event_id,
        "eventType": delivery.event.type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "nextAttemptTime": timestamp(delivery.next_attempt_time) if pending else None,
        "deliveredTime": timestamp(delivery.delivered_time) if delivery.delivered_time else None,
        "lastStatus": last.status if last else None,
        "lastError": last.error if last else "",
        "lastLatencyMs": last.latency_ms if last else None,
        "attemptLog": [
            {"time": timestamp(a.time), "status": a.status, "latencyMs": a.latency_ms, "error": a.error}
            for a in delivery.attempt_log.all()
        ],
    }


class WebhooksView(EndpointScoped):
    """``/v1/webhooks``."""

    @extend_schema(operation_id="listWebhookEndpoints", tags=PARLEY_TAGS, responses=WebhookEndpointList)
    def get(self, request: Request) -> Response:
        """The application's webhook endpoints."""
        endpoints = WebhookEndpoint.objects.filter(application=self.application).order_by("id")
        return self.ok({"_embedded": {"endpoints": [self.render_endpoint(e) for e in endpoints]}})

    @extend_schema(
        operation_id="createWebhookEndpoint",
        tags=PARLEY_TAGS,
        request=EndpointInput,
        responses={201: WebhookEndpointResource},
    )
    def post(self, request: Request) -> Response:
        """A new endpoint; the answer holds its signing secret, shown this once."""
        body = request.data if isinstance(request.data, dict) else {}
        endpoint = check_create_endpoint(
            self.application,
            url=body.get("url"),
            event_types=body.get("eventTypes"),
            description=body.get("description", ""),
            enabled=body.get("enabled", True),
        )
        return self.ok(self.render_endpoint(endpoint, secret=True), status=201)


class WebhookView(EndpointScoped):
    """``/v1/webhooks/{id}``."""

    @extend_schema(operation_id="retrieveWebhookEndpoint", tags=PARLEY_TAGS, responses=WebhookEndpointResource)
    def get(self, request: Request, endpoint_id: int) -> Response:
        """An endpoint."""
        return self.ok(self.render_endpoint(self.endpoint(endpoint_id)))

    @extend_schema(
        operation_id="updateWebhookEndpoint", tags=PARLEY_TAGS, request=EndpointInput, responses=WebhookEndpointResource
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        """Change the URL, event types, description or enabled flag."""
        if not isinstance(request.data, dict):
            raise Invalid("The body must be a JSON object.", field="request")
        return self.ok(self.render_endpoint(check_update_endpoint(self.endpoint(endpoint_id), request.data)))

    @extend_schema(operation_id="deleteWebhookEndpoint", tags=PARLEY_TAGS, responses={204: None})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        """Delete the endpoint and its delivery log."""
        do_delete_endpoint(self.endpoint(endpoint_id))
        return Response(status=204)


class WebhookSecretView(EndpointScoped):
    """``/v1/webhooks/{id}/secret``."""

    @extend_schema(
        operation_id="rotateWebhookSecret", tags=PARLEY_TAGS, request=None, responses=WebhookEndpointResource
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        """A new signing secret (shown this once); the previous one keeps signing for a day."""
        endpoint = do_rotate_endpoint_secret(self.endpoint(endpoint_id))
        return self.ok(self.render_endpoint(endpoint, secret=True))


class WebhookDeliveriesView(EndpointScoped):
    """``/v1/webhooks/{id}/deliveries``."""

    @extend_schema(
        operation_id="listWebhookDeliveries",
        tags=PARLEY_TAGS,
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=DeliveryState.values),
            OpenApiParameter("before", OpenApiTypes.INT, description="only deliveries older than this id"),
            OpenApiParameter("size", OpenApiTypes.INT),
        ],
        responses=DeliveryList,
    )
    def get(self, request: Request, endpoint_id: int) -> Response:
        """The endpoint's deliveries, newest first, with their attempts."""
        found = WebhookDelivery.objects.filter(endpoint=self.endpoint(endpoint_id)).select_related("event")
        state = request.query_params.get("state")
        if state is not None:
            if state not in DeliveryState.values:
                raise Invalid(f"state must be one of {', '.join(DeliveryState.values)}.", field="state")
            found = found.filter(state=state)
        before = request.query_params.get("before")
        if before is not None:
            if not before.isdigit():
                raise Invalid("before must be a delivery id.", field="before")
            found = found.filter(pk__lt=int(before))
        size = page_size(request)
        page = list(
            found.prefetch_related(Prefetch("attempt_log", WebhookAttempt.objects.order_by("id"))).order_by("-id")[
                :size
            ]
        )
        links = {"self": href(request, request.path)}
        if len(page) == size:
            links["next"] = href(
                request, request.path, {"before": page[-1].pk, "size": size, **({"state": state} if state else {})}
            )
        return self.ok({"_embedded": {"deliveries": [render_delivery(d) for d in page]}, "_links": links})


class WebhookDeliveryReplayView(EndpointScoped):
    """``/v1/webhooks/{id}/deliveries/{delivery_id}/replay``."""

    @extend_schema(operation_id="replayWebhookDelivery", tags=PARLEY_TAGS, request=None, responses=Replayed)
    def post(self, request: Request, endpoint_id: int, delivery_id: int) -> Response:
        """Send this delivery again now, under the same delivery id."""
        chosen = WebhookDelivery.objects.filter(endpoint=self.endpoint(endpoint_id), pk=delivery_id)
        if not chosen.exists():
            raise NotFound(f"Delivery {delivery_id} not found.")
        return self.ok({"replayed": do_replay_deliveries(chosen)})


class WebhookReplayView(EndpointScoped):
    """``/v1/webhooks/{id}/replay``."""

    @extend_schema(
        operation_id="replayWebhookDeliveries",
        tags=PARLEY_TAGS,
        request=inline_serializer(
            "WebhookReplayInput", {"state": serializers.ChoiceField(choices=["DEAD", "SUCCEEDED"])}
        ),
        responses=Replayed,
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        """Send every delivery in ``state`` (default DEAD) again now."""
        body = request.data if isinstance(request.data, dict) else {}
        state = body.get("state", DeliveryState.DEAD)
        if state not in (DeliveryState.DEAD, DeliveryState.SUCCEEDED):
            raise Invalid("state must be DEAD or SUCCEEDED.", field="state")
        chosen = WebhookDelivery.objects.filter(endpoint=self.endpoint(endpoint_id), state=state)
        return self.ok({"replayed": do_replay_deliveries(chosen)})
