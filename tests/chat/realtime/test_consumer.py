"""The StompX consumer through Channels' WebsocketCommunicator: sessions, relays, topics, actions and refusals."""

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import orjson
import psycopg
import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from cryptography.hazmat.primitives.asymmetric import ed25519

from chat.actions.applications import check_update_application_settings
from chat.actions.messages import check_create_thread, check_send_message
from chat.events import Event, bus_redis, topic_for_application
from chat.models import Application, ChatUser, Message, SessionState, UserSession
from chat.realtime.consumer import LIVE_COPY_SECONDS
from chat.realtime.hub import HUB_THREADS, _hubs, hub
from chat.realtime.marks import SETTLE_SECONDS, alive_key, hub_key
from chat.realtime.stomp import SERVER_COMMANDS, Frame, FrameParser
from config.asgi import application as asgi_application
from tests.conftest import api_for
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, public_pem, session_token
from tests.live import database_url

pytestmark = pytest.mark.django_db(transaction=True)


class Client:
    """A STOMP client over a WebsocketCommunicator, as the SDK frames things."""

    def __init__(self, api_key: str) -> None:
        self.ws = WebsocketCommunicator(
            asgi_application, f"/rtm/websocket?api-key={api_key}", subprotocols=["v12.stomp"]
        )
        self.parser = FrameParser(10**7, SERVER_COMMANDS)
        self.pending: list[Frame] = []

    async def open(self) -> None:
        connected, subprotocol = await self.ws.connect()
        assert connected
        assert subprotocol == "v12.stomp"

    async def send(self, command: str, headers: dict[str, str], body: Any = None) -> None:
        payload = orjson.dumps(body) if body is not None else b""
        await self.ws.send_to(text_data=Frame(command, headers, payload).encode().decode())

    async def frame(self) -> Frame:
        while not self.pending:
            text = await self.ws.receive_from(timeout=5)
            self.pending.extend(self.parser.feed(text.encode()))
        return self.pending.pop(0)

    async def login(self, username: str, **headers: str) -> Frame:
        await self.open()
        await self.send(
            "CONNECT", {"StompX-User": username, "accept-version": "1.2", "heart-beat": "60000,10000", **headers}
        )
        return await self.frame()

    async def relay(self, destination: str, **headers: str) -> Any:
        await self.send("SUBSCRIBE", {"id": f"relay-{destination}", "destination": destination, **headers})
        frame = await self.frame()
        assert frame.headers["subscription"] == f"relay-{destination}", frame
        return orjson.loads(frame.body)["resource"]

    async def subscribe(self, destination: str, sub_id: str) -> Frame:
        await self.send("SUBSCRIBE", {"id": sub_id, "destination": destination, "receipt": f"r-{sub_id}"})
        return await self.frame()


@pytest.fixture
async def connect():
    """Opens clients for a test and closes every one of them afterwards (ending their sessions)."""
    opened: list[Client] = []

    def make(api_key: str) -> Client:
        opened.append(Client(api_key))
        return opened[-1]

    yield make
    for client in opened:
        if not client.ws.future.done():  # not already disconnected by the test
            await client.ws.disconnect()


@pytest.fixture
def tenant() -> dict[str, Any]:
    application = ApplicationFactory.create()
    jane = UserFactory.create(application=application, name="jane")
    bob = UserFactory.create(application=application, name="bob")
    channel = ChannelFactory.create(application=application, name="general", members=[jane, bob])
    return {"application": application, "jane": jane, "bob": bob, "channel": channel}


async def test_a_session_starts_and_the_current_user_carries_its_hypermedia(connect, tenant):
    client = connect(tenant["application"].key)
    connected = await client.login("jane")
    assert connected.command == "CONNECTED"
    assert connected.headers["version"] == "1.2"
    user = await client.relay("/application/user.relay")
    assert (user["id"], user["name"]) == (tenant["jane"].pk, "jane")
    assert len(set(user["_topics"].values())) == 14
    assert {"channels", "joinableChannels", "unreadMessagesCount"} <= set(user["_relays"])
    grant = await client.relay("/application/user.write_file_access_grant.relay")
    assert grant["grant"]
    session = await database_sync_to_async(UserSession.objects.get)(key=connected.headers["session"])
    assert session.state == SessionState.ACTIVE
    assert (await client.relay("/application/user.relay"))["presence"]["online"] is True
    await client.ws.disconnect()
    await database_sync_to_async(session.refresh_from_db)()
    assert session.state == SessionState.ENDED
    await database_sync_to_async(tenant["jane"].refresh_from_db)()
    assert tenant["jane"].online is False


