"""Channels, who belongs to them (members, moderators, read state) and who is invited."""

from django.db import models
from django.db.models import Q

from chat.models.application import Application
from chat.models.users import ChatUser


class ChannelType(models.TextChoices):
    """DIRECT channels are defined by their members; PUBLIC and PRIVATE ones by a unique name."""

    DIRECT = "DIRECT"
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class Channel(models.Model):
    """A place where messages are sent. Group channels have a unique name; direct ones a unique member set."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="channels")
    type = models.CharField(max_length=8, choices=ChannelType.choices)
    name = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001  (NULL: direct, unconstrained)
    display_name = models.CharField(max_length=256, blank=True, default="")
    direct_key = models.CharField(max_length=1024, null=True, blank=True)  # noqa: DJ001  (NULL: group channel)
    properties = models.JSONField(default=dict, blank=True)
    creator = models.ForeignKey(ChatUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    main_thread = models.OneToOneField(
        "chat.Thread", on_delete=models.SET_NULL, null=True, blank=True, related_name="main_of"
    )
    created_time = models.DateTimeField(auto_now_add=True)
    # The sequence number of the channel's latest event: every channel event takes the next one (chat.events).
    last_sequence = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "name"], condition=Q(name__isnull=False), name="unique_channel_name"
            ),
            models.UniqueConstraint(
                fields=["application", "direct_key"], condition=Q(direct_key__isnull=False), name="unique_direct_key"
            ),
        ]
        indexes = [models.Index(fields=["application", "created_time"])]

    def __str__(self) -> str:
        return self.name or f"direct:{self.direct_key}"

    @property
    def main_thread_pk(self) -> int:
        """The id of the channel's main thread, which every saved channel has."""
        if self.main_thread_id is None:
            raise ValueError(f"channel {self.pk} has no main thread")
        return self.main_thread_id

    @property
    def is_group(self) -> bool:
        """Group channels (public and private) have names, member management and moderators."""
        return self.type != ChannelType.DIRECT


class ChannelMembership(models.Model):
    """A user's membership of a channel, with its read state and moderator flag."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="memberships")
    is_moderator = models.BooleanField(default=False)
    muted = models.BooleanField(default=False)
    last_read_message_id = models.BigIntegerField(null=True, blank=True)
    last_read_time = models.DateTimeField(null=True, blank=True)
    # Hidden from the member's channel list until a message newer than this sequence number arrives.
    hidden_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    # The member cleared their history: messages up to this sequence number are gone from what they see.
    history_cleared_sequence = models.PositiveBigIntegerField(default=0)
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user"], name="unique_membership")]
        indexes = [models.Index(fields=["user", "channel"])]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.channel_id}"


class ChannelInvite(models.Model):
    """An invitation for a user to join a group channel."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="invites")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="channel_invites")
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user"], name="unique_invite")]

    def __str__(self) -> str:
        return f"invite {self.user_id}@{self.channel_id}"


class ChannelBlock(models.Model):
    """A user a channel's moderators removed and barred: they cannot join, be added or send until unblocked."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="blocks")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="channel_blocks")
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user"], name="unique_channel_block")]

    def __str__(self) -> str:
        return f"{self.user_id} blocked from {self.channel_id}"
