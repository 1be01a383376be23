"""What a process's hub costs per event: the queries and renderings of a new message do not grow with the number
of members listening to it on the process."""

import re
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.serializers import Serializer

from chat.actions.channels import check_hide_channel
from chat.actions.messages import check_create_thread
from chat.models import Application, ChatUser, Message
from chat.realtime.deliveries import Listening, deliveries, topic_kind
from chat.realtime.hub import rendered
from chat.selectors.live import message_by_id
from chat.wire.messages import MESSAGE_SERIALIZERS
from chat.wire.renderer import Renderer
from tests.chat.test_event_catalogue import EVERYWHERE
from tests.factories import ChannelFactory, UserFactory, send

ASKS_WHO_HID = re.compile(r'hidden_sequence"? (IS NOT NULL|<)')
STYLES = [("http://testserver", "stomp"), ("http://testserver", "sails")]


def created(message: Message, **data: Any) -> dict[str, Any]:
    """The bus event of a new message, as the hub receives it."""
    return {
        "type": "message.created",
        "application_id": message.application_id,
        "resource_type": "message",
        "resource_id": message.pk,
        "channel_id": message.channel_id,
        "data": {"thread_id": message.thread_id, "user_id": message.user_id, "sequence": message.sequence, **data},
    }


def deliver(event: dict[str, Any]) -> tuple[int, int, int]:
    """Deliveries, queries and message renderings of one event, every topic listened to."""
    renders = 0
    serializer = Renderer._serializer
    kinds = set(MESSAGE_SERIALIZERS.values())

    def counted(renderer: Renderer, cls: type[Serializer], nested: bool) -> Serializer:
        nonlocal renders
        renders += cls in kinds
        return serializer(renderer, cls, nested)

    with CaptureQueriesContext(connection) as queries, pytest.MonkeyPatch.context() as patch:
        patch.setattr(Renderer, "_serializer", counted)
        found = deliveries(event, EVERYWHERE)
        rendered(found, lambda topic: STYLES)
    return len(found), len(queries), renders


def members(application: Application, count: int) -> list[ChatUser]:
    return [UserFactory.create(application=application) for _ in range(count)]


@pytest.mark.django_db
def test_a_new_message_costs_the_same_queries_and_renderings_for_two_or_ten_listening_members(
    application: Application,
) -> None:
    # given two channels, one with 2 members and one with 10, every member listening
    costs = []
    for count in (2, 10):
        sender, *others = members(application, count)
        channel = ChannelFactory.create(application=application, members=[sender, *others])
        message = send(channel, "hello @everyone", user=sender)

        # when the hub delivers the new message
        costs.append(deliver(created(message)))

    # then: one delivery on the channel's topic, one notification per other member; the same work for both
    (small_deliveries, small_queries, small_renders), (big_deliveries, big_queries, big_renders) = costs
    assert (small_deliveries, big_deliveries) == (2, 10)
    assert big_queries == small_queries
    assert big_renders == small_renders == 2  # once for the channel's topic, once nested in the notifications


@pytest.mark.django_db
def test_a_direct_message_tells_who_hid_the_channel_and_the_hub_asks_nothing_about_hidden_members(
    application: Application,
) -> None:
    # given bob hid his direct channel with jane
    jane, bob = members(application, 2)
    direct = ChannelFactory.create(application=application, channel_type="DIRECT", name=None, members=[jane, bob])
    send(direct, "first", user=jane)
    check_hide_channel(direct, bob)

    # when jane writes twice
    with CaptureQueriesContext(connection) as sent:
        unhiding = send(direct, "brings it back", user=jane)
    again = send(direct, "and again", user=jane)

    # then the write itself says who sees the channel again (the first time only), and the hub, told so, delivers
    # the unhiding without asking the database about hidden members
    assert [query["sql"] for query in sent if ASKS_WHO_HID.search(query["sql"])] != []
    with CaptureQueriesContext(connection) as delivered:
        found = deliveries(created(unhiding, unhides=[bob.pk]), EVERYWHERE)
        deliveries(created(again), EVERYWHERE)
    assert [(d.topic, d.event_type) for d in found if d.event_type == "user.channel.unhidden"] == [
        (f"/topic/users/{bob.pk}/channels", "user.channel.unhidden")
    ]
    assert [query["sql"] for query in delivered if ASKS_WHO_HID.search(query["sql"])] == []


@pytest.mark.django_db
def test_a_new_message_heard_only_on_its_channel_costs_the_hub_one_query(application: Application) -> None:
    # given a channel of 50 members, whose messages topic is the only one listened to on this process
    sender, *others = members(application, 50)
    channel = ChannelFactory.create(application=application, members=[sender, *others])
    message = send(channel, "hello", user=sender)
    topic = f"/topic/channels/{channel.pk}/messages"
    listening = Listening({topic}, Counter({topic_kind(topic): 1}))

    # when the hub reads and renders the new message
    with CaptureQueriesContext(connection) as queries:
        prepared = rendered(deliveries(created(message), listening), lambda topic: [STYLES[0]])

    # then one query (the message, its sender, channel and thread): no members asked for, no reactions looked up
    assert [delivery.topic for delivery in prepared] == [topic]
    assert len(queries) == 1


def fields(instance: Any) -> dict[str, Any]:
    """A model instance's loaded values (what rendering reads), without its ORM state."""
    return {name: value for name, value in vars(instance).items() if name != "_state"}


@pytest.mark.django_db
def test_the_hubs_message_lookup_gives_what_the_orm_gives_in_one_query(application: Application) -> None:
    # given a message from a user, a system message (no sender) and one in a named thread
    channel = ChannelFactory.create(application=application)
    author = UserFactory.create(application=application, properties={"team": "blue"})
    sent = send(channel, "hello", author, properties={"draft": False})
    system = send(channel, "welcome", None)
    reply = send(channel, "in a thread", author, thread=check_create_thread(channel, name="side"))
    for message in (sent, system, reply):
        expected = Message.objects.select_related("user", "channel", "thread").get(pk=message.pk)
        # when the hub looks it up
        with CaptureQueriesContext(connection) as queries:
            found = message_by_id(message.pk)
            assert found is not None
            related = (found.user, found.channel, found.thread)
        # then one query gives the same message, sender, channel and thread as select_related would
        assert len(queries) == 1
        assert fields(found) == fields(expected)
        assert [fields(item) if item else None for item in related] == [
            fields(item) if item else None for item in (expected.user, expected.channel, expected.thread)
        ]
    assert system.user_id is None
    assert message_by_id(reply.pk + 1000) is None
