"""Soak benchmark (issue 18): live chat for N minutes while Redis restarts and web processes are killed.

Run ``.venv/bin/python -m bench.soak`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the local server's
``parley_soak`` database, dropped and re-created; a redis-server of its own on a free port, so that it can restart
it). It starts the web server as ``bin/run`` does (``config.serve``, two processes) and ``--subscribers`` StompX
clients on one channel that behave as the SDK does: when their connection is lost they connect again after
``--reconnect-seconds``, resuming their session. A backend sends ``--rate`` messages a second through the Platform
API. Every ``--fault-every`` seconds Redis is killed and started again 2 s later; half-way between, one web process is
killed with SIGKILL (always the youngest, so that the other lives through the whole run).

It prints, from the channel's sequence numbers against the database: delivered, lost and duplicated deliveries; the
p99 latency (send to receive) outside the fault windows (the 20 s after each fault); the longest interruption of each
fault (the longest time any client heard nothing during its window); and the RSS of each server process at the start
and end. Goals: 0 lost, 0 duplicated, interruption <= 5 s per fault, RSS growth < 10% over the run.
"""

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil
import psycopg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.harness import migrated, recreate_database, token, uvicorn

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_soak"
FAULT_WINDOW_SECONDS = 20.0
WARM_UP_SECONDS = 60.0


@dataclass
class Subscriber:
    """One client: each message it heard as (sequence, seconds from send to receipt, when it was heard)."""

    name: str
    heard: list[tuple[int, float, float]] = field(default_factory=list)
    session: str = ""
    connections: int = 0


async def subscribe(url: str, topic: str, client: Subscriber, reconnect: float, ready: asyncio.Event) -> None:
    """Listen for as long as the run lasts; resume the session after every lost connection."""
    from chat.realtime.stomp import SERVER_COMMANDS, Frame, FrameParser

    while True:
        try:
            async with connect(url, subprotocols=["v12.stomp"], open_timeout=10) as socket:  # type: ignore[list-item]
                client.connections += 1
                headers = {"StompX-User": client.name, "accept-version": "1.2", "heart-beat": "0,0"}
                if client.session:
                    headers["StompX-Auth-Session-ID"] = client.session
                await socket.send(Frame("CONNECT", headers).encode().decode())
                subscription = {"id": "m", "destination": topic, "receipt": "r"}
                await socket.send(Frame("SUBSCRIBE", subscription).encode().decode())
                parser = FrameParser(10**7, SERVER_COMMANDS)
                async for text in socket:
                    now = time.time()
                    for frame in parser.feed(text.encode() if isinstance(text, str) else text):
                        if frame.command == "CONNECTED":
                            client.session = frame.headers["session"]
                        elif frame.command == "RECEIPT":
                            ready.set()
                        elif frame.command == "MESSAGE":
                            sent = orjson.loads(orjson.loads(frame.body)["resource"]["body"])["t"]
                            client.heard.append((int(frame.headers["sequence"]), now - sent, now))
        except (ConnectionClosed, OSError, TimeoutError):
            pass
        await asyncio.sleep(reconnect)