async def test_two_users_chat_live_and_the_sender_gets_its_receipt_on_the_broadcast(connect, tenant):
    # given jane and bob in a chat session of the channel
    jane, bob = connect(tenant["application"].key), connect(tenant["application"].key)
    await jane.login("jane")
    await bob.login("bob")
    channels = await jane.relay("/application/user/channels.relay")
    [general] = channels["_embedded"]["channels"]
    topic = general["_topics"]["messages"]
    assert (await jane.subscribe(topic, "jane-messages")).command == "RECEIPT"
    assert (await bob.subscribe(topic, "bob-messages")).command == "RECEIPT"

    # when jane sends
    await jane.send(
        "SEND",
        {"destination": general["_actions"]["message"], "receipt": "receipt-1", "content-type": "application/json"},
        {"type": "TEXT", "body": "hi @bob"},
    )

    # then both get one channel.message.created; jane's answers her action
    mine, theirs = await jane.frame(), await bob.frame()
    assert mine.headers["receipt-id"] == "receipt-1"
    assert mine.headers["subscription"] == "jane-messages"
    assert "receipt-id" not in theirs.headers
    event = orjson.loads(theirs.body)
    assert event["type"] == "channel.message.created"
    assert event["resource"]["body"] == "hi @bob"
    assert event["resource"]["user"]["name"] == "jane"
    assert event["resource"]["mentions"][0]["user"]["name"] == "bob"
    history = await bob.relay(general["_relays"]["messages"])
    assert [m["body"] for m in history["_embedded"]["messages"]] == ["hi @bob"]
    assert await database_sync_to_async(Message.objects.filter(channel=tenant["channel"]).count)() == 1


async def test_a_message_sent_through_the_platform_api_arrives_live(connect, tenant, api_for_tenant):
    client = connect(tenant["application"].key)
    await client.login("bob")
    channel = tenant["channel"]
    await client.subscribe(f"/topic/channels/{channel.pk}/messages", "messages")
    await database_sync_to_async(api_for_tenant)(channel.pk, {"type": "TEXT", "body": "from a backend"})
    event = orjson.loads((await client.frame()).body)
    assert (event["type"], event["resource"]["body"], event["resource"]["type"]) == (
        "channel.message.created",
        "from a backend",
        "SYSTEM_TEXT",
    )


@pytest.fixture
def api_for_tenant(tenant):
    api = api_for(tenant["application"])

    def send(channel_id: int, body: dict[str, Any]) -> None:
        assert api.post(f"/v1/channels/{channel_id}/messages", body).status_code == 200

    return send


async def test_refusals_unknown_key_unknown_user_and_guests(connect, tenant):
    denied = connect("not-a-key")
    error = await denied.login("jane")
    assert error.command == "ERROR"
    assert orjson.loads(error.body)["error"] == "AccessDeniedError"
    stranger = connect(tenant["application"].key)
    assert orjson.loads((await stranger.login("nobody")).body)["error"] == "AccessDeniedError"
    # when the application enables guests, an unknown name becomes a guest user
    await database_sync_to_async(Application.objects.filter(pk=tenant["application"].pk).update)(guest_users="ENABLED")
    guest = connect(tenant["application"].key)
    assert (await guest.login("visitor")).command == "CONNECTED"
    assert (await guest.relay("/application/user.relay"))["isGuest"] is True


async def test_signed_token_sessions_start_only_with_a_valid_token_for_that_user(connect, tenant):
    # given an application whose backend signs session tokens with its own private key
    application = tenant["application"]
    key = ed25519.Ed25519PrivateKey.generate()
    await database_sync_to_async(check_update_application_settings)(
        application,
        guest_users=None,
        user_created_channels=None,
        session_authentication="SIGNED_TOKEN",
        session_token_public_key=public_pem(key),
    )
    other_key = ed25519.Ed25519PrivateKey.generate()
    other = await database_sync_to_async(ApplicationFactory.create)()

    async def login(username: str, params: Any) -> Frame:
        client = connect(application.key)
        encoded = params if isinstance(params, str) else base64.b64encode(orjson.dumps(params)).decode()  # as the SDK
        headers = {"StompX-Auth-Params": encoded}
        return await client.login(username, **headers)

    def token(username: str, signer: Any = key, **claims: Any) -> dict[str, str]:
        return {"token": session_token(signer, application, username, **claims)}

    # when sessions start with good and bad tokens, then only the good ones connect
    assert (await login("jane", token("jane"))).command == "CONNECTED"
    plain_json = orjson.dumps(token("jane")).decode()
    assert (await login("jane", plain_json)).command == "CONNECTED"
    newcomer = await login("newcomer", token("newcomer", name="New Comer"))
    assert newcomer.command == "CONNECTED"
    created = await database_sync_to_async(ChatUser.objects.get)(application=application, name="newcomer")
    assert (created.display_name, created.is_guest) == ("New Comer", False)
    refusals = {
        "no token": await login("jane", {}),
        "not json": await login("jane", "{"),
        "someone else's": await login("jane", token("bob")),
        "expired": await login("jane", token("jane", exp=int(time.time()) - 120)),
        "wrong signer": await login("jane", token("jane", signer=other_key)),
        "other tenant": await login("jane", {"token": session_token(key, other, "jane")}),
        "shared secret": await login(
            "jane", {"token": jwt.encode({"sub": "jane", "aud": application.key, "exp": 2**40}, "s" * 32)}
        ),
    }
    for why, frame in refusals.items():
        assert frame.command == "ERROR", why
        assert orjson.loads(frame.body)["error"] == "AccessDeniedError", why
    assert "expired" in orjson.loads(refusals["expired"].body)["message"]


