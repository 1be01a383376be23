"""``/socket.io/``: the socket service for the sails.io.js client, on a Channels consumer (websocket transport).

The client (``sails.io.js`` with ``socket.io-client`` 2) speaks engine.io protocol 3 and socket.io protocol 4
(socket.io 2.x) as text frames:

- engine.io: the server opens with ``0{"sid", "upgrades": [], "pingInterval", "pingTimeout"}``; the client pings
  with ``2`` and the server answers ``3``; ``4<payload>`` carries a socket.io packet; ``1`` closes.
- socket.io: ``40`` connects the default namespace; ``42[<event>, <data>]`` is an event, ``42<id>[...]`` one that
  wants an acknowledgement, answered with ``43<id>[...]``; ``44<data>`` is an error.
- sails: ``io.socket.post(url, data, cb)`` sends ``42<id>["post", {method, headers, data, url}]`` and reads the
  answer ``{body, headers, statusCode}`` from the acknowledgement; pushes arrive as plain events.

A socket authenticates in its query with ``key`` (the socket service secret, or the application's public key, which
browsers may hold: subscribe only, no ``private-`` names) or ``token`` (a short-lived token the tenant's backend
signs, naming the channels it opens), or, in the chat variant, an ``app_secret`` in its first subscribe (see
``chat.realtime.auth.SocketAccess``). ``POST /channel/subscribe`` and ``/channel/unsubscribe`` take ``channel``
(a name or an array; ``Guest`` by default); each name is a topic of this process's hub, fed by the event bus.
``GET /wssv/message`` (the same filters as over HTTP) lets a reconnecting client fetch what it missed.
"""

import contextlib
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.conf import settings

from chat.actions.push import clean_channels
from chat.bounds import too_deep
from chat.errors import ChatError, Invalid
from chat.realtime.auth import AccessDenied, SocketAccess, socket_access
from chat.realtime.control import Recheck
from chat.realtime.deliveries import push_topic
from chat.realtime.hub import hub
from chat.realtime.outbox import Outbox
from chat.realtime.socket import LiveSocket, in_database
from chat.wire.pushes import list_pushes

PING_INTERVAL_MS = 25_000
PING_TIMEOUT_MS = 60_000
DEFAULT_CHANNEL = "Guest"


def _answer(code: int, message: str, data: Any = None, field: str | None = None) -> dict[str, Any]:
    """A virtual response in the socket service's envelope."""
    if code == 0:
        return {"body": {"code": 0, "data": data or {}, "message": message, "Error": None}, "statusCode": 200}
    error = {"name": "InvalidRequestError" if code == 400 else "Error", "message": message, "field": field}
    return {"body": {"code": code, "data": None, "message": message, "Error": error}, "statusCode": code}


