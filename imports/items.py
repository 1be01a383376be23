"""The items of import files, as the contract document describes them (``ChatUserImport``, ``ChannelImport``,
``ChannelMembershipImport``, ``MessageImport``): each raw JSON item is checked and turned into a typed item, or
refused with an ``ItemError`` naming its field. Keys come in camelCase or snake_case; ``idempotencyKey`` (or ``id``)
names an item across imports, and an item without one is named by its row and content, so that the same file
imported twice names its items the same way."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chat.actions.files import clean_file
from chat.bounds import MAX_BODY_LENGTH, MAX_JSON_DEPTH, MAX_NAME_LENGTH, too_deep
from chat.errors import Invalid
from chat.models import ChannelType, MessageType

MAX_KEY_LENGTH = 256
MISSING = object()


class ItemError(Exception):
    """An item that cannot be imported: the field at fault (camelCase, as in the file) and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _get(item: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` present in the item (MISSING if none is)."""
    for name in names:
        if name in item:
            return item[name]
    return MISSING


def _text(item: dict[str, Any], field: str, *aliases: str, required: bool = False, limit: int = MAX_NAME_LENGTH) -> Any:
    value = _get(item, field, *aliases)
    if value is MISSING or value is None:
        if required:
            raise ItemError(field, f"{field} is required.")
        return None
    if not isinstance(value, str):
        raise ItemError(field, f"{field} must be a string.")
    value = value.strip()
    if required and not value:
        raise ItemError(field, f"{field} must not be blank.")
    if len(value) > limit:
        raise ItemError(field, f"{field} must be at most {limit} characters.")
    return value or None


def _object(item: dict[str, Any], field: str, *aliases: str) -> dict[str, Any]:
    value = _get(item, field, *aliases)
    if value is MISSING or value is None:
        return {}
    if not isinstance(value, dict):
        raise ItemError(field, f"{field} must be a JSON object.")
    if value and len(orjson.dumps(value)) > settings.PARLEY_MAX_BODY_BYTES:
        raise ItemError(field, f"{field} must be at most {settings.PARLEY_MAX_BODY_BYTES} bytes of JSON.")
    return value


def _integer(item: dict[str, Any], field: str, *aliases: str, required: bool = False) -> int | None:
    value = _get(item, field, *aliases)
    if value is MISSING or value is None:
        if required:
            raise ItemError(field, f"{field} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ItemError(field, f"{field} must be an integer.")
    return value


def _boolean(item: dict[str, Any], field: str, *aliases: str) -> bool:
    value = _get(item, field, *aliases)
    if value is MISSING or value is None:
        return False
    if not isinstance(value, bool):
        raise ItemError(field, f"{field} must be true or false.")
    return value


def _username(value: Any, field: str) -> str:
    """A user named by a string or by ``{"username": …}``."""
    if isinstance(value, dict):
        value = value.get("username", value.get("name"))
    if not isinstance(value, str) or not value.strip():
        raise ItemError(field, f"{field} must be a username.")
    return value.strip()


def item_key(item: dict[str, Any], row: int, *, scope: str = "") -> str:
    """The item's idempotency key (``idempotencyKey``, ``idempotency_key`` or ``id``); without one, its row and a
    digest of its content."""
    given = _get(item, "idempotencyKey", "idempotency_key", "id")
    if given is not MISSING and given is not None:
        if isinstance(given, bool) or not isinstance(given, str | int):
            raise ItemError("idempotencyKey", "idempotencyKey must be a string.")
        key = str(given)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ItemError("idempotencyKey", f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters.")
    else:
        digest = hashlib.blake2b(orjson.dumps(item, option=orjson.OPT_SORT_KEYS), digest_size=12).hexdigest()
        key = f"#{row}:{digest}"
    return f"{scope}{key}"


def require_object(raw: Any) -> dict[str, Any]:
    """Every item is a JSON object."""
    if not isinstance(raw, dict):
        raise ItemError("item", "Each item must be a JSON object.")
    path = too_deep(raw, MAX_JSON_DEPTH + 1)
    if path is not None:
        raise ItemError(str(path[0]), f"{path[0]} nests deeper than {MAX_JSON_DEPTH} levels.")
    return raw


@dataclass(frozen=True, slots=True)
class FileItem:
    """A file an item points at (``FileImport``)."""

    url: str
    name: str
    content_type: str
    size: int


def _file(value: Any, field: str) -> FileItem:
    try:
        found = clean_file(value, field)
    except Invalid as error:
        raise ItemError(error.field or field, error.message) from error
    return FileItem(url=found["url"], name=found["name"], content_type=found["contentType"], size=found["size"])


@dataclass(frozen=True, slots=True)
class UserItem:
    """A user to create (``ChatUserImport``)."""

    row: int
    key: str
    name: str
    display_name: str
    is_guest: bool
    properties: dict[str, Any]
    display_picture: FileItem | None


def clean_user(raw: Any, row: int) -> UserItem:
    """Check a ``ChatUserImport``; the display name defaults to the name."""
    item = require_object(raw)
    name = _text(item, "name", required=True)
    picture = _get(item, "displayPicture", "display_picture")
    return UserItem(
        row=row,
        key=item_key(item, row),
        name=name,
        display_name=_text(item, "displayName", "display_name") or name,
        is_guest=_boolean(item, "isGuest", "is_guest", "guest"),
        properties=_object(item, "properties"),
        display_picture=None if picture in (MISSING, None) else _file(picture, "displayPicture"),
    )


@dataclass(frozen=True, slots=True)
class ChannelItem:
    """A channel to create (``ChannelImport``: direct, public or private)."""

    row: int
    key: str
    type: str
    members: list[str]
    creator: str | None
    name: str | None
    display_name: str | None
    properties: dict[str, Any]


def clean_channel(raw: Any, row: int) -> ChannelItem:
    """Check a ``ChannelImport``: ``type``, ``members`` (usernames) and optionally ``creator``, ``name``,
    ``displayName``, ``properties``."""
    item = require_object(raw)
    channel_type = _text(item, "type", required=True)
    if channel_type not in ChannelType.values:
        raise ItemError("type", f"type must be one of {', '.join(ChannelType.values)}.")
    members = _get(item, "members")
    if members is MISSING or members is None:
        members = []
    if not isinstance(members, list):
        raise ItemError("members", "members must be a list of usernames.")
    creator = _get(item, "creator")
    return ChannelItem(
        row=row,
        key=item_key(item, row),
        type=channel_type,
        members=[_username(member, f"members[{index}]") for index, member in enumerate(members)],
        creator=None if creator in (MISSING, None) else _username(creator, "creator"),
        name=_text(item, "name"),
        display_name=_text(item, "displayName", "display_name"),
        properties=_object(item, "properties"),
    )


@dataclass(frozen=True, slots=True)
class MemberItem:
    """A user to add to the job's channel (``ChannelMembershipImport``)."""

    row: int
    key: str
    username: str


def clean_member(raw: Any, row: int, *, channel_id: int) -> MemberItem:
    """Check a ``ChannelMembershipImport``: ``username``; keys are kept per channel."""
    item = require_object(raw)
    username = _get(item, "username", "user")
    if username is MISSING or username is None:
        raise ItemError("username", "username is required.")
    return MemberItem(
        row=row, key=item_key(item, row, scope=f"{channel_id}:"), username=_username(username, "username")
    )


@dataclass(frozen=True, slots=True)
class MessageItem:
    """A message to import (``MessageImport``) with the sender, channel, thread and time it had."""

    row: int
    key: str
    channel_id: int
    type: str  # TEXT, FILE, SYSTEM_TEXT or SYSTEM_FILE
    username: str | None
    body: str
    file: FileItem | None
    group_tag: str | None
    properties: dict[str, Any]
    created_time: datetime | None
    thread_id: int | None
    parent_id: int | None
    parent_key: str | None


USER_MESSAGE_TYPES = (MessageType.TEXT, MessageType.FILE)
SYSTEM_MESSAGE_TYPES = (MessageType.SYSTEM_TEXT, MessageType.SYSTEM_FILE)


def _time(item: dict[str, Any]) -> datetime | None:
    value = _get(item, "createdTime", "created_time")
    if value is MISSING or value is None:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = parse_datetime(value)  # the forms fromisoformat does not read
    if parsed is None:
        raise ItemError("createdTime", "createdTime must be an ISO-8601 date and time.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def clean_message(raw: Any, row: int) -> MessageItem:
    """Check a ``MessageImport``: ``type`` (TEXT with ``user`` or SYSTEM_TEXT, or their FILE kinds with ``file``),
    ``channelId``, ``body``; optionally ``groupTag``, ``properties``, ``createdTime`` (when it was sent), and where
    it goes: ``threadId`` (a thread of the channel), ``parentId`` (a message it replies to) or
    ``parentIdempotencyKey`` (an imported message it replies to)."""
    item = require_object(raw)
    message_type = _text(item, "type", required=True)
    if message_type not in (*USER_MESSAGE_TYPES, *SYSTEM_MESSAGE_TYPES):
        raise ItemError("type", f"type must be one of {', '.join((*USER_MESSAGE_TYPES, *SYSTEM_MESSAGE_TYPES))}.")
    user = _get(item, "user")
    username = None if user in (MISSING, None) else _username(user, "user")
    if message_type in USER_MESSAGE_TYPES and username is None:
        raise ItemError("user", f"A {message_type} message needs the username of its sender (user).")
    if message_type in SYSTEM_MESSAGE_TYPES and username is not None:
        raise ItemError("user", f"A {message_type} message is sent by the application: it has no user.")
    body, file = "", None
    if message_type in (MessageType.TEXT, MessageType.SYSTEM_TEXT):
        text = _get(item, "body")
        if not isinstance(text, str) or not text.strip():
            raise ItemError("body", "A text message needs a non-blank body.")
        if len(text) > MAX_BODY_LENGTH:
            raise ItemError("body", f"body must be at most {MAX_BODY_LENGTH} characters.")
        body = text
    else:
        file = _file(_get(item, "file"), "file")
    parent_key = _text(item, "parentIdempotencyKey", "parent_idempotency_key", limit=MAX_KEY_LENGTH)
    thread_id = _integer(item, "threadId", "thread_id")
    parent_id = _integer(item, "parentId", "parent_id")
    if sum(value is not None for value in (thread_id, parent_id, parent_key)) > 1:
        raise ItemError("threadId", "Give at most one of threadId, parentId and parentIdempotencyKey.")
    channel_id = _integer(item, "channelId", "channel_id", required=True)
    assert channel_id is not None  # noqa: S101  (required)
    return MessageItem(
        row=row,
        key=item_key(item, row),
        channel_id=channel_id,
        type=message_type,
        username=username,
        body=body,
        file=file,
        group_tag=_text(item, "groupTag", "group_tag"),
        properties=_object(item, "properties"),
        created_time=_time(item),
        thread_id=thread_id,
        parent_id=parent_id,
        parent_key=parent_key,
    )
