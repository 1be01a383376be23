"""The event log: every committed event of the catalogue that backends hear of (the feed, ``GET /v1/events``, and
webhooks), written in the transaction that made it, so that an event exists exactly when its change does.

A row starts without a ``position``; the relay (``chat.feed``) gives committed rows their place in the feed, one
after the other, and renders the resource as it was then. Positions only grow and leave no gap, so a backend that
reads ``position > cursor`` never misses an event, whatever order transactions commit in.
"""

from django.db import models
from django.utils import timezone

from chat.models.application import Application


class EventRecord(models.Model):
    """One committed event, as the feed and webhooks send it."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="event_records")
    type = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=32)
    resource_id = models.BigIntegerField(null=True, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)  # kept after the channel is gone
    sequence = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_time = models.DateTimeField(default=timezone.now)
    # set by the relay once the transaction committed: the event's place in the feed, and its resource as rendered
    position = models.BigIntegerField(null=True, blank=True, unique=True)
    resource = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["application", "position"]),
            models.Index(fields=["id"], condition=models.Q(position__isnull=True), name="chat_event_unplaced"),
            models.Index(fields=["created_time"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
