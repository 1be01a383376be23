"""The event bus may die: a process's hub reconnects by itself and catches its connections up from the database, so
that nothing sequenced is lost and nothing comes twice (issue 18)."""

import asyncio

import orjson
import pytest
from channels.db import database_sync_to_async

from chat.actions.messages import check_send_message
from chat.actions.sessions import do_start_user_session
from chat.realtime.hub import hub
from chat.realtime.marks import session_key
from tests.chat.realtime.test_consumer import Client, connect, crash, saved_by_hub, tenant  # noqa: F401  (fixtures)
from tests.live import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


async def bodies(client: Client, count: int) -> list[tuple[str, int]]:
    """The next ``count`` messages the client hears: (body, sequence)."""
    heard = []
    for _ in range(count):
        frame = await client.frame()
        heard.append((orjson.loads(frame.body)["resource"]["body"], int(frame.headers["sequence"])))
    return heard


async def test_a_redis_restart_loses_nothing_and_repeats_nothing(own_redis: OwnRedis, connect, tenant) -> None:  # noqa: F811
    # given bob listening to #general
    send = database_sync_to_async(check_send_message)
    channel, jane = tenant["channel"], tenant["jane"]
    bob = connect(tenant["application"].key)
    await bob.login("bob")
    assert (await bob.subscribe(f"/topic/channels/{channel.pk}/messages", "bob-general")).command == "RECEIPT"
    before = await send(channel, message_type="TEXT", body="before", user=jane)
    assert await bodies(bob, 1) == [("before", before.sequence)]

    # when Redis dies, a message is sent (its publish fails, the send does not), and Redis comes back
    own_redis.stop()
    during = await send(channel, message_type="TEXT", body="during the outage", user=jane)
    own_redis.start()

    # then bob is sent what he missed, then live messages again, each once
    assert await bodies(bob, 1) == [("during the outage", during.sequence)]
    after = await send(channel, message_type="TEXT", body="after", user=jane)
    assert await bodies(bob, 1) == [("after", after.sequence)]
    assert await bob.ws.receive_nothing(timeout=0.5)


async def test_presence_that_changed_during_a_redis_outage_is_recomputed(own_redis: OwnRedis, connect, tenant) -> None:  # noqa: F811
    # given bob listening to the presence of #general's participants, jane offline
    channel, jane = tenant["channel"], tenant["jane"]
    bob = connect(tenant["application"].key)
    await bob.login("bob")
    topic = f"/topic/channels/{channel.pk}/participants"
    assert (await bob.subscribe(topic, "bob-participants")).command == "RECEIPT"

    # when jane comes online while Redis is down (the event of it is lost), and Redis comes back
    own_redis.stop()
    await database_sync_to_async(do_start_user_session)(jane)
    own_redis.start()

    # then bob is told the presence of each participant whose presence changed around the outage, as it is now (his
    # own came online a moment before it): jane is online
    heard = []
    for _ in range(2):
        body = orjson.loads((await bob.frame()).body)
        heard.append((body["type"], body["resource"]["name"], body["resource"]["presence"]["online"]))
    assert sorted(heard) == [("participant.presence.changed", name, True) for name in ("bob", "jane")]
    assert await bob.ws.receive_nothing(timeout=0.5)


async def test_a_crash_after_a_redis_restart_misses_nothing(own_redis: OwnRedis, connect, tenant) -> None:  # noqa: F811
    # given bob listening to #general through a Redis restart (Redis keeps nothing on disk: every mark was lost)
    send = database_sync_to_async(check_send_message)
    channel, jane = tenant["channel"], tenant["jane"]
    topic = f"/topic/channels/{channel.pk}/messages"
    bob = connect(tenant["application"].key)
    session = (await bob.login("bob")).headers["session"]
    assert (await bob.subscribe(topic, "bob-general")).command == "RECEIPT"
    own_redis.stop()
    own_redis.start()
    heard = await send(channel, message_type="TEXT", body="after the restart", user=jane)
    assert await bodies(bob, 1) == [("after the restart", heard.sequence)]
    await saved_by_hub(channel.pk, heard.sequence)
    for _ in range(500):  # his connection saves its marks again once caught up
        if await hub().redis.hget(session_key(session), str(channel.pk)):  # type: ignore[misc]
            break
        await asyncio.sleep(0.01)

    # when his process dies, jane sends, and he resumes elsewhere
    await crash(bob)
    missed = await send(channel, message_type="TEXT", body="missed", user=jane)
    again = connect(tenant["application"].key)
    await again.login("bob", **{"StompX-Auth-Session-ID": session})
    assert (await again.subscribe(topic, "bob-general")).command == "RECEIPT"

    # then he is sent what he missed, once (the marks were saved again when the bus came back)
    assert await bodies(again, 1) == [("missed", missed.sequence)]
    assert await again.ws.receive_nothing(timeout=0.5)