@pytest.fixture
def elsewhere(tenant):
    """A channel of another application, and a private channel of this one that jane is not in."""
    other = ChannelFactory.create(application=ApplicationFactory.create())
    private = ChannelFactory.create(application=tenant["application"], channel_type="PRIVATE", members=[tenant["bob"]])
    return other, private


async def test_topics_of_other_users_channels_and_tenants_are_refused(connect, tenant, elsewhere):
    other, private = elsewhere
    client = connect(tenant["application"].key)
    await client.login("jane")
    await client.subscribe("/user/queue/errors", "errors")
    for destination in (
        f"/topic/users/{tenant['bob'].pk}/self",
        f"/topic/channels/{other.pk}/messages",
        f"/topic/channels/{private.pk}/messages",
        "/topic/anything",
    ):
        refused = await client.subscribe(destination, "sub")
        assert refused.headers["destination"] == "/user/queue/errors", destination
        assert refused.headers["subscription-id"] == "sub"
        assert orjson.loads(refused.body)["error"] in ("ForbiddenError", "NotFoundError")
    await client.send("SEND", {"destination": "/application/nowhere", "receipt": "r9"}, {})
    failed = await client.frame()
    assert failed.headers["receipt-id"] == "r9"
    assert orjson.loads(failed.body)["error"] == "NotFoundError"


async def test_malformed_and_oversized_frames_end_the_connection_with_an_error(connect, tenant, settings):
    settings.PARLEY_STOMP_MAX_FRAME_BYTES = 1024
    client = connect(tenant["application"].key)
    await client.login("jane")
    await client.ws.send_to(text_data="SEND\ndestination:/x\n\n" + "x" * 2000)
    error = await client.frame()
    assert error.command == "ERROR"
    assert "larger than" in orjson.loads(error.body)["message"]
    assert (await client.ws.receive_output(timeout=2))["type"] == "websocket.close"
    garbled = connect(tenant["application"].key)
    await garbled.open()
    await garbled.ws.send_to(text_data="HELLO\n\n\x00")
    assert orjson.loads((await garbled.frame()).body)["error"] == "InvalidFrameError"
    await asyncio.sleep(0)


async def act(client: Client, destination: str, body: Any, receipt: str) -> dict[str, Any]:
    """SEND an action and return the JSON of the frame that answers it (an event or an error)."""
    await client.send("SEND", {"destination": destination, "receipt": receipt}, body)
    answer = await client.frame()
    assert answer.headers.get("receipt-id") == receipt, answer
    return orjson.loads(answer.body) if answer.body else {}


