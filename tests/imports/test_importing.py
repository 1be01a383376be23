"""Imports run in this process on the real PostgreSQL, with the code the workers run (``imports.jobs.run``): every
kind of item, bad items failing alone, broken files failing the job, the same file twice, and a runner taking over
from one that died."""

import datetime as dt
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions.messages import check_create_thread
from chat.models import Application, Channel, ChannelMembership, ChatUser, Message, MessageType
from imports import jobs
from imports.actions import LeaseLost, do_claim_job
from imports.importers import ImportRunner
from imports.models import ImportedItem, Job, JobState, JobType
from tests.factories import ChannelFactory, UserFactory, import_job, send


def run(job: Job) -> Job:
    """Run the job to its end here."""
    assert jobs.run(job.pk) is not None
    job.refresh_from_db()
    return job


def errors(job: Job) -> list[tuple[int, str, str]]:
    """The job's error report."""
    return list(job.errors.order_by("row").values_list("row", "field", "message"))


def counts(job: Job) -> tuple[str, int | None, int, int, int, int]:
    """State, total, processed, created, skipped, failed."""
    return (job.state, job.total, job.processed, job.created, job.skipped, job.failed)


USERS = [
    {"name": "ada", "displayName": "Ada Lovelace", "isGuest": False, "properties": {"team": "math"}},
    {"name": "grace", "display_name": "Grace Hopper", "guest": True, "idempotencyKey": "u-grace"},
    {
        "name": "alan",
        "displayName": "Alan Turing",
        "properties": {},
        "displayPicture": {
            "url": "https://example.com/alan.png",
            "name": "alan.png",
            "contentType": "image/png",
            "size": 3,
        },
    },
]


def test_users_are_imported_with_both_key_casings_and_the_job_reports_its_progress(application: Application) -> None:
    # given
    job = import_job(application, JobType.USER_IMPORT, USERS)
    assert job.state == JobState.PENDING
    assert default_storage.exists(job.source)

    # when
    job = run(job)

    # then
    assert counts(job) == (JobState.FINISHED, 3, 3, 3, 0, 0)
    assert job.started_time is not None
    assert job.ended_time is not None
    assert not default_storage.exists(job.source)  # its items are in the database now
    users = {user.name: user for user in ChatUser.objects.filter(application=application)}
    assert users["ada"].display_name == "Ada Lovelace"
    assert users["ada"].properties == {"team": "math"}
    assert users["grace"].is_guest is True
    assert users["grace"].display_name == "Grace Hopper"
    assert users["alan"].display_picture == {
        "type": "EXTERNAL",
        "url": "https://example.com/alan.png",
        "name": "alan.png",
        "contentType": "image/png",
        "size": 3,
    }
    assert ImportedItem.objects.get(application=application, key="u-grace").object_id == users["grace"].pk


def test_the_same_file_twice_creates_nothing_twice(application: Application) -> None:
    # given
    run(import_job(application, JobType.USER_IMPORT, USERS))

    # when
    again = run(import_job(application, JobType.USER_IMPORT, USERS))

    # then
    assert counts(again) == (JobState.FINISHED, 3, 3, 0, 3, 0)
    assert ChatUser.objects.filter(application=application).count() == 3


def test_bad_items_fail_alone_and_the_report_names_row_field_and_reason(application: Application) -> None:
    # given
    items: list[Any] = [
        {"name": "ok-1"},
        {"displayName": "No Name"},
        "not an object",
        {"name": "ok-2", "isGuest": "yes"},
        {"name": "x" * 300},
        {"name": "ok-3", "properties": []},
        {"name": "ok-4", "displayPicture": {"url": "u", "name": "n", "contentType": "image/png", "size": -1}},
        {"name": "ok-5"},
    ]

    # when
    job = run(import_job(application, JobType.USER_IMPORT, items))

    # then
    assert counts(job) == (JobState.FINISHED, 8, 8, 2, 0, 6)
    assert errors(job) == [
        (2, "name", "name is required."),
        (3, "item", "Each item must be a JSON object."),
        (4, "isGuest", "isGuest must be true or false."),
        (5, "name", "name must be at most 256 characters."),
        (6, "properties", "properties must be a JSON object."),
        (7, "displayPicture.size", "displayPicture.size must be a non-negative integer."),
    ]
    assert set(ChatUser.objects.filter(application=application).values_list("name", flat=True)) == {"ok-1", "ok-5"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'[{"name": "ada"}, {"name": ', "The file is not valid JSON"),
        (b'[{"name": "ada"}] trailing', "The file is not valid JSON"),
        (b'{"name": "ada"}', "The file must hold a JSON array of items (it does not start with '[')."),
        (b"", "The file is empty: it must hold a JSON array of items."),
        (b"\x89PNG\r\n\x1a\n", "The file must hold a JSON array of items (it does not start with '[')."),
    ],
)
def test_a_file_that_is_not_a_json_array_fails_the_job_before_anything_is_written(
    application: Application, content: bytes, reason: str
) -> None:
    # when
    job = run(import_job(application, JobType.USER_IMPORT, content))

    # then
    assert job.state == JobState.FAILED
    assert job.reason.startswith(reason)
    assert job.ended_time is not None
    assert not ChatUser.objects.filter(application=application).exists()


