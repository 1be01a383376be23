"""The socket service's sails.io consumer through Channels' WebsocketCommunicator: engine.io and socket.io framing,
authentication by key or app_secret, virtual requests and their errors."""

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator

from chat.actions.push import check_push
from config.asgi import application as asgi_application
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def socket(query: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(asgi_application, f"/socket.io/?{query}&EIO=3&transport=websocket")


def request(ack: int, url: str, data: dict) -> str:
    return f"42{ack}" + orjson.dumps(["post", {"method": "post", "headers": {}, "data": data, "url": url}]).decode()


async def answer(ws: WebsocketCommunicator, ack: int) -> dict:
    text = await ws.receive_from(timeout=5)
    assert text.startswith(f"43{ack}["), text
    return orjson.loads(text[len(f"43{ack}") :])[0]


async def open_socket(query: str) -> WebsocketCommunicator:
    ws = socket(query)
    connected, _ = await ws.connect()
    assert connected
    opening = await ws.receive_from(timeout=5)
    assert opening.startswith("0{")
    assert orjson.loads(opening[1:])["upgrades"] == []
    return ws


async def test_a_socket_pings_subscribes_with_app_secret_and_gets_pushes():
    # given a socket that connects without a key (the chat variant authenticates in its subscribe)
    application = await database_sync_to_async(ApplicationFactory.create)()
    ws = await open_socket("__sails_io_sdk_version=1.2.1")
    assert await ws.receive_from(timeout=5) == "40"

    # when it pings, subscribes without and then with the secret, and an event is pushed
    await ws.send_to(text_data="2")
    pong = await ws.receive_from(timeout=5)
    await ws.send_to(text_data=request(1, "/channel/subscribe", {"channel": "news"}))
    refused = await answer(ws, 1)
    await ws.send_to(
        text_data=request(2, "/channel/subscribe", {"channel": "news", "app_secret": application.push_secret})
    )
    accepted = await answer(ws, 2)
    await database_sync_to_async(check_push)(application, [{"channel": "news", "event": "Tick", "data": [1, 2]}])
    pushed = await ws.receive_from(timeout=5)

    # then
    assert pong == "3"
    assert (refused["statusCode"], refused["body"]["code"]) == (401, 401)
    assert (accepted["statusCode"], accepted["body"]["code"], accepted["body"]["data"]) == (
        200,
        0,
        {"channels": ["news"]},
    )
    assert pushed == '42["Tick",[1,2]]'
    await ws.disconnect()


async def test_bad_requests_get_errors_and_the_socket_stays_usable():
    application = await database_sync_to_async(ApplicationFactory.create)()
    ws = await open_socket(f"key={application.push_secret}")
    assert await ws.receive_from(timeout=5) == "40"

    await ws.send_to(text_data='42["post", {')
    malformed = await ws.receive_from(timeout=5)
    await ws.send_to(text_data=request(3, "/wssv/elsewhere", {}))
    unknown = await answer(ws, 3)
    await ws.send_to(text_data=request(4, "/channel/subscribe", {"channel": [" "]}))
    blank = await answer(ws, 4)
    await ws.send_to(text_data=request(5, "/channel/subscribe", {}))
    guest = await answer(ws, 5)

    assert malformed.startswith("44")
    assert (unknown["statusCode"], unknown["body"]["code"]) == (404, 404)
    assert (blank["statusCode"], blank["body"]["Error"]["field"]) == (400, "channel")
    assert guest["body"]["data"] == {"channels": ["Guest"]}
    await ws.disconnect()


async def test_a_wrong_key_is_refused_with_a_socket_io_error():
    ws = await open_socket("key=not-a-secret")
    error = await ws.receive_from(timeout=5)
    assert error.startswith("44")
    assert "Unauthorized" in error
    assert (await ws.receive_output(timeout=5))["type"] == "websocket.close"
    await ws.disconnect()
