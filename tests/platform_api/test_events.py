"""``GET /v1/events``: the event log in feed order after a cursor, every page's ``next`` link going on from the last
event, the resources rendered as the Platform API renders them, filters, bounds and tenancy; and the relay that
places events: only committed ones, gap-free whatever order transactions commit in, dropped after the retention,
and run by a real Celery worker as soon as the bus announces an event."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from chat.actions.channels import check_add_member, check_create_channel, check_hide_channel
from chat.actions.messages import check_update_message
from chat.actions.sessions import do_end_user_session, do_start_chat_session, do_start_user_session
from chat.errors import Invalid
from chat.feed import purge, relay_all
from chat.models import Application, EventRecord
from imports.actions import do_fail_job, do_finish_job
from imports.models import JobType
from tests.conftest import Api
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, claimed_export, send
from tests.live import celery_worker, server_environment, wait_for

pytestmark = pytest.mark.django_db


def events(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every event after ``after`` (default: all), following the next links page by page."""
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"after": 0, "size": 2, **params}
    while True:
        page = api.get("/v1/events", query).json()
        found += page["_embedded"]["events"]
        if not page["_embedded"]["events"]:
            return found
        query["after"] = int(page["_links"]["next"]["href"].split("after=")[1].split("&")[0])


def test_the_feed_lists_committed_events_in_order_with_their_resources(api: Api, application: Application) -> None:
    # given
    ada, bob = (UserFactory.create(application=application, name=name) for name in ("ada", "bob"))
    general = ChannelFactory.create(application=application, name="general", members=[ada])
    hello = send(general, "hello", user=ada)
    check_update_message(hello, {"body": "hello, world"})
    check_add_member(general, bob)

    # when
    placed = relay_all()
    found = events(api)

    # then
    assert placed == len(found)
    assert [event["type"] for event in found][-3:] == ["message.created", "message.updated", "channel.member.added"]
    created, updated, joined = found[-3:]
    assert created["resource"]["body"] == "hello, world"  # rendered when placed
    assert (created["resource"]["id"], created["channelId"]) == (hello.pk, general.pk)
    assert updated["sequence"] == created["sequence"] + 1
    assert joined["data"] == {"userId": bob.pk}
    assert joined["resource"]["name"] == "general"
    cursors = [event["cursor"] for event in found]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == len(cursors)
    assert [event["id"] for event in events(api, after=cursors[-2])] == [found[-1]["id"]]


def test_sessions_and_jobs_reach_the_feed_rendered_as_the_platform_api_renders_them(
    api: Api, application: Application
) -> None:
    # given a user who connects, chats in a channel and leaves; an export that finishes and one that fails
    ada = UserFactory.create(application=application, name="ada")
    general = ChannelFactory.create(application=application, name="general", members=[ada])
    session = do_start_user_session(ada, user_agent="parley-test")
    do_start_chat_session(session, general)
    do_end_user_session(session)
    done = claimed_export(application, JobType.USER_ANALYTICS_EXPORT)
    do_finish_job(done, result="exports/users.csv")
    do_fail_job(claimed_export(application, JobType.MESSAGE_ANALYTICS_EXPORT), "the disk is full")

    # when
    relay_all()
    found = [event for event in events(api) if event["type"].startswith(("user.session.", "chat.session.", "job."))]

    # then each is there once, in order, with its resource as the API shows it now
    assert [event["type"] for event in found] == [
        "user.session.started",
        "chat.session.started",
        "chat.session.ended",
        "user.session.ended",
        "job.created",
        "job.started",
        "job.finished",
        "job.created",
        "job.started",
        "job.failed",
    ]
    started, chat_started = found[0], found[1]
    assert (started["resource"]["id"], started["resource"]["userAgent"]) == (session.pk, "parley-test")
    assert started["resource"]["state"] == "ENDED"  # as it is when placed
    assert started["data"] == {"userId": ada.pk}
    assert chat_started["channelId"] == general.pk
    assert chat_started["resource"]["session"]["user"]["name"] == "ada"
    assert found[6]["resource"]["id"] == done.pk
    assert found[6]["resource"]["state"] == "FINISHED"
    assert found[9]["data"] == {"jobType": "MESSAGE_ANALYTICS_EXPORT", "reason": "the disk is full"}
    assert found[9]["resource"]["reason"] == "the disk is full"


