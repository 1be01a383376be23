"""Messages, the threads they live in, and the read marks that make read receipts and unread state."""

from django.db import models
from django.utils import timezone

from chat.models.application import Application
from chat.models.channels import Channel
from chat.models.users import ChatUser


class ThreadType(models.TextChoices):
    """MAIN is a channel's own thread; MESSAGE holds replies to one message; STANDALONE is a named side thread."""

    MAIN = "MAIN"
    STANDALONE = "STANDALONE"
    MESSAGE = "MESSAGE"


class Thread(models.Model):
    """A sequence of messages inside a channel."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="threads")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="threads")
    type = models.CharField(max_length=12, choices=ThreadType.choices)
    name = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001  (NULL: unnamed)
    parent_message = models.OneToOneField(
        "chat.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="reply_thread"
    )
    properties = models.JSONField(default=dict, blank=True)
    created_time = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} thread {self.pk}"


class MessageType(models.TextChoices):
    """Text or file, sent by a user or by the system (the application itself)."""

    TEXT = "TEXT"
    FILE = "FILE"
    SYSTEM_TEXT = "SYSTEM_TEXT"
    SYSTEM_FILE = "SYSTEM_FILE"


class Message(models.Model):
    """A message. ``user`` is empty for system messages; ``thread`` is the channel's main thread or a reply thread."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="messages")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    type = models.CharField(max_length=12, choices=MessageType.choices)
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    body = models.TextField(blank=True, default="")
    file = models.JSONField(null=True, blank=True)
    group_tag = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001  (NULL: no group)
    properties = models.JSONField(default=dict, blank=True)
    mentions = models.JSONField(null=True, blank=True)
    nested_level = models.PositiveSmallIntegerField(default=0)
    replies_count = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    created_time = models.DateTimeField(default=timezone.now)
    last_edited_time = models.DateTimeField(null=True, blank=True)
    # Its channel's sequence number when it was sent: a reconnecting client is sent what follows its last one.
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    # The idempotency key of an imported message (``imports``): importing the same item again creates nothing.
    import_key = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001  (NULL: not imported)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "import_key"],
                condition=models.Q(import_key__isnull=False),
                name="unique_message_import_key",
            )
        ]
        indexes = [
            models.Index(fields=["channel", "sequence"]),
            models.Index(fields=["thread", "id"]),
            models.Index(fields=["channel", "id"]),
            models.Index(fields=["application", "id"]),
            models.Index(fields=["user", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} message {self.pk}"

    @property
    def is_system(self) -> bool:
        """System messages are sent by the application, not a user."""
        return self.type in (MessageType.SYSTEM_TEXT, MessageType.SYSTEM_FILE)


class ReadMark(models.Model):
    """A user read a channel up to ``message_id`` at ``created_time``; read receipts are derived from these."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="read_marks")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="read_marks")
    message_id = models.BigIntegerField()
    created_time = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["channel", "message_id"])]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.channel_id} to {self.message_id}"


class MessageReport(models.Model):
    """A user flagged a message for the channel's moderators; one report per user and message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=1024, blank=True, default="")
    created_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="one_report_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} reported {self.message_id}"


class Reaction(models.Model):
    """A user reacted to a message with an emoji; one reaction per user, message and emoji."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="reactions")
    emoji = models.CharField(max_length=64)
    created_time = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="one_reaction_per_emoji")]

    def __str__(self) -> str:
        return f"{self.user_id} reacted {self.emoji} to {self.message_id}"
