"""Webhook benchmark (issue 20): one Celery worker (its relay process places events and sends webhooks) and a local
receiver (uvicorn, this file's ``receiver`` app, in a process of its own).

Run ``.venv/bin/python -m bench.webhooks`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the local server's
``parley_webhooks`` database, dropped and re-created; Redis from ``REDIS_URL``). It measures:

1. commit-to-first-attempt: ``--latency-events`` messages at 20/s, each event's commit time (``createdTime``) to its
   arrival at the receiver, p50 and p99 (goal: p50 <= 250 ms);
2. the outage: the receiver answers 503 while ``--events`` messages are made and for ``--outage-minutes`` in all,
   then comes back: how long until every event arrived (goal: 10,000 events after 10 minutes drained within 2 minutes),
   and deliveries per second while draining (goal >= 500/s for one worker on 2 cores).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bench.harness import ROOT, answer, celery_worker, migrated, read_body, recreate_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_webhooks"
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Receiver:
    """The ASGI receiver: keeps the arrival time of each event id; ``/control?status=`` sets its answer."""

    def __init__(self) -> None:
        self.status = 200
        self.arrived: dict[int, float] = {}
        self.created: dict[int, float] = {}
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        reply, status = b"ok", self.status
        if scope["path"] == "/control":
            self.status = int(scope["query_string"].decode().split("=")[1])
            reply, status = b"{}", 200
        elif scope["path"] == "/stats":
            reply, status = json.dumps({"arrived": self.arrived, "created": self.created}).encode(), 200
        else:
            self.requests += 1
            if status == 200:
                event = json.loads(body)
                self.arrived.setdefault(event["id"], time.time())
                created = datetime.fromisoformat(event["createdTime"].replace("Z", "+00:00")).timestamp()
                self.created[event["id"]] = created
        await answer(send, status, reply)


receiver = Receiver()


def call(url: str, method: str = "GET") -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read() or b"null") if answer.status == 200 else None


def stats(base: str) -> tuple[dict[int, float], dict[int, float]]:
    found = call(base + "/stats")
    return {int(k): v for k, v in found["arrived"].items()}, {int(k): v for k, v in found["created"].items()}


def make_events(channel: Any, user: Any, count: int, rate: float = 0.0) -> list[int]:
    """Send ``count`` messages (at ``rate`` per second, or as fast as they commit); the ids of their events."""
    from chat.actions.messages import check_send_message
    from chat.models import EventRecord

    started = time.perf_counter()
    ids = []
    for n in range(count):
        if rate:
            pause = started + n / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        message = check_send_message(channel, message_type="TEXT", body=f"webhook {n}", user=user)
        ids.append(
            EventRecord.objects.filter(type="message.created", resource_id=message.pk).values_list("id", flat=True)[0]
        )
    return ids


def wait_all(base: str, ids: list[int], timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived, _ = stats(base)
        if all(i in arrived for i in ids):
            return arrived
        time.sleep(0.2)
    arrived, _ = stats(base)
    missing = [i for i in ids if i not in arrived]
    raise RuntimeError(f"{len(missing)} of {len(ids)} events never arrived (e.g. {missing[:3]})")


def main() -> None:
    """Seed, run the receiver and a worker, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-events", type=int, default=300)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--outage-minutes", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18790)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    migrated(url)
    from chat.actions.applications import check_create_application
    from chat.actions.channels import check_create_channel
    from chat.actions.users import check_create_user
    from chat.actions.webhooks import check_create_endpoint

    base = f"http://127.0.0.1:{args.port}"
    application, _ = check_create_application("webhooks")
    user = check_create_user(application, name="sender", is_guest=False)
    channel, _ = check_create_channel(application, channel_type="PUBLIC", name="webhooks", members=[user])
    os.environ["PARLEY_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    from django.conf import settings

    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = True
    check_create_endpoint(application, url=base + "/hooks", event_types=["message.created"])
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.webhooks:receiver",
        "--port",
        str(args.port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT)  # noqa: S603  (fixed argv)
    try:
        time.sleep(2)
        with celery_worker(url, PARLEY_WEBHOOKS_ALLOW_PRIVATE="1"):
            ids = make_events(channel, user, args.latency_events, rate=20)
            arrived = wait_all(base, ids, 60)
            _, created = stats(base)
            latencies = sorted((arrived[i] - created[i]) * 1000 for i in ids)
            p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]

            call(base + "/control?status=503", "POST")
            down = time.monotonic()
            ids = make_events(channel, user, args.events)
            made_in = time.monotonic() - down
            remaining = args.outage_minutes * 60 - made_in
            if remaining > 0:
                time.sleep(remaining)
            call(base + "/control?status=200", "POST")
            back = time.time()
            arrived = wait_all(base, ids, 30 * 60)
            times = sorted(arrived[i] for i in ids)
            drain = times[-1] - back
            rate = len(ids) / max(times[-1] - times[0], 1e-3)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"\nWebhooks: one Celery worker (its relay process sends), a local receiver, {os.cpu_count()} CPUs")
    print(f"commit to first attempt ({args.latency_events} events at 20/s): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(
        f"outage: {args.events:,} events made in {made_in:.0f} s while the receiver answered 503 for "
        f"{max(made_in, args.outage_minutes * 60) / 60:.1f} min; back at t=0: all delivered after {drain:.1f} s, "
        f"{rate:,.0f} deliveries/s while draining"
    )


if __name__ == "__main__":
    main()
