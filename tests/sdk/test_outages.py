"""Parts of the server die under two unmodified ``@chatkitty/core`` clients while a tenant's backend sends through the
Platform API: Redis restarts, web processes are killed, PostgreSQL restarts, every web process is restarted in turn.
Judged by the channel's sequence numbers: each client hears every committed message once and in order; how long
delivery was interrupted is measured, printed and bounded (issue 18)."""

import base64
import collections
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from queue import Queue

import psycopg
import pytest

from chat.models import Application, Channel
from tests.config.test_serve import children
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import (
    LiveServer,
    OwnPostgres,
    OwnRedis,
    call,
    database_url,
    live_server,
    server_environment,
    wait_for,
)
from tests.sdk.test_sdks import conversing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]
RATE = 10  # messages a second from the backend
# The SDK connects again 5 s after it loses its connection (stompjs's default reconnectDelay; it sets none): a client
# whose process died or was drained hears again after about that, then is caught up.
RECONNECT_SECONDS = 5


class Chatters:
    """jane and bob in ``core_outage_scenario.mjs``: what each of their clients heard, (message id, ms) in order."""

    def __init__(self, server: LiveServer, application: Application) -> None:
        self.process = conversing("core_outage_scenario.mjs", server, application)
        self.heard: dict[str, list[tuple[int, int]]] = {"jane": [], "bob": []}
        self.replies: Queue[dict[str, int]] = Queue()
        self.errors: collections.deque[str] = collections.deque(maxlen=50)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self.errors.extend, args=(self.process.stderr,), daemon=True).start()
        assert self.reply().get("phase") == "ready"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = json.loads(line)
            if "who" in found:
                self.heard[found["who"]].append((found["id"], found["at"]))
            else:
                self.replies.put(found)
        self.replies.put({"exited": self.process.wait()})

    def reply(self) -> dict[str, int]:
        """The script's next answer; it fails the test with what the script printed on stderr if it ended."""
        found = self.replies.get(timeout=90)
        assert "exited" not in found, "".join(self.errors)
        return found

    def tell(self, line: str) -> dict[str, int]:
        """Send the script a command, and return its answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.reply()


@dataclass(eq=False)
class Backend(threading.Thread):
    """A tenant's backend sending to a channel through the Platform API ``RATE`` times a second; it notes each
    answer: (status, or 0 when the connection failed; seconds it took)."""

    url: str
    application: Application
    channel: Channel
    answers: list[tuple[int, float]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        basic = base64.b64encode(f"{self.application.key}:{self.application.secret}".encode()).decode()  # type: ignore[attr-defined]
        _, granted = call(f"{self.url}/oauth/token", "POST", basic=basic, body=b"grant_type=client_credentials")
        index = 0
        assert "access_token" in granted, granted
        while not self.done.is_set():
            started = time.monotonic()
            try:
                status, _ = call(
                    f"{self.url}/v1/channels/{self.channel.pk}/messages",
                    "POST",
                    token=granted["access_token"],
                    body={"type": "TEXT", "body": f"backend {index}"},
                )
            except OSError:
                status = 0
            if status not in (200, 503, 0):
                raise AssertionError(f"the backend was answered {status}: {_}")
            self.answers.append((status, time.monotonic() - started))
            index += 1
            self.done.wait(max(0.0, 1 / RATE - (time.monotonic() - started)))

    def sent(self) -> int:
        """How many messages it has sent (answered 200)."""
        return sum(1 for status, _ in self.answers if status == 200)


@dataclass
class Verdict:
    """What the clients heard of what was committed."""

    lost: dict[str, int]
    duplicated: dict[str, int]
    in_order: bool
    worst_latency: float  # seconds from a message's commit to its arrival at a client, the worst of all
    longest_gap: float  # seconds between two messages in a row at a client, the longest
    # where a client's order first differs from the channel's: who, then the ids and arrival times (ms since the
    # first message's commit) heard around that place, and the channel's ids there (empty while in order)
    disorder: str = ""


@dataclass
class Run:
    """A chat under a fault: the backend's answers, and once it is over, what the clients heard of it."""

    backend: Backend
    sockets: int = 0  # websockets the clients opened in all (2: they never reconnected)
    verdict: Verdict | None = None


def committed(database: str, channel: Channel) -> list[tuple[int, float]]:
    """The channel's messages by sequence number: (id, created at in ms since the epoch)."""
    with psycopg.connect(database.replace("postgres://", "postgresql://"), connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT id, extract(epoch FROM created_time) * 1000 FROM chat_message WHERE channel_id = %s "
            "ORDER BY sequence",
            [channel.pk],
        ).fetchall()
    return [(int(pk), float(created)) for pk, created in rows]


@contextmanager
def chatting(server: LiveServer, application: Application, channel: Channel, database: str) -> Iterator[Run]:
    """jane and bob chat while the backend sends; on leaving, jane sends through her client, and what each client
    heard is judged against what the database committed (``Verdict`` printed and checked)."""
    chatters = Chatters(server, application)
    backend = Backend(server.url, application, channel)
    backend.start()
    wait_for(lambda: backend.sent() >= RATE, "the backend to send for a second", 15)
    run = Run(backend)
    yield run
    sent = backend.sent()
    wait_for(lambda: backend.sent() >= sent + RATE, "the backend to send for a second after the fault", 60)
    backend.done.set()
    backend.join()
    chatters.tell("send from jane's client")
    # the last message: whatever came twice before it (a replay, a live copy) has arrived when a client hears it
    last = chatters.tell("send the end")["sent"]
    wait_for(lambda: all(last in dict(heard) for heard in chatters.heard.values()), "both clients to hear the end", 60)
    run.sockets = chatters.tell("end")["sockets"]
    truth = committed(database, channel)
    run.verdict = verdict = judge(truth, chatters.heard)
    print(f"\n{verdict} sockets={run.sockets} backend answers={collections.Counter(s for s, _ in backend.answers)}")
    assert verdict.lost == verdict.duplicated == {"jane": 0, "bob": 0}, verdict
    assert verdict.in_order, verdict
    assert len(truth) >= 2 * RATE + 2