def test_channels_are_imported_with_their_members_and_creator(application: Application) -> None:
    # given
    for name in ("ada", "grace", "alan"):
        UserFactory.create(application=application, name=name)
    items = [
        {"type": "PUBLIC", "name": "general", "displayName": "General", "members": ["ada", "grace"], "creator": "ada"},
        {"type": "PRIVATE", "name": "secret", "members": [], "properties": {"color": "red"}},
        {"type": "DIRECT", "members": ["ada", "alan"]},
        {"type": "PUBLIC", "members": ["grace"], "idempotency_key": "c-unnamed"},
        {"type": "PUBLIC", "name": "ghosts", "members": ["ada", "nobody"]},
        {"type": "GROUP", "members": []},
        {"type": "DIRECT", "members": ["ada"]},
    ]

    # when
    job = run(import_job(application, JobType.CHANNEL_IMPORT, items))
    again = run(import_job(application, JobType.CHANNEL_IMPORT, items))

    # then
    assert counts(job) == (JobState.FINISHED, 7, 7, 4, 0, 3)
    assert errors(job) == [
        (5, "members[1]", "No user named 'nobody'."),
        (6, "type", "type must be one of DIRECT, PUBLIC, PRIVATE."),
        (7, "members", "A direct channel needs at least two distinct members."),
    ]
    general = Channel.objects.get(application=application, name="general")
    assert general.display_name == "General"
    assert general.creator is not None
    assert general.creator.name == "ada"
    assert set(general.memberships.values_list("user__name", "is_moderator")) == {("ada", True), ("grace", False)}
    assert Channel.objects.get(application=application, name="secret").properties == {"color": "red"}
    assert Channel.objects.filter(application=application, type="DIRECT").count() == 1
    assert counts(again) == (JobState.FINISHED, 7, 7, 0, 4, 3)
    assert Channel.objects.filter(application=application).count() == 4


def test_members_are_added_to_a_group_channel_once(application: Application) -> None:
    # given
    for name in ("ada", "grace"):
        UserFactory.create(application=application, name=name)
    channel = ChannelFactory.create(application=application, name="general")
    items = [{"username": "ada"}, {"username": "grace", "id": "m-1"}, {"username": "nobody"}, {"user": "ada"}, {}]

    # when
    job = run(import_job(application, JobType.CHANNEL_MEMBERS_IMPORT, items, channel=channel))
    again = run(import_job(application, JobType.CHANNEL_MEMBERS_IMPORT, items, channel=channel))

    # then
    assert counts(job) == (JobState.FINISHED, 5, 5, 2, 1, 2)
    assert errors(job) == [(3, "username", "No user named 'nobody'."), (5, "username", "username is required.")]
    assert set(ChannelMembership.objects.filter(channel=channel).values_list("user__name", flat=True)) == {
        "ada",
        "grace",
    }
    assert counts(again) == (JobState.FINISHED, 5, 5, 0, 3, 2)


