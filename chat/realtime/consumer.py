"""``/rtm/websocket``: the STOMP 1.2 ("StompX") endpoint of ChatKitty's browser SDK, on a Channels consumer.

The consumer is thin: it decodes frames, authenticates the CONNECT, and maps SUBSCRIBE to a relay (one answer) or a
topic (registered with this process's hub), and SEND to an action; the work is in ``destinations`` and the actions.
Failures go to the client's ``/user/queue/errors`` subscription, correlated by ``subscription-id`` or ``receipt-id``;
a refused session gets an ERROR frame with ``AccessDeniedError`` (the SDK then stops reconnecting). Channel events
carry their sequence number in a ``sequence`` header; a resumed session that re-subscribes to a channel's messages is
first sent the messages it missed (``resume``).
"""

import asyncio
import base64
import binascii
import itertools
import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.conf import settings
from django.utils import timezone

from chat.actions.sessions import (
    do_end_chat_session,
    do_end_user_session,
    do_resume_user_session,
    do_start_chat_session,
    do_start_user_session,
)
from chat.bounds import MAX_JSON_DEPTH, too_deep
from chat.errors import (
    UNAVAILABLE,
    ChatError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    database_unavailable,
)
from chat.models import ChatSession
from chat.realtime import destinations
from chat.realtime.auth import AccessDenied, authenticate
from chat.realtime.context import Outcome, Session
from chat.realtime.control import Recheck
from chat.realtime.destinations import ERRORS_QUEUE
from chat.realtime.hub import hub
from chat.realtime.marks import MESSAGES_TOPIC
from chat.realtime.outbox import Outbox
from chat.realtime.resume import EventKey, Resume
from chat.realtime.socket import LiveSocket, in_database
from chat.realtime.stomp import Frame, FrameError, FrameParser, header_line, message_frame, message_head
from chat.registries import refusal_of_session
from chat.wire.timestamps import timestamp

logger = logging.getLogger(__name__)

SUBPROTOCOL = "v12.stomp"
# The server's heart-beat offer: it writes every 10 s; the client (which offers 60 s) writes every 60 s.
HEARTBEAT_MS = (10_000, 60_000)
# How many answered actions a client remembers, to skip the broadcast of each when it comes back from the bus.
ANSWERED_MEMORY = 256
# How long the answer to a message sent waits for the hub to bring that message's event (and so whatever the channel
# had before it): a hub behind by a database retry must not let the answer overtake earlier messages.
LIVE_COPY_SECONDS = 2.0
Held = tuple[str, bytes, EventKey, int | None]  # a hub delivery held back: topic, body, event, sequence
ERROR_NAMES = {
    NotFound: "NotFoundError",
    Invalid: "InvalidRequestError",
    Conflict: "ConflictError",
    Forbidden: "ForbiddenError",
    RateLimited: "RateLimitExceededError",
}


def _error_body(error: str, message: str) -> bytes:
    return orjson.dumps({"error": error, "message": message, "timestamp": timestamp(timezone.now())})


