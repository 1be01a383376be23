"""A connection's frames on their way out: queued without waiting, written in order by one task per connection.

Writing to a socket waits when its client stops reading (the transport's buffer is full); if the hub waited there,
one stalled client would hold up every subscriber of its topics. The hub only queues; a client whose queue passes
``PARLEY_WS_MAX_QUEUED_FRAMES`` frames or ``PARLEY_WS_MAX_QUEUED_BYTES`` bytes is cut off (it reconnects and resumes
from its marks when it reads again). A frame may carry a callback run once it is written (handed to the transport, which
the kernel sends even if this process dies next): the marks of a connection count what was written, not queued.
"""

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from django.conf import settings

from chat import metrics

logger = logging.getLogger(__name__)
EXTENSION = "parley.write"  # the scope extension of config.websocket
Queued = tuple[bytes, Callable[[], None] | None]  # a frame, and what to call once it is written
NOTHING_QUEUED: collections.deque[Queued] = collections.deque(maxlen=0)  # shared by every connection with no queue


class TransportWriter(Protocol):
    """What the server lends (``config.websocket.TransportWriter``)."""

    def text(self, data: bytes) -> bool:
        """Write one text message now if the connection can take it; whether it did."""


class Outbox:
    """One connection's frames on their way out: written at once while the client reads, else queued and written by a
    task that lives only while the queue does (an idle connection holds no task)."""

    __slots__ = (
        "closing",
        "connections",
        "cut_off",
        "direct",
        "drained",
        "frames",
        "in_flight",
        "overflowed",
        "size",
        "stopped",
        "task",
        "write",
    )

    def __init__(
        self,
        write: Callable[[str], Awaitable[None]],
        cut_off: Callable[[], Coroutine[Any, Any, None]],
        protocol: str,
        scope: dict[str, Any],
    ) -> None:
        self.write = write
        self.cut_off = cut_off
        self.direct: TransportWriter | None = (scope.get("extensions") or {}).get(EXTENSION)
        self.frames: collections.deque[Queued] = NOTHING_QUEUED  # a queue of its own once a frame must wait
        self.in_flight = False  # the task is writing a frame it took from the queue
        self.size = 0
        self.overflowed = False
        self.task: asyncio.Task[None] | None = None
        self.drained: asyncio.Future[None] | None = None  # what ``room`` and ``flush`` wait on while frames wait
        self.closing: asyncio.Task[None] | None = None
        self.connections = metrics.CONNECTIONS.labels(protocol)
        self.connections.inc()  # an open connection has one outbox, from accept to close
        self.stopped = False

    def send_now(self, data: bytes) -> bool:
        """Write a text frame at once if nothing waits before it and the client reads; whether it did (if not, the
        caller ``put``s it). Fan-out's path: one call, and no callback made for a frame that needs none."""
        return (
            not self.frames
            and not self.in_flight
            and not self.overflowed
            and not self.stopped
            and self.direct is not None
            and self.direct.text(data)
        )

    def put(self, frame: str | bytes, written: Callable[[], None] | None = None) -> None:
        """Write a text frame now if nothing waits before it and the client reads, else queue it; and call
        ``written`` once it is written. A client past the bound is cut off and its later frames dropped."""
        if self.overflowed or self.stopped:
            return
        data = frame.encode() if isinstance(frame, str) else frame
        if self.send_now(data):
            if written is not None:
                written()
            return
        if len(self.frames) >= settings.PARLEY_WS_MAX_QUEUED_FRAMES or (
            self.size + len(data) > settings.PARLEY_WS_MAX_QUEUED_BYTES
        ):
            self._overflow()
            return
        if self.frames is NOTHING_QUEUED:
            self.frames = collections.deque()
        self.frames.append((data, written))
        self.size += len(data)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    def _overflow(self) -> None:
        self.overflowed = True
        metrics.SLOW_CONSUMERS_CLOSED.inc()
        queued = len(self.frames)
        logger.warning("a client stopped reading (%d frames, %d bytes queued): cutting it off", queued, self.size)
        self.closing = asyncio.get_running_loop().create_task(self.cut_off())

    async def room(self, within: float = 10.0) -> None:
        """Wait while the queue is past half its bounds: a catch-up (however much a client missed) goes at the pace
        the client reads, never past the bound; a client that reads none of it within ``within`` seconds is cut off."""
        if (
            len(self.frames) * 2 < settings.PARLEY_WS_MAX_QUEUED_FRAMES
            and self.size * 2 < settings.PARLEY_WS_MAX_QUEUED_BYTES
        ):
            return
        if not await self._drain_within(within) and not self.overflowed:
            self._overflow()

    async def flush(self, within: float) -> None:
        """Wait until everything queued is written (at most ``within`` seconds)."""
        if not await self._drain_within(within):
            logger.warning("could not flush a connection's frames in %.0f s", within)

    async def _drain_within(self, seconds: float) -> bool:
        """Whether the queue emptied within ``seconds``."""
        if self.task is None:
            return True
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self.drained), seconds)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """The connection closed: stop writing."""
        if not self.stopped:
            self.stopped = True
            self.connections.dec()
        if self.task is not None:
            self.task.cancel()

    async def _drain(self) -> None:
        try:
            while self.frames:
                data, written = self.frames.popleft()
                self.size -= len(data)
                try:
                    if self.direct is None or not self.direct.text(data):
                        self.in_flight = True
                        await self.write(data.decode())
                except Exception:  # noqa: BLE001  (the connection is gone, however it shows)
                    logger.debug("a connection closed with frames queued", exc_info=True)
                    self.frames.clear()
                    self.size = 0
                else:
                    if written is not None:
                        written()
                finally:
                    self.in_flight = False
        finally:
            self.task = None
            self.frames = NOTHING_QUEUED  # an idle connection holds no queue
            if self.drained is not None:
                if not self.drained.done():
                    self.drained.set_result(None)
                self.drained = None
