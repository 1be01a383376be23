"""Events a backend pushes to socket-service channels (named freely per application), kept so that they can be
listed and a reconnecting client can fetch what it missed."""

from django.db import models

from chat.models.application import Application


class PushMessage(models.Model):
    """One event pushed to one channel name."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="push_messages")
    channel = models.CharField(max_length=256)
    event = models.CharField(max_length=256)
    data = models.JSONField(null=True, blank=True)
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["application", "channel", "id"]), models.Index(fields=["application", "id"])]

    def __str__(self) -> str:
        return f"{self.event} on {self.channel}"