async def test_writes_that_need_rights_are_refused_and_change_nothing(connect, tenant, elsewhere):
    # given: bob is a plain member; jane sent a message; users may not create channels in this application
    other, _ = elsewhere
    channel = tenant["channel"]
    message = await database_sync_to_async(check_send_message)(
        channel, message_type="TEXT", body="mine", user=tenant["jane"]
    )
    bob = connect(tenant["application"].key)
    await bob.login("bob")
    await bob.subscribe("/user/queue/errors", "errors")

    # when
    refusals = {
        "delete channel": await act(bob, f"/application/channels/{channel.pk}.delete", {}, "r1"),
        "edit another's message": await act(bob, f"/application/messages/{message.pk}.edit", {"body": "x"}, "r2"),
        "delete another's message": await act(bob, f"/application/messages/{message.pk}.delete", {}, "r3"),
        "create channel": await act(bob, "/application/user.create_channel", {"type": "PUBLIC", "name": "n"}, "r4"),
        "another tenant's channel": await act(
            bob, f"/application/channels/{other.pk}.message", {"type": "TEXT", "body": "hi"}, "r5"
        ),
        "blank reaction": await act(bob, f"/application/messages/{message.pk}.react", {"emoji": " "}, "r6"),
        "hide a group channel": await act(bob, f"/application/channels/{channel.pk}.hide", {}, "r7"),
        "block a member": await act(bob, f"/application/channels/{channel.pk}.block", {"username": "jane"}, "r8"),
        "block oneself": await act(bob, f"/application/users/{tenant['bob'].pk}.block", {}, "r9"),
        "unblock a stranger": await act(
            bob, f"/application/user/block_list_items/{tenant['jane'].pk}.delete", {}, "rA"
        ),
    }

    # then
    assert {name: answer["error"] for name, answer in refusals.items()} == {
        "delete channel": "ForbiddenError",
        "edit another's message": "ForbiddenError",
        "delete another's message": "ForbiddenError",
        "create channel": "ForbiddenError",
        "another tenant's channel": "NotFoundError",
        "blank reaction": "InvalidRequestError",
        "hide a group channel": "InvalidRequestError",
        "block a member": "ForbiddenError",
        "block oneself": "InvalidRequestError",
        "unblock a stranger": "NotFoundError",
    }
    assert "emoji" in refusals["blank reaction"]["message"]
    assert await database_sync_to_async(Message.objects.get)(pk=message.pk) == message
    assert await database_sync_to_async(Message.objects.filter(channel=other).count)() == 0
    assert await database_sync_to_async(channel.memberships.filter(user=tenant["jane"]).exists)()


async def test_typing_starts_with_keystrokes_and_stops_when_the_typist_sends(connect, tenant):
    # given
    channel = tenant["channel"]
    jane, bob = connect(tenant["application"].key), connect(tenant["application"].key)
    await jane.login("jane")
    await bob.login("bob")
    await bob.subscribe(f"/topic/channels/{channel.pk}/typing", "typing")

    # when
    await jane.send("SEND", {"destination": f"/application/channels/{channel.pk}.keystrokes"}, {"keys": "he"})
    started = await bob.frame()
    await jane.send("SEND", {"destination": f"/application/channels/{channel.pk}.keystrokes"}, {"keys": "hel"})
    await act(jane, f"/application/channels/{channel.pk}.message", {"type": "TEXT", "body": "hello"}, "sent")
    stopped = await bob.frame()

    # then: one start for two keystrokes, and a stop when the message went out
    assert [orjson.loads(f.body)["type"] for f in (started, stopped)] == [
        "thread.typing.started",
        "thread.typing.stopped",
    ]
    assert orjson.loads(started.body)["resource"]["name"] == "jane"


async def heard_then_left(connect, tenant) -> str:
    """bob listened to #general, heard one message live (with its sequence number), and lost his connection: his
    session id."""
    send = database_sync_to_async(check_send_message)
    channel = tenant["channel"]
    bob = connect(tenant["application"].key)
    session = (await bob.login("bob")).headers["session"]
    await bob.subscribe(f"/topic/channels/{channel.pk}/messages", "bob-messages")
    heard = await send(channel, message_type="TEXT", body="heard live", user=tenant["jane"])
    assert (await bob.frame()).headers["sequence"] == str(heard.sequence)
    await bob.ws.disconnect()
    return session


async def test_a_resumed_session_is_sent_the_messages_it_missed_once_each(connect, tenant):
    # given bob listens to the channel, then loses his connection
    send = database_sync_to_async(check_send_message)
    channel = tenant["channel"]
    topic = f"/topic/channels/{channel.pk}/messages"
    session = await heard_then_left(connect, tenant)

    # when jane sends twice while he is away, and he reconnects with his session id and subscribes again
    await send(channel, message_type="TEXT", body="missed 1", user=tenant["jane"])
    await send(channel, message_type="TEXT", body="missed 2", user=tenant["jane"])
    again = connect(tenant["application"].key)
    assert (await again.login("bob", **{"StompX-Auth-Session-ID": session})).headers["session"] == session
    assert (await again.subscribe(topic, "bob-messages")).command == "RECEIPT"
    replayed = [await again.frame(), await again.frame()]
    after = await send(channel, message_type="TEXT", body="after", user=tenant["jane"])
    live_again = await again.frame()

    # then he gets the two he missed, in order, then live ones, each once
    bodies = [orjson.loads(frame.body)["resource"]["body"] for frame in [*replayed, live_again]]
    assert bodies == ["missed 1", "missed 2", "after"]
    assert [frame.headers["subscription"] for frame in replayed] == ["bob-messages"] * 2
    assert int(replayed[1].headers["sequence"]) == int(replayed[0].headers["sequence"]) + 1
    assert live_again.headers["sequence"] == str(after.sequence)
    assert await again.ws.receive_nothing(timeout=0.5)


