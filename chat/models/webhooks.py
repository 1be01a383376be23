"""Webhooks: an application's endpoints, and the delivery of each event of the log (``EventRecord``) to each endpoint
that wants it, with every attempt recorded (``chat.webhooks`` sends them)."""

from django.db import models
from django.utils import timezone

from chat.models.application import Application
from chat.models.events import EventRecord


class WebhookEndpoint(models.Model):
    """Where an application wants events sent, which ones (none listed: all, future ones included), and the secret
    that signs them (the previous one signs too for a day after a rotation)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    event_types = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=256, blank=True, default="")
    enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=64)
    previous_secret = models.CharField(max_length=64, blank=True, default="")
    previous_secret_expires = models.DateTimeField(null=True, blank=True)
    created_time = models.DateTimeField(default=timezone.now)
    # health: consecutive failures, since when, when to try again, and why it was turned off (if it was)
    failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    next_attempt_time = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=256, blank=True, default="")

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    """Where a delivery stands."""

    PENDING = "PENDING"  # to be sent (again)
    SUCCEEDED = "SUCCEEDED"
    DEAD = "DEAD"  # failed for the whole retry window: kept for replay


class WebhookDelivery(models.Model):
    """One event to one endpoint, under one delivery id that stays the same across its attempts."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(EventRecord, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_time = models.DateTimeField(default=timezone.now)
    created_time = models.DateTimeField(default=timezone.now)
    delivered_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="chat_one_delivery_per_event")]
        indexes = [
            models.Index(fields=["next_attempt_time"], condition=models.Q(state="PENDING"), name="chat_delivery_due"),
            models.Index(fields=["endpoint", "-id"]),
        ]

    def __str__(self) -> str:
        return self.message_id

    @property
    def message_id(self) -> str:
        """The delivery id a receiver sees (``webhook-id``): the same for every attempt and replay."""
        return f"msg_{self.event_id}_{self.endpoint_id}"

    @property
    def last_attempt(self) -> "WebhookAttempt | None":
        """How the latest attempt went (from the prefetched log when there is one)."""
        attempts = list(self.attempt_log.all())
        return max(attempts, key=lambda attempt: attempt.pk) if attempts else None


class WebhookAttempt(models.Model):
    """One attempt of a delivery: when, how it went, and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    time = models.DateTimeField(default=timezone.now)
    status = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=512, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.time}"
