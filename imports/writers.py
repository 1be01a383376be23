"""The write path of imported items, one batch at a time.

Users, channels and members are created one by one through the chat actions, by one loop (each item in its own
savepoint, so a bad item fails alone; their events go out when the batch commits). Messages are history: a batch is
checked with a handful of queries and written by chat's history writer (``chat.actions.history``) in one statement.
An item whose idempotency key was imported before, or whose object exists already, is skipped.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

from chat.actions.channels import check_add_member, check_create_channel
from chat.actions.files import describe_file
from chat.actions.history import do_write_history
from chat.actions.messages import check_open_reply_thread
from chat.actions.users import check_create_user
from chat.errors import ChatError, Conflict
from chat.mentions import find_mentions
from chat.models import Application, Channel, ChannelMembership, ChatUser, Message, Thread, ThreadType
from chat.selectors.users import live_users
from imports.actions import Outcome, Result
from imports.items import ChannelItem, FileItem, ItemError, MemberItem, MessageItem, UserItem
from imports.models import ImportedItem, JobType

Item = TypeVar("Item", UserItem, ChannelItem, MemberItem)


def _users_by_name(application: Application, names: set[str]) -> dict[str, ChatUser]:
    return {user.name: user for user in live_users(application=application).filter(name__in=names)}


def _no_user(field_name: str, name: str) -> ItemError:
    return ItemError(field_name, f"No user named {name!r}.")


def _user(users: dict[str, ChatUser], field_name: str, name: str) -> ChatUser:
    if name not in users:
        raise _no_user(field_name, name)
    return users[name]


def _describe(file: FileItem) -> dict[str, object]:
    return describe_file(url=file.url, name=file.name, content_type=file.content_type, size=file.size)


def _import_each(
    application: Application,
    kind: str,
    items: list[Item],
    create: Callable[[Item], tuple[int, bool] | None],
    default_field: str,
) -> dict[int, Result]:
    """The one loop of the kinds created one by one: ``create`` makes the item's object in a savepoint and returns
    its id and whether it is new (None: it is there already); a Conflict is an object made meanwhile."""
    done = set(
        ImportedItem.objects.filter(
            application=application, kind=kind, key__in={item.key for item in items}
        ).values_list("key", flat=True)
    )
    results: dict[int, Result] = {}
    created: dict[str, int] = {}
    for item in items:
        if item.key in done:
            results[item.row] = Outcome.SKIPPED
            continue
        try:
            with transaction.atomic():
                made = create(item)
        except ItemError as error:
            results[item.row] = error
            continue
        except Conflict:
            results[item.row] = Outcome.SKIPPED
            continue
        except ChatError as error:
            results[item.row] = ItemError(error.field or default_field, error.message)
            continue
        if made is None:
            results[item.row] = Outcome.SKIPPED
            continue
        pk, new = made
        done.add(item.key)
        created[item.key] = pk
        results[item.row] = Outcome.CREATED if new else Outcome.SKIPPED
    ImportedItem.objects.bulk_create(
        (ImportedItem(application=application, kind=kind, key=key, object_id=pk) for key, pk in created.items()),
        ignore_conflicts=True,
    )
    return results


def check_import_users(application: Application, items: list[UserItem]) -> dict[int, Result]:
    """Create each user, unless its key was imported before or a user of that name exists."""
    taken = set(_users_by_name(application, {item.name for item in items}))

    def create(item: UserItem) -> tuple[int, bool] | None:
        if item.name in taken:
            return None
        picture = item.display_picture
        user = check_create_user(
            application,
            name=item.name,
            display_name=item.display_name,
            is_guest=item.is_guest,
            properties=item.properties,
            display_picture=None if picture is None else _describe(picture),
        )
        taken.add(item.name)
        return user.pk, True

    return _import_each(application, JobType.USER_IMPORT, items, create, "name")


def check_import_channels(application: Application, items: list[ChannelItem]) -> dict[int, Result]:
    """Create each channel with its members, unless its key was imported before or it exists (a group channel of
    that name, a direct channel of those members)."""
    names = {name for item in items for name in (*item.members, *([item.creator] if item.creator else []))}
    users = _users_by_name(application, names)

    def create(item: ChannelItem) -> tuple[int, bool]:
        members = [_user(users, f"members[{index}]", name) for index, name in enumerate(item.members)]
        creator = _user(users, "creator", item.creator) if item.creator else None
        channel, made = check_create_channel(
            application,
            channel_type=item.type,
            name=item.name,
            display_name=item.display_name,
            creator=creator,
            members=members,
            properties=item.properties,
        )
        return channel.pk, made

    return _import_each(application, JobType.CHANNEL_IMPORT, items, create, "type")


def check_import_members(channel: Channel, items: list[MemberItem]) -> dict[int, Result]:
    """Add each user to the channel, unless its key was imported before or they are a member already."""
    application = channel.application
    users = _users_by_name(application, {item.username for item in items})
    members = set(
        ChannelMembership.objects.filter(channel=channel, user__in=users.values()).values_list("user_id", flat=True)
    )

    def create(item: MemberItem) -> tuple[int, bool] | None:
        user = users.get(item.username)
        if user is not None and user.pk in members:
            return None
        membership = check_add_member(channel, _user(users, "username", item.username))
        members.add(membership.user_id)
        return membership.pk, True

    return _import_each(application, JobType.CHANNEL_MEMBERS_IMPORT, items, create, "username")


@dataclass(frozen=True)
class _Place:
    """Where a checked message goes: its thread and whether it is a reply."""

    thread_id: int
    nested_level: int


def check_import_messages(application: Application, items: list[MessageItem]) -> dict[int, Result]:
    """Insert the messages whose keys were not imported before, as their senders sent them in their channels and
    threads at their times. Replies are inserted after the rest, so that a reply may follow its parent in the same
    batch."""
    results: dict[int, Result] = {}
    seen = _imported_message_keys(application, [item.key for item in items])
    fresh: list[MessageItem] = []
    for item in items:
        if item.key in seen:
            results[item.row] = Outcome.SKIPPED
        else:
            seen.add(item.key)
            fresh.append(item)
    channels = dict(
        Channel.objects.filter(application=application, pk__in={item.channel_id for item in fresh}).values_list(
            "pk", "main_thread_id"
        )
    )
    senders = dict(
        live_users(application=application)
        .filter(name__in={item.username for item in fresh if item.username is not None})
        .values_list("name", "pk")
    )
    threads = {
        pk: (channel_id, thread_type)
        for pk, channel_id, thread_type in Thread.objects.filter(
            application=application, pk__in={item.thread_id for item in fresh if item.thread_id is not None}
        ).values_list("pk", "channel_id", "type")
    }
    top: list[tuple[MessageItem, _Place]] = []
    replies: list[MessageItem] = []
    for item in fresh:
        try:
            if item.channel_id not in channels:
                raise ItemError("channelId", f"Channel {item.channel_id} not found.")
            if item.username is not None and item.username not in senders:
                raise _no_user("user", item.username)
            if item.parent_id is not None or item.parent_key is not None:
                replies.append(item)
                continue
            if item.thread_id is None:
                top.append((item, _Place(channels[item.channel_id], 0)))
                continue
            thread = threads.get(item.thread_id)
            if thread is None or thread[0] != item.channel_id:
                raise ItemError("threadId", f"Thread {item.thread_id} not found in channel {item.channel_id}.")
            top.append((item, _Place(item.thread_id, 1 if thread[1] == ThreadType.MESSAGE else 0)))
        except ItemError as error:
            results[item.row] = error
    _insert_messages(application, top, senders, results)
    rows = {item.key: item.row for item in fresh}
    _insert_messages(application, _place_replies(application, replies, rows, results), senders, results)
    return results


def _imported_message_keys(application: Application, keys: list[str]) -> set[str]:
    """Which of these keys name messages imported before (one array parameter: a list of thousands of placeholders
    costs more to build and parse than the lookup itself)."""
    if connection.vendor != "postgresql":
        found = Message.objects.filter(application=application, import_key__in=keys)
        return {key for key in found.values_list("import_key", flat=True) if key is not None}
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # Never prepared: psycopg prepares a statement run often, and the generic plan of a prepared one scans the
        # application's messages instead of probing the key index (seen here: 42 ms a batch, growing with the table).
        cursor.cursor.execute(
            f"SELECT import_key FROM {Message._meta.db_table}"  # noqa: S608  (name from metadata)
            " WHERE application_id = %s AND import_key = ANY(%s)",
            [application.pk, keys],
            prepare=False,
        )
        return {key for (key,) in cursor.fetchall()}


def _place_replies(
    application: Application, replies: list[MessageItem], rows: dict[str, int], results: dict[int, Result]
) -> list[tuple[MessageItem, _Place]]:
    """The reply thread of each reply's parent (opened on its first reply), found by id or by import key; a parent
    in the same batch (``rows``: its items' rows by key) must come before the reply in the file."""
    if not replies:
        return []
    parents = Message.objects.filter(application=application).only("pk", "application_id", "channel_id", "nested_level")
    by_id = {m.pk: m for m in parents.filter(pk__in={r.parent_id for r in replies if r.parent_id is not None})}
    by_key = {
        m.import_key: m
        for m in parents.filter(import_key__in={r.parent_key for r in replies if r.parent_key is not None}).only(
            "pk", "application_id", "channel_id", "nested_level", "import_key"
        )
    }
    threads: dict[int, int] = {}
    placed = []
    for item in replies:
        parent = by_id.get(item.parent_id) if item.parent_id is not None else by_key.get(item.parent_key)
        field_name, named = (
            ("parentId", str(item.parent_id))
            if item.parent_id is not None
            else ("parentIdempotencyKey", item.parent_key)
        )
        later = item.parent_key is not None and rows.get(item.parent_key, 0) > item.row
        if parent is None or later or parent.channel_id != item.channel_id:
            results[item.row] = ItemError(
                field_name,
                f"Message {named} not found in channel {item.channel_id} (a parent comes before its replies).",
            )
            continue
        if parent.nested_level:
            results[item.row] = ItemError(field_name, f"Message {named} is a reply: reply to the top-level message.")
            continue
        if parent.pk not in threads:
            threads[parent.pk] = check_open_reply_thread(parent).pk
        placed.append((item, _Place(threads[parent.pk], 1)))
    return placed


def _insert_messages(
    application: Application,
    placed: list[tuple[MessageItem, _Place]],
    senders: dict[str, int],
    results: dict[int, Result],
) -> None:
    now = timezone.now()
    messages = []
    for item, place in placed:
        mentions = None
        if "@" in item.body or "#" in item.body:
            mentions = find_mentions(item.body, Channel(pk=item.channel_id, application=application)).rows or None
        messages.append(
            Message(
                application_id=application.pk,
                channel_id=item.channel_id,
                thread_id=place.thread_id,
                type=item.type,
                user_id=senders[item.username] if item.username is not None else None,
                body=item.body,
                file=None if item.file is None else _describe(item.file),
                group_tag=item.group_tag,
                properties=item.properties,
                mentions=mentions,
                nested_level=place.nested_level,
                created_time=item.created_time or now,
                import_key=item.key,
            )
        )
    do_write_history(messages)
    for item, _ in placed:
        results[item.row] = Outcome.CREATED
