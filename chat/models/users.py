"""Chat users of an application and the secrets a backend stores for them."""

from django.db import models
from django.db.models import Q

from chat.models.application import Application


class UserType(models.TextChoices):
    """Who a user is: a person or a bot."""

    PERSON = "PERSON"
    BOT = "BOT"


class ChatUser(models.Model):
    """A chat user. Deleting one keeps the row (``deleted_time``) so old messages still show their sender."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="users")
    name = models.CharField(max_length=256)
    display_name = models.CharField(max_length=256)
    type = models.CharField(max_length=8, choices=UserType.choices, default=UserType.PERSON)
    is_guest = models.BooleanField(default=False)
    properties = models.JSONField(default=dict, blank=True)
    presence_status = models.CharField(max_length=64, default="UNAVAILABLE")
    online = models.BooleanField(default=False)
    # when ``online`` last changed: the hubs recompute the presence that changed while they had no event bus
    presence_time = models.DateTimeField(null=True, blank=True, db_index=True)
    display_picture = models.JSONField(null=True, blank=True)
    created_time = models.DateTimeField(auto_now_add=True)
    deleted_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "name"], condition=Q(deleted_time__isnull=True), name="unique_live_username"
            )
        ]
        indexes = [models.Index(fields=["application", "name"])]

    def __str__(self) -> str:
        return self.name


class UserSecret(models.Model):
    """A named JSON value a tenant's backend keeps for one user."""

    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=256)
    value = models.JSONField()
    created_time = models.DateTimeField(auto_now_add=True)
    updated_time = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_user_secret")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.name}"


class UserBlock(models.Model):
    """One user blocking another: the blocked user can no longer message them directly."""

    blocker = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="blocks")
    blocked = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="blocked_by")
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="unique_user_block")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"