def test_a_sent_message_and_its_event_are_written_together_with_the_data_the_bus_carries(
    application: Application,
) -> None:
    # given a direct channel that bob hid, and a private channel carol is not in
    jane, bob, carol = (UserFactory.create(application=application, name=name) for name in ("jane", "bob", "carol"))
    direct, _ = check_create_channel(application, channel_type="DIRECT", members=[jane, bob])
    send(direct, "hello", user=jane)
    check_hide_channel(direct, bob)
    private = ChannelFactory.create(application=application, channel_type="PRIVATE", members=[jane])
    last = EventRecord.objects.order_by("-id").values_list("id", flat=True)[0]

    # when jane writes again, and carol tries to write where she may not
    message = send(direct, "are you there?", user=jane)
    with pytest.raises(Invalid):
        send(private, "let me in", user=carol)

    # then the message's event was written with it, as the bus carries it; the refused one left none
    logged = list(EventRecord.objects.filter(id__gt=last))
    assert [(record.type, record.resource_id) for record in logged] == [("message.created", message.pk)]
    record = logged[0]
    assert record.data == {"thread_id": message.thread_id, "user_id": jane.pk, "sequence": message.sequence,
                           "unhides": [bob.pk]}  # fmt: skip
    assert (record.sequence, record.channel_id, record.created_time) == (
        message.sequence,
        direct.pk,
        message.created_time,
    )


def test_the_feed_filters_by_type_refuses_unknown_ones_and_shows_no_other_tenants_events(
    api: Api, other_api: Api, application: Application, other_application: Application
) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    send(ChannelFactory.create(application=application, members=[ada]), "mine", user=ada)
    eve = UserFactory.create(application=other_application, name="eve")
    send(ChannelFactory.create(application=other_application, members=[eve]), "theirs", user=eve)
    relay_all()

    # when
    mine = events(api, type="message.created")
    refused = api.client.get("/v1/events", {"type": "thread.keystrokes.created"})

    # then
    assert [event["resource"]["body"] for event in mine] == ["mine"]
    assert "theirs" not in str(events(api))
    assert [event["resource"]["body"] for event in events(other_api, type="message.created")] == ["theirs"]
    assert (refused.status_code, refused.json()["error"]) == (400, "BadRequestError")
    assert "type" in refused.json()["message"]


def test_an_event_of_a_rolled_back_change_never_exists(application: Application) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    general = ChannelFactory.create(application=application, members=[ada])
    before = EventRecord.objects.count()

    def change_that_fails() -> None:
        with transaction.atomic():
            send(general, "never", user=ada)
            raise RuntimeError

    # when
    with pytest.raises(RuntimeError):
        change_that_fails()

    # then
    assert EventRecord.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_events_are_placed_in_the_order_they_commit_with_no_gap_for_a_reader() -> None:
    # given two channels, and a transaction in the first that made its event but has not committed
    application = ApplicationFactory.create()
    ada = UserFactory.create(application=application, name="ada")
    slow, quick = (ChannelFactory.create(application=application, members=[ada]) for _ in range(2))
    relay_all()
    made, release = threading.Event(), threading.Event()

    def slow_transaction() -> None:
        with transaction.atomic():
            send(slow, "made first, committed last", user=ada)
            made.set()
            release.wait(10)
        connection.close()

    writer = threading.Thread(target=slow_transaction)
    writer.start()
    made.wait(10)

    # when another event commits and is placed, then the first commits and is placed
    send(quick, "made last, committed first", user=ada)
    relay_all()
    read = list(EventRecord.objects.filter(position__isnull=False).order_by("position"))
    release.set()
    writer.join(10)
    relay_all()

    # then the reader who read up to the quick one still gets the slow one after it
    after = EventRecord.objects.filter(position__gt=read[-1].position).order_by("position")
    assert [(e.resource or {}).get("body") for e in after if e.type == "message.created"] == [
        "made first, committed last"
    ]
    assert after[0].pk < read[-1].pk  # made before, placed after: ids are not the order, positions are


def test_events_older_than_the_retention_are_purged(application: Application, settings: Any) -> None:
    # given
    settings.PARLEY_EVENTS_RETENTION_DAYS = 7
    ada = UserFactory.create(application=application, name="ada")
    general = ChannelFactory.create(application=application, members=[ada])
    send(general, "old", user=ada)
    relay_all()
    EventRecord.objects.update(created_time=timezone.now() - timedelta(days=8))
    send(general, "new", user=ada)
    relay_all()

    # when
    dropped = purge()

    # then
    assert dropped >= 1
    assert [(e.resource or {}).get("body") for e in EventRecord.objects.filter(type="message.created")] == ["new"]


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_places_events_as_soon_as_the_bus_announces_them() -> None:
    # given a worker, and an event made while it runs
    channel = ChannelFactory.create()
    ada = UserFactory.create(application=channel.application, name="ada")
    with celery_worker(server_environment()):
        wait_for(lambda: not EventRecord.objects.filter(position__isnull=True).exists(), "the first relay")
        started = timezone.now()

        # when
        message = send(channel, "placed by the worker", user=ada)

        # then
        record = wait_for(
            lambda: EventRecord.objects.filter(
                type="message.created", resource_id=message.pk, position__isnull=False
            ).first(),
            "the worker to place it",
            timeout=10,
        )
    assert record.resource["body"] == "placed by the worker"
    assert timezone.now() - started < timedelta(seconds=10)
