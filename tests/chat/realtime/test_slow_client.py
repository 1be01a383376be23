"""A client that stops reading cannot hold up the others: its frames queue up to a bound, then it is cut off, while
everyone else hears every message on time; when it comes back it is sent what it never acknowledged (issue 18)."""

import socket
import threading

import orjson
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame as WebSocketFrame
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from chat.actions.messages import check_send_message
from chat.realtime.stomp import SERVER_COMMANDS, Frame, FrameParser
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import live_server, scrape, server_environment, total, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
METRICS_TOKEN = "slow-client-metrics"  # noqa: S105
MESSAGES = 1000
BODY = "x" * 9000  # 1000 of these are 9 MB: more than the kernel buffers, and 35 times the bound of the test's server


def listen(url: str, username: str, topic: str, **headers: str) -> tuple[ClientConnection, FrameParser]:
    """A STOMP session of ``username`` (with more CONNECT ``headers``) subscribed to ``topic``."""
    connection = connect(url, subprotocols=["v12.stomp"])  # type: ignore[list-item]
    parser = FrameParser(10**7, SERVER_COMMANDS)
    connect_headers = {"StompX-User": username, "accept-version": "1.2", **headers}
    connection.send(Frame("CONNECT", connect_headers).encode().decode())
    connection.send(Frame("SUBSCRIBE", {"id": "m", "destination": topic, "receipt": "r"}).encode().decode())
    seen: list[Frame] = []
    while not any(frame.command == "RECEIPT" for frame in seen):
        seen += parser.feed(str(connection.recv(timeout=10)).encode())
    return connection, parser


def stalled(url: str, username: str, topic: str) -> tuple[socket.socket, str]:
    """A STOMP session of ``username`` subscribed to ``topic`` (acknowledging each message, as the SDK does) over a
    bare socket that then never reads again (a websocket client library would go on reading into its own buffers);
    and the session's id."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
    protocol = ClientProtocol(parse_uri(url), subprotocols=["v12.stomp"])  # type: ignore[list-item]
    protocol.send_request(protocol.connect())
    raw.sendall(b"".join(protocol.data_to_send()))
    raw.settimeout(10)
    while protocol.state is not State.OPEN:
        protocol.receive_data(raw.recv(65536))
    for frame in (
        Frame("CONNECT", {"StompX-User": username, "accept-version": "1.2"}),
        Frame("SUBSCRIBE", {"id": "m", "destination": topic, "receipt": "r", "ack": "client-individual"}),
    ):
        protocol.send_text(frame.encode())
    raw.sendall(b"".join(protocol.data_to_send()))
    parser = FrameParser(10**7, SERVER_COMMANDS)
    seen: list[Frame] = []
    while not any(frame.command == "RECEIPT" for frame in seen):
        protocol.receive_data(raw.recv(65536))
        for event in protocol.events_received():
            if isinstance(event, WebSocketFrame) and event.opcode is Opcode.TEXT:
                seen += parser.feed(bytes(event.data))
    return raw, next(frame.headers["session"] for frame in seen if frame.command == "CONNECTED")


def cut_off(raw: socket.socket, within: float) -> bool:
    """Whether the server ends the connection (reading what it had sent) within ``within`` seconds."""
    raw.settimeout(within)
    try:
        while raw.recv(1 << 20):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset
    return True  # closed


def heard_bodies(connection: ClientConnection, parser: FrameParser, count: int) -> list[int]:
    """The sequence numbers of the next ``count`` test messages a reading client hears."""
    heard: list[int] = []
    while len(heard) < count:
        for frame in parser.feed(str(connection.recv(timeout=60)).encode()):
            if frame.command == "MESSAGE" and orjson.loads(frame.body)["resource"]["body"] == BODY:
                heard.append(int(frame.headers["sequence"]))
    return heard


def test_a_client_that_stops_reading_is_cut_off_and_the_others_hear_everything_on_time() -> None:
    # given bob, who stops reading, and jane, who reads, both listening to #general
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    general = ChannelFactory.create(application=application, name="general", members=[jane, bob])
    environment = {
        **server_environment(),
        "PARLEY_WS_MAX_QUEUED_BYTES": str(256 * 1024),
        "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
    }
    with live_server(env=environment) as server:
        url = server.url.replace("http", "ws") + f"/rtm/websocket?api-key={application.key}"
        topic = f"/topic/channels/{general.pk}/messages"
        bob_socket, bob_session = stalled(url, "bob", topic)
        reader, parser = listen(url, "jane", topic)
        heard: list[int] = []
        listening = threading.Thread(target=lambda: heard.extend(heard_bodies(reader, parser, MESSAGES)), daemon=True)
        listening.start()

        # when a backend sends 1000 messages of 9 kB
        for _ in range(MESSAGES):
            check_send_message(general, message_type="TEXT", body=BODY, user=jane)

        # then jane hears every one, and bob is cut off
        # (a hub that waited on bob would stop sending to jane for good: she would never hear them all)
        wait_for(lambda: len(heard) == MESSAGES, "jane to hear every message", 60)
        assert heard == sorted(set(heard))  # each once, in order
        assert cut_off(bob_socket, within=30)
        reader.close()

        # and when bob comes back, he is sent every message he did not acknowledge (none), once each, in order
        again, again_parser = listen(url, "bob", topic, **{"StompX-Auth-Session-ID": bob_session})
        assert heard_bodies(again, again_parser, MESSAGES) == heard
        again.close()

        # and the server's metrics count the cut-off and the replay
        scraped = scrape(server.url + "/metrics", METRICS_TOKEN)
        assert total(scraped, "parley_slow_consumers_closed_total") == 1
        assert total(scraped, "parley_resume_replayed_messages_total") == MESSAGES