async def test_a_message_whose_event_comes_after_its_catch_up_is_not_sent_twice(connect, tenant):
    # given bob resumed and was sent, from the database, a message he had missed
    send = database_sync_to_async(check_send_message)
    channel = tenant["channel"]
    topic = f"/topic/channels/{channel.pk}/messages"
    session = await heard_then_left(connect, tenant)
    missed = await send(channel, message_type="TEXT", body="missed", user=tenant["jane"])
    again = connect(tenant["application"].key)
    await again.login("bob", **{"StompX-Auth-Session-ID": session})
    await again.subscribe(topic, "bob-messages")
    assert orjson.loads((await again.frame()).body)["resource"]["body"] == "missed"

    # when that message's event reaches the bus only now (its publish came late, after the catch-up read it)
    event = Event(
        type="message.created",
        application_id=channel.application_id,
        resource_type="message",
        resource_id=missed.pk,
        channel_id=channel.pk,
        data={"thread_id": missed.thread_id, "user_id": missed.user_id, "sequence": missed.sequence},
    )
    await database_sync_to_async(bus_redis().publish)(topic_for_application(channel.application_id), event.to_json())
    after = await send(channel, message_type="TEXT", body="after", user=tenant["jane"])

    # then bob is not sent it again: the next thing he hears is the next message
    frame = await again.frame()
    assert (orjson.loads(frame.body)["resource"]["body"], frame.headers["sequence"]) == ("after", str(after.sequence))


async def test_a_new_session_is_not_replayed_anything(connect, tenant):
    # given bob was in a session that heard nothing, and a message was sent since
    channel = tenant["channel"]
    topic = f"/topic/channels/{channel.pk}/messages"
    bob = connect(tenant["application"].key)
    await bob.login("bob")
    await bob.subscribe(topic, "bob-messages")
    await bob.ws.disconnect()
    await database_sync_to_async(check_send_message)(channel, message_type="TEXT", body="old", user=tenant["jane"])

    # when he starts a new session (no session id) and subscribes
    again = connect(tenant["application"].key)
    await again.login("bob")
    assert (await again.subscribe(topic, "bob-messages")).command == "RECEIPT"

    # then nothing is pushed: a new session loads history through the relays
    assert await again.ws.receive_nothing(timeout=0.5)


async def test_message_rate_and_body_size_are_limited_with_clear_errors(connect, tenant, settings):
    # given a budget of 3 messages per 10 s, and a fresh window with room for the whole test
    settings.PARLEY_STOMP_MESSAGES_PER_10_SECONDS = 3
    if time.time() % 10 > 8:
        await asyncio.sleep(10 - time.time() % 10)
    channel = tenant["channel"]
    jane, bob = connect(tenant["application"].key), connect(tenant["application"].key)
    for client, name in ((jane, "jane"), (bob, "bob")):
        await client.login(name)
        await client.subscribe("/user/queue/errors", "errors")
    destination = f"/application/channels/{channel.pk}.message"

    # when bob sends an oversized message, and jane four in a row (attempts count, whatever their fate)
    oversized = await act(bob, destination, {"type": "TEXT", "body": "x" * 10_001}, "big")
    answers = []
    for n in range(4):
        await jane.send("SEND", {"destination": destination, "receipt": f"m{n}"}, {"type": "TEXT", "body": f"#{n}"})
        answers.append(await jane.frame())

    # then the oversized one and the fourth are refused, saying why, and only three are stored
    assert oversized["error"] == "InvalidRequestError"
    assert "body" in oversized["message"]
    assert [frame.headers["receipt-id"] for frame in answers] == ["m0", "m1", "m2", "m3"]
    assert [frame.headers["destination"] for frame in answers[:3]] == [f"/topic/channels/{channel.pk}/messages"] * 3
    refusal = orjson.loads(answers[3].body)
    assert answers[3].headers["destination"] == "/user/queue/errors"
    assert refusal["error"] == "RateLimitExceededError"
    assert "3 messages per 10 seconds" in refusal["message"]
    stored = await database_sync_to_async(list)(Message.objects.filter(channel=channel).values_list("body", flat=True))
    assert sorted(stored) == ["#0", "#1", "#2"]


