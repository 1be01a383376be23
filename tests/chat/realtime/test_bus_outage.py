"""The event bus may die: a process's hub reconnects by itself and catches its connections up from the database, so
that nothing sequenced is lost and nothing comes twice (issue 18)."""

import orjson
import pytest
from channels.db import database_sync_to_async

from chat.actions.messages import check_send_message
from tests.chat.realtime.test_consumer import Client, connect, tenant  # noqa: F401  (fixtures)
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