def _auth_params(header: str) -> Any:
    """The SDK's ``authParams``: base64 of their JSON (plain JSON is accepted too)."""
    if not header:
        return None
    try:
        value = orjson.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, orjson.JSONDecodeError):
        try:
            value = orjson.loads(header)
        except orjson.JSONDecodeError as error:
            raise AccessDenied("StompX-Auth-Params must be base64-encoded JSON.") from error
    if too_deep(value) is not None:
        raise AccessDenied(f"StompX-Auth-Params nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


class StompConsumer(LiveSocket):
    """One browser session speaking StompX."""

    dialect = "stomp"

    async def connect(self) -> None:
        """Accept the websocket (with the STOMP subprotocol when offered); authentication waits for CONNECT."""
        self.hub = hub()
        self.parser = FrameParser(settings.PARLEY_STOMP_MAX_FRAME_BYTES)
        self.session: Session | None = None
        self.subscriptions: dict[str, str] = {}  # subscription id → destination (topics only)
        self.by_topic: dict[str, str] = {}  # topic → subscription id
        self.heads: dict[str, bytes] = {}  # topic → the start of its MESSAGE frames (``stomp.message_head``)
        self.errors_subscription: str | None = None
        self.answered: dict[tuple[str, int | None], None] = {}  # bus events this client's actions already answered
        self.acting: list[Held] | None = None  # what the hub delivered while an action of this client runs (``_act``)
        self.awaiting: tuple[EventKey, asyncio.Future[None]] | None = None  # the live copy an answer waits for
        self.message_ids = itertools.count(1)
        self.heartbeat: asyncio.TimerHandle | None = None
        self.beat_seconds = 0.0
        self.resumed = False
        self.chat_sessions: dict[str, ChatSession] = {}  # channel messages topic → the chat session it records
        headers = dict(self.scope.get("headers", []))
        scheme = "https" if self.scope.get("scheme") in ("wss", "https") else "http"
        self.base_url = f"{scheme}://{headers.get(b'host', b'localhost').decode('latin-1')}"
        self.resume = Resume(self.base_url)
        # what the hub reads for its marks: the hub asks only for channels whose messages this connection hears
        # (``Resume.listen`` comes before ``Hub.add``, ``Resume.forget`` before ``Hub.remove``)
        self.marks = self.resume.marks
        offered = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        self.outbox = Outbox(lambda text: self.send(text_data=text), self.cut_off, "stomp", self.scope)

    async def cut_off(self) -> None:
        """The client stopped reading (``chat.realtime.outbox``): close, keeping only the marks it acknowledged."""
        self.resume.distrust_unacknowledged()
        await self.close()

    async def disconnect(self, code: int) -> None:
        """Leave the hub, save where this connection got to, and end the user session."""
        self.hub.remove_all(self)
        if hasattr(self, "outbox"):
            self.outbox.stop()
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        if self.session is not None:
            await self.resume.close()
            try:
                await in_database(do_end_user_session)(self.session.user_session)
            except Exception as error:
                if not database_unavailable(error):
                    raise
                logger.warning("could not end session %s: %s", self.session.user_session.key, error)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Decode whatever arrived and handle each complete frame."""
        data = text_data.encode() if text_data is not None else bytes_data or b""
        try:
            frames = self.parser.feed(data)
        except FrameError as error:
            await self.fatal("InvalidFrameError", str(error))
            return
        for frame in frames:
            await self.handle(frame)

    async def handle(self, frame: Frame) -> None:
        """Dispatch one frame; while the database cannot be reached, its request fails with ServiceUnavailableError
        and the connection stays (a CONNECT that cannot be served ends it: the SDK connects again)."""
        try:
            await self._handle(frame)
        except Exception as error:
            if not database_unavailable(error):
                raise
            logger.warning("database unavailable for a %s frame: %s", frame.command, error)
            if self.session is None:
                await self.fatal("ServiceUnavailableError", UNAVAILABLE)
                return
            correlation = {
                key: frame.headers[header]
                for key, header in (("receipt-id", "receipt"), ("subscription-id", "id"))
                if header in frame.headers
            }
            await self.report("ServiceUnavailableError", UNAVAILABLE, correlation)

    async def _handle(self, frame: Frame) -> None:
        if frame.command in ("CONNECT", "STOMP"):
            await self.on_connect(frame)
        elif self.session is None:
            await self.fatal("NotConnectedError", "Send CONNECT first.")
        elif frame.command == "SUBSCRIBE":
            await self.on_subscribe(frame)
        elif frame.command == "UNSUBSCRIBE":
            await self.on_unsubscribe(frame)
        elif frame.command == "SEND":
            await self.on_send(frame)
        elif frame.command == "DISCONNECT":
            await self.receipt(frame)
            await self.close()
        elif frame.command == "ACK":
            self.resume.ack(frame.headers.get("id", ""))
        # NACK/BEGIN/COMMIT/ABORT: every push is delivered once; they change nothing here.

    async def on_connect(self, frame: Frame) -> None:
        """Authenticate, start or resume the user session, answer CONNECTED."""
        if self.session is not None:
            await self.fatal("InvalidFrameError", "Already connected.")
            return
        api_key = parse_qs(self.scope.get("query_string", b"").decode()).get("api-key", [""])[0]
        username = frame.headers.get("StompX-User", "").strip()
        try:
            auth_params = _auth_params(frame.headers.get("StompX-Auth-Params", ""))
            refusal = await refusal_of_session(api_key, username, auth_params)
            if refusal is not None:
                raise AccessDenied(refusal)
            self.session = await in_database(self._login)(api_key, frame.headers, auth_params)
        except AccessDenied as denied:
            await self.fatal("AccessDeniedError", str(denied))
            return
        await self.resume.start(str(self.session.user_session.key), resumed=self.resumed)
        headers = {
            "version": "1.2",
            "session": str(self.session.user_session.key),
            "server": "Parley",
            "heart-beat": f"{HEARTBEAT_MS[0]},{HEARTBEAT_MS[1]}",
        }
        await self.write(Frame("CONNECTED", headers))
        self._start_beating(frame.headers.get("heart-beat", "0,0"))

    def _login(self, api_key: str, headers: dict[str, str], auth_params: Any) -> Session:
        login = authenticate(
            api_key, headers.get("StompX-User", ""), headers.get("StompX-Auth-Session-ID"), auth_params
        )
        self.resumed = login.resumed is not None
        if login.resumed is not None:
            user_session = do_resume_user_session(login.resumed)
        else:
            user_session = do_start_user_session(login.user, user_agent=headers.get("StompX-User-Agent", ""))
        return Session(login.application, login.user, user_session, self.base_url)

    def _start_beating(self, client_offer: str) -> None:
        """Write a heart-beat (an end-of-line) as often as the client asked to hear from the server (a timer, not a
        task: an idle connection holds no coroutine for it)."""
        try:
            wanted = int(client_offer.split(",")[1])
        except (IndexError, ValueError):
            return
        if wanted <= 0:
            return
        self.beat_seconds = max(wanted, HEARTBEAT_MS[0]) / 1000
        self.heartbeat = asyncio.get_running_loop().call_later(self.beat_seconds, self._beat)

    def _beat(self) -> None:
        self.outbox.put("\n")
        self.heartbeat = asyncio.get_running_loop().call_later(self.beat_seconds, self._beat)

    async def on_subscribe(self, frame: Frame) -> None:
        """A relay (``/application/…``: one answer) or a topic (registered until UNSUBSCRIBE)."""
        subscription = frame.headers.get("id", "")
        destination = frame.headers.get("destination", "")
        if destination.startswith("/application/"):
            await self.relay(subscription, destination, frame.headers)
            return
        if len(self.subscriptions) >= settings.PARLEY_STOMP_MAX_SUBSCRIPTIONS:
            await self.report(
                "TooManySubscriptionsError",
                f"At most {settings.PARLEY_STOMP_MAX_SUBSCRIPTIONS} subscriptions per connection.",
                {"subscription-id": subscription},
            )
            return
        assert self.session is not None  # noqa: S101  (connected)
        try:
            channel = await in_database(destinations.authorize_topic)(self.session, destination)
        except ChatError as error:
            await self.report(
                ERROR_NAMES.get(type(error), "ChatError"), error.message, {"subscription-id": subscription}
            )
            return
        if destination == ERRORS_QUEUE:
            self.errors_subscription = subscription
            await self.receipt(frame)
            return
        self.subscriptions[subscription] = destination
        self.by_topic[destination] = subscription
        self.heads[destination] = message_head(subscription, destination)
        replay_after = None
        if channel is not None and MESSAGES_TOPIC.fullmatch(destination):
            self.chat_sessions[destination] = await in_database(do_start_chat_session)(
                self.session.user_session, channel
            )
            replay_after = await self.resume.listen(destination, channel)
            if frame.headers.get("ack") in ("client", "client-individual"):
                self.resume.acknowledges(destination)
        await self.hub.add(destination, self)
        await self.receipt(frame)
        if channel is not None and replay_after is not None:
            await self.resume.catch_up(destination, channel.pk, replay_after, self._replay)

    async def on_unsubscribe(self, frame: Frame) -> None:
        """Stop a topic subscription (leaving a channel's messages ends that chat session)."""
        destination = self.subscriptions.pop(frame.headers.get("id", ""), None)
        if destination is not None:
            await self._drop(destination)

    async def _drop(self, destination: str) -> None:
        self.subscriptions.pop(self.by_topic.pop(destination, ""), None)
        self.heads.pop(destination, None)
        self.resume.forget(destination)
        self.hub.remove(destination, self)
        chat_session = self.chat_sessions.pop(destination, None)
        if chat_session is not None:
            await in_database(do_end_chat_session)(chat_session)

    async def recheck(self, recheck: Recheck) -> None:
        """After a change that takes access away: close if this user is gone, else drop the topics of channels the
        user may no longer read."""
        session = self.session
        if session is None or recheck.push_secret or recheck.application_id != session.application.pk:
            return
        if recheck.user_id is not None and recheck.user_id != session.user.pk:
            return
        topics = [
            topic
            for topic in self.by_topic
            if (match := destinations.CHANNEL_TOPIC.fullmatch(topic))
            and (recheck.channel_id is None or int(match["channel"]) == recheck.channel_id)
        ]
        if recheck.user_id is None and not topics:
            return
        lost = await in_database(destinations.unauthorized_topics)(session, topics)
        if lost is None:
            await self.fatal("AccessDeniedError", "This user no longer exists: the session has ended.")
            return
        for topic in lost:
            await self._drop(topic)

    def hold(self) -> None:
        """The hub lost the bus: hold back live channel messages until the catch-up (an answer waits for no live
        copy meanwhile)."""
        self.resume.hold_all()
        self._wait_no_more()

    async def catch_up(self) -> None:
        """The hub has the bus again: send what this connection missed on its channels, then what was held back; and
        save its marks again (Redis keeps nothing on disk: a restart lost them)."""
        await self.resume.catch_up_all(self._replay)
        await self.resume.save(self.resume.marks, hub_id=self.hub.id)

    async def relay(self, subscription: str, destination: str, headers: dict[str, str]) -> None:
        """Answer a read with one MESSAGE on the relay's subscription."""
        assert self.session is not None  # noqa: S101  (connected)
        path, params = destinations.split_destination(destination)
        params = {**{k: v for k, v in headers.items() if k not in ("id", "destination")}, **params}
        try:
            handler, match = destinations.find(destinations.RELAYS, path)
            resource = await in_database(handler)(self.session, match, params)
        except ChatError as error:
            await self.report(
                ERROR_NAMES.get(type(error), "ChatError"), error.message, {"subscription-id": subscription}
            )
            return
        await self.write(
            Frame(
                "MESSAGE",
                {
                    "subscription": subscription,
                    "message-id": str(next(self.message_ids)),
                    "destination": destination,
                    "content-type": "application/json",
                },
                orjson.dumps({"resource": resource}),
            )
        )

    async def on_send(self, frame: Frame) -> None:
        """Run an action (its user checked to exist still, in the same hand-off to the database); confirm with a
        RECEIPT or with the resulting event carrying ``receipt-id``."""
        assert self.session is not None  # noqa: S101  (connected)
        receipt = frame.headers.get("receipt")
        correlation = {"receipt-id": receipt} if receipt else {}
        try:
            body = orjson.loads(frame.body or b"{}")
        except orjson.JSONDecodeError:
            await self.report("InvalidRequestError", "The body must be JSON.", correlation)
            return
        if not isinstance(body, dict):
            await self.report("InvalidRequestError", "The body must be a JSON object.", correlation)
            return
        if too_deep(body) is not None:
            await self.report(
                "InvalidRequestError", f"The body nests deeper than {MAX_JSON_DEPTH} levels.", correlation
            )
            return
        path, _ = destinations.split_destination(frame.headers.get("destination", ""))
        try:
            handler, match = destinations.find(destinations.ACTIONS, path)
            outcome, held = await self._act(handler, match, body)
        except ChatError as error:
            await self.report(ERROR_NAMES.get(type(error), "ChatError"), error.message, correlation)
            return
        if outcome is None or outcome.receipt_only:
            self._hand_on(held)
            if outcome is None:
                await self.fatal("AccessDeniedError", "This user no longer exists: the session has ended.")
            else:
                await self.receipt(frame)
            return
        if outcome.answers is not None:
            self.answered[outcome.answers] = None
            while len(self.answered) > ANSWERED_MEMORY:
                del self.answered[next(iter(self.answered))]
        # what the bus brought before the answered event goes first; the event's own live copy is skipped
        keys = [key for _, _, key, _ in held]
        cut = keys.index(outcome.answers) + 1 if outcome.answers in keys else len(held)
        self._hand_on(held[:cut])
        subscription = self.by_topic.get(outcome.topic or "") or self.any_subscription()
        self.push(
            subscription,
            outcome.topic or "",
            orjson.dumps({"type": outcome.event, "version": "v1", "resource": outcome.resource}),
            header_line("receipt-id", receipt) if receipt else b"",
        )
        self._hand_on(held[cut:])

    async def _act(
        self, handler: Callable[..., Outcome], match: re.Match[str], body: dict[str, Any]
    ) -> tuple[Outcome | None, list[Held]]:
        """Run an action of this client, and what the hub delivered meanwhile, held back: the action's answer and the
        live copy of the event it caused race each other, and the live copy must not come first (then twice). A
        message sent waits for its live copy (``LIVE_COPY_SECONDS`` at most): what the channel had before it comes
        through the hub, and must not be overtaken by the answer."""
        assert self.session is not None  # noqa: S101  (connected)
        self.acting = []
        try:
            outcome = await in_database(destinations.act)(self.session, handler, match, body)
            if outcome is not None and outcome.answers is not None and self._brings_live_copy(outcome):
                await self._live_copy(outcome.answers)
        except BaseException:
            self._hand_on(self._stop_acting())
            raise
        return outcome, self._stop_acting()

    def _brings_live_copy(self, outcome: Outcome) -> bool:
        """Whether the hub will bring this client the event its action caused, on a channel's messages topic that
        it hears live (not while it catches up, nor while the hub is without the bus)."""
        topic = outcome.topic or ""
        return (
            topic in self.by_topic
            and MESSAGES_TOPIC.fullmatch(topic) is not None
            and topic not in self.resume.replaying
            and self.hub.subscribed
        )

    async def _live_copy(self, key: EventKey) -> None:
        """Wait, boundedly, until the hub has brought the event ``key`` (held back with what came before it)."""
        if self.acting is None or any(held_key == key for _, _, held_key, _ in self.acting):
            return
        waiter = asyncio.get_running_loop().create_future()
        self.awaiting = (key, waiter)
        try:
            await asyncio.wait_for(waiter, LIVE_COPY_SECONDS)
        except TimeoutError:
            logger.warning("the hub did not bring %s within %.0f s: answering without it", key, LIVE_COPY_SECONDS)
        finally:
            self.awaiting = None

    def _stop_acting(self) -> list[Held]:
        held, self.acting = self.acting or [], None
        self._wait_no_more()  # (past its bound, what was held went out: the answer waits no more)
        return held

    def _wait_no_more(self) -> None:
        if self.awaiting is not None and not self.awaiting[1].done():
            self.awaiting[1].set_result(None)

    def _hand_on(self, held: list[Held]) -> None:
        for delivery in held:
            self.deliver(*delivery)

    def any_subscription(self) -> str:
        """A topic subscription of this client to carry an answer when the natural topic is not subscribed."""
        return next(iter(self.subscriptions), self.errors_subscription or "")

    def deliver(self, topic: str, body: bytes, event_key: tuple[str, int | None], sequence: int | None) -> None:
        """An event from the hub: push it on this client's subscription of ``topic`` (held back during a replay)."""
        resume = self.resume
        if topic in resume.replayed and resume.already_sent(topic, sequence):
            return
        if topic in resume.replaying and resume.hold(topic, (body, event_key, sequence)):
            return
        if self.acting is not None:
            if len(self.acting) * 2 < settings.PARLEY_WS_MAX_QUEUED_FRAMES:
                self.acting.append((topic, body, event_key, sequence))
                if self.awaiting is not None and self.awaiting[0] == event_key:
                    self._wait_no_more()
                return
            # an action that waits long holds back no more than half what an outbox may queue, then lets it go
            self._hand_on(self._stop_acting())
        self._deliver(topic, body, event_key, sequence)

    def _deliver(self, topic: str, body: bytes, event_key: tuple[str, int | None], sequence: int | None) -> None:
        subscription = self.by_topic.get(topic)
        if subscription is None:
            return
        if event_key in self.answered:
            del self.answered[event_key]  # this client caused it and already has the answer
            self._wrote(topic, sequence)
            return
        if sequence is None:
            self.push(subscription, topic, body)
            return
        message_id = self.push(subscription, topic, body, b"sequence:%d\n" % sequence, sequence)
        if topic in self.resume.acked:
            self.resume.pushed(message_id, topic, sequence)

    async def _replay(self, topic: str, body: bytes, event_key: tuple[str, int | None], sequence: int | None) -> None:
        """One frame of a catch-up, at the pace this client reads (``Outbox.room``)."""
        await self.outbox.room()
        self._deliver(topic, body, event_key, sequence)

    def _wrote(self, topic: str, sequence: int | None) -> None:
        """A channel's message went out on ``topic``: it is this connection's mark, and its hub's to save."""
        channel_id = self.resume.sent(topic, sequence)
        if channel_id is not None:
            self.hub.wrote(channel_id)

    def push(
        self, subscription: str, destination: str, body: bytes, extra: bytes = b"", sequence: int | None = None
    ) -> int:
        """A MESSAGE frame on a topic subscription (the SDK ACKs with the ``ack`` header's value); a channel's message
        (its ``sequence``) moves this connection's mark once it is written. Its message id."""
        message_id = next(self.message_ids)
        # a subscribed topic's frames go on its own subscription, whose head was made when it started
        head = self.heads.get(destination) or message_head(subscription, destination)
        frame = message_frame(head, message_id, body, extra)
        if sequence is None:
            self.outbox.put(frame)
        elif self.outbox.send_now(frame):  # (``_wrote``, inline: this runs once per listener per message)
            if (channel_id := self.resume.sent(destination, sequence)) is not None:
                self.hub.wrote(channel_id)
        else:
            self.outbox.put(frame, partial(self._wrote, destination, sequence))
        return message_id

    async def receipt(self, frame: Frame) -> None:
        """A RECEIPT for a frame that asked for one."""
        if "receipt" in frame.headers:
            await self.write(Frame("RECEIPT", {"receipt-id": frame.headers["receipt"]}))

    async def report(self, error: str, message: str, correlation: dict[str, str]) -> None:
        """An error on ``/user/queue/errors``, correlated with the relay or action that failed."""
        await self.write(
            Frame(
                "MESSAGE",
                {
                    "subscription": self.errors_subscription or "",
                    "message-id": str(next(self.message_ids)),
                    "destination": ERRORS_QUEUE,
                    "content-type": "application/json",
                    **correlation,
                },
                _error_body(error, message),
            )
        )

    async def fatal(self, error: str, message: str) -> None:
        """An ERROR frame, then close (STOMP: the server closes after ERROR)."""
        await self.write(
            Frame("ERROR", {"message": message[:200], "content-type": "application/json"}, _error_body(error, message))
        )
        await self.outbox.flush(within=2)
        await self.close()

    async def write(self, frame: Frame, written: Callable[[], None] | None = None) -> None:
        """Queue one frame, as a text message, and what to call once it is written (``chat.realtime.outbox``)."""
        self.outbox.put(frame.encode(), written)
