"""Access is checked when it is used: removing a member, deleting a user or a channel, blocking and rotating the socket
service secret end what the affected connections hear, on every process, as the unmodified SDK sees it."""

import asyncio

import orjson
import pytest
from channels.db import database_sync_to_async

from chat.actions.applications import do_rotate_push_secret
from chat.actions.blocks import check_block_channel_user
from chat.actions.channels import do_delete_channel
from chat.models import ChannelType
from chat.realtime.hub import hub
from tests.chat.realtime.test_consumer import Client, connect, tenant  # noqa: F401  (fixtures)
from tests.chat.realtime.test_sails import open_socket, request
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, send
from tests.live import LiveServer
from tests.sdk.test_sdks import core_environment, run_node


@pytest.mark.django_db(transaction=True)
def test_removed_members_and_deleted_users_stop_hearing_at_once_across_processes(live_parley: LiveServer) -> None:
    # given: three SDK clients in a private channel, on a server of two processes
    application = ApplicationFactory.create()
    members = [UserFactory.create(application=application, name=name) for name in ("jane", "bob", "carol")]
    ChannelFactory.create(application=application, name="secret", channel_type=ChannelType.PRIVATE, members=members)

    # when
    outcome = run_node(
        "core_revocation_scenario.mjs",
        core_environment(live_parley, application),
    )

    # then
    assert outcome["jane"] == ["before", "after"]
    assert outcome["bob"] == ["before"]
    assert outcome["carol"] == ["before"]
    assert outcome["carolSends"] != "sent"


@pytest.mark.django_db(transaction=True)
async def test_a_deleted_channel_and_a_block_end_the_subscriptions_of_its_listeners(connect, tenant) -> None:  # noqa: F811
    # given: jane listens to general and to a private room; bob listens to general, and is about to be blocked
    general = tenant["channel"]
    room = await database_sync_to_async(ChannelFactory.create)(
        application=tenant["application"], name="room", channel_type=ChannelType.PRIVATE, members=[tenant["jane"]]
    )
    jane, bob = connect(tenant["application"].key), connect(tenant["application"].key)
    await jane.login("jane")
    await bob.login("bob")
    assert (await jane.subscribe(f"/topic/channels/{general.pk}/messages", "jane-general")).command == "RECEIPT"
    assert (await bob.subscribe(f"/topic/channels/{general.pk}/messages", "bob-general")).command == "RECEIPT"
    room_topic = f"/topic/channels/{room.pk}/messages"
    assert (await jane.subscribe(room_topic, "jane-room")).command == "RECEIPT"

    # when
    await database_sync_to_async(do_delete_channel)(room)
    await database_sync_to_async(check_block_channel_user)(general, tenant["bob"])
    for _ in range(50):
        if room_topic not in hub().topics and len(hub().topics.get(f"/topic/channels/{general.pk}/messages", ())) == 1:
            break
        await asyncio.sleep(0.1)
    await database_sync_to_async(send)(general, "after the block")

    # then
    assert room_topic not in hub().topics
    heard = orjson.loads((await jane.frame()).body)
    assert heard["resource"]["body"] == "after the block"
    assert await bob.ws.receive_nothing(timeout=1)


@pytest.mark.django_db(transaction=True)
async def test_rotating_the_socket_service_secret_closes_the_sockets_that_hold_it() -> None:
    # given
    application = await database_sync_to_async(ApplicationFactory.create)()
    backend = await open_socket(f"key={application.push_secret}")
    browser = await open_socket(f"key={application.key}")
    for ws in (backend, browser):
        assert await ws.receive_from(timeout=5) == "40"
        await ws.send_to(text_data=request(1, "/channel/subscribe", {"channel": "news"}))
        await ws.receive_from(timeout=5)

    # when
    await database_sync_to_async(do_rotate_push_secret)(application)

    # then
    assert await backend.receive_from(timeout=5) == '44"The socket service secret was rotated."'
    assert (await backend.receive_output(timeout=5))["type"] == "websocket.close"
    assert await browser.receive_nothing(timeout=1)
    await browser.disconnect()
