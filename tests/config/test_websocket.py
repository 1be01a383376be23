"""``config.websocket`` lends each socket's transport: a connection's frames are written in the call that puts them
while its client reads, and go through the queue, in order, once it stops reading (``chat.realtime.outbox``)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from websockets.asyncio.client import connect

from chat.realtime.outbox import Outbox
from config.websocket import DirectWebSocketProtocol
from tests.live import free_port


class Written:
    """What the application's outbox sent the awaited way (through ASGI ``send``), and whether it was lent the
    transport."""

    def __init__(self) -> None:
        self.awaited = 0
        self.lent = False


def frames_app(sizes: list[int], written: Written, *, paced: bool) -> Callable[..., Any]:
    """An ASGI app that puts numbered frames of ``sizes`` bytes through an ``Outbox``: in one go, or ``paced`` (the
    loop is let go after each, as between events; the client runs in this same loop)."""

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        await receive()
        await send({"type": "websocket.accept"})

        async def awaited_send(text: str) -> None:
            written.awaited += 1
            await send({"type": "websocket.send", "text": text})

        async def cut_off() -> None:
            raise AssertionError("the client was cut off")

        outbox = Outbox(awaited_send, cut_off, "stomp", scope)
        written.lent = outbox.direct is not None
        for number, size in enumerate(sizes):
            outbox.put(f"{number:06d}é".ljust(size - 1, "x"))  # é: two bytes in UTF-8
            if paced:
                await asyncio.sleep(0)
        await outbox.flush(within=30)
        outbox.stop()
        await send({"type": "websocket.close"})

    return app


@asynccontextmanager
async def serving(app: Callable[..., Any]) -> AsyncIterator[str]:
    """``app`` under uvicorn with Parley's websocket protocol, as ``config.serve`` runs it; its URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws=DirectWebSocketProtocol, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn says so only by this flag)
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task


async def received(url: str, *, pause: float = 0.0) -> list[str]:
    """Every message of the connection, read after ``pause`` seconds without reading."""
    async with connect(url, max_size=None, compression=None) as websocket:
        await asyncio.sleep(pause)
        return [str(message) async for message in websocket]


async def test_a_reading_client_gets_every_frame_straight_from_the_transport() -> None:
    # given a server that puts 500 frames at once for a client that reads, of every length encoding a frame may have
    written = Written()
    sizes = [8, 125, 126, 200, 65_535, 65_536, 70_000] * 3 + [200] * 479
    async with serving(frames_app(sizes, written, paced=True)) as url:
        # when the client reads them
        messages = await received(url)

    # then all arrived in order, and none went through the queue and its awaited send
    assert written.lent
    assert [message[:6] for message in messages] == [f"{n:06d}" for n in range(500)]
    assert [len(message.encode()) for message in messages] == sizes
    assert written.awaited == 0


async def test_a_client_that_stops_reading_gets_the_rest_through_the_queue_in_order(settings: Any) -> None:
    # given a server that puts 24 MiB at once for a client that reads nothing for a second
    settings.PARLEY_WS_MAX_QUEUED_BYTES = 64 * 1024 * 1024
    settings.PARLEY_WS_MAX_QUEUED_FRAMES = 10_000
    written = Written()
    async with serving(frames_app([8_192] * 3_000, written, paced=False)) as url:
        # when it reads again
        messages = await received(url, pause=1.0)

    # then the first frames went straight to the transport, the rest waited in the queue, and every one arrived in
    # the order it was put
    assert 0 < written.awaited < 3_000
    assert [message[:6] for message in messages] == [f"{n:06d}" for n in range(3_000)]
