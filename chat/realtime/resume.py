"""The resume state machine of one live connection: where it has got to in each channel whose messages it hears,
and, for a resumed session, the catching up on what it missed before live delivery goes on.

A channel's messages topic is, for each connection, first *caught up* (a resumed session's previous connection got to
sequence n: the messages after n are sent from the database while what the hub delivers meanwhile is held back),
then *live* (each delivery moves the mark); the marks are saved when the topic starts and when the connection closes
(``marks`` says where, and how a crashed process's sessions are recovered). Transport is the consumer's business.
"""

import collections
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from chat import metrics
from chat.models import Channel
from chat.realtime import marks
from chat.realtime.hub import hub

logger = logging.getLogger(__name__)

EventKey = tuple[str, int | None]
Held = tuple[bytes, EventKey, int | None]
MAX_UNACKED = 512  # pushes remembered per connection until acknowledged (past it the oldest are forgotten: replayed)
Deliver = Callable[[str, bytes, EventKey, int | None], Awaitable[None]]


class Resume:
    """One connection's marks (channel id → last sequence number it was sent) and its catching up."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session: str | None = None
        self.marks: dict[int, int] = {}
        self.previous: dict[int, int] = {}  # where the previous connection of a resumed session got to
        self.topics: dict[str, int] = {}  # channel messages topic → channel id
        self.replaying: dict[str, list[Held]] = {}  # topic → what the hub delivered while it catches up
        # topic → what its last catch-up sent: the bus may bring one of these only after the catch-up ended (the
        # database had it committed before its event was published), and it must not go out twice
        self.replayed: dict[str, set[int]] = {}
        # Subscriptions with client acknowledgements (the SDK's ``ack: client-individual``): topic → the highest
        # sequence number the client acknowledged, and the pushes it has not acknowledged yet (message id → topic,
        # sequence). Written is not received for a client that stopped reading: cut off, it resumes from its ACKs.
        self.acked: dict[str, int] = {}
        self.unacked: collections.OrderedDict[str, tuple[str, int]] = collections.OrderedDict()
        self.cut_off = False

    async def start(self, session: str, *, resumed: bool) -> None:
        """The connection belongs to ``session``; a resumed one picks up where its previous connection got to."""
        self.session = session
        if resumed:
            self.previous = await marks.load(hub().redis, session)

    async def listen(self, topic: str, channel: Channel) -> int | None:
        """The connection starts hearing the channel's messages: from where it should catch up (None: it is live
        from the channel's newest message)."""
        self.topics[topic] = channel.pk
        after = self.previous.pop(channel.pk, None)
        self.marks[channel.pk] = channel.last_sequence if after is None else after
        if after is not None:
            self.replaying[topic] = []
        await self.save({channel.pk: self.marks[channel.pk]}, hub_id=hub().id)
        return after

    def forget(self, topic: str) -> None:
        """The connection stopped hearing the topic."""
        self.topics.pop(topic, None)
        self.replayed.pop(topic, None)
        self.acked.pop(topic, None)

    def acknowledges(self, topic: str) -> None:
        """The client acknowledges what it hears on the (listened) topic."""
        channel_id = self.topics.get(topic)
        if channel_id is not None:
            self.acked[topic] = self.marks[channel_id]

    def pushed(self, message_id: int, topic: str, sequence: int) -> None:
        """A message went out on ``topic`` under ``message_id`` (remembered until acknowledged, boundedly)."""
        if topic in self.acked:
            self.unacked[str(message_id)] = (topic, sequence)
            while len(self.unacked) > MAX_UNACKED:
                self.unacked.popitem(last=False)

    def ack(self, message_id: str) -> None:
        """The client acknowledged the message pushed under ``message_id``."""
        topic, sequence = self.unacked.pop(message_id, ("", 0))
        if topic in self.acked and sequence > self.acked[topic]:
            self.acked[topic] = sequence

    def distrust_unacknowledged(self) -> None:
        """The connection is cut off for not reading: what was written but not acknowledged may never reach it (it
        lies in buffers that are thrown away), so its marks fall back to its acknowledgements and stay there."""
        self.cut_off = True
        for topic, channel_id in self.topics.items():
            if topic in self.acked:
                self.marks[channel_id] = min(self.marks[channel_id], self.acked[topic])

    def already_sent(self, topic: str, sequence: int | None) -> bool:
        """Whether a live delivery is a message the topic's last catch-up already sent."""
        return sequence is not None and sequence in self.replayed.get(topic, ())

    def hold(self, topic: str, held: Held) -> bool:
        """Keep a delivery back while its topic catches up; False when the topic is live."""
        waiting = self.replaying.get(topic)
        if waiting is None:
            return False
        waiting.append(held)
        return True

    def sent(self, topic: str, sequence: int | None) -> int | None:
        """A delivery on ``topic`` was written: its sequence number is the channel's mark; the channel whose mark
        moved (None: none did)."""
        channel_id = self.topics.get(topic)
        if self.cut_off:
            return None
        if channel_id is not None and sequence is not None and sequence > self.marks.get(channel_id, 0):
            self.marks[channel_id] = sequence  # in memory: saved when the connection closes, and by the hub
            return channel_id
        return None

    async def catch_up(self, topic: str, channel_id: int, after: int, deliver: Deliver) -> None:
        """Send the messages missed after ``after``, then what the hub delivered meanwhile (each once); the topic is
        live afterwards."""
        replayed = set()
        try:
            for sequence, body in await hub().missed(channel_id, after, self.base_url):
                replayed.add(sequence)
                metrics.RESUME_REPLAYS.inc()
                await deliver(topic, body, ("message.created", None), sequence)  # the mark moves once it is written
        finally:
            self.replayed[topic] = replayed
            for body, key, held in self.replaying.pop(topic, []):
                if held not in replayed:
                    await deliver(topic, body, key, held)

    def hold_all(self) -> None:
        """Hold back every channel's live deliveries (the hub lost the bus; ``catch_up_all`` follows)."""
        for topic in self.topics:
            self.replaying.setdefault(topic, [])

    async def catch_up_all(self, deliver: Deliver) -> None:
        """After the hub lost the bus: send each held channel what this connection missed, from its marks."""
        for topic, channel_id in list(self.topics.items()):
            if topic in self.replaying:
                await self.catch_up(topic, channel_id, self.marks.get(channel_id, 0), deliver)

    async def close(self) -> None:
        """The connection closed cleanly: its marks are exact."""
        await self.save(self.marks, closed=True)

    async def save(self, channel_marks: dict[int, int], *, hub_id: str | None = None, closed: bool = False) -> None:
        """Save marks of this connection's session (a failure is logged: the hub's marks still bound the loss)."""
        if self.session is None:
            return
        try:
            await marks.save(hub().redis, marks.session_key(self.session), channel_marks, hub_id=hub_id, closed=closed)
        except RedisError as error:
            logger.warning("could not save the marks of session %s: %s", self.session, error)
