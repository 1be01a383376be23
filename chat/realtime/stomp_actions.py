"""Actions: the writes of the StompX protocol (SEND to ``/application/….<action>`` with a JSON body).

Each handler checks what the session's user may do, calls the one write path (``chat.actions``), and says what to
answer: the resulting resource pushed with the frame's receipt, or a bare RECEIPT. Everyone else hears of the change
from the event bus, as they would of a change made through the Platform API.
"""

import re
from collections.abc import Callable
from typing import Any

from chat.actions.blocks import (
    check_block_channel_user,
    check_block_user,
    check_unblock_channel_user,
    check_unblock_user,
)
from chat.actions.channels import (
    check_add_member,
    check_add_moderator,
    check_create_channel,
    check_hide_channel,
    check_mute_channel,
    check_remove_member,
    check_remove_moderator,
    check_send_channel_event,
    check_send_invite,
    check_update_channel,
    do_delete_channel,
    do_send_keystrokes,
)
from chat.actions.messages import (
    check_clear_channel_history,
    check_create_thread,
    check_open_reply_thread,
    check_read_channel,
    check_report_message,
    check_send_message,
    check_unread_message,
    check_update_message,
    do_delete_message,
    do_read_thread,
)
from chat.actions.reactions import check_react, check_remove_reaction
from chat.actions.users import check_update_display_picture, check_update_user, do_delete_user
from chat.errors import Forbidden, Invalid
from chat.models import (
    Application,
    Channel,
    ChannelBlock,
    ChannelType,
    ChatUser,
    Message,
    MessageType,
    Thread,
    ThreadType,
)
from chat.realtime.context import (
    Outcome,
    Session,
    channel_id,
    check_message_rate,
    json_object,
    referenced_user,
    require_member,
    require_moderator,
    text,
    visible_channel,
    visible_message,
    visible_thread,
)
from chat.realtime.resources import channel_topic, user_topic
from chat.selectors.channels import get_channel, is_member
from chat.selectors.messages import main_thread
from chat.selectors.users import get_user
from chat.wire.timestamps import timestamp

Action = Callable[[Session, re.Match[str], dict[str, Any]], Outcome]
MAX_KEYS_LENGTH = 1_000


# --- the current user ---------------------------------------------------------------------------------------------


def update_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Change the user's display name or properties (the SDK sends the whole user)."""
    patch: dict[str, Any] = {}
    if "displayName" in body:
        patch["display_name"] = body["displayName"]
    if "properties" in body:
        patch["properties"] = json_object(body, "properties")
    user = check_update_user(session.user, patch)
    return Outcome(
        resource=session.resources().current_user(user),
        event="user.self.updated",
        topic=user_topic(user.pk, "self"),
        answers=("user.updated", user.pk),
    )