async def test_chat_sessions_are_recorded_while_a_client_listens_to_a_channel(connect, tenant):
    # given jane's session
    api = await database_sync_to_async(api_for)(tenant["application"])
    listed = database_sync_to_async(lambda state=None: api.get("/v1/chat-sessions", {"state": state} if state else {}))
    topic = f"/topic/channels/{tenant['channel'].pk}/messages"
    jane = connect(tenant["application"].key)
    assert (await jane.login("jane", **{"StompX-User-Agent": "ChatKitty-ChatUI/2.106.2"})).command == "CONNECTED"

    # when she enters the channel's chat, leaves it, and enters it again before disconnecting
    await jane.subscribe(topic, "chat-1")
    active = (await listed("ACTIVE")).json()["_embedded"]["sessions"]
    await jane.send("UNSUBSCRIBE", {"id": "chat-1"})
    await jane.subscribe(topic, "chat-2")
    await jane.ws.disconnect()

    # then the API lists both chat sessions, ended, with the user session's agent and user
    assert len(active) == 1
    assert active[0]["state"] == "ACTIVE"
    assert active[0]["_links"]["channel"]["href"].endswith(f"/v1/channels/{tenant['channel'].pk}")
    sessions = (await listed()).json()["_embedded"]["sessions"]
    assert [session["state"] for session in sessions] == ["ENDED", "ENDED"]
    assert all(session["endTime"] for session in sessions)
    assert {session["session"]["userAgent"] for session in sessions} == {"ChatKitty-ChatUI/2.106.2"}
    assert {session["session"]["user"]["name"] for session in sessions} == {"jane"}


async def saved_by_hub(channel_id: int, sequence: int | None) -> None:
    """Wait until this process's hub has saved that it dispatched ``sequence`` of the channel."""
    for _ in range(500):
        saved = await hub().redis.hget(hub_key(hub().id), str(channel_id))  # type: ignore[misc]
        if saved is not None and int(saved) >= (sequence or 0):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the hub never saved sequence {sequence} of channel {channel_id}")


async def crash(client: Client) -> None:
    """The client's process dies: its connection never closes, its hub stops, and that hub's alive key lapses (as it
    does ``ALIVE_SECONDS`` later); the next hub() is another process's."""
    client.ws.future.cancel()
    dead = hub()
    assert dead._listener is not None
    assert dead._alive is not None
    dead._listener.cancel()
    dead._alive.cancel()
    await dead.redis.delete(alive_key(dead.id))
    del _hubs[id(asyncio.get_running_loop())]


async def test_a_session_resumed_after_its_process_died_starts_where_that_process_got_to(connect, tenant):
    # given bob heard one message, and his process saved its marks
    send = database_sync_to_async(check_send_message)
    channel = tenant["channel"]
    topic = f"/topic/channels/{channel.pk}/messages"
    bob = connect(tenant["application"].key)
    session = (await bob.login("bob")).headers["session"]
    await bob.subscribe(topic, "bob-messages")
    heard = await send(channel, message_type="TEXT", body="heard", user=tenant["jane"])
    assert orjson.loads((await bob.frame()).body)["resource"]["body"] == "heard"
    await saved_by_hub(channel.pk, heard.sequence)  # its process saves its marks after delivering

    # when his process dies (his connection never closes, its hub stops), jane sends, and he resumes elsewhere
    await crash(bob)
    await send(channel, message_type="TEXT", body="missed", user=tenant["jane"])
    again = connect(tenant["application"].key)
    started = time.monotonic()
    await again.login("bob", **{"StompX-Auth-Session-ID": session})
    assert (await again.subscribe(topic, "bob-messages")).command == "RECEIPT"

    # then he gets only what he missed, at once: a dead hub's connection is not waited for to close cleanly
    assert orjson.loads((await again.frame()).body)["resource"]["body"] == "missed"
    assert time.monotonic() - started < SETTLE_SECONDS
    assert await again.ws.receive_nothing(timeout=0.5)


async def test_named_threads_refuse_bad_names_and_other_tenants_threads(connect, tenant, elsewhere):
    # given jane in #general, and a thread of another tenant
    other, _ = elsewhere
    foreign = await database_sync_to_async(check_create_thread)(other, name="theirs")
    jane = connect(tenant["application"].key)
    await jane.login("jane")
    await jane.subscribe("/user/queue/errors", "errors")
    create = f"/application/channels/{tenant['channel'].pk}.create_thread"

    # when
    created = await act(jane, create, {"name": "plans"}, "t1")
    answers = {
        "blank name": await act(jane, create, {"name": "  "}, "t2"),
        "taken name": await act(jane, create, {"name": "plans"}, "t3"),
        "other tenant's thread": await act(
            jane, f"/application/threads/{foreign.pk}.message", {"type": "TEXT", "body": "hi"}, "t4"
        ),
    }

    # then
    assert (created["type"], created["resource"]["name"]) == ("channel.thread.created", "plans")
    assert {name: answer["error"] for name, answer in answers.items()} == {
        "blank name": "InvalidRequestError",
        "taken name": "ConflictError",
        "other tenant's thread": "NotFoundError",
    }
    assert not await database_sync_to_async(Message.objects.filter(thread=foreign).exists)()


