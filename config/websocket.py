"""The websocket side of ``config.serve``: uvicorn's sans-I/O websocket protocol, lending each connection's transport to
the application through an ASGI scope extension, ``parley.write``.

Through ASGI every frame a server pushes is an awaited ``send`` (a coroutine per frame per socket, each waiting on the
connection's writable flag). For fan-out, where one event goes to thousands of sockets, that chain is most of the CPU
(issue 22). With the extension, ``chat.realtime.outbox`` writes a frame straight into the transport when the socket
can take it (nothing queued before it, the transport's buffer below its high-water mark, no close sent), in the same
call that hands it the event; otherwise it queues and awaits ``send`` as before. A server without the extension
(another ASGI server, Channels' test communicator) gets the awaited path only.

It also swaps two asyncio objects uvicorn keeps per connection (a Queue of received messages, an Event for whether
the socket may be written to) for stand-ins with no deques until they are waited on: an idle socket is a few KiB
smaller (``bench.fanout`` measures the memory of idle connections).
"""

import asyncio
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

EXTENSION = "parley.write"


class TransportWriter:
    """Writes text frames to one connection's transport at once, while the connection can take them."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: "DirectWebSocketProtocol") -> None:
        self.protocol = protocol

    def text(self, data: bytes) -> bool:
        """Write ``data`` (UTF-8 text) as one text message now; False (nothing written) when the client is not
        reading fast enough or the connection is closing: the caller then queues it and awaits ``send``."""
        protocol = self.protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.flag.on
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        if protocol.conn.extensions:  # permessage-deflate, when the operator turned it on: websockets compresses
            protocol.conn.send_text(data)
            protocol.transport.write(b"".join(protocol.conn.data_to_send()))
            return True
        # a whole, unmasked text frame (RFC 6455 5.2): FIN and opcode 1, then the length in 7 bits, or 126 and 16
        # bits, or 127 and 64 bits (here, not in a function of its own: this runs once per socket per event)
        length = len(data)
        if length < 126:
            header = bytes((0x81, length))
        elif length < 0x10000:
            header = _SHORT(0x81, 126, length)
        else:
            header = _LONG(0x81, 127, length)
        protocol.transport.write(header + data)
        return True


_SHORT = struct.Struct("!BBH").pack
_LONG = struct.Struct("!BBQ").pack


def _wake(waiters: list[asyncio.Future[None]]) -> list[asyncio.Future[None]]:
    """Wake every waiter; the (new, empty) list of waiters."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    return []


async def _waiting(waiters: list[asyncio.Future[None]]) -> None:
    """Wait, among ``waiters``, for the next wake."""
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    await waiter


class Inbox:
    """The part of ``asyncio.Queue`` uvicorn uses for a connection's received messages (``put_nowait``, ``get``,
    ``empty``), without the queue's three deques and its Event: about 3 KiB less for every idle socket."""

    __slots__ = ("items", "waiters")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        """Add a message; wake whoever waits for one."""
        self.items.append(item)
        self.waiters = _wake(self.waiters)

    def empty(self) -> bool:
        """Whether no message waits."""
        return not self.items

    async def get(self) -> Any:
        """The oldest message, once there is one."""
        while not self.items:
            await _waiting(self.waiters)
        return self.items.pop(0)


class Flag:
    """The part of ``asyncio.Event`` uvicorn uses for whether a connection may be written to, with no deque of
    waiters until someone waits (almost never: only while a client does not read)."""

    __slots__ = ("on", "waiters")

    def __init__(self) -> None:
        self.on = True
        self.waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        """Whether it is set."""
        return self.on

    def set(self) -> None:
        """Set it, waking whoever waits."""
        self.on = True
        self.waiters = _wake(self.waiters)

    def clear(self) -> None:
        """Unset it."""
        self.on = False

    async def wait(self) -> bool:
        """Return once it is set."""
        while not self.on:
            await _waiting(self.waiters)
        return True


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol (its default with the ``websockets`` package), adding the ``parley.write``
    extension to each connection's scope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """uvicorn's protocol, with leaner stand-ins for its received-message queue and its writable event."""
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.flag = Flag()  # the writable flag, typed as what it is (``TransportWriter`` reads it)
        self.writable = self.flag  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        """Build the scope as uvicorn does, then lend it this connection's writer (the application task starts on
        the next turn of the loop, after this)."""
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = TransportWriter(self)

    async def send(self, message: Any) -> None:
        """Send as uvicorn does; once the handshake is answered, let its request and response go (uvicorn keeps both,
        headers and all, for the life of the connection: kilobytes per idle socket)."""
        await super().send(message)
        if self.handshake_complete:
            self.request = self.response = None  # type: ignore[assignment]