def update_display_picture(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Point the user's display picture at an outside file (``{url, name, contentType, size}``)."""
    for key in ("url", "name", "contentType"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise Invalid(f"{key} is required.", field=key)
    size = body.get("size")
    if isinstance(size, bool) or not isinstance(size, int):
        raise Invalid("size must be an integer.", field="size")
    user = check_update_display_picture(
        session.user, url=body["url"], name=body["name"], content_type=body["contentType"], size=size
    )
    return Outcome(
        resource=session.resources().current_user(user),
        event="user.self.updated",
        topic=user_topic(user.pk, "self"),
        answers=("user.updated", user.pk),
    )


def delete_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Delete the user's own account."""
    do_delete_user(session.user)
    return Outcome(
        resource=session.resources().current_user(session.user),
        event="user.self.deleted",
        topic=user_topic(session.user.pk, "self"),
    )


def create_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Create a channel with the user as creator (when the application lets users create channels)."""
    if session.application.user_created_channels != Application.Toggle.ENABLED and body.get("type") != "DIRECT":
        raise Forbidden("This application does not let users create channels (setting user_created_channels).")
    members_given = body.get("members") or []
    if not isinstance(members_given, list):
        raise Invalid("members must be a list of users.", field="members")
    members = [referenced_user(session, {"members": member}, "members") for member in members_given]
    channel, _ = check_create_channel(
        session.application,
        channel_type=str(body.get("type", "")),
        name=text(body, "name"),
        display_name=text(body, "displayName"),
        creator=session.user,
        members=members,
        properties=json_object(body, "properties"),
    )
    return _channel_outcome(session, channel, "user.channel.created")


def _channel_outcome(
    session: Session, channel: Channel, event: str, answers: tuple[str, int | None] | None = None
) -> Outcome:
    channel = get_channel(application=session.application, channel_id=channel.pk, for_rendering=True)
    return Outcome(
        resource=session.resources().channel(channel),
        event=event,
        topic=user_topic(session.user.pk, "channels"),
        answers=answers,
    )


# --- channels -----------------------------------------------------------------------------------------------------


def send_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Send a text message (or one that links an outside file) into the channel."""
    return _send(session, visible_channel(session, channel_id(match)), None, body)


def _send(session: Session, channel: Channel, thread: Thread | None, body: dict[str, Any]) -> Outcome:
    check_message_rate(session)
    message_type = body.get("type") or (MessageType.FILE if body.get("file") else MessageType.TEXT)
    if message_type not in (MessageType.TEXT, MessageType.FILE):
        raise Invalid("type must be TEXT or FILE.", field="type")
    file = body.get("file")
    if isinstance(file, dict) and "contentType" in file:
        file = {**file, "content_type": file["contentType"]}
    message = check_send_message(
        channel,
        message_type=message_type,
        thread=thread,
        body=body.get("body"),
        file=file,
        user=session.user,
        group_tag=text(body, "groupTag"),
        properties=json_object(body, "properties"),
    )
    return Outcome(
        resource=session.resources().new_message(message),
        event="channel.message.created",
        topic=channel_topic(channel.pk, "messages"),
        answers=("message.created", message.pk),
    )


def read_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Mark the channel read up to its newest message."""
    channel = visible_channel(session, channel_id(match))
    if is_member(channel=channel, user=session.user):
        check_read_channel(channel, session.user)
    return Outcome(receipt_only=True)


def keystrokes(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Relay what the user is typing; typing started and stopped are derived from these."""
    channel = visible_channel(session, channel_id(match))
    return _keystrokes(session, main_thread(channel=channel), body)


def _keystrokes(session: Session, thread: Thread, body: dict[str, Any]) -> Outcome:
    keys = body.get("keys", "")
    if not isinstance(keys, str) or len(keys) > MAX_KEYS_LENGTH:
        raise Invalid(f"keys must be a string of at most {MAX_KEYS_LENGTH} characters.", field="keys")
    do_send_keystrokes(thread, user=session.user, keys=keys)
    return Outcome(receipt_only=True)


def trigger_event(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """A custom event to everyone in the channel; nothing is stored."""
    channel = visible_channel(session, channel_id(match))
    require_member(session, channel)
    event_type = body.get("type")
    if not isinstance(event_type, str):
        raise Invalid("type must be a string.", field="type")
    properties = json_object(body, "properties")
    check_send_channel_event(channel, event_type=event_type, properties=properties, user=session.user)
    return Outcome(receipt_only=True)


def update_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Change the channel's display name or properties (moderators; the SDK sends the whole channel)."""
    channel = visible_channel(session, channel_id(match))
    require_moderator(session, channel)
    patch: dict[str, Any] = {}
    if "displayName" in body:
        patch["display_name"] = body["displayName"]
    if "properties" in body:
        patch["properties"] = json_object(body, "properties")
    channel = check_update_channel(channel, patch)
    outcome = _channel_outcome(session, channel, "channel.self.updated")
    outcome.topic, outcome.answers = channel_topic(channel.pk, "self"), ("channel.updated", channel.pk)
    return outcome


def delete_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Delete the channel (moderators)."""
    channel = visible_channel(session, channel_id(match), for_rendering=True)
    require_moderator(session, channel)
    resource = session.resources().channel(channel)
    do_delete_channel(channel)
    return Outcome(resource=resource, event="channel.self.deleted", topic=channel_topic(channel.pk, "self"))


def join_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Join a public channel."""
    channel = visible_channel(session, channel_id(match))
    if channel.type != ChannelType.PUBLIC:
        raise Invalid("Only public channels can be joined.", field="channel")
    check_add_member(channel, session.user)
    return _channel_outcome(session, channel, "user.channel.joined")


def leave_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Leave a group channel."""
    channel = visible_channel(session, channel_id(match), for_rendering=True)
    resource = session.resources().channel(channel)
    check_remove_member(channel, session.user)
    return Outcome(resource=resource, event="user.channel.left", topic=user_topic(session.user.pk, "channels"))


def invite_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Invite a user to a private channel the inviter belongs to."""
    channel = visible_channel(session, channel_id(match))
    require_member(session, channel)
    invited = referenced_user(session, body)
    check_send_invite(channel, invited)
    return Outcome(resource=session.resources().user(invited), event="channel.invite.sent")


def _moderator(
    session: Session, match: re.Match[str], body: dict[str, Any], change: Callable[..., Any], event: str
) -> Outcome:
    channel = visible_channel(session, channel_id(match))
    require_moderator(session, channel)
    user = referenced_user(session, body)
    change(channel, user)
    return Outcome(resource=session.resources().user(user), event=event, topic=channel_topic(channel.pk, "moderators"))


def add_moderator(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Make a user a moderator of the channel (moderators)."""
    return _moderator(session, match, body, check_add_moderator, "channel.moderator.added")


def delete_moderator(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Take a user's moderator rights (moderators)."""
    return _moderator(session, match, body, check_remove_moderator, "channel.moderator.deleted")


def mute_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Mute (``{"state": "ON"}``) or unmute (``"OFF"``) the channel's notifications for the user."""
    channel = visible_channel(session, channel_id(match))
    state = body.get("state")
    if state not in ("ON", "OFF"):
        raise Invalid("state must be ON or OFF.", field="state")
    check_mute_channel(channel, session.user, muted=state == "ON")
    return _channel_outcome(session, channel, "user.channel.updated")


def hide_channel(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Hide the channel from the user's list until a new message arrives in it."""
    channel = visible_channel(session, channel_id(match))
    check_hide_channel(channel, session.user)
    return _channel_outcome(session, channel, "user.channel.hidden", answers=("channel.hidden", channel.pk))


def clear_history(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Clear the user's history of the channel (others keep theirs)."""
    channel = visible_channel(session, channel_id(match))
    check_clear_channel_history(channel, session.user)
    return _channel_outcome(session, channel, "user.channel.updated")


def _channel_block(
    session: Session, channel: Channel, user: ChatUser, change: Callable[..., ChannelBlock], event: str, bus: str
) -> Outcome:
    block = change(channel, user)
    return Outcome(
        resource=session.resources().channel_block(block),
        event=event,
        topic=channel_topic(channel.pk, "blockRecords"),
        answers=(bus, channel.pk),
    )


def block_channel_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Remove a user from the channel and bar them (moderators)."""
    channel = visible_channel(session, channel_id(match))
    require_moderator(session, channel)
    user = referenced_user(session, body)
    return _channel_block(
        session,
        channel,
        user,
        check_block_channel_user,
        "user.channel.block_record_created",
        "channel.block_record.created",
    )


def unblock_channel_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Let a blocked user back (moderators)."""
    channel = visible_channel(session, channel_id(match))
    require_moderator(session, channel)
    user = get_user(application=session.application, user_id=int(match["user"]))
    return _channel_block(
        session,
        channel,
        user,
        check_unblock_channel_user,
        "channel.block_record.deleted",
        "channel.block_record.deleted",
    )


def create_thread(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Start a named thread in the channel (members)."""
    channel = visible_channel(session, channel_id(match))
    require_member(session, channel)
    thread = check_create_thread(channel, name=body.get("name"), properties=json_object(body, "properties"))
    return Outcome(resource=session.resources().thread(thread), event="channel.thread.created", topic=None)


# --- threads --------------------------------------------------------------------------------------------------------


def send_thread_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Send a message into a thread."""
    thread = visible_thread(session, int(match["thread"]))
    outcome = _send(session, thread.channel, thread, body)
    if thread.type == ThreadType.STANDALONE:
        outcome.event = "thread.message.created"
    return outcome


def thread_keystrokes(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Keystrokes in a thread (typing is derived from them)."""
    return _keystrokes(session, visible_thread(session, int(match["thread"])), body)


def read_thread(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """The user read a thread."""
    do_read_thread(visible_thread(session, int(match["thread"])), session.user)
    return Outcome(receipt_only=True)


# --- other users ----------------------------------------------------------------------------------------------------


def _user_block(
    session: Session, match: re.Match[str], change: Callable[[ChatUser, ChatUser], Any], event: str, bus: str
) -> Outcome:
    other = get_user(application=session.application, user_id=int(match["user"]))
    change(session.user, other)
    return Outcome(
        resource=session.resources().user(other),
        event=event,
        topic=user_topic(session.user.pk, "users"),
        answers=(bus, other.pk),
    )


def block_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Block another user: they can no longer message the current user directly."""
    return _user_block(session, match, check_block_user, "user.user_blocklist_item.created", "user.blocked")


def unblock_user(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Lift a block of the current user's."""
    return _user_block(session, match, check_unblock_user, "user.user.unblocked", "user.unblocked")


# --- messages -----------------------------------------------------------------------------------------------------


def _own_message(session: Session, match: re.Match[str]) -> Message:
    message = visible_message(session, int(match["message"]))
    if message.user_id != session.user.pk:
        raise Forbidden("Only the sender may change this message.")
    return message


def _message_outcome(session: Session, message: Message, event: str, bus_event: str) -> Outcome:
    message.refresh_from_db()
    return Outcome(
        resource=session.resources().message(message),
        event=event,
        topic=channel_topic(message.channel_id, "messages"),
        answers=(bus_event, message.pk),
    )


def reply(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Reply to a message, in its reply thread."""
    parent = visible_message(session, int(match["message"]))
    return _send(session, parent.channel, check_open_reply_thread(parent), body)


def edit_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Change the text of one's own message."""
    message = check_update_message(_own_message(session, match), {"body": body.get("body")})
    return _message_outcome(session, message, "channel.message.updated", "message.updated")


def update_message_properties(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Merge new custom properties into one's own message."""
    patch = {"properties": json_object(body, "properties")}
    message = check_update_message(_own_message(session, match), patch)
    return _message_outcome(session, message, "channel.message.updated", "message.updated")


def delete_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Delete a message: one's own, or any in a channel one moderates."""
    message = visible_message(session, int(match["message"]))
    if message.user_id != session.user.pk:
        require_moderator(session, message.channel)
    resources = session.resources()
    resource = resources.deleted_message(resources.renderer.message(message, nested=True))
    do_delete_message(message)
    return Outcome(
        resource=resource,
        event="channel.message.deleted",
        topic=channel_topic(message.channel_id, "messages"),
        answers=("message.deleted", message.pk),
    )


def react(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """React to a message with an emoji."""
    message = visible_message(session, int(match["message"]))
    reaction = check_react(message, session.user, body.get("emoji"))
    return Outcome(
        resource=session.resources().reaction(message, reaction.emoji, session.user),
        event="message.reaction.created",
        topic=channel_topic(message.channel_id, "reactions"),
        answers=("message.reaction.created", message.pk),
    )


def remove_reaction(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Take back a reaction."""
    message = visible_message(session, int(match["message"]))
    check_remove_reaction(message, session.user, body.get("emoji"))
    return Outcome(
        resource=session.resources().reaction(message, str(body["emoji"]).strip(), session.user),
        event="message.reaction.removed",
        topic=channel_topic(message.channel_id, "reactions"),
        answers=("message.reaction.removed", message.pk),
    )


def report(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Report a message to the channel's moderators."""
    message = visible_message(session, int(match["message"]))
    found = check_report_message(message, session.user, reason=body.get("reason", ""))
    resource = {
        "reason": found.reason,
        "properties": json_object(body, "properties"),
        "createdTime": timestamp(found.created_time),
        "_relays": {"message": f"/application/messages/{message.pk}.relay"},
    }
    return Outcome(resource=resource, event="message.report.created")


def read_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Mark the channel read up to this message."""
    message = visible_message(session, int(match["message"]))
    if is_member(channel=message.channel, user=session.user):
        check_read_channel(message.channel, session.user, up_to=message)
    return Outcome(receipt_only=True)


def unread_message(session: Session, match: re.Match[str], body: dict[str, Any]) -> Outcome:
    """Mark this message and the ones after it unread again."""
    message = visible_message(session, int(match["message"]))
    check_unread_message(message, session.user)
    return Outcome(receipt_only=True)


CHANNEL = r"/application/channels/(?P<channel>\d+)"
MESSAGE = r"/application/messages/(?P<message>\d+)"
ACTIONS: list[tuple[str, Action]] = [
    (r"/application/user\.update", update_user),
    (r"/application/user\.delete", delete_user),
    (r"/application/user\.update_display_picture", update_display_picture),
    (r"/application/user\.create_channel", create_channel),
    (rf"{CHANNEL}\.message", send_message),
    (rf"{CHANNEL}\.read", read_channel),
    (rf"{CHANNEL}\.keystrokes", keystrokes),
    (rf"{CHANNEL}\.trigger_event", trigger_event),
    (rf"{CHANNEL}\.update", update_channel),
    (rf"{CHANNEL}\.delete", delete_channel),
    (rf"{CHANNEL}\.join", join_channel),
    (rf"{CHANNEL}\.leave", leave_channel),
    (rf"{CHANNEL}\.invite", invite_user),
    (rf"{CHANNEL}\.add_moderator", add_moderator),
    (rf"{CHANNEL}\.delete_moderator", delete_moderator),
    (rf"{CHANNEL}\.mute", mute_channel),
    (rf"{CHANNEL}\.hide", hide_channel),
    (rf"{CHANNEL}\.clear_history", clear_history),
    (rf"{CHANNEL}\.block", block_channel_user),
    (rf"{CHANNEL}\.create_thread", create_thread),
    (r"/application/threads/(?P<thread>\d+)\.message", send_thread_message),
    (r"/application/threads/(?P<thread>\d+)\.keystrokes", thread_keystrokes),
    (r"/application/threads/(?P<thread>\d+)\.read", read_thread),
    (rf"{CHANNEL}/block_records/(?P<user>\d+)\.delete", unblock_channel_user),
    (r"/application/users/(?P<user>\d+)\.block", block_user),
    (r"/application/user/block_list_items/(?P<user>\d+)\.delete", unblock_user),
    (rf"{MESSAGE}\.reply", reply),
    (rf"{MESSAGE}\.edit", edit_message),
    (rf"{MESSAGE}\.update_properties", update_message_properties),
    (rf"{MESSAGE}\.delete", delete_message),
    (rf"{MESSAGE}\.react", react),
    (rf"{MESSAGE}\.remove_reaction", remove_reaction),
    (rf"{MESSAGE}\.report", report),
    (rf"{MESSAGE}\.read", read_message),
    (rf"{MESSAGE}\.unread", unread_message),
]
