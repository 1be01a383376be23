"""Access is checked when it is used: removing a member, deleting a user or a channel, blocking and rotating the socket
service secret end what the affected connections hear, on every process, as the unmodified SDK sees it; a revoked
bearer token is refused at once by every process, whatever it kept."""

import asyncio
import urllib.error
import urllib.request
from collections import Counter

import orjson
import pytest
from channels.db import database_sync_to_async
from django import test

from chat.actions.applications import do_rotate_application_secret, do_rotate_push_secret
from chat.actions.blocks import check_block_channel_user
from chat.actions.channels import do_delete_channel
from chat.models import ChannelType
from chat.realtime.hub import hub
from tests.chat.realtime.test_consumer import Client, connect, tenant  # noqa: F401  (fixtures)
from tests.chat.realtime.test_sails import open_socket, request
from tests.conftest import fetch_token
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


def statuses(server: LiveServer, token: str, calls: int = 24) -> Counter[int]:
    """The statuses of ``calls`` calls of ``GET /v1/application`` with ``token``, each on a connection of its own (the
    kernel spreads them over the server's processes)."""
    found: Counter[int] = Counter()
    for _ in range(calls):
        call = urllib.request.Request(server.url + "/v1/application", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(call, timeout=10) as response:  # noqa: S310  (our own http URL)
                found[response.status] += 1
        except urllib.error.HTTPError as error:
            found[error.code] += 1
    return found


@pytest.mark.django_db(transaction=True)
def test_a_revoked_token_is_refused_at_once_by_every_process_that_kept_it(live_parley: LiveServer) -> None:
    # given a token that both processes of the server have answered (and so keep)
    application = ApplicationFactory.create()
    token = fetch_token(test.Client(), application.key, application.secret)["access_token"]  # type: ignore[attr-defined]
    assert statuses(live_parley, token) == {200: 24}

    # when the application's secret is rotated (every token of it revoked), in this process
    do_rotate_application_secret(application)

    # then no process answers the token any more
    assert statuses(live_parley, token) == {401: 24}
