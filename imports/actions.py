"""The write path of imports and exports.

Jobs: create one (an import keeps its uploaded file in the default storage), claim it under a lease, advance its
checkpoint together with a batch's writes, finish or fail it, and queue again the jobs whose worker died.

Items: users, channels and members are created one by one through the chat actions (each in its own savepoint, so a
bad item fails alone; their events go out when the batch commits). Messages are history: a batch is checked with a
handful of queries and written by chat's history writer (``chat.actions.history``) in one statement.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.actions.channels import check_add_member, check_create_channel
from chat.actions.files import describe_file, save_upload
from chat.actions.history import do_write_history
from chat.actions.messages import do_open_reply_thread
from chat.actions.users import check_create_user
from chat.errors import ChatError, Conflict, Invalid
from chat.mentions import find_mentions
from chat.models import Application, Channel, ChannelMembership, ChannelType, ChatUser, Message, Thread, ThreadType
from imports.items import ChannelItem, FileItem, ItemError, MemberItem, MessageItem, UserItem
from imports.models import ImportedItem, Job, JobError, JobState, JobType


class Outcome(StrEnum):
    """What became of an item that did not fail."""

    CREATED = "CREATED"
    SKIPPED = "SKIPPED"  # imported before (same idempotency key) or already there (same name or members)


Result = Outcome | ItemError


class LeaseLost(Exception):  # noqa: N818  (a state, not a failure)
    """Another runner holds the job now (this one was too slow to renew its lease): this one stops."""


# Jobs


def _enqueue(job_id: int) -> None:
    current_app.send_task("imports.run_job", args=[job_id])


def check_create_import_job(
    application: Application,
    job_type: str,
    upload: File,
    *,
    channel: Channel | None = None,
    enqueue: bool = True,
) -> Job:
    """Keep an uploaded JSON array file and create the job that imports it; queued for a worker once committed
    (``enqueue``), or left for the caller to run."""
    if job_type not in JobType.values or not JobType(job_type).is_import:
        raise Invalid(f"{job_type} is not an import.", field="type")
    if job_type == JobType.CHANNEL_MEMBERS_IMPORT:
        if channel is None:
            raise Invalid("A members import needs a channel.", field="channel")
        if channel.type == ChannelType.DIRECT:
            raise Invalid("Direct channels have a fixed set of members: cannot import members.", field="channel")
    if (upload.size or 0) > settings.PARLEY_MAX_IMPORT_BYTES:
        raise Invalid(f"file must be at most {settings.PARLEY_MAX_IMPORT_BYTES} bytes.", field="file")
    path, name = save_upload(application, upload, folder="imports")
    with transaction.atomic():
        job = Job.objects.create(application=application, type=job_type, channel=channel, source=path, source_name=name)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def do_create_export_job(application: Application, job_type: str, *, enqueue: bool = True) -> Job:
    """Create a job that exports the application's analytics as a CSV file."""
    if job_type not in JobType.values or JobType(job_type).is_import:
        raise Invalid(f"{job_type} is not an export.", field="type")
    with transaction.atomic():
        job = Job.objects.create(application=application, type=job_type)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.PARLEY_JOBS_LEASE_SECONDS)


def do_claim_job(job_id: int) -> Job | None:
    """Take a job that is waiting, or whose runner's lease ran out; None if it is ended or another runner has it."""
    owner = uuid.uuid4().hex
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(state=JobState.PENDING) | Q(state=JobState.RUNNING, lease_expires__lt=now), pk=job_id
    ).update(
        state=JobState.RUNNING,
        owner=owner,
        lease_expires=_lease_end(),
        attempts=F("attempts") + 1,
        started_time=Coalesce("started_time", now),
    )
    if not claimed:
        return None
    return Job.objects.select_related("application", "channel").get(pk=job_id)


def _held(job: Job) -> Q:
    return Q(pk=job.pk, owner=job.owner, state=JobState.RUNNING)


def do_renew_lease(job: Job) -> None:
    """Keep holding the job a while longer (a long step that writes nothing calls this now and then)."""
    if not Job.objects.filter(_held(job)).update(lease_expires=_lease_end()):
        raise LeaseLost