def test_messages_keep_their_sender_channel_thread_and_time(application: Application) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    UserFactory.create(application=application, name="grace")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    other = ChannelFactory.create(application=application, name="other")
    side = check_create_thread(channel, name="side")
    live = send(channel, "sent live", user=ada)
    items = [
        {
            "type": "TEXT",
            "channelId": channel.pk,
            "user": "ada",
            "body": "first",
            "createdTime": "2021-03-04T05:06:07Z",
            "idempotencyKey": "m-1",
        },
        {
            "type": "TEXT",
            "channel_id": channel.pk,
            "user": {"username": "grace"},
            "body": "reply to first",
            "parentIdempotencyKey": "m-1",
            "created_time": "2021-03-04T05:07:00+00:00",
        },
        {
            "type": "SYSTEM_TEXT",
            "channelId": channel.pk,
            "body": "Grace joined",
            "groupTag": "joins",
            "properties": {"source": "legacy"},
        },
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "on the side", "threadId": side.pk},
        {"type": "TEXT", "channelId": channel.pk, "user": "grace", "body": "reply to live", "parentId": live.pk},
        {
            "type": "FILE",
            "channelId": channel.pk,
            "user": "ada",
            "file": {"url": "https://example.com/a.pdf", "name": "a.pdf", "contentType": "application/pdf", "size": 9},
        },
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "hi @grace"},
    ]

    # when
    job = run(import_job(application, JobType.MESSAGE_IMPORT, items))

    # then
    assert counts(job) == (JobState.FINISHED, 7, 7, 7, 0, 0)
    imported: dict[str, Any] = {
        m.body or (m.file or {})["name"]: m for m in Message.objects.filter(import_key__isnull=False)
    }
    first = imported["first"]
    assert (first.user_id, first.channel_id, first.thread_id, first.nested_level) == (
        ada.pk,
        channel.pk,
        channel.main_thread_id,
        0,
    )
    assert first.created_time == dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert first.import_key == "m-1"
    assert first.sequence is None  # history: never replayed to live clients as new
    reply = imported["reply to first"]
    assert reply.user.name == "grace"
    assert reply.nested_level == 1
    assert reply.thread.parent_message_id == first.pk
    assert Message.objects.get(pk=first.pk).replies_count == 1
    system = imported["Grace joined"]
    assert (system.type, system.user_id, system.group_tag, system.properties) == (
        MessageType.SYSTEM_TEXT,
        None,
        "joins",
        {"source": "legacy"},
    )
    assert imported["on the side"].thread_id == side.pk
    assert imported["reply to live"].thread.parent_message_id == live.pk
    assert Message.objects.get(pk=live.pk).replies_count == 1
    assert imported["a.pdf"].type == MessageType.FILE
    assert imported["a.pdf"].file["type"] == "EXTERNAL"
    assert imported["hi @grace"].mentions[0]["tag"] == "@grace"
    assert not Message.objects.filter(channel=other).exists()


def test_bad_messages_fail_alone(application: Application, other_application: Application) -> None:
    # given
    UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general")
    foreign = ChannelFactory.create(application=other_application, name="foreign")
    items = [
        {"type": "TEXT", "channelId": channel.pk, "body": "no sender"},
        {"type": "TEXT", "channelId": channel.pk, "user": "nobody", "body": "unknown sender"},
        {"type": "TEXT", "channelId": foreign.pk, "user": "ada", "body": "another tenant's channel"},
        {"type": "TEXT", "user": "ada", "body": "no channel"},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "   "},
        {"type": "SYSTEM_TEXT", "channelId": channel.pk, "user": "ada", "body": "system with a sender"},
        {"type": "VIDEO", "channelId": channel.pk, "body": "?"},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "x", "createdTime": "yesterday"},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "x", "parentIdempotencyKey": "later"},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "x", "threadId": 999999999},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "fine", "idempotencyKey": "later"},
    ]

    # when
    job = run(import_job(application, JobType.MESSAGE_IMPORT, items))

    # then
    assert counts(job) == (JobState.FINISHED, 11, 11, 1, 0, 10)
    assert errors(job) == [
        (1, "user", "A TEXT message needs the username of its sender (user)."),
        (2, "user", "No user named 'nobody'."),
        (3, "channelId", f"Channel {foreign.pk} not found."),
        (4, "channelId", "channelId is required."),
        (5, "body", "A text message needs a non-blank body."),
        (6, "user", "A SYSTEM_TEXT message is sent by the application: it has no user."),
        (7, "type", "type must be one of TEXT, FILE, SYSTEM_TEXT, SYSTEM_FILE."),
        (8, "createdTime", "createdTime must be an ISO-8601 date and time."),
        (
            9,
            "parentIdempotencyKey",
            f"Message later not found in channel {channel.pk} (a parent comes before its replies).",
        ),
        (10, "threadId", f"Thread 999999999 not found in channel {channel.pk}."),
    ]
    assert list(Message.objects.filter(import_key__isnull=False).values_list("body", flat=True)) == ["fine"]


