"""Notifications a user receives when something happens in their channels."""

from django.db import models
from django.utils import timezone

from chat.models.application import Application
from chat.models.channels import Channel
from chat.models.messages import Message
from chat.models.users import ChatUser


class NotificationType(models.TextChoices):
    """The ChatKitty notification data types."""

    SYSTEM_SENT_MESSAGE = "SYSTEM:SENT:MESSAGE"
    USER_SENT_MESSAGE = "USER:SENT:MESSAGE"
    USER_REPLIED_TO_MESSAGE = "USER:REPLIED_TO:MESSAGE"
    USER_MENTIONED_USER = "USER:MENTIONED:USER"
    USER_MENTIONED_CHANNEL = "USER:MENTIONED:CHANNEL"


class Notification(models.Model):
    """One notification for one recipient; ``data`` is rendered from the referenced rows."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="notifications")
    type = models.CharField(max_length=32, choices=NotificationType.choices)
    title = models.CharField(max_length=512)
    body = models.TextField()
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="notifications")
    parent_message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    mentioned_user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    mentioned_channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    muted = models.BooleanField(default=False)
    read_time = models.DateTimeField(null=True, blank=True)
    created_time = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "id"])]

    def __str__(self) -> str:
        return f"{self.type} for {self.user_id}"
