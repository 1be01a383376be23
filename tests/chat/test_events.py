"""The event bus publishes to Redis only after a transaction commits."""

import json
import time

import pytest
import redis
from django.conf import settings
from django.db import transaction

from chat.actions.channels import check_add_member, do_send_keystrokes
from chat.events import topic_for_application
from chat.models import Channel, Message, Thread
from tests.factories import ChannelFactory, UserFactory, send


def receive(pubsub, timeout=3.0):
    deadline = time.monotonic() + timeout
    events = []
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            events.append(json.loads(message["data"]))
        elif events:
            break
    return events


@pytest.fixture
def bus(application):
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(topic_for_application(application.pk))
    yield pubsub
    pubsub.close()


@pytest.mark.django_db(transaction=True)
def test_a_sent_message_is_published_after_commit(application, bus):
    channel = ChannelFactory.create(application=application)
    receive(bus, timeout=0.5)
    before = time.time()
    message = send(channel, "hello")
    events = receive(bus)
    created = [e for e in events if e["type"] == "message.created"]
    published = created[0].pop("published")  # when it was published: the hubs measure fan-out latency from it
    assert before <= published <= time.time()
    assert created == [
        {
            "type": "message.created",
            "application_id": application.pk,
            "resource_type": "message",
            "resource_id": message.pk,
            "channel_id": channel.pk,
            "data": {"thread_id": message.thread_id, "user_id": None, "sequence": message.sequence},
        }
    ]
    channel.refresh_from_db()
    assert message.sequence == channel.last_sequence


@pytest.mark.django_db(transaction=True)
def test_channel_events_take_consecutive_sequence_numbers_and_keystrokes_none(application, bus):
    # given
    channel = ChannelFactory.create(application=application)
    user = UserFactory.create(application=application)
    receive(bus, timeout=0.5)
    start = Channel.objects.get(pk=channel.pk).last_sequence

    # when
    first = send(channel, "one")
    check_add_member(channel, user)
    do_send_keystrokes(Thread.objects.get(pk=channel.main_thread_pk), user=user, keys="t")
    second = send(channel, "two", user=user)
    events = receive(bus)

    # then
    numbered = [(event["type"], event["data"].get("sequence")) for event in events]
    assert numbered == [
        ("message.created", start + 1),
        ("channel.member.added", start + 2),
        ("thread.keystrokes.created", None),
        ("message.created", start + 3),
    ]
    assert (first.sequence, second.sequence) == (start + 1, start + 3)
    assert Message.objects.get(pk=second.pk).sequence == start + 3


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_when_the_transaction_rolls_back(application, bus):
    channel = ChannelFactory.create(application=application)
    receive(bus, timeout=0.5)

    def send_then_fail():
        with transaction.atomic():
            send(channel, "never")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        send_then_fail()
    assert receive(bus, timeout=1.0) == []