def test_messages_are_written_in_batches_with_a_fixed_number_of_queries(
    application: Application, settings: Any
) -> None:
    # given
    settings.PARLEY_IMPORT_BATCH_SIZE = 100
    ada = UserFactory.create(application=application, name="ada")
    channels = [ChannelFactory.create(application=application, name=f"c{n}", members=[ada]) for n in range(3)]
    items = [
        {"type": "TEXT", "channelId": channels[n % 3].pk, "user": "ada", "body": f"message {n}"} for n in range(300)
    ]
    job = import_job(application, JobType.MESSAGE_IMPORT, items)

    # when
    with CaptureQueriesContext(connection) as queries:
        job = run(job)

    # then
    assert counts(job) == (JobState.FINISHED, 300, 300, 300, 0, 0)
    assert len(queries) < 46, [query["sql"][:80] for query in queries.captured_queries]  # 300 items, 3 batches


def test_a_runner_takes_over_from_a_dead_one_at_its_checkpoint_and_writes_every_item_once(
    application: Application, settings: Any
) -> None:
    # given: a runner wrote one batch of three and died holding the job
    settings.PARLEY_IMPORT_BATCH_SIZE = 3
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general")
    items = [{"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": f"m{n}"} for n in range(10)]
    job = import_job(application, JobType.MESSAGE_IMPORT, items)
    dead = do_claim_job(job.pk)
    assert dead is not None
    runner = ImportRunner(dead)
    progress: list[int] = []

    def die_after_first_batch(seen: Job) -> None:
        progress.append(seen.processed)
        if seen.processed == 3:
            raise SystemExit("killed")

    runner._progress = die_after_first_batch
    with pytest.raises(SystemExit):
        runner.work()
    assert jobs.run(job.pk) is None  # its lease still holds: nobody else may take it

    # when: the lease runs out and another runner claims it
    Job.objects.filter(pk=job.pk).update(lease_expires=timezone.now() - dt.timedelta(seconds=1))
    job = run(job)

    # then
    assert progress == [0, 3]
    assert counts(job) == (JobState.FINISHED, 10, 10, 10, 0, 0)
    assert job.attempts == 2
    assert sorted(Message.objects.filter(channel=channel).values_list("body", flat=True)) == sorted(
        f"m{n}" for n in range(10)
    )
    assert ada.pk


def test_a_runner_that_lost_its_job_stops_without_writing(application: Application) -> None:
    # given
    UserFactory.create(application=application, name="ada")
    job = import_job(application, JobType.USER_IMPORT, [{"name": "grace"}])
    first = do_claim_job(job.pk)
    assert first is not None
    Job.objects.filter(pk=job.pk).update(lease_expires=timezone.now() - dt.timedelta(seconds=1))
    second = do_claim_job(job.pk)
    assert second is not None

    # when / then
    with pytest.raises(LeaseLost):
        ImportRunner(first).work()
    assert not ChatUser.objects.filter(name="grace").exists()
    ImportRunner(second).run()
    second.refresh_from_db()
    assert counts(second) == (JobState.FINISHED, 1, 1, 1, 0, 0)


def test_a_value_the_database_refuses_fails_only_its_item(application: Application) -> None:
    # given: PostgreSQL stores no NUL character in text or JSON
    UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general")
    items = [
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "before"},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "nul \u0000 here"},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "x", "properties": {"k": "\u0000"}},
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "after"},
    ]

    # when
    job = run(import_job(application, JobType.MESSAGE_IMPORT, items))

    # then
    assert counts(job) == (JobState.FINISHED, 4, 4, 2, 0, 2)
    assert [(row, field) for row, field, _ in errors(job)] == [(2, "item"), (3, "item")]
    assert all(message.startswith("The database refused this item: ") for _, _, message in errors(job))
    assert list(Message.objects.filter(channel=channel).order_by("id").values_list("body", flat=True)) == [
        "before",
        "after",
    ]
