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
from typing import Any

from django.conf import settings

from chat import metrics

logger = logging.getLogger(__name__)


class Outbox:
    """One connection's queue of frames to write, and the task that writes them."""

    def __init__(
        self,
        write: Callable[[str], Awaitable[None]],
        cut_off: Callable[[], Coroutine[Any, Any, None]],
        protocol: str,
    ) -> None:
        self.write = write
        self.cut_off = cut_off
        self.frames: collections.deque[tuple[str, Callable[[], None] | None]] = collections.deque()
        self.size = 0
        self.overflowed = False
        self.waiting = asyncio.Event()
        self.empty = asyncio.Event()
        self.empty.set()
        self.task = asyncio.get_running_loop().create_task(self._drain())
        self.closing: asyncio.Task[None] | None = None
        self.connections = metrics.CONNECTIONS.labels(protocol)
        self.connections.inc()  # an open connection has one outbox, from accept to close
        self.stopped = False

    def put(self, text: str, written: Callable[[], None] | None = None) -> None:
        """Queue a frame (at once), and what to call once it is written; a client past the bound is cut off and its
        later frames dropped."""
        if self.overflowed:
            return
        if len(self.frames) >= settings.PARLEY_WS_MAX_QUEUED_FRAMES or (
            self.size + len(text) > settings.PARLEY_WS_MAX_QUEUED_BYTES
        ):
            self._overflow()
            return
        self.frames.append((text, written))
        self.size += len(text)
        self.empty.clear()
        self.waiting.set()

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
        try:
            await asyncio.wait_for(self.empty.wait(), within)
        except TimeoutError:
            if not self.overflowed:
                self._overflow()

    async def flush(self, within: float) -> None:
        """Wait until everything queued is written (at most ``within`` seconds)."""
        try:
            await asyncio.wait_for(self.empty.wait(), within)
        except TimeoutError:
            logger.warning("could not flush a connection's frames in %.0f s", within)

    def stop(self) -> None:
        """The connection closed: stop writing."""
        if not self.stopped:
            self.stopped = True
            self.connections.dec()
        self.task.cancel()

    async def _drain(self) -> None:
        while True:
            await self.waiting.wait()
            self.waiting.clear()
            while self.frames:
                text, written = self.frames.popleft()
                self.size -= len(text)
                try:
                    await self.write(text)
                except Exception:  # noqa: BLE001  (the connection is gone, however it shows)
                    logger.debug("a connection closed with frames queued", exc_info=True)
                    self.frames.clear()
                    self.size = 0
                else:
                    if written is not None:
                        written()
            self.empty.set()
