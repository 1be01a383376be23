"""React to messages with emoji, and take a reaction back."""

from typing import Any

from django.db import IntegrityError, transaction

from chat.errors import Invalid, NotFound
from chat.events import Event, send_event_on_commit
from chat.models import ChatUser, Message, Reaction
from chat.selectors.channels import is_member

MAX_EMOJI_LENGTH = 64


def _reaction_event(message: Message, user: ChatUser, emoji: str, kind: str) -> Event:
    return Event(
        type=f"message.reaction.{kind}",
        application_id=message.application_id,
        channel_id=message.channel_id,
        resource_type="message",
        resource_id=message.pk,
        data={"user_id": user.pk, "emoji": emoji},
    )


def _clean_emoji(emoji: Any) -> str:
    if not isinstance(emoji, str) or not emoji.strip():
        raise Invalid("emoji must be a non-blank string.", field="emoji")
    if len(emoji) > MAX_EMOJI_LENGTH:
        raise Invalid(f"emoji must be at most {MAX_EMOJI_LENGTH} characters.", field="emoji")
    return emoji.strip()


def check_react(message: Message, user: ChatUser, emoji: Any) -> Reaction:
    """React to a message of a channel the user belongs to (reacting twice with one emoji keeps the first)."""
    emoji = _clean_emoji(emoji)
    if not is_member(channel=message.channel, user=user):
        raise Invalid(f"User {user.name!r} is not a member of this channel.", field="user")
    try:
        with transaction.atomic():
            reaction, created = Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)
            if created:
                send_event_on_commit(_reaction_event(message, user, emoji, "created"))
    except IntegrityError:
        reaction = Reaction.objects.get(message=message, user=user, emoji=emoji)
    return reaction


def check_remove_reaction(message: Message, user: ChatUser, emoji: Any) -> None:
    """Take back the user's reaction with this emoji."""
    emoji = _clean_emoji(emoji)
    with transaction.atomic():
        deleted, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
        if not deleted:
            raise NotFound(f"User {user.name!r} has not reacted with {emoji!r} to this message.", field="emoji")
        send_event_on_commit(_reaction_event(message, user, emoji, "removed"))