class SailsConsumer(LiveSocket):
    """One sails.io.js socket."""

    dialect = "sails"
    marks: Mapping[int, int] = MappingProxyType({})  # pushes carry no sequence numbers: a socket has no marks

    async def connect(self) -> None:
        """Open engine.io and the default namespace; refuse a wrong key with a socket.io error, then close."""
        self.access: SocketAccess | None = None
        self.channels: set[str] = set()
        headers = dict(self.scope.get("headers", []))
        self.base_url = f"http://{headers.get(b'host', b'localhost').decode('latin-1')}"
        query = parse_qs(self.scope.get("query_string", b"").decode())
        await self.accept()
        self.outbox = Outbox(lambda text: self.send(text_data=text), self.close, "sails", self.scope)
        self.outbox.put(
            "0"
            + orjson.dumps(
                {
                    "sid": uuid.uuid4().hex,
                    "upgrades": [],
                    "pingInterval": PING_INTERVAL_MS,
                    "pingTimeout": PING_TIMEOUT_MS,
                }
            ).decode()
        )
        key, token = query.get("key", [""])[0], query.get("token", [""])[0]
        if key or token:
            try:
                self.access = await in_database(socket_access)(key, token)
            except AccessDenied as error:
                await self.refuse(str(error))
                return
        self.outbox.put("40")

    async def disconnect(self, code: int) -> None:
        """Leave every channel."""
        hub().remove_all(self)
        if hasattr(self, "outbox"):
            self.outbox.stop()

    async def refuse(self, reason: str) -> None:
        """A socket.io error, then close."""
        self.outbox.put("44" + orjson.dumps(reason).decode())
        await self.outbox.flush(within=2)
        await self.close()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """One engine.io packet."""
        packet = text_data or ""
        if packet.startswith("2"):
            self.outbox.put("3" + packet[1:])  # pong (echoing a probe)
        elif packet.startswith("1"):
            await self.close()
        elif packet.startswith("42"):
            await self.on_event(packet[2:])
        elif packet.startswith("41"):
            hub().remove_all(self)

    async def on_event(self, payload: str) -> None:
        """A socket.io event, maybe with an acknowledgement id: sails virtual requests are answered in it."""
        if payload.startswith("/"):  # a namespace other than the default one: "/nsp,<id>[...]"
            payload = payload.partition(",")[2]
        digits = len(payload) - len(payload.lstrip("0123456789"))
        ack, body = payload[:digits], payload[digits:]
        try:
            arguments = orjson.loads(body)
        except orjson.JSONDecodeError:
            arguments = None
        if arguments is None or too_deep(arguments) is not None:
            self.outbox.put("44" + orjson.dumps("Malformed packet.").decode())
            return
        if not isinstance(arguments, list) or not arguments:
            return
        request = arguments[1] if len(arguments) > 1 and isinstance(arguments[1], dict) else {}
        answer = await self.request(str(arguments[0]).lower(), str(request.get("url", "")), request.get("data"))
        if ack:
            self.outbox.put(f"43{ack}" + orjson.dumps([{**answer, "headers": {}}]).decode())

    async def request(self, method: str, url: str, data: Any) -> dict[str, Any]:
        """A sails virtual request."""
        path = url.split("?")[0].rstrip("/")
        routes = {("post", "/channel/subscribe"), ("post", "/channel/unsubscribe"), ("get", "/wssv/message")}
        if (method, path) not in routes:
            return _answer(404, f"No {method.upper()} {path or '/'} on the socket.")
        data = data if isinstance(data, dict) else {}
        if self.access is None:
            secret = data.get("app_secret")
            if isinstance(secret, str) and secret:
                with contextlib.suppress(AccessDenied):
                    self.access = await in_database(socket_access)(secret)
            if self.access is None:
                return _answer(401, "Connect with a key or token (key=… or token=… in the query, or app_secret).")
        access = self.access
        application = access.application
        try:
            if path == "/wssv/message":  # what was pushed while this client was away
                if not access.full and not access.allows(str(data.get("channel", ""))):
                    return _answer(403, "This socket may list only the pushes of a channel it may subscribe to.")
                page = await in_database(list_pushes)(application, data)
                return _answer(0, "Success", page)
            names = clean_channels(data.get("channel", DEFAULT_CHANNEL))
        except ChatError as error:
            return _answer(400, error.message, field=error.field)
        if path == "/channel/unsubscribe":
            for name in names:
                self.channels.discard(name)
                hub().remove(push_topic(application.pk, name), self)
            return _answer(0, "Success", {"channels": sorted(self.channels)})
        refused = [name for name in names if not access.allows(name)]
        if refused:
            return _answer(403, f"This socket may not subscribe to {refused[0]!r}.", field="channel")
        try:
            if len(self.channels | set(names)) > settings.PARLEY_SOCKET_MAX_SUBSCRIPTIONS:
                raise Invalid(
                    f"A socket may subscribe to at most {settings.PARLEY_SOCKET_MAX_SUBSCRIPTIONS} channels.",
                    field="channel",
                )
        except ChatError as error:
            return _answer(400, error.message, field=error.field)
        for name in names:
            self.channels.add(name)
            await hub().add(push_topic(application.pk, name), self)
        return _answer(0, "Success", {"channels": sorted(self.channels)})

    async def recheck(self, recheck: Recheck) -> None:
        """A socket holding the socket service secret is closed when that secret is rotated."""
        access = self.access
        if (
            recheck.push_secret
            and access is not None
            and access.full
            and access.application.pk == recheck.application_id
        ):
            await self.refuse("The socket service secret was rotated.")

    def hold(self) -> None:
        """Pushes are not replayed after a bus outage (``GET /wssv/message`` lists what a channel was sent)."""

    async def catch_up(self) -> None:
        """Nothing to catch up: see ``hold``."""

    def deliver(self, topic: str, body: bytes, event_key: tuple[str, int | None], sequence: int | None) -> None:
        """A push from the hub, already a socket.io event packet (``chat.realtime.outbox``)."""
        self.outbox.put(body)