async def test_history_can_be_limited_to_files(connect, tenant):
    # given a text and a file message in #general
    send = database_sync_to_async(check_send_message)
    channel = tenant["channel"]
    await send(channel, message_type="TEXT", body="words", user=tenant["jane"])
    file = {"url": "https://files.example/a.pdf", "name": "a.pdf", "content_type": "application/pdf", "size": 3}
    await send(channel, message_type="FILE", file=file, user=tenant["jane"])
    jane = connect(tenant["application"].key)
    await jane.login("jane")

    # when the SDK lists messages with its files-only filter
    listed = await jane.relay(f"/application/channels/{channel.pk}/messages.relay", type="FILE", mainThread="false")

    # then
    assert [message["type"] for message in listed["_embedded"]["messages"]] == ["FILE"]


async def test_what_a_resumed_session_was_replayed_is_not_replayed_again_after_a_crash(connect, tenant):
    # given bob left cleanly, missed a message, and resumed: it was replayed to him
    channel = tenant["channel"]
    topic = f"/topic/channels/{channel.pk}/messages"
    bob = connect(tenant["application"].key)
    session = (await bob.login("bob")).headers["session"]
    await bob.subscribe(topic, "bob-messages")
    await bob.ws.disconnect()
    await database_sync_to_async(check_send_message)(channel, message_type="TEXT", body="missed", user=tenant["jane"])
    again = connect(tenant["application"].key)
    await again.login("bob", **{"StompX-Auth-Session-ID": session})
    await again.subscribe(topic, "bob-messages")
    assert orjson.loads((await again.frame()).body)["resource"]["body"] == "missed"

    # when that process dies too, and he resumes once more
    await crash(again)
    third = connect(tenant["application"].key)
    await third.login("bob", **{"StompX-Auth-Session-ID": session})
    assert (await third.subscribe(topic, "bob-messages")).command == "RECEIPT"

    # then nothing comes twice
    assert await third.ws.receive_nothing(timeout=0.5)


async def test_a_send_that_waits_on_the_database_does_not_hold_back_another_sockets_send(connect, tenant):
    # given jane in "general" and bob in a second channel, each chatting, and "general" locked by a long transaction
    quiet = await database_sync_to_async(ChannelFactory.create)(
        application=tenant["application"], name="quiet", members=[tenant["bob"]]
    )
    jane, bob = connect(tenant["application"].key), connect(tenant["application"].key)
    await jane.login("jane")
    await bob.login("bob")
    locker = await psycopg.AsyncConnection.connect(database_url())
    await locker.execute("SELECT id FROM chat_channel WHERE id = %s FOR UPDATE", [tenant["channel"].pk])
    try:
        # when jane sends into the locked channel, then bob into his
        for client, channel in ((jane, tenant["channel"]), (bob, quiet)):
            await client.send(
                "SEND",
                {"destination": f"/application/channels/{channel.pk}.message", "receipt": "sent"},
                {"type": "TEXT", "body": "hello"},
            )

        # then bob's message is answered while jane's still waits for the lock
        answered = await bob.frame()
        assert answered.headers.get("receipt-id") == "sent"
        assert orjson.loads(answered.body)["type"] == "channel.message.created"
        assert await jane.ws.receive_nothing(timeout=0.5)
    finally:
        await locker.rollback()
        await locker.close()

    # and once the lock goes, jane's goes through
    answered = await jane.frame()
    assert answered.headers.get("receipt-id") == "sent"
    assert orjson.loads(answered.body)["type"] == "channel.message.created"


async def test_a_senders_own_messages_come_back_once_however_fast_the_hub_delivers_them(connect, tenant):
    # given jane chatting in "general"
    jane = connect(tenant["application"].key)
    await jane.login("jane")
    topic = f"/topic/channels/{tenant['channel'].pk}/messages"
    assert (await jane.subscribe(topic, "jane-messages")).command == "RECEIPT"

    # when she sends message after message (the hub's live copy of each races her action's answer)
    for index in range(40):
        await jane.send(
            "SEND",
            {"destination": f"/application/channels/{tenant['channel'].pk}.message", "receipt": f"sent-{index}"},
            {"type": "TEXT", "body": f"hello {index}"},
        )
        answered = await jane.frame()
        assert answered.headers.get("receipt-id") == f"sent-{index}", answered

    # then each came back once: as the answer to her send, never again as its broadcast
    assert await jane.ws.receive_nothing(timeout=0.5)


