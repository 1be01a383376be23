"""Create, change and delete chat users; their display pictures and secrets."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.actions.files import clean_file
from chat.actions.updates import patch_properties, save_changes
from chat.bounds import bounded_text
from chat.errors import Conflict, NotFound
from chat.events import Event, send_event_on_commit
from chat.models import Application, ChannelInvite, ChannelMembership, ChatUser, SessionState, UserSecret, UserType
from chat.realtime.control import Recheck, recheck_on_commit


def _user_event(user: ChatUser, kind: str) -> Event:
    return Event(type=f"user.{kind}", application_id=user.application_id, resource_type="user", resource_id=user.pk)


def check_create_user(
    application: Application,
    *,
    name: str,
    display_name: str | None = None,
    is_guest: bool = False,
    properties: dict[str, Any] | None = None,
    user_type: str = UserType.PERSON,
    display_picture: dict[str, Any] | None = None,
) -> ChatUser:
    """Create a user with a name unique in the application; the display name defaults to the name.

    ``display_picture`` describes a file (``chat.actions.files.describe_file``)."""
    name = bounded_text(name, "name")
    display_name = bounded_text(display_name, "displayName") if display_name is not None else name
    if ChatUser.objects.filter(application=application, name=name, deleted_time__isnull=True).exists():
        raise Conflict(f"A user named {name!r} already exists.", field="name")
    try:
        with transaction.atomic():
            user = ChatUser.objects.create(
                application=application,
                name=name,
                display_name=display_name,
                is_guest=is_guest,
                properties=properties or {},
                type=user_type,
                display_picture=display_picture,
            )
            send_event_on_commit(_user_event(user, "created"))
    except IntegrityError as error:
        raise Conflict(f"A user named {name!r} already exists.", field="name") from error
    return user


def check_update_user(user: ChatUser, patch: dict[str, Any]) -> ChatUser:
    """Apply a merge patch of ``display_name``, ``is_guest``, ``presence.status`` and ``properties``."""
    fields: list[str] = []
    if "display_name" in patch:
        user.display_name = bounded_text(str(patch["display_name"] or ""), "displayName")
        fields.append("display_name")
    if "is_guest" in patch:
        user.is_guest = bool(patch["is_guest"])
        fields.append("is_guest")
    if patch.get("presence_status") is not None:
        user.presence_status = bounded_text(str(patch["presence_status"]), "presence.status")
        fields.append("presence_status")
    patch_properties(user, patch, fields)
    save_changes(user, fields, lambda: _user_event(user, "updated"))
    return user


@transaction.atomic
def do_delete_user(user: ChatUser) -> None:
    """Delete a user: they leave every channel and lose their secrets; their messages keep naming them."""
    now = timezone.now()
    user.deleted_time = now
    user.online = False
    user.save(update_fields=["deleted_time", "online"])
    ChannelMembership.objects.filter(user=user).delete()
    ChannelInvite.objects.filter(user=user).delete()
    UserSecret.objects.filter(user=user).delete()
    user.sessions.filter(state=SessionState.ACTIVE).update(state=SessionState.ENDED, end_time=now)
    send_event_on_commit(_user_event(user, "deleted"))
    recheck_on_commit(Recheck(user.application_id, user_id=user.pk))


def check_update_display_picture(
    user: ChatUser, *, url: str, name: str, content_type: str, size: int, hosted: bool = False
) -> ChatUser:
    """Point the user's display picture at an external file (or one uploaded here: ``hosted``)."""
    picture = {"url": url, "name": name, "contentType": content_type, "size": size}
    user.display_picture = clean_file(picture, "", hosted=hosted)
    save_changes(user, ["display_picture"], lambda: _user_event(user, "updated"))
    return user


def check_set_user_secret(user: ChatUser, name: str, value: Any) -> None:
    """Store (or replace) a named secret value for the user."""
    name = bounded_text(name, "name")
    UserSecret.objects.update_or_create(user=user, name=name, defaults={"value": value})


def check_remove_user_secret(user: ChatUser, name: str) -> None:
    """Remove a named secret; 404 if the user has none by that name."""
    deleted, _ = UserSecret.objects.filter(user=user, name=name).delete()
    if not deleted:
        raise NotFound(f"User {user.pk} has no secret named {name!r}.", field="name")
