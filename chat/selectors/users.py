"""Reads of users: lookups by id, name or reference, the directory with its filters, their secrets, notifications
and blocks."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.fields.json import KeyTransform

from chat.errors import Invalid, NotFound
from chat.models import (
    Application,
    ChannelMembership,
    ChatUser,
    Notification,
    UserBlock,
    UserSecret,
)
from chat.selectors.unread import unread_of_membership


def live_users(*, application: Application) -> QuerySet[ChatUser]:
    """Users of the application that have not been deleted."""
    return ChatUser.objects.filter(application=application, deleted_time__isnull=True)


def get_user(*, application: Application, user_id: int) -> ChatUser:
    """A live user of this application by id (404 for another tenant's id)."""
    try:
        return live_users(application=application).get(pk=user_id)
    except ChatUser.DoesNotExist:
        raise NotFound(f"User {user_id} not found.") from None


def get_user_by_name(*, application: Application, name: str) -> ChatUser:
    """A live user of this application by username."""
    try:
        return live_users(application=application).get(name=name)
    except ChatUser.DoesNotExist:
        raise NotFound(f"User {name!r} not found.", field="username") from None


def user_key(reference: Any, field: str) -> tuple[str, Any]:
    """The column and value a user reference names (``("id", 1)`` or ``("name", "jane")``); 400 if malformed."""
    if not isinstance(reference, dict):
        raise Invalid(f"{field} must be an object with an id or a username.", field=field)
    if reference.get("id") is not None:
        user_id = reference["id"]
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise Invalid(f"{field}.id must be an integer.", field=f"{field}.id")
        return "id", user_id
    username = reference.get("username", reference.get("name"))
    if isinstance(username, str) and username:
        return "name", username
    raise Invalid(f"{field} must have an id or a username.", field=field)


def user_not_found(key: tuple[str, Any], field: str) -> NotFound:
    column, value = key
    return NotFound(f"User {value if column == 'id' else repr(value)} not found.", field=field)


def resolve_user(*, application: Application, reference: Any, field: str = "user") -> ChatUser:
    """Resolve a user reference, ``{"id": 1}`` or ``{"username": "jane"}``; a bad one names ``field``."""
    key = user_key(reference, field)
    try:
        return live_users(application=application).get(**{key[0]: key[1]})
    except ChatUser.DoesNotExist:
        raise user_not_found(key, field) from None


def filter_properties(queryset: QuerySet[Any], properties: dict[str, Any]) -> QuerySet[Any]:
    """Keep rows whose ``properties`` hold every key of ``properties`` with the same value. A key is a key, whatever
    it holds (``__`` included): never a lookup."""
    for index, (key, value) in enumerate(properties.items()):
        alias = f"_property_{index}"
        queryset = queryset.alias(**{alias: KeyTransform(str(key), "properties")}).filter(**{alias: value})
    return queryset


def list_users(
    *,
    application: Application,
    name: str | None = None,
    properties: dict[str, Any] | None = None,
    unread: bool | None = None,
) -> QuerySet[ChatUser]:
    """The application's users, optionally by exact username, custom properties, and whether they have unread."""
    users = live_users(application=application)
    if name:
        users = users.filter(name=name)
    if properties:
        users = filter_properties(users, properties)
    if unread is not None:
        behind = Exists(ChannelMembership.objects.filter(user=OuterRef("pk")).filter(Exists(unread_of_membership())))
        users = users.filter(behind) if unread else users.exclude(behind)
    return users


def users_by_id(ids: Iterable[int]) -> dict[int, ChatUser]:
    """Users (deleted ones too, as old messages still name them) by id."""
    return ChatUser.objects.in_bulk(list(ids))


def user_notifications(*, user: ChatUser) -> QuerySet[Notification]:
    """Notifications the user received."""
    return Notification.objects.filter(user=user).select_related(
        "channel__creator",
        "message__user",
        "parent_message__user",
        "mentioned_user",
        "mentioned_channel",
    )


def get_user_secret(*, user: ChatUser, name: str) -> UserSecret:
    """A named secret of the user."""
    secret = UserSecret.objects.filter(user=user, name=name).first()
    if secret is None:
        raise NotFound(f"User {user.pk} has no secret named {name!r}.", field="name")
    return secret


def user_blocks(*, user: ChatUser) -> QuerySet[UserBlock]:
    """The users a user blocked, most recent first."""
    return UserBlock.objects.filter(blocker=user).select_related("blocked").order_by("-id")