def judge(truth: list[tuple[int, float]], heard: dict[str, list[tuple[int, int]]]) -> Verdict:
    """Compare what each client heard with what was committed, by message id (the channel's sequence order)."""
    order = [pk for pk, _ in truth]
    created = dict(truth)
    lost, duplicated, in_order, latency, gap, disorder = {}, {}, True, 0.0, 0.0, ""
    start = truth[0][1] if truth else 0.0
    for who, arrivals in heard.items():
        ids = [pk for pk, _ in arrivals]
        lost[who] = len(set(order) - set(ids))
        duplicated[who] = len(ids) - len(set(ids))
        if ids != order and not disorder:
            at = next((index for index, (a, b) in enumerate(zip(ids, order, strict=False)) if a != b), len(order))
            around = slice(max(0, at - 3), at + 4)
            near = [(pk, round(moment - start)) for pk, moment in arrivals[around]]
            disorder = f"{who} at {at}: heard {near}, committed {order[around]}"
        in_order &= ids == order
        latency = max([latency, *((at - created[pk]) / 1000 for pk, at in arrivals if pk in created)])
        gap = max([gap, *((b - a) / 1000 for (_, a), (_, b) in zip(arrivals, arrivals[1:], strict=False))])
    return Verdict(lost, duplicated, in_order, round(latency, 3), round(gap, 3), disorder)


def two_workers(server: LiveServer, without: int = 0) -> set[int]:
    """The server's two web processes (once it has two again, none of them ``without``)."""

    def found() -> set[int] | None:
        now = children(server.process.pid)
        return now if len(now) == 2 and without not in now else None

    workers: set[int] = wait_for(found, "two web processes")
    return workers


@pytest.fixture
def general(transactional_db: None) -> Channel:
    """#general of a new application, with jane and bob."""
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    return ChannelFactory.create(application=application, name="general", members=[jane, bob])


def test_a_redis_restart_under_sdk_clients_loses_nothing(own_redis: OwnRedis, general: Channel) -> None:
    # given two web processes on a Redis the test can kill
    with live_server(workers=2) as server, chatting(server, general.application, general, database_url()) as run:
        # when Redis dies for 2 s while the backend sends, and comes back
        own_redis.stop()
        time.sleep(2)
        own_redis.start()

    # then (checked on leaving ``chatting``) every message came once, in order; the backend was never refused
    assert {status for status, _ in run.backend.answers} == {200}
    assert run.verdict is not None
    assert run.verdict.worst_latency < 5
    assert run.sockets == 2  # the clients never noticed


def test_killing_web_processes_under_sdk_clients_loses_nothing(general: Channel) -> None:
    # given two web processes, each client connected to one of them
    with live_server(workers=2) as server, chatting(server, general.application, general, database_url()) as run:
        # when each is killed with SIGKILL in turn (the next once its replacement is up)
        for victim in two_workers(server):
            os.kill(victim, signal.SIGKILL)
            two_workers(server, without=victim)

    # then (checked on leaving ``chatting``) every message came once and in order, after each client reconnected
    assert run.sockets >= 4
    assert run.verdict is not None
    assert run.verdict.worst_latency < RECONNECT_SECONDS + 2


def test_a_postgresql_restart_under_sdk_clients_loses_nothing(general: Channel) -> None:
    # given Parley on a PostgreSQL cluster of the test's own (a copy of the test database)
    postgres = OwnPostgres()
    try:
        postgres.start()
        postgres.copy(database_url())
        with (
            live_server(workers=2, env=server_environment(postgres.url)) as server,
            chatting(server, general.application, general, postgres.url) as run,
        ):
            # when PostgreSQL crashes, stays down for 2 s and starts again
            before = len(run.backend.answers)
            postgres.crash()
            time.sleep(2)
            postgres.start()
            during = run.backend.answers[before:]
    finally:
        postgres.remove()

    # then sends were refused at once with 503 meanwhile, the clients' sessions survived, and nothing was lost
    refused = [seconds for status, seconds in during if status != 200]
    assert refused, during
    assert {status for status, _ in during} <= {200, 503}, during
    assert max(refused) < 5, during
    assert run.sockets == 2
    assert run.verdict is not None
    assert run.verdict.worst_latency < 5


def test_a_rolling_restart_under_sdk_clients_loses_nothing(general: Channel) -> None:
    # given two web processes
    with live_server(workers=2) as server, chatting(server, general.application, general, database_url()) as run:
        first = two_workers(server)
        # when every web process is replaced in turn (SIGHUP), draining its clients
        os.kill(server.process.pid, signal.SIGHUP)
        wait_for(lambda: not (children(server.process.pid) & first), "every worker to be replaced", 60)

    # then (checked on leaving ``chatting``) the backend was never refused, and each client heard every message once
    assert {status for status, _ in run.backend.answers} == {200}
    assert run.sockets >= 4  # each client was moved to a new process
    assert run.verdict is not None
    assert run.verdict.worst_latency < RECONNECT_SECONDS + 2
