"""Create, change and delete channels; manage members, moderators and invites; custom events and keystrokes."""

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from chat.actions.updates import patch_properties, save_changes
from chat.bounds import MAX_NAME_LENGTH
from chat.errors import Conflict, Forbidden, Invalid, NotFound
from chat.events import Event, send_event_on_commit
from chat.models import (
    Application,
    Channel,
    ChannelInvite,
    ChannelMembership,
    ChannelType,
    ChatUser,
    Message,
    Thread,
    ThreadType,
)
from chat.realtime.control import Recheck, recheck_on_commit
from chat.selectors.channels import direct_key, find_direct_channel, is_blocked_from, is_member


def channel_event(channel: Channel, kind: str, **data: Any) -> Event:
    """An event about a channel (``channel.<kind>``), for the bus."""
    return Event(
        type=f"channel.{kind}",
        application_id=channel.application_id,
        channel_id=channel.pk,
        resource_type="channel",
        resource_id=channel.pk,
        data=data,
    )


def _require_group(channel: Channel, what: str) -> None:
    if not channel.is_group:
        raise Invalid(f"Direct channels have a fixed set of members: cannot {what}.")


def check_create_channel(
    application: Application,
    *,
    channel_type: str,
    name: str | None = None,
    display_name: str | None = None,
    creator: ChatUser | None = None,
    members: list[ChatUser] | None = None,
    properties: dict[str, Any] | None = None,
) -> tuple[Channel, bool]:
    """Create a channel, or return the equivalent one (the direct channel of the same members).

    Returns the channel and whether it was created. Group channel names are unique in the application.
    """
    if channel_type not in ChannelType.values:
        raise Invalid(f"type must be one of {ChannelType.values}.", field="type")
    users = {user.pk: user for user in members or []}
    if creator is not None:
        users[creator.pk] = creator
    if channel_type == ChannelType.DIRECT:
        if len(users) < 2:
            raise Invalid("A direct channel needs at least two distinct members.", field="members")
        existing = find_direct_channel(application=application, user_ids=set(users))
        if existing is not None:
            return existing, False
        channel = Channel(
            application=application,
            type=channel_type,
            direct_key=direct_key(set(users)),
            creator=creator,
            properties=properties or {},
        )
    else:
        name = (name or "").strip() or str(uuid.uuid4())
        if len(name) > MAX_NAME_LENGTH:
            raise Invalid(f"name must be at most {MAX_NAME_LENGTH} characters.", field="name")
        if Channel.objects.filter(application=application, name=name).exists():
            raise Conflict(f"A channel named {name!r} already exists.", field="name")
        channel = Channel(
            application=application,
            type=channel_type,
            name=name,
            display_name=(display_name or "").strip() or name,
            creator=creator,
            properties=properties or {},
        )
    try:
        with transaction.atomic():
            channel.save()
            channel.main_thread = Thread.objects.create(application=application, channel=channel, type=ThreadType.MAIN)
            channel.save(update_fields=["main_thread"])
            ChannelMembership.objects.bulk_create(
                ChannelMembership(
                    channel=channel,
                    user=user,
                    is_moderator=channel.is_group and creator is not None and user.pk == creator.pk,
                )
                for user in users.values()
            )
            send_event_on_commit(channel_event(channel, "created"))
    except IntegrityError as error:
        if channel_type == ChannelType.DIRECT:
            existing = find_direct_channel(application=application, user_ids=set(users))
            if existing is not None:
                return existing, False
        raise Conflict(f"A channel named {name!r} already exists.", field="name") from error
    return channel, True


def check_update_channel(channel: Channel, patch: dict[str, Any]) -> Channel:
    """Apply a merge patch of ``display_name`` and ``properties``."""
    fields: list[str] = []
    if "display_name" in patch:
        display_name = str(patch["display_name"] or "").strip()
        if not display_name:
            raise Invalid("displayName must not be blank.", field="displayName")
        channel.display_name = display_name
        fields.append("display_name")
    patch_properties(channel, patch, fields)
    save_changes(channel, fields, lambda: channel_event(channel, "updated"))
    return channel


@transaction.atomic
def do_delete_channel(channel: Channel) -> None:
    """Delete a channel with its messages, threads, memberships and invites (the event names who belonged)."""
    members = list(ChannelMembership.objects.filter(channel=channel).values_list("user_id", flat=True))
    send_event_on_commit(channel_event(channel, "deleted", member_ids=members))
    recheck_on_commit(Recheck(channel.application_id, channel_id=channel.pk))
    channel.delete()


def require_not_blocked(channel: Channel, user: ChatUser) -> None:
    """Refuse to let a user the channel's moderators blocked back in."""
    if is_blocked_from(channel=channel, user=user):
        raise Forbidden(f"User {user.name!r} is blocked from this channel.", field="user")


def check_add_member(channel: Channel, user: ChatUser) -> ChannelMembership:
    """Make the user a member of a group channel (a no-op if already one); an invite to it is used up."""
    _require_group(channel, "add members")
    require_not_blocked(channel, user)
    return do_add_member(channel, user)


