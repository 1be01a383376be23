"""Webhook endpoints and their deliveries: create (the secret shown once), change, rotate the secret, delete, and
replay deliveries (the same delivery ids, sent again)."""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from chat.catalogue import BACKENDS, of_consumer
from chat.errors import Invalid
from chat.models import Application, DeliveryState, WebhookDelivery, WebhookEndpoint
from chat.webhooks import check_target, new_secret

MAX_ENDPOINTS = 20
ROTATION_GRACE = timedelta(hours=24)


def _clean_types(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid("eventTypes must be a list of event type names (empty: every type).", field="eventTypes")
    if unknown := sorted(set(value) - of_consumer(BACKENDS)):
        raise Invalid(f"eventTypes: {unknown[0]} is not an event type backends hear of.", field="eventTypes")
    return sorted(set(value))


def _clean_description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 256:
        raise Invalid("description must be a string of at most 256 characters.", field="description")
    return value


def check_create_endpoint(
    application: Application, *, url: Any, event_types: Any = None, description: Any = "", enabled: Any = True
) -> WebhookEndpoint:
    """A new endpoint, with a new signing secret (readable on the returned object, once)."""
    if not isinstance(url, str):
        raise Invalid("url is required.", field="url")
    check_target(url)
    if not isinstance(enabled, bool):
        raise Invalid("enabled must be true or false.", field="enabled")
    if application.webhook_endpoints.count() >= MAX_ENDPOINTS:
        raise Invalid(f"An application has at most {MAX_ENDPOINTS} webhook endpoints.", field="url")
    return WebhookEndpoint.objects.create(
        application=application,
        url=url,
        event_types=_clean_types(event_types or []),
        description=_clean_description(description),
        enabled=enabled,
        secret=new_secret(),
    )


def check_update_endpoint(endpoint: WebhookEndpoint, patch: dict[str, Any]) -> WebhookEndpoint:
    """Change the URL, event types, description or enabled flag (turning it on again clears its failing state)."""
    fields = []
    if "url" in patch:
        if not isinstance(patch["url"], str):
            raise Invalid("url must be a string.", field="url")
        check_target(patch["url"])
        endpoint.url = patch["url"]
        fields.append("url")
    if "eventTypes" in patch:
        endpoint.event_types = _clean_types(patch["eventTypes"])
        fields.append("event_types")
    if "description" in patch:
        endpoint.description = _clean_description(patch["description"])
        fields.append("description")
    if "enabled" in patch:
        if not isinstance(patch["enabled"], bool):
            raise Invalid("enabled must be true or false.", field="enabled")
        if patch["enabled"] and not endpoint.enabled:
            endpoint.failures, endpoint.failing_since, endpoint.next_attempt_time = 0, None, None
            endpoint.disabled_reason = ""
            fields += ["failures", "failing_since", "next_attempt_time", "disabled_reason"]
        endpoint.enabled = patch["enabled"]
        fields.append("enabled")
    if fields:
        endpoint.save(update_fields=fields)
    return endpoint


def do_rotate_endpoint_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret; the old one signs too for a day, so that receivers can switch over."""
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_expires = timezone.now() + ROTATION_GRACE
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires"])
    return endpoint


def do_delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its delivery log."""
    endpoint.delete()


def do_replay_deliveries(deliveries: QuerySet[WebhookDelivery]) -> int:
    """Send these deliveries again, now, under their own delivery ids; how many."""
    with transaction.atomic():
        now = timezone.now()  # a replay is retried for a whole window again
        return deliveries.update(state=DeliveryState.PENDING, next_attempt_time=now, created_time=now)
