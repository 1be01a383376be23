"""The dashboard's webhooks: an application's endpoints (made with the secret shown once, changed, rotated), whether
each is healthy, failing since when, or turned off and why; and every delivery with its attempts, replayed one by one
or in bulk. Every change goes through ``chat.actions.webhooks``, as the API's do."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from chat.actions.webhooks import (
    check_create_endpoint,
    check_update_endpoint,
    do_replay_deliveries,
    do_rotate_endpoint_secret,
)
from chat.catalogue import BACKENDS, of_consumer
from chat.dashboard import TenantAdmin, adopt
from chat.errors import ChatError
from chat.models import WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    """An endpoint's URL, the event types it wants (none: all), its description and whether it is on."""

    url = forms.URLField(max_length=2048, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in sorted(of_consumer(BACKENDS))],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every type, future ones too.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("application", "url", "event_types", "description", "enabled")


def health(endpoint: WebhookEndpoint) -> str:
    """How the endpoint is doing, in words."""
    if not endpoint.enabled:
        return endpoint.disabled_reason or "Turned off."
    if endpoint.failing_since:
        return (
            f"Failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC ({endpoint.failures} failed attempts in a row)"
        )
    return "Healthy"


def last_status(delivery: WebhookDelivery) -> str:
    """The status code of the delivery's latest answer, or a dash."""
    last = delivery.last_attempt
    return str(last.status) if last and last.status else "—"


def last_error(delivery: WebhookDelivery) -> str:
    """What went wrong in the delivery's latest attempt, if anything."""
    last = delivery.last_attempt
    return last.error if last else ""


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantAdmin):
    """Webhook endpoints of the user's applications."""

    form = EndpointForm
    list_display = ("url", "application", "enabled", "status", "types", "created_time")
    list_filter = ("enabled", "application")
    list_select_related = ("application",)
    readonly_fields = ("status", "created_time", "recent_deliveries")
    actions = ("rotate_secret", "replay_dead")

    @admin.display(description="Status")
    def status(self, endpoint: WebhookEndpoint) -> str:
        """Healthy, failing, or turned off (and why)."""
        return health(endpoint)

    @admin.display(description="Event types")
    def types(self, endpoint: WebhookEndpoint) -> str:
        """The types it wants."""
        return ", ".join(endpoint.event_types) or "all"

    @admin.display(description="Recent deliveries")
    def recent_deliveries(self, endpoint: WebhookEndpoint) -> str:
        """The last deliveries, with how their last attempt went."""
        recent = endpoint.deliveries.select_related("event").prefetch_related("attempt_log").order_by("-id")[:10]
        rows = [(d.message_id, d.event.type, d.state, d.attempts, last_status(d), last_error(d)) for d in recent]
        if not rows:
            return "None yet."
        return format_html_join("", "<div>{} · {} · {} · {} attempts · {} {}</div>", rows)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The form, and on an endpoint's page its status and deliveries."""
        fields = ("application", "url", "event_types", "description", "enabled")
        return fields if obj is None else (*fields, *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        """Create or change through the actions; a new endpoint's secret is shown once."""
        data = form.cleaned_data
        try:
            if change:
                patch = {
                    "url": data["url"],
                    "eventTypes": data["event_types"],
                    "description": data["description"],
                    "enabled": data["enabled"],
                }
                check_update_endpoint(WebhookEndpoint.objects.get(pk=obj.pk), patch)
                return
            made = check_create_endpoint(
                data["application"],
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
                enabled=data["enabled"],
            )
        except ChatError as error:
            messages.error(request, error.message)
            return
        adopt(obj, made)
        messages.success(request, f"Signing secret of {made.url} (shown this once): {made.secret}")

    @admin.action(description="Rotate the signing secret (the old one signs for a day more)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        """A new secret for each, shown once."""
        for endpoint in queryset:
            rotated = do_rotate_endpoint_secret(endpoint)
            messages.success(request, f"New signing secret of {rotated.url} (shown this once): {rotated.secret}")

    @admin.action(description="Replay the dead deliveries")
    def replay_dead(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        """Send every dead delivery of these endpoints again."""
        count = do_replay_deliveries(WebhookDelivery.objects.filter(endpoint__in=queryset, state="DEAD"))
        messages.success(request, f"{count} deliveries will be sent again.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantAdmin):
    """Every delivery of the user's applications' endpoints, with its attempts."""

    list_display = ("message_id", "endpoint", "event_type", "state", "attempts", "last_status", "last_error")
    list_filter = ("state",)
    list_select_related = ("endpoint", "event")
    readonly_fields = (
        "endpoint",
        "event_type",
        "state",
        "attempts",
        "next_attempt_time",
        "delivered_time",
        "attempt_history",
    )
    actions = ("replay",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """Only deliveries of the user's applications' endpoints."""
        queryset = admin.ModelAdmin.get_queryset(self, request).prefetch_related("attempt_log")
        if request.user.is_superuser:  # type: ignore[union-attr]
            return queryset
        return queryset.filter(endpoint__application__in=self.applications(request))

    def _allowed(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            obj = obj.endpoint
        return super()._allowed(request, obj)

    @admin.display(description="Last status")
    def last_status(self, delivery: WebhookDelivery) -> str:
        """The answer's status code of the latest attempt."""
        return last_status(delivery)

    @admin.display(description="Last error")
    def last_error(self, delivery: WebhookDelivery) -> str:
        """What went wrong in the latest attempt."""
        return last_error(delivery)

    @admin.display(description="Event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        """The event's type and id."""
        return f"{delivery.event.type} #{delivery.event_id}"

    @admin.display(description="Attempts")
    def attempt_history(self, delivery: WebhookDelivery) -> str:
        """Each attempt: when, its answer, how long, what went wrong."""
        rows = [
            (f"{a.time:%Y-%m-%d %H:%M:%S}", a.status or "—", a.latency_ms, a.error)
            for a in delivery.attempt_log.order_by("id")
        ]
        return format_html_join("", "<div>{} · {} · {} ms {}</div>", rows) if rows else "None yet."

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Deliveries are made by events."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Deliveries are replayed, not edited."""
        return False

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        """Send them again now, under their own delivery ids."""
        messages.success(request, f"{do_replay_deliveries(queryset)} deliveries will be sent again.")
