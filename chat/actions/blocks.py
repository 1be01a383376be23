"""Blocking. A user blocks another: the blocked user can no longer message them in a direct channel. A channel's
moderators block a member: they are removed and cannot join, be added, be invited or send until unblocked."""

from django.db import transaction

from chat.actions.channels import channel_event
from chat.errors import Invalid, NotFound
from chat.events import Event, send_event_on_commit
from chat.models import Channel, ChannelBlock, ChannelInvite, ChannelMembership, ChatUser, UserBlock
from chat.realtime.control import Recheck, recheck_on_commit


def _user_block_event(block_type: str, blocker: ChatUser, blocked: ChatUser) -> Event:
    return Event(
        type=f"user.{block_type}",
        application_id=blocker.application_id,
        resource_type="user",
        resource_id=blocked.pk,
        data={"blocker_id": blocker.pk},
    )


def check_block_user(blocker: ChatUser, blocked: ChatUser) -> UserBlock:
    """Block a user (blocking twice keeps the first block)."""
    if blocker.pk == blocked.pk:
        raise Invalid("A user cannot block themselves.", field="user")
    with transaction.atomic():
        block, created = UserBlock.objects.get_or_create(blocker=blocker, blocked=blocked)
        if created:
            send_event_on_commit(_user_block_event("blocked", blocker, blocked))
    return block


def check_unblock_user(blocker: ChatUser, blocked: ChatUser) -> None:
    """Lift a block."""
    with transaction.atomic():
        deleted, _ = UserBlock.objects.filter(blocker=blocker, blocked=blocked).delete()
        if not deleted:
            raise NotFound(f"User {blocked.name!r} is not blocked.", field="user")
        send_event_on_commit(_user_block_event("unblocked", blocker, blocked))


def check_block_channel_user(channel: Channel, user: ChatUser) -> ChannelBlock:
    """Remove a user from a group channel and bar them from it (blocking twice keeps the first block)."""
    if not channel.is_group:
        raise Invalid("Only group channels have blocked users.", field="channel")
    with transaction.atomic():
        block, created = ChannelBlock.objects.get_or_create(channel=channel, user=user)
        if created:
            ChannelInvite.objects.filter(channel=channel, user=user).delete()
            removed, _ = ChannelMembership.objects.filter(channel=channel, user=user).delete()
            if removed:
                send_event_on_commit(channel_event(channel, "member.removed", user_id=user.pk))
            recheck_on_commit(Recheck(channel.application_id, user_id=user.pk, channel_id=channel.pk))
            send_event_on_commit(channel_event(channel, "block_record.created", user_id=user.pk))
    return block


def check_unblock_channel_user(channel: Channel, user: ChatUser) -> ChannelBlock:
    """Let a blocked user back (they are not made a member again); returns the block that was lifted."""
    with transaction.atomic():
        block = ChannelBlock.objects.filter(channel=channel, user=user).select_related("user").first()
        if block is None:
            raise NotFound(f"User {user.name!r} is not blocked from this channel.", field="user")
        block.delete()
        send_event_on_commit(channel_event(channel, "block_record.deleted", user_id=user.pk))
    return block
