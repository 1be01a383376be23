"""Webhooks against a real HTTP receiver that checks every signature with the reference ``standardwebhooks``
library: endpoints through the API (the secret shown once), delivery of placed events under the feed's ids, a receiver
that is down while 2,000 events are made and then comes back (every event arrives; a repeat only under its delivery
id; each channel's order recoverable from ``sequence``), replays, refused targets and redirects, and tenancy."""

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone
from standardwebhooks import Webhook

from chat.feed import relay_all
from chat.models import Application, DeliveryState, EventRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from chat.webhooks import Sender
from tests.conftest import Api
from tests.factories import ChannelFactory, UserFactory, send
from tests.live import celery_worker, server_environment, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A webhook receiver on a free local port: answers ``status`` (a redirect when 302) and keeps each request."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (the base class's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.path == "/redirected":
                    receiver.received.append(({"redirected": "yes"}, body))
                elif receiver.status == 200:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                if receiver.status == 302:
                    self.send_header("Location", "/redirected")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        ThreadingHTTPServer.request_queue_size = 256  # a worker opens many connections at once
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """The bodies received, each after the reference library checked its signature (it raises otherwise)."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.received]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on this machine
    settings.PARLEY_WEBHOOKS_MAX_PAUSE_SECONDS = 0.5
    found = Receiver()
    yield found
    found.server.shutdown()


def deliver(*, for_seconds: float = 0.0, timeout: float = 60.0) -> None:
    """Send what is due, as a worker does: for ``for_seconds``, or else until no delivery is pending (at most
    ``timeout`` seconds)."""

    def pending() -> bool:
        return WebhookDelivery.objects.filter(state=DeliveryState.PENDING, endpoint__enabled=True).exists()

    async def run() -> None:
        deadline = time.monotonic() + (for_seconds or timeout)
        async with Sender() as sender:
            while time.monotonic() < deadline:
                if not await sender.step():
                    idle = not sender.busy and not for_seconds
                    if idle and not await sync_to_async(pending, thread_sensitive=True)():
                        break
                    await sender.wait(0.05)
        await sync_to_async(connections.close_all, thread_sensitive=True)()

    asyncio.run(run())


def endpoint(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/v1/webhooks", {"url": url, **fields})
    assert created.status_code == 201, created.content
    return dict(created.json())


def three_messages_delivered(api: Api, application: Application, receiver: Receiver) -> dict[str, Any]:
    """An endpoint for messages only, and three messages sent, placed and delivered to it; the endpoint."""
    made = endpoint(api, receiver.url, eventTypes=["message.created"])
    ada = UserFactory.create(application=application, name="ada")
    general = ChannelFactory.create(application=application, members=[ada])
    for n in range(3):
        send(general, f"hello {n}", user=ada)
    relay_all()
    deliver()
    return made


def test_placed_events_are_delivered_signed_under_the_ids_of_the_feed(
    api: Api, application: Application, receiver: Receiver
) -> None:
    # when three messages are sent, placed and delivered to an endpoint for messages
    made = three_messages_delivered(api, application, receiver)

    # then each arrives once, signed, with the event's id, and the secret is never shown again
    bodies = sorted(receiver.verified(made["secret"]), key=lambda body: body["sequence"])  # sent at once: any order
    assert [body["resource"]["body"] for body in bodies] == ["hello 0", "hello 1", "hello 2"]
    feed = api.get("/v1/events", {"type": "message.created"}).json()["_embedded"]["events"]
    assert [body["id"] for body in bodies] == [event["id"] for event in feed]
    assert sorted(h["webhook-id"] for h, _ in receiver.received) == sorted(
        f"msg_{b['id']}_{made['id']}" for b in bodies
    )
    assert "secret" not in api.get(f"/v1/webhooks/{made['id']}").json()
    deliveries = api.get(f"/v1/webhooks/{made['id']}/deliveries").json()["_embedded"]["deliveries"]
    assert {(d["state"], d["attempts"], d["lastStatus"]) for d in deliveries} == {("SUCCEEDED", 1, 200)}
    assert len(deliveries[0]["attemptLog"]) == 1


def test_a_receiver_down_while_2000_events_are_made_gets_every_one_once_it_is_back(
    api: Api, application: Application, receiver: Receiver
) -> None:
    # given an endpoint for every type, and a receiver that is down
    made = endpoint(api, receiver.url)
    ada = UserFactory.create(application=application, name="ada")
    channels = [ChannelFactory.create(application=application, members=[ada]) for _ in range(4)]
    receiver.status = 503

    # when 2,000 events are made and placed, while deliveries fail
    for n in range(2000):
        send(channels[n % 4], f"message {n}", user=ada)
    relay_all()
    deliver(for_seconds=1.0)
    assert receiver.received == []
    failing = api.get(f"/v1/webhooks/{made['id']}").json()
    # and the receiver comes back
    receiver.status = 200
    deliver()

    # then every event arrived, a repeat only under the same delivery id, each channel in sequence order
    events = EventRecord.objects.filter(application=application)
    bodies = receiver.verified(made["secret"])
    assert {body["id"] for body in bodies} == set(events.values_list("id", flat=True))
    repeats = Counter(headers["webhook-id"] for headers, _ in receiver.received)
    assert len(repeats) == events.count()
    assert all(f"msg_{body['id']}_{made['id']}" in repeats for body in bodies)
    for channel in channels:
        sequences = sorted({b["sequence"] for b in bodies if b["channelId"] == channel.pk and b["sequence"]})
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert failing["failingSince"] is not None
    assert api.get(f"/v1/webhooks/{made['id']}").json()["failingSince"] is None
    assert not WebhookDelivery.objects.exclude(state=DeliveryState.SUCCEEDED).exists()


def test_a_replay_sends_exactly_the_chosen_deliveries_again_under_their_ids(
    api: Api, application: Application, receiver: Receiver
) -> None:
    # given three delivered messages, one of them dead after failing
    made = three_messages_delivered(api, application, receiver)
    first, second, third = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.filter(pk=third.pk).update(state=DeliveryState.DEAD)
    receiver.received.clear()

    # when the first is replayed by itself, then every dead one
    one = api.post(f"/v1/webhooks/{made['id']}/deliveries/{first.pk}/replay")
    deliver()
    dead = api.post(f"/v1/webhooks/{made['id']}/replay", {"state": "DEAD"})
    deliver()

    # then exactly those were sent again, under their own delivery ids
    assert (one.json(), dead.json()) == ({"replayed": 1}, {"replayed": 1})
    assert [headers["webhook-id"] for headers, _ in receiver.received] == [first.message_id, third.message_id]
    assert second.message_id not in str(receiver.received)


def test_private_targets_are_refused_when_made_and_when_sent_and_redirects_are_not_followed(
    api: Api, application: Application, receiver: Receiver, settings: Any
) -> None:
    # given an endpoint made while private targets were allowed, and one that redirects
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = False
    refused = [api.client.post("/v1/webhooks", {"url": url}, format="json") for url in PRIVATE_URLS]
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint(api, receiver.url, eventTypes=["message.created"])
    ada = UserFactory.create(application=application, name="ada")
    general = ChannelFactory.create(application=application, members=[ada])
    send(general, "first", user=ada)
    relay_all()

    # when private targets are refused again before the attempt, and later the receiver redirects
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = False
    deliver(for_seconds=1.0)
    blocked = WebhookDelivery.objects.get()
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = True
    receiver.status = 302
    WebhookDelivery.objects.update(next_attempt_time=blocked.created_time)
    WebhookEndpoint.objects.update(next_attempt_time=None)
    deliver(for_seconds=1.0)

    # then nothing reached the receiver: the address was refused, and the redirect was not followed
    assert {(r.status_code, r.json()["error"]) for r in refused} == {(400, "BadRequestError")}
    assert all("url" in r.json()["message"] for r in refused)
    assert receiver.received == []
    (status, error), redirected = WebhookAttempt.objects.order_by("id").values_list("status", "error")
    assert status is None
    assert "private" in error
    assert redirected == (302, "answered 302")


def test_a_host_name_that_leads_to_a_private_address_is_refused_when_sent(
    api: Api, application: Application, receiver: Receiver, settings: Any
) -> None:
    # given an endpoint whose host name is the receiver's own address in another spelling (its name resolves to it)
    port = receiver.url.split(":")[2].split("/")[0]
    made = endpoint(api, f"http://0x7f000001:{port}/hooks", eventTypes=["message.created"])
    ada = UserFactory.create(application=application, name="ada")
    send(ChannelFactory.create(application=application, members=[ada]), "hello", user=ada)
    relay_all()

    # when private targets are refused, and then allowed
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = False
    deliver(for_seconds=0.5)
    refused = list(WebhookAttempt.objects.values_list("error", flat=True))
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = True
    WebhookDelivery.objects.update(next_attempt_time=timezone.now())
    WebhookEndpoint.objects.update(next_attempt_time=None)
    deliver()

    # then the name was refused once it resolved, and the same endpoint reaches the receiver when allowed
    assert len(refused) == 1
    assert "private" in refused[0]
    assert [headers["webhook-id"] for headers, _ in receiver.received] == [
        f"msg_{EventRecord.objects.get(type='message.created').pk}_{made['id']}"
    ]


PRIVATE_URLS = [
    "http://127.0.0.1:9/hooks",
    "http://2130706433/hooks",
    "http://127.1/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://localhost/hooks",
    "http://10.1.2.3/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hooks",
    "ftp://example.com/hooks",
    "http://user:pass@example.com/hooks",
]


def test_another_tenant_sees_and_touches_none_of_an_applications_endpoints_or_deliveries(
    api: Api, other_api: Api, receiver: Receiver
) -> None:
    # given
    made = endpoint(api, receiver.url)

    # when
    answers = [
        other_api.client.get(f"/v1/webhooks/{made['id']}"),
        other_api.client.patch(f"/v1/webhooks/{made['id']}", {"enabled": False}, format="json"),
        other_api.client.delete(f"/v1/webhooks/{made['id']}"),
        other_api.client.post(f"/v1/webhooks/{made['id']}/secret"),
        other_api.client.get(f"/v1/webhooks/{made['id']}/deliveries"),
        other_api.client.post(f"/v1/webhooks/{made['id']}/replay", {}, format="json"),
    ]

    # then
    assert [answer.status_code for answer in answers] == [404] * 6
    assert other_api.get("/v1/webhooks").json()["_embedded"]["endpoints"] == []
    assert api.get(f"/v1/webhooks/{made['id']}").json()["enabled"] is True
    assert orjson.loads(answers[0].content)["error"] == "ResourceNotFoundError"


def test_a_celery_worker_sends_a_message_event_to_the_receiver_moments_after_its_commit(
    api: Api, application: Application, receiver: Receiver
) -> None:
    # given an endpoint, and a worker (its relay process places events and sends them)
    made = endpoint(api, receiver.url, eventTypes=["message.created"])
    ada = UserFactory.create(application=application, name="ada")
    general = ChannelFactory.create(application=application, members=[ada])
    environment = {**server_environment(), "PARLEY_WEBHOOKS_ALLOW_PRIVATE": "1"}
    with celery_worker(environment):
        # when a message is sent
        committed = time.time()
        send(general, "straight to your backend", user=ada)

        # then the receiver has it, signed, moments later
        wait_for(lambda: receiver.received, "the webhook", timeout=15)
    (body,) = receiver.verified(made["secret"])
    assert body["resource"]["body"] == "straight to your backend"
    sent_at = int(receiver.received[0][0]["webhook-timestamp"])
    assert sent_at - committed < 5
