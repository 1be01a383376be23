"""Room API keys: a key lets a script post into one channel, as a bot user named after the key's display name."""

import hashlib

from django.db import models

from chat.models.application import Application
from chat.models.channels import Channel
from chat.models.users import ChatUser


class RoomKey(models.Model):
    """A key for one channel. Only its SHA-256 is stored (the key is shown once); revoking keeps the row."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="room_keys")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="room_keys")
    bot = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="room_keys")
    display_name = models.CharField(max_length=256)
    # The channel moderator who made it (empty: the application's backend or an administrator).
    created_by = models.ForeignKey(ChatUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)  # the key's first characters, to tell keys apart
    created_time = models.DateTimeField(auto_now_add=True)
    last_used_time = models.DateTimeField(null=True, blank=True)
    revoked_time = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"room key {self.prefix}… of channel {self.channel_id}"

    @staticmethod
    def hash_of(key: str) -> str:
        """What is stored of a key."""
        return hashlib.sha256(key.encode()).hexdigest()
