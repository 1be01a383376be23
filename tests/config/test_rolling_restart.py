"""A rolling restart (SIGHUP to ``config.serve``) while clients chat and a backend sends: every worker is replaced
in turn, each client is told to reconnect (1012), resumes its session on another worker, and hears every message
exactly once (issue 18)."""

import os
import signal
import threading
import time

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from chat.actions.messages import check_send_message
from chat.realtime.stomp import SERVER_COMMANDS, Frame, FrameParser
from tests.config.test_serve import children
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import live_server, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
MESSAGES = 40


class ResumingClient(threading.Thread):
    """A STOMP client as the SDK behaves: when its connection closes it connects again, resuming its session, and
    subscribes again; it records every message body it hears with its sequence number."""

    def __init__(self, url: str, username: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.url, self.username, self.topic = url, username, topic
        self.session = ""
        self.heard: list[tuple[str, int]] = []
        self.connections = 0
        self.done = threading.Event()
        self.subscribed = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self._listen()
            except (ConnectionClosed, OSError, TimeoutError):
                time.sleep(0.05)

    def _listen(self) -> None:
        with connect(self.url, subprotocols=["v12.stomp"], open_timeout=5) as socket:  # type: ignore[list-item]
            self.connections += 1
            parser = FrameParser(10**7, SERVER_COMMANDS)
            headers = {"StompX-User": self.username, "accept-version": "1.2"}
            if self.session:
                headers["StompX-Auth-Session-ID"] = self.session
            socket.send(Frame("CONNECT", headers).encode().decode())
            socket.send(Frame("SUBSCRIBE", {"id": "m", "destination": self.topic, "receipt": "r"}).encode().decode())
            while not self.done.is_set():
                try:
                    text = socket.recv(timeout=0.5)
                except TimeoutError:
                    continue
                for frame in parser.feed(str(text).encode()):
                    if frame.command == "CONNECTED":
                        self.session = frame.headers["session"]
                    elif frame.command == "RECEIPT":
                        self.subscribed.set()
                    elif frame.command == "MESSAGE":
                        self.heard.append(
                            (orjson.loads(frame.body)["resource"]["body"], int(frame.headers["sequence"]))
                        )


def test_a_rolling_restart_while_a_backend_sends_loses_nothing_and_repeats_nothing() -> None:
    # given jane and bob listening to #general through two web workers
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    general = ChannelFactory.create(application=application, name="general", members=[jane, bob])
    with live_server(workers=2, env=None) as server:
        first = wait_for(lambda: children(server.process.pid) if len(children(server.process.pid)) == 2 else None,
                         "two web workers")  # fmt: skip
        url = server.url.replace("http", "ws") + f"/rtm/websocket?api-key={application.key}"
        clients = [ResumingClient(url, name, f"/topic/channels/{general.pk}/messages") for name in ("jane", "bob")]
        for client in clients:
            client.start()
        wait_for(lambda: all(client.subscribed.is_set() for client in clients), "both subscriptions")

        # when the backend sends 20 messages a second while every worker is restarted in turn
        sent = []
        for index in range(MESSAGES):
            if index == 5:
                os.kill(server.process.pid, signal.SIGHUP)
            sent.append(check_send_message(general, message_type="TEXT", body=f"m{index}", user=jane))
            time.sleep(0.05)
        wait_for(lambda: not (children(server.process.pid) & first), "every worker to be replaced", 60)

        # then each client heard every message exactly once, in order, after reconnecting
        expected = [(message.body, message.sequence) for message in sent]
        wait_for(lambda: all(len(client.heard) >= MESSAGES for client in clients), "every message", 30)
        time.sleep(0.5)
        for client in clients:
            client.done.set()
        assert [client.heard for client in clients] == [expected, expected]
        assert all(client.connections >= 2 for client in clients)  # each was moved to a new worker
