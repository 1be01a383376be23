"""User sessions (one per live connection of a user) and chat sessions (a session's presence in a channel)."""

import uuid

from django.db import models

from chat.models.application import Application
from chat.models.channels import Channel
from chat.models.users import ChatUser


class SessionState(models.TextChoices):
    """A session is live (ACTIVE) until it ends (ENDED)."""

    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


class UserSession(models.Model):
    """A user connected to the realtime API. ``key`` is the session id a reconnecting client resumes with."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="user_sessions")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="sessions")
    state = models.CharField(max_length=8, choices=SessionState.choices, default=SessionState.ACTIVE)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    created_time = models.DateTimeField(auto_now_add=True)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["application", "state"])]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"


class ChatSession(models.Model):
    """A user session that entered a channel to chat live."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="chat_sessions")
    user_session = models.ForeignKey(UserSession, on_delete=models.CASCADE, related_name="chat_sessions")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="chat_sessions")
    state = models.CharField(max_length=8, choices=SessionState.choices, default=SessionState.ACTIVE)
    created_time = models.DateTimeField(auto_now_add=True)
    end_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["application", "state"]), models.Index(fields=["channel", "state"])]

    def __str__(self) -> str:
        return f"chat session {self.pk} in {self.channel_id}"
