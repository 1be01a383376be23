"""Notifications a user receives when something happens in their channels."""

from typing import Any

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


def _context(model: type[models.Model], *, null: bool = False) -> Any:
    """A reference that lives no longer than the notification's message (its channel, its parent, a mention):
    no index and no constraint to maintain on each of the rows one message fans out to; the message's cascade
    removes the notification first."""
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+", null=null, blank=null
    )


class Notification(models.Model):
    """One notification for one recipient; ``data`` is rendered from the referenced rows.

    Sending a message writes one row per member in the same statement, so each row is kept cheap: only the
    recipient and the message are indexed, and no row carries a database constraint (a foreign-key check is a trigger
    per row per key: at 500 members they cost more than the rows). The one writer inserts only members and the
    message it has just stored; deleting a message, user or channel cascades here through the ORM.
    """

    application = _context(Application)
    user = models.ForeignKey(
        ChatUser, on_delete=models.CASCADE, related_name="notifications", db_index=False, db_constraint=False
    )
    type = models.CharField(max_length=32, choices=NotificationType.choices)
    title = models.CharField(max_length=512)
    body = models.TextField()
    channel = _context(Channel, null=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="notifications", db_constraint=False)
    parent_message = _context(Message, null=True)
    mentioned_user = _context(ChatUser, null=True)
    mentioned_channel = _context(Channel, null=True)
    muted = models.BooleanField(default=False)
    read_time = models.DateTimeField(null=True, blank=True)
    created_time = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "id"])]

    def __str__(self) -> str:
        return f"{self.type} for {self.user_id}"