@transaction.atomic
def do_add_member(channel: Channel, user: ChatUser) -> ChannelMembership:
    """Make the user a member (a no-op if already one), using up their invite; the channel's live members and the
    ``user.joined.channel`` functions hear of a new member."""
    membership, created = ChannelMembership.objects.get_or_create(channel=channel, user=user)
    ChannelInvite.objects.filter(channel=channel, user=user).delete()
    if created:
        send_event_on_commit(channel_event(channel, "member.added", user_id=user.pk))
    return membership


def check_remove_member(channel: Channel, user: ChatUser) -> None:
    """Remove a member from a group channel."""
    _require_group(channel, "remove members")
    with transaction.atomic():
        deleted, _ = ChannelMembership.objects.filter(channel=channel, user=user).delete()
        if not deleted:
            raise NotFound(f"User {user.pk} is not a member of channel {channel.pk}.", field="user")
        send_event_on_commit(channel_event(channel, "member.removed", user_id=user.pk))
        recheck_on_commit(Recheck(channel.application_id, user_id=user.pk, channel_id=channel.pk))


def check_add_moderator(channel: Channel, user: ChatUser) -> None:
    """Make the user a moderator of a group channel, joining them to it if needed."""
    _require_group(channel, "add moderators")
    require_not_blocked(channel, user)
    with transaction.atomic():
        membership = do_add_member(channel, user)
        if not membership.is_moderator:
            membership.is_moderator = True
            membership.save(update_fields=["is_moderator"])
            send_event_on_commit(channel_event(channel, "moderator.added", user_id=user.pk))


def check_remove_moderator(channel: Channel, user: ChatUser) -> None:
    """Take moderation rights away from a user; they stay a member."""
    _require_group(channel, "remove moderators")
    with transaction.atomic():
        updated = ChannelMembership.objects.filter(channel=channel, user=user, is_moderator=True).update(
            is_moderator=False
        )
        if not updated:
            raise NotFound(f"User {user.pk} is not a moderator of channel {channel.pk}.", field="user")
        send_event_on_commit(channel_event(channel, "moderator.removed", user_id=user.pk))


def check_send_invite(channel: Channel, user: ChatUser) -> ChannelInvite:
    """Invite a user who is not yet a member to a group channel (inviting twice returns the first invite)."""
    _require_group(channel, "invite users")
    require_not_blocked(channel, user)
    if is_member(channel=channel, user=user):
        raise Invalid(f"User {user.name!r} is already a member of this channel.", field="user")
    with transaction.atomic():
        invite, created = ChannelInvite.objects.get_or_create(channel=channel, user=user)
        if created:
            send_event_on_commit(channel_event(channel, "invite.sent", user_id=user.pk))
    return invite


def check_send_channel_event(
    channel: Channel, *, event_type: str, properties: dict[str, Any], user: ChatUser | None = None
) -> None:
    """Send a custom event to everyone live in the channel (from ``user``, or the system); nothing is stored."""
    if not event_type.strip():
        raise Invalid("type must not be blank.", field="type")
    sender = {"user_id": user.pk} if user is not None else {}
    send_event_on_commit(channel_event(channel, "event.sent", event_type=event_type, properties=properties, **sender))


def check_mute_channel(channel: Channel, user: ChatUser, *, muted: bool) -> None:
    """Mute or unmute a channel's notifications for one member."""
    with transaction.atomic():
        updated = ChannelMembership.objects.filter(channel=channel, user=user).update(muted=muted)
        if not updated:
            raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
        send_event_on_commit(channel_event(channel, "member.muted", user_id=user.pk, muted=muted))


def newest_message_sequence(channel: Channel) -> int:
    """The sequence number of the channel's newest message (0 if it has none)."""
    newest = Message.objects.filter(channel=channel).aggregate(newest=Max("sequence"))["newest"]
    return int(newest or 0)


def check_hide_channel(channel: Channel, user: ChatUser) -> None:
    """Hide a direct channel from a member's channel list until a new message arrives in it."""
    if channel.is_group:
        raise Invalid("Only direct channels can be hidden.", field="channel")
    with transaction.atomic():
        updated = ChannelMembership.objects.filter(channel=channel, user=user).update(
            hidden_sequence=newest_message_sequence(channel)
        )
        if not updated:
            raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
        send_event_on_commit(channel_event(channel, "hidden", user_id=user.pk))


def do_send_keystrokes(thread: Thread, *, user: ChatUser, keys: str) -> None:
    """Relay a user's keystrokes in a thread; typing indicators are derived from them by the realtime layer."""
    send_event_on_commit(
        Event(
            type="thread.keystrokes.created",
            application_id=thread.application_id,
            channel_id=thread.channel_id,
            resource_type="thread",
            resource_id=thread.pk,
            data={"user_id": user.pk, "username": user.name, "keys": keys},
        )
    )
