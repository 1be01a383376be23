"""The socket service API over HTTP: pushes are stored and listed, answered in the documented envelope; every bad
input gets a non-zero code and the right status; each application sees only its own."""

import json
import time

import pytest
import redis
from django.conf import settings
from django.test import Client

from chat.events import topic_for_application
from chat.models import PushMessage
from tests.factories import ApplicationFactory, ChannelFactory

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, secret: str | None, body: object = None, **query: str) -> dict:
    headers = {"Authorization": f"key={secret}"} if secret is not None else None
    if method == "GET":
        response = client.get(path, query, headers=headers)
    else:
        raw = body if isinstance(body, str) else json.dumps(body)
        response = client.generic(method, path, raw, content_type="application/json", headers=headers)
    return {**response.json(), "http": response.status_code}


def test_pushes_are_stored_and_listed_with_filters_sort_and_paging(client, application):
    secret = application.push_secret
    sent = call(client, "POST", "/wssv/send", secret, {"channel": ["news", "sports"], "data": {"n": 1}})
    call(client, "POST", "/chat/send", secret, {"channel": "news", "event": "alert", "data": "storm"})
    multi = call(
        client, "POST", "/wssv/send-multi", secret, [{"channel": "news", "data": 3}, {"channel": "Guest", "data": 4}]
    )

    assert (sent["http"], sent["code"], sent["message"], sent["Error"]) == (200, 0, "Success", None)
    assert [m["channel"] for m in sent["data"]["messages"]] == ["news", "sports"]
    assert sent["data"]["messages"][0]["event"] == "Message"
    assert len(multi["data"]["messages"]) == 2
    news = call(client, "GET", "/wssv/message", secret, channel="news")
    assert [m["data"] for m in news["data"]["messages"]] == [3, "storm", {"n": 1}]
    assert news["data"]["total"] == 3
    oldest = call(client, "GET", "/wssv/message", secret, sort="createdAt_ASC", limit="2", skip="1")
    assert [m["data"] for m in oldest["data"]["messages"]] == [{"n": 1}, "storm"]
    alerts = call(client, "GET", "/wssv/message", secret, event="alert")
    assert [m["data"] for m in alerts["data"]["messages"]] == ["storm"]
    by_data = call(client, "GET", "/wssv/message", secret, data="stor")
    assert [m["event"] for m in by_data["data"]["messages"]] == ["alert"]
    assert len(call(client, "GET", "/wssv/message", secret)["data"]["messages"]) == 5


def test_bad_requests_get_a_non_zero_code_naming_what_is_wrong(client, application, settings):
    secret = application.push_secret
    settings.PARLEY_PUSH_MAX_PAYLOAD_BYTES = 100
    settings.PARLEY_PUSH_MAX_CHANNELS = 3
    settings.PARLEY_PUSH_MAX_MESSAGES = 2
    answers = {
        "no key": call(client, "POST", "/wssv/send", None, {"channel": "a"}),
        "wrong key": call(client, "POST", "/wssv/send", "nope", {"channel": "a"}),
        "not json": call(client, "POST", "/wssv/send", secret, "{"),
        "no channel": call(client, "POST", "/wssv/send", secret, {"data": 1}),
        "blank channel": call(client, "POST", "/wssv/send", secret, {"channel": " "}),
        "too many channels": call(client, "POST", "/wssv/send", secret, {"channel": ["a", "b", "c", "d"]}),
        "too much data": call(client, "POST", "/wssv/send", secret, {"channel": "a", "data": "x" * 200}),
        "event not text": call(client, "POST", "/wssv/send", secret, {"channel": "a", "event": 5}),
        "multi not array": call(client, "POST", "/wssv/send-multi", secret, {"channel": "a"}),
        "multi too long": call(client, "POST", "/wssv/send-multi", secret, [{"channel": "a"}] * 3),
        "multi bad item": call(client, "POST", "/wssv/send-multi", secret, [{"channel": "a"}, {"data": 1}]),
        "bad sort": call(client, "GET", "/wssv/message", secret, sort="size_DESC"),
        "bad limit": call(client, "GET", "/wssv/message", secret, limit="-1"),
        "limit too big": call(client, "GET", "/wssv/message", secret, limit="1000"),
        "wrong method": call(client, "GET", "/wssv/send", secret),
        "subscribe over http": call(client, "POST", "/channel/subscribe", secret, {"channel": "a"}),
    }
    statuses = {why: (a["http"], a["code"]) for why, a in answers.items()}
    assert statuses == {
        "no key": (401, 401),
        "wrong key": (401, 401),
        "not json": (400, 400),
        "no channel": (400, 400),
        "blank channel": (400, 400),
        "too many channels": (400, 400),
        "too much data": (400, 400),
        "event not text": (400, 400),
        "multi not array": (400, 400),
        "multi too long": (400, 400),
        "multi bad item": (400, 400),
        "bad sort": (400, 400),
        "bad limit": (400, 400),
        "limit too big": (400, 400),
        "wrong method": (405, 405),
        "subscribe over http": (400, 400),
    }
    assert answers["too much data"]["Error"]["field"] == "data"
    assert answers["multi bad item"]["Error"]["field"] == "body[1].channel"
    assert answers["bad sort"]["Error"]["field"] == "sort"
    assert all(a["data"] is None and a["Error"]["message"] for a in answers.values())
    assert not PushMessage.objects.exists()  # nothing half-done: the bad multi stored none of its items


def test_each_application_sees_only_its_own_pushes(client, application):
    other = ApplicationFactory.create()
    call(client, "POST", "/wssv/send", application.push_secret, {"channel": "news", "data": "mine"})
    call(client, "POST", "/wssv/send", other.push_secret, {"channel": "news", "data": "theirs"})  # type: ignore[attr-defined]
    listed = call(client, "GET", "/wssv/message", application.push_secret, channel="news")
    assert [m["data"] for m in listed["data"]["messages"]] == ["mine"]


@pytest.mark.django_db(transaction=True)
def test_a_push_to_a_parley_channel_name_reaches_its_live_clients_as_a_custom_event(client, application):
    # given a Parley channel named like the pushed channel, and a listener on the application's bus
    channel = ChannelFactory.create(application=application, name="lobby")
    bus = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    bus.subscribe(topic_for_application(application.pk))
    assert bus.get_message(timeout=3)["type"] == "subscribe"  # confirmed: what is published from now on is heard

    # when
    call(client, "POST", "/wssv/send", application.push_secret, {"channel": "lobby", "event": "Tick", "data": {"n": 2}})

    # then
    events: list[dict] = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(events) < 2:
        message = bus.get_message(timeout=0.2)
        if message:
            events.append(json.loads(message["data"]))
    bus.close()
    custom = next(e for e in events if e["type"] == "channel.event.sent")
    assert (custom["channel_id"], custom["data"]["event_type"], custom["data"]["properties"]) == (
        channel.pk,
        "Tick",
        {"n": 2},
    )
    assert any(e["type"] == "push.sent" and e["data"]["channel"] == "lobby" for e in events)