async def jane_in_general(connect: Any, tenant: dict[str, Any]) -> Any:
    """jane, logged in and listening to the messages of "general"."""
    jane = connect(tenant["application"].key)
    await jane.login("jane")
    topic = f"/topic/channels/{tenant['channel'].pk}/messages"
    assert (await jane.subscribe(topic, "jane-messages")).command == "RECEIPT"
    return jane


async def send_into_general(jane: Any, tenant: dict[str, Any], body: str) -> None:
    """jane sends a text into "general" through STOMP, asking for the receipt ``sent``."""
    await jane.send(
        "SEND",
        {"destination": f"/application/channels/{tenant['channel'].pk}.message", "receipt": "sent"},
        {"type": "TEXT", "body": body},
    )


@contextmanager
def busy_hub_threads() -> Iterator[threading.Event]:
    """The hub's database threads kept busy (as while it retries a lost connection) until the event yielded is set,
    or on leaving."""
    release = threading.Event()
    busy = [HUB_THREADS.submit(release.wait, 10) for _ in range(HUB_THREADS._max_workers)]
    try:
        yield release
    finally:
        release.set()
        for waiting in busy:
            waiting.result(timeout=10)


async def test_a_senders_answer_never_overtakes_a_message_the_hub_is_still_bringing(connect, tenant):
    # given jane chatting in "general", and the hub's database threads busy
    jane = await jane_in_general(connect, tenant)
    with busy_hub_threads() as release:
        # when bob's message is committed (its event waits for the hub) and jane sends hers after it
        await database_sync_to_async(check_send_message)(
            tenant["channel"], message_type="TEXT", body="first", user=tenant["bob"]
        )
        await send_into_general(jane, tenant, "second")
        asyncio.get_running_loop().call_later(0.5, release.set)
        frames = [await jane.frame(), await jane.frame()]

    # then she hears them in the channel's order: bob's, then the answer to her send
    assert [orjson.loads(frame.body)["resource"]["body"] for frame in frames] == ["first", "second"]
    assert frames[1].headers.get("receipt-id") == "sent"
    assert await jane.ws.receive_nothing(timeout=0.5)


async def test_a_senders_answer_waits_for_a_stuck_hub_only_so_long(connect, tenant):
    # given jane chatting in "general", and the hub's database threads stuck for longer than an answer waits
    jane = await jane_in_general(connect, tenant)
    with busy_hub_threads():
        # when she sends
        started = time.monotonic()
        await send_into_general(jane, tenant, "hello")
        answered = await jane.frame()
        waited = time.monotonic() - started

    # then her answer comes once the wait runs out, while the hub is still stuck, and her message comes once
    assert answered.headers.get("receipt-id") == "sent"
    assert LIVE_COPY_SECONDS - 0.1 < waited < LIVE_COPY_SECONDS + 2
    assert await jane.ws.receive_nothing(timeout=0.5)


async def test_what_a_waiting_send_holds_back_is_bounded_and_then_delivered(connect, tenant, settings):
    # given jane chatting in "general" and in "quiet", whose send into "general" waits on a lock
    settings.PARLEY_WS_MAX_QUEUED_FRAMES = 12  # a send holds back 6 at most
    quiet = await database_sync_to_async(ChannelFactory.create)(
        application=tenant["application"], name="quiet", members=[tenant["jane"], tenant["bob"]]
    )
    jane = connect(tenant["application"].key)
    await jane.login("jane")
    assert (await jane.subscribe(f"/topic/channels/{quiet.pk}/messages", "quiet")).command == "RECEIPT"
    locker = await psycopg.AsyncConnection.connect(database_url())
    await locker.execute("SELECT id FROM chat_channel WHERE id = %s FOR UPDATE", [tenant["channel"].pk])
    try:
        await jane.send(
            "SEND",
            {"destination": f"/application/channels/{tenant['channel'].pk}.message", "receipt": "sent"},
            {"type": "TEXT", "body": "waits"},
        )
        await asyncio.sleep(0.3)

        # when bob sends more into "quiet" than the bound holds back
        for index in range(8):
            await database_sync_to_async(check_send_message)(
                quiet, message_type="TEXT", body=f"quiet {index}", user=tenant["bob"]
            )

        # then jane hears all of them, in order, while her send still waits
        heard = [orjson.loads((await jane.frame()).body)["resource"]["body"] for _ in range(8)]
        assert heard == [f"quiet {index}" for index in range(8)]
    finally:
        await locker.rollback()
        await locker.close()

    # and her send goes through once the lock goes
    answered = await jane.frame()
    assert answered.headers.get("receipt-id") == "sent"
