"""One secret no longer opens everything: the socket service has its own secret, rotated on its own; browsers
subscribe with the public key (no private- names) or a short-lived token the backend signs; neither can push."""

import time
from typing import Any

import jwt
import pytest
from channels.db import database_sync_to_async
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.test import Client

from chat.actions.applications import check_update_application_settings, do_rotate_push_secret
from chat.models import Application
from tests.chat.realtime.test_sails import answer, open_socket, request
from tests.conftest import fetch_token
from tests.factories import ApplicationFactory, public_pem

pytestmark = pytest.mark.django_db(transaction=True)


def push(client: Client, secret: str, channel: str = "news") -> int:
    response = client.post(
        "/wssv/send",
        {"channel": channel, "data": 1},
        content_type="application/json",
        headers={"Authorization": f"key={secret}"},
    )
    return response.status_code


def test_pushes_take_the_socket_service_secret_and_never_the_oauth_secret(client: Client) -> None:
    # given
    application: Any = ApplicationFactory.create()
    old_push_secret = application.push_secret

    # when
    with_oauth_secret = push(client, application.secret)
    with_key = push(client, application.key)
    with_push_secret = push(client, old_push_secret)
    new_push_secret = do_rotate_push_secret(application)

    # then
    assert (with_oauth_secret, with_key, with_push_secret) == (401, 401, 200)
    assert push(client, old_push_secret) == 401
    assert push(client, new_push_secret) == 200
    assert fetch_token(Client(), application.key, application.secret)["access_token"]  # OAuth untouched by rotation


async def subscribe(query: str, channel: str) -> dict[str, Any]:
    ws = await open_socket(query)
    assert await ws.receive_from(timeout=5) == "40"
    await ws.send_to(text_data=request(1, "/channel/subscribe", {"channel": channel}))
    got = await answer(ws, 1)
    await ws.disconnect()
    return got


async def test_the_public_key_subscribes_to_public_names_only() -> None:
    # given
    application = await database_sync_to_async(ApplicationFactory.create)()

    # when
    public = await subscribe(f"key={application.key}", "news")
    private = await subscribe(f"key={application.key}", "private-board")

    # then
    assert public["body"]["code"] == 0
    assert (private["statusCode"], private["body"]["Error"]["field"]) == (403, "channel")


def socket_token(key: ed25519.Ed25519PrivateKey, application: Application, channels: list[str], **claims: Any) -> str:
    payload = {"aud": application.key, "exp": int(time.time()) + 300, "channels": channels, **claims}
    return jwt.encode(payload, key, algorithm="EdDSA")


async def test_a_signed_token_opens_the_channels_it_names_until_it_expires() -> None:
    # given
    key = ed25519.Ed25519PrivateKey.generate()
    application = await database_sync_to_async(ApplicationFactory.create)()
    await database_sync_to_async(check_update_application_settings)(
        application, guest_users=None, user_created_channels=None, session_token_public_key=public_pem(key)
    )
    token = socket_token(key, application, ["private-board"])

    # when
    named = await subscribe(f"token={token}", "private-board")
    other = await subscribe(f"token={token}", "private-other")
    expired_socket = await open_socket(f"token={socket_token(key, application, ['news'], exp=int(time.time()) - 60)}")
    expired = await expired_socket.receive_from(timeout=5)
    forged_socket = await open_socket(f"token={socket_token(ed25519.Ed25519PrivateKey.generate(), application, ['x'])}")
    forged = await forged_socket.receive_from(timeout=5)

    # then
    assert named["body"]["code"] == 0
    assert other["statusCode"] == 403
    assert expired.startswith("44")
    assert "expired" in expired
    assert forged.startswith("44")
    assert "not valid" in forged