def send(base: str, auth: str, channel: int, sender: int, rate: float, stop: threading.Event, sent: list[int]) -> None:
    """The backend: ``rate`` messages a second, each carrying the time it was sent; notes each answer's status."""
    while not stop.is_set():
        started = time.monotonic()
        body = orjson.dumps({"type": "TEXT", "user": {"id": sender}, "body": orjson.dumps({"t": time.time()}).decode()})
        request = urllib.request.Request(  # noqa: S310  (our own http URL)
            f"{base}/v1/channels/{channel}/messages",
            data=body,
            headers={"Authorization": f"Bearer {auth}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                sent.append(answer.status)
        except urllib.error.HTTPError as error:
            sent.append(error.code)
        except OSError:
            sent.append(0)
        stop.wait(max(0.0, 1 / rate - (time.monotonic() - started)))


def seed(url: str, subscribers: int) -> dict[str, Any]:
    """Migrate; an application, the users and one channel they all belong to."""
    migrated(url)
    from django.db import connection

    from chat.actions.applications import check_create_application
    from chat.actions.channels import check_create_channel
    from chat.actions.users import check_create_user

    application, secret = check_create_application("soak", session_authentication="UNSECURED")
    users = [check_create_user(application, name=f"user-{i}", is_guest=False) for i in range(subscribers)]
    channel, _ = check_create_channel(application, channel_type="PUBLIC", name="soak", members=users)
    connection.close()
    return {"key": application.key, "secret": secret, "channel": channel.pk, "sender": users[0].pk}


def rss(server: int, redis_pid: int) -> dict[str, float]:
    """RSS in MiB of the supervisor, each web process and Redis."""
    supervisor = psutil.Process(server)
    found = {f"supervisor {server}": supervisor.memory_info().rss / 2**20}
    for child in supervisor.children():
        if "spawn_main" in " ".join(child.cmdline()):
            found[f"web {child.pid}"] = child.memory_info().rss / 2**20
    found[f"redis {redis_pid}"] = psutil.Process(redis_pid).memory_info().rss / 2**20
    return {name: round(value, 1) for name, value in found.items()}


def web_processes(server: int) -> list[psutil.Process]:
    """The live web processes, oldest first."""
    children = [c for c in psutil.Process(server).children() if "spawn_main" in " ".join(c.cmdline())]
    return sorted(children, key=lambda child: child.create_time())


async def soak(args: argparse.Namespace, base: str, server: int, data: dict[str, Any], redis: Any) -> dict[str, Any]:
    """Run the chat and the faults; gather what the clients heard."""
    url = base.replace("http", "ws") + f"/rtm/websocket?api-key={data['key']}"
    topic = f"/topic/channels/{data['channel']}/messages"
    clients = [Subscriber(f"user-{i}") for i in range(args.subscribers)]
    readies = [asyncio.Event() for _ in clients]
    tasks = [
        asyncio.create_task(subscribe(url, topic, client, args.reconnect_seconds, ready))
        for client, ready in zip(clients, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 120)
    await asyncio.sleep(2)
    stop = threading.Event()
    answers: list[int] = []
    auth = token(base, data["key"], data["secret"])
    sender = threading.Thread(
        target=send, args=(base, auth, data["channel"], data["sender"], args.rate, stop, answers), daemon=True
    )
    started = time.time()
    sender.start()
    samples: list[tuple[float, float]] = []
    sampling = asyncio.create_task(sample(server, started, args.sample_every, samples))
    await asyncio.sleep(WARM_UP_SECONDS)  # the first messages fill caches and thread pools: RSS is measured after
    memory_start = rss(server, redis.process.pid)
    faults: list[tuple[str, float]] = []
    end = started + args.minutes * 60
    next_fault = started + args.fault_every
    while time.time() < end - FAULT_WINDOW_SECONDS:
        await asyncio.sleep(max(0.0, min(next_fault, end) - time.time()))
        if time.time() >= end - FAULT_WINDOW_SECONDS:
            break
        kind = "redis restart" if len(faults) % 2 == 0 else "web process killed"
        faults.append((kind, time.time()))
        print(f"{time.time() - started:7.1f} s  {kind}", flush=True)
        if kind == "redis restart":
            redis.stop()
            await asyncio.sleep(2)
            redis.start()
        else:
            os.kill(web_processes(server)[-1].pid, signal.SIGKILL)
        next_fault += args.fault_every / 2
    await asyncio.sleep(max(0.0, end - time.time()))
    stop.set()
    sender.join()
    await asyncio.sleep(args.reconnect_seconds + 5)  # the last deliveries, and catching up
    memory_end = rss(server, redis.process.pid)
    sampling.cancel()
    for task in tasks:
        task.cancel()
    return {
        "clients": clients,
        "faults": faults,
        "answers": answers,
        "started": started,
        "memory": (memory_start, memory_end),
        "samples": samples,
    }


async def sample(server: int, started: float, every: float, samples: list[tuple[float, float]]) -> None:
    """Every ``every`` seconds, the RSS (MiB) of the oldest web process (the one no fault kills)."""
    while True:
        await asyncio.sleep(every)
        oldest = web_processes(server)[0]
        samples.append((time.time() - started, oldest.memory_info().rss / 2**20))


def committed(url: str, channel: int) -> list[int]:
    """The channel's sequence numbers, from the database."""
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as connection:
        rows = connection.execute("SELECT sequence FROM chat_message WHERE channel_id = %s", [channel]).fetchall()
    return sorted(int(sequence) for (sequence,) in rows)


def report(outcome: dict[str, Any], truth: list[int], args: argparse.Namespace) -> None:
    """Print the figures."""
    clients: list[Subscriber] = outcome["clients"]
    expected = set(truth)
    lost = sum(len(expected - {sequence for sequence, _, _ in client.heard}) for client in clients)
    duplicated = sum(len(client.heard) - len({sequence for sequence, _, _ in client.heard}) for client in clients)
    missing: dict[int, int] = {}
    for client in clients:
        for sequence in expected - {sequence for sequence, _, _ in client.heard}:
            missing[sequence] = missing.get(sequence, 0) + 1
    windows = [(at, at + FAULT_WINDOW_SECONDS) for _, at in outcome["faults"]]
    calm = sorted(
        latency
        for client in clients
        for _, latency, heard_at in client.heard
        if not any(start <= heard_at <= stop for start, stop in windows)
    )
    p99 = calm[int(0.99 * (len(calm) - 1))] * 1000 if calm else float("nan")
    print(f"\nSoak: {args.minutes:g} min, {len(clients)} subscribers, {args.rate:g} messages/s, a fault every "
          f"{args.fault_every / 2:g} s (Redis restart and web process kill in turn), clients reconnect after "
          f"{args.reconnect_seconds:g} s; config.serve --workers 2, {os.cpu_count()} CPUs")  # fmt: skip
    answers = outcome["answers"]
    print(f"sent {len(truth)} messages ({answers.count(200)} answered 200, {len(answers) - answers.count(200)} not)")
    print(f"deliveries: {sum(len(c.heard) for c in clients)} delivered, {lost} lost, {duplicated} duplicated "
          f"(expected {len(truth) * len(clients)})")  # fmt: skip
    if missing:
        print("missed (sequence: clients):", ", ".join(f"{seq}: {n}" for seq, n in sorted(missing.items())[:20]))
    print(f"latency outside the fault windows: p50 {statistics.median(calm) * 1000:.1f} ms, p99 {p99:.1f} ms")
    for kind, at in outcome["faults"]:
        longest = 0.0
        for client in clients:
            times = [at] + [heard for _, _, heard in client.heard if at <= heard <= at + FAULT_WINDOW_SECONDS]
            longest = max(longest, *(b - a for a, b in zip(times, times[1:], strict=False)), 0.0)
        print(f"  {at - outcome['started']:7.1f} s  {kind:<20} longest interruption {longest:.2f} s")
    print(f"reconnections: {sum(c.connections - 1 for c in clients)}")
    trend = ", ".join(f"{at / 60:.0f} min {mib:.0f}" for at, mib in outcome["samples"])
    print(f"RSS of the web process that lived through the run (MiB): {trend}")
    start, end = outcome["memory"]
    print("RSS (MiB) after the first minute and at the end:")
    for name in sorted(set(start) | set(end)):
        print(f"  {name:<22}{start.get(name, '-'):>8}{end.get(name, '-'):>8}")
    print(f"  {'all':<22}{sum(start.values()):>8.1f}{sum(end.values()):>8.1f}")


def main() -> None:
    """Seed, serve, soak, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--fault-every", type=float, default=300, help="seconds between two Redis restarts")
    parser.add_argument("--reconnect-seconds", type=float, default=1.0)
    parser.add_argument("--sample-every", type=float, default=60, help="seconds between two RSS samples")
    parser.add_argument("--port", type=int, default=18767)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    from tests.live import OwnRedis

    redis = OwnRedis(Path(tempfile.mkdtemp(prefix="parley-soak-")))
    redis.start()
    os.environ["REDIS_URL"] = redis.url
    recreate_database(url)
    data = seed(url, args.subscribers)
    try:
        with uvicorn(url, args.port, 2) as (base, server):
            outcome = asyncio.run(soak(args, base, server, data, redis))
        report(outcome, committed(url, data["channel"]), args)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