@dataclass
class Progress:
    """What one step of a job did."""

    processed: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[tuple[int, ItemError]] = field(default_factory=list)

    def add(self, row: int, result: Result) -> None:
        """Count one item's result."""
        self.processed += 1
        if isinstance(result, ItemError):
            self.errors.append((row, result))
        elif result == Outcome.CREATED:
            self.created += 1
        else:
            self.skipped += 1


def do_hold_job(job: Job) -> None:
    """Lock the job's row for the current transaction, if this runner still holds it at its checkpoint."""
    if not Job.objects.select_for_update().filter(_held(job), processed=job.processed).exists():
        raise LeaseLost


def relax_commit() -> None:
    """Let the current transaction commit without waiting for its WAL to reach the disk (PostgreSQL). Safe for a
    step of a job: a database crash can lose only whole steps, checkpoint included, which are then done again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def do_advance_job(job: Job, progress: Progress, *, total: int | None = None, restart: bool = False) -> None:
    """Move the checkpoint past a step and record its failed items, renewing the lease (inside the step's
    transaction, after ``do_hold_job``); ``restart`` counts from zero again (an export written anew)."""
    JobError.objects.bulk_create(
        JobError(job=job, row=row, field=error.field, message=error.message) for row, error in progress.errors
    )
    changes: dict[str, Any] = {
        "processed": progress.processed if restart else F("processed") + progress.processed,
        "created": progress.created if restart else F("created") + progress.created,
        "skipped": progress.skipped if restart else F("skipped") + progress.skipped,
        "failed": len(progress.errors) if restart else F("failed") + len(progress.errors),
        "lease_expires": _lease_end(),
    }
    if total is not None:
        changes["total"] = total
    if not Job.objects.filter(_held(job)).update(**changes):
        raise LeaseLost
    job.refresh_from_db(fields=["processed", "created", "skipped", "failed", "total", "lease_expires"])


def do_finish_job(job: Job, *, result: str = "") -> None:
    """The job is done (an export's CSV file at ``result``)."""
    _end(job, state=JobState.FINISHED, result=result)


def do_fail_job(job: Job, reason: str) -> None:
    """The job cannot go on; ``reason`` says why, for people."""
    _end(job, state=JobState.FAILED, reason=reason)


def _end(job: Job, **changes: Any) -> None:
    """End the job; the uploaded file of an import goes (its items are in the database, its failures in the
    report, and the uploader has the file)."""
    ended = Job.objects.filter(_held(job)).update(ended_time=timezone.now(), lease_expires=None, **changes)
    if ended and job.source:
        default_storage.delete(job.source)
    job.refresh_from_db()


def do_requeue_stalled_jobs(*, pending: bool = False) -> list[int]:
    """Queue again the running jobs whose lease ran out (their worker died) and, with ``pending``, the jobs still
    waiting (a broker that lost its queue); a job queued twice is run once, as only one runner can claim it."""
    stalled = Q(state=JobState.RUNNING, lease_expires__lt=timezone.now())
    if pending:
        stalled |= Q(state=JobState.PENDING)
    job_ids = list(Job.objects.filter(stalled).values_list("pk", flat=True))
    for job_id in job_ids:
        _enqueue(job_id)
    return job_ids


# Items


def _imported_keys(application: Application, kind: str, keys: set[str]) -> set[str]:
    return set(
        ImportedItem.objects.filter(application=application, kind=kind, key__in=keys).values_list("key", flat=True)
    )


def _users_by_name(application: Application, names: set[str]) -> dict[str, ChatUser]:
    return {
        user.name: user
        for user in ChatUser.objects.filter(application=application, deleted_time__isnull=True, name__in=names)
    }


def _remember(application: Application, kind: str, created: dict[str, int]) -> None:
    ImportedItem.objects.bulk_create(
        (ImportedItem(application=application, kind=kind, key=key, object_id=pk) for key, pk in created.items()),
        ignore_conflicts=True,
    )


def _failure(error: ChatError, default_field: str) -> ItemError:
    return ItemError(error.field or default_field, error.message)


def _no_user(field_name: str, name: str) -> ItemError:
    return ItemError(field_name, f"No user named {name!r}.")


def do_import_users(application: Application, items: list[UserItem]) -> dict[int, Result]:
    """Create each user, unless its key was imported before or a user of that name exists."""
    done = _imported_keys(application, JobType.USER_IMPORT, {item.key for item in items})
    taken = set(_users_by_name(application, {item.name for item in items}))
    results: dict[int, Result] = {}
    created: dict[str, int] = {}
    for item in items:
        if item.key in done or item.name in taken:
            results[item.row] = Outcome.SKIPPED
            continue
        picture = item.display_picture
        try:
            with transaction.atomic():
                user = check_create_user(
                    application,
                    name=item.name,
                    display_name=item.display_name,
                    is_guest=item.is_guest,
                    properties=item.properties,
                    display_picture=None if picture is None else _describe(picture),
                )
        except Conflict:
            results[item.row] = Outcome.SKIPPED
            continue
        except ChatError as error:
            results[item.row] = _failure(error, "name")
            continue
        done.add(item.key)
        taken.add(item.name)
        created[item.key] = user.pk
        results[item.row] = Outcome.CREATED
    _remember(application, JobType.USER_IMPORT, created)
    return results


def _describe(file: FileItem) -> dict[str, object]:
    return describe_file(url=file.url, name=file.name, content_type=file.content_type, size=file.size)


def do_import_channels(application: Application, items: list[ChannelItem]) -> dict[int, Result]:
    """Create each channel with its members, unless its key was imported before or it exists (a group channel of
    that name, a direct channel of those members)."""
    done = _imported_keys(application, JobType.CHANNEL_IMPORT, {item.key for item in items})
    names = {name for item in items for name in (*item.members, *([item.creator] if item.creator else []))}
    users = _users_by_name(application, names)
    results: dict[int, Result] = {}
    created: dict[str, int] = {}
    for item in items:
        if item.key in done:
            results[item.row] = Outcome.SKIPPED
            continue
        try:
            members = [_user(users, f"members[{index}]", name) for index, name in enumerate(item.members)]
            creator = _user(users, "creator", item.creator) if item.creator else None
            with transaction.atomic():
                channel, made = check_create_channel(
                    application,
                    channel_type=item.type,
                    name=item.name,
                    display_name=item.display_name,
                    creator=creator,
                    members=members,
                    properties=item.properties,
                )
        except ItemError as error:
            results[item.row] = error
            continue
        except Conflict:
            results[item.row] = Outcome.SKIPPED
            continue
        except ChatError as error:
            results[item.row] = _failure(error, "type")
            continue
        done.add(item.key)
        created[item.key] = channel.pk
        results[item.row] = Outcome.CREATED if made else Outcome.SKIPPED
    _remember(application, JobType.CHANNEL_IMPORT, created)
    return results


def _user(users: dict[str, ChatUser], field_name: str, name: str) -> ChatUser:
    if name not in users:
        raise _no_user(field_name, name)
    return users[name]


def do_import_members(channel: Channel, items: list[MemberItem]) -> dict[int, Result]:
    """Add each user to the channel, unless its key was imported before or they are a member already."""
    application = channel.application
    done = _imported_keys(application, JobType.CHANNEL_MEMBERS_IMPORT, {item.key for item in items})
    users = _users_by_name(application, {item.username for item in items})
    members = set(
        ChannelMembership.objects.filter(channel=channel, user__in=users.values()).values_list("user_id", flat=True)
    )
    results: dict[int, Result] = {}
    created: dict[str, int] = {}
    for item in items:
        user = users.get(item.username)
        if item.key in done or (user is not None and user.pk in members):
            results[item.row] = Outcome.SKIPPED
            continue
        if user is None:
            results[item.row] = _no_user("username", item.username)
            continue
        try:
            with transaction.atomic():
                membership = check_add_member(channel, user)
        except ChatError as error:
            results[item.row] = _failure(error, "username")
            continue
        done.add(item.key)
        members.add(user.pk)
        created[item.key] = membership.pk
        results[item.row] = Outcome.CREATED
    _remember(application, JobType.CHANNEL_MEMBERS_IMPORT, created)
    return results


@dataclass(frozen=True)
class _Place:
    """Where a checked message goes: its thread and whether it is a reply."""

    thread_id: int
    nested_level: int


def do_import_messages(application: Application, items: list[MessageItem]) -> dict[int, Result]:
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
        ChatUser.objects.filter(
            application=application,
            deleted_time__isnull=True,
            name__in={item.username for item in fresh if item.username is not None},
        ).values_list("name", "pk")
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
            threads[parent.pk] = do_open_reply_thread(parent).pk
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
