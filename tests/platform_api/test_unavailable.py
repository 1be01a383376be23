"""PostgreSQL goes away and comes back: the API answers 503 in the error shape at once, websocket sessions stay, and
everything works again without restarting Parley (issue 18)."""

import base64
import time
from typing import Any

import orjson
import pytest
from django.db import connection
from websockets.sync.client import connect

from chat.realtime.stomp import SERVER_COMMANDS, Frame, FrameParser
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import TcpProxy, call, database_url, live_server, server_environment, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def frames(socket: Any, parser: FrameParser) -> Frame:
    """The next STOMP frame (heart-beats skipped)."""
    while True:
        found = parser.feed(socket.recv(timeout=10).encode())
        if found:
            return found[0]


def test_postgresql_going_away_answers_503_keeps_sockets_and_recovers() -> None:
    # given Parley on a PostgreSQL it reaches through a hop the test can cut, bob listening to #general live
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    general = ChannelFactory.create(application=application, name="general", members=[jane, bob])
    proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    database = database_url().replace(f":{connection.settings_dict['PORT'] or 5432}/", f":{proxy.port}/")
    with live_server(env=server_environment(database)) as server:
        basic = base64.b64encode(f"{application.key}:{application.secret}".encode()).decode()  # type: ignore[attr-defined]
        _, granted = call(f"{server.url}/oauth/token", "POST", basic=basic, body=b"grant_type=client_credentials")
        token = granted["access_token"]
        assert call(f"{server.url}/v1/users", token=token)[0] == 200
        parser = FrameParser(10**7, SERVER_COMMANDS)
        ws_url = server.url.replace("http", "ws") + f"/rtm/websocket?api-key={application.key}"
        with connect(ws_url, subprotocols=["v12.stomp"]) as bob_socket:  # type: ignore[list-item]
            bob_socket.send(Frame("CONNECT", {"StompX-User": "bob", "accept-version": "1.2"}).encode().decode())
            assert frames(bob_socket, parser).command == "CONNECTED"
            topic = f"/topic/channels/{general.pk}/messages"
            bob_socket.send(Frame("SUBSCRIBE", {"id": "m", "destination": topic, "receipt": "r"}).encode().decode())
            assert frames(bob_socket, parser).command == "RECEIPT"

            # when PostgreSQL goes away
            proxy.cut()
            started = time.monotonic()
            status, body = call(f"{server.url}/v1/users", token=token)
            took = time.monotonic() - started
            relay = Frame("SUBSCRIBE", {"id": "me", "destination": "/application/user.relay"})
            bob_socket.send(relay.encode().decode())
            refused = frames(bob_socket, parser)

            # then the API answers 503 in its error shape at once, and bob's socket is told and stays
            assert (status, body["error"]) == (503, "ServiceUnavailableError"), body
            assert took < 5
            assert orjson.loads(refused.body)["error"] == "ServiceUnavailableError"
            assert refused.headers["subscription-id"] == "me"

            # and when PostgreSQL is back, the API works without a restart and bob hears live messages again
            proxy.restore()
            wait_for(lambda: call(f"{server.url}/v1/users", token=token)[0] == 200, "the API to recover", 20)
            posted = call(
                f"{server.url}/v1/channels/{general.pk}/messages", "POST", token, {"type": "TEXT", "body": "back"}
            )
            assert posted[0] == 200, posted
            heard = frames(bob_socket, parser)
            assert orjson.loads(heard.body)["resource"]["body"] == "back"
    proxy.cut()
