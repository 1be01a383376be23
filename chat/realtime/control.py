"""Process-to-process control over the Channels layer (channels-redis): every process's hub listens on one layer
channel of its own, a member of one group, ``control_group()``; never a channel per socket. Actions that take access
away (a member removed, a channel or a user deleted, a user blocked from a channel, a socket service secret rotated)
ask every process, after their transaction commits, to check again the access of the live connections the change
may touch (``Recheck``); each connection that matches checks itself and drops what it may no longer hear, or
closes."""

import logging
from dataclasses import asdict, dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recheck:
    """Which connections must check their access again: those of an application, narrowed to one user's, to those
    listening on one channel, or (``push_secret``) to sockets holding the socket service secret."""

    application_id: int
    user_id: int | None = None
    channel_id: int | None = None
    push_secret: bool = False

    def message(self) -> dict[str, Any]:
        """As the layer carries it."""
        return {"type": "recheck", **asdict(self)}

    @classmethod
    def of(cls, message: dict[str, Any]) -> "Recheck":
        """From the layer's message."""
        return cls(**{key: value for key, value in message.items() if key != "type"})


def control_group() -> str:
    """The one group every process's hub belongs to."""
    return f"{settings.PARLEY_EVENT_PREFIX}.control".replace(":", ".")[:99]


def recheck_on_commit(recheck: Recheck) -> None:
    """Tell every process, once the transaction commits, to check the access of the connections ``recheck`` names.
    A layer that cannot be reached is logged: the change is in the database, and every later use checks it."""

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(control_group(), recheck.message())  # type: ignore[union-attr]
        except Exception:
            logger.exception("could not send %s to the other processes", recheck)

    transaction.on_commit(send)
