"""Room API keys: a channel's key is created with a display name (shown once, stored hashed), revoked, and used to
post into that channel as the key's bot user, through the one write path."""

import secrets
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from chat.actions.channels import check_add_member
from chat.actions.messages import check_send_message
from chat.actions.users import check_create_user
from chat.bounds import bounded_text
from chat.errors import Forbidden, Invalid
from chat.models import Channel, ChatUser, Message, MessageType, RoomKey, UserType
from chat.selectors.channels import is_moderator

KEY_PREFIX = "rk_"


def check_create_room_key(
    channel: Channel, *, display_name: object, created_by: ChatUser | None = None
) -> tuple[RoomKey, str]:
    """A new key for a group channel and the bot user that posts with it, made by the application (an administrator)
    or by one of the channel's moderators; returns the key row and the key itself, which is never shown again."""
    display_name = bounded_text(display_name, "displayName")
    if not channel.is_group:
        raise Invalid("Room keys post into group channels only.", field="channel")
    if created_by is not None and not is_moderator(channel=channel, user=created_by):
        raise Forbidden(f"Only a moderator of the channel may create its keys, not {created_by.name!r}.", "createdBy")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    with transaction.atomic():
        bot = check_create_user(
            channel.application,
            name=f"room-key-{uuid.uuid4().hex[:12]}",
            display_name=display_name,
            user_type=UserType.BOT,
        )
        check_add_member(channel, bot)
        room_key = RoomKey.objects.create(
            application_id=channel.application_id,
            channel=channel,
            bot=bot,
            display_name=display_name,
            created_by=created_by,
            key_hash=RoomKey.hash_of(key),
            prefix=key[: len(KEY_PREFIX) + 5],
        )
    return room_key, key


def do_revoke_room_key(room_key: RoomKey) -> RoomKey:
    """Stop a key from working (revoking twice keeps the first time)."""
    if room_key.revoked_time is None:
        room_key.revoked_time = timezone.now()
        room_key.save(update_fields=["revoked_time"])
    return room_key


# When a key was last used is kept to the minute: a script posting many times a second writes it once a minute.
LAST_USED_PRECISION = timedelta(minutes=1)


def check_post_with_room_key(room_key: RoomKey, *, text: object) -> Message:
    """Post a text message into the key's channel as its bot, and record (to the minute) that the key was used."""
    now = timezone.now()
    with transaction.atomic():
        message = check_send_message(room_key.channel, message_type=MessageType.TEXT, body=text, user=room_key.bot)
        if room_key.last_used_time is None or now - room_key.last_used_time >= LAST_USED_PRECISION:
            RoomKey.objects.filter(pk=room_key.pk).update(last_used_time=now)
    return message
