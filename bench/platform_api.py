"""Platform API benchmark: send-message throughput and latency against a bare insert and against the same SQL
through raw async psycopg (``bench.reference``), and deep-page list cost.

Run ``.venv/bin/python -m bench.platform_api`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the local server's
``parley_bench`` database, which is dropped and re-created). It starts the web server as ``bin/run`` does (two uvicorn
processes, no access log) on ``bench.settings``, then the same-SQL reference (as many processes), and prints one
table. Goals (issue 22): at 16 clients on 2 cores >= 650 messages/s with p99 <= 60 ms, >= 80% of the same-SQL
reference; p50 <= 4 ms at 1 client; the page 900,000 messages deep within 1.5x of the first page.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

from bench.harness import (
    ROOT,
    bench_environment,
    cpu_seconds,
    migrated,
    recreate_database,
    serving,
    token,
    uvicorn,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_bench"
MEMBERS = 10


@dataclass
class Result:
    """One measured run."""

    name: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float]
    worker_cpu: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


class Connection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: cheap enough to share two cores with the server."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.headers = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send one request and read the whole response."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None  # noqa: S101
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.headers}Content-Length: {len(body)}\r\n\r\n"
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    async def timed(self, name: str, make: Callable[[int], tuple], n: int) -> float:
        """Send request number ``n`` as ``make`` describes it; its latency in seconds (an unexpected status raises)."""
        method, path, body, expected = make(n)
        began = time.perf_counter()
        status, payload = await self.request(method, path, body)
        latency = time.perf_counter() - began
        if status != expected:
            raise RuntimeError(f"{name}: HTTP {status} {payload[:300]!r}")
        return latency


async def _measure(
    name: str, base: str, headers: dict[str, str], clients: int, seconds: float, make: Callable[[int], tuple]
) -> Result:
    url = urlparse(base)
    latencies: list[float] = []
    counter = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal counter
        connection = Connection(url.hostname or "127.0.0.1", url.port or 80, headers)
        while time.perf_counter() < deadline:
            counter += 1
            latencies.append(await connection.timed(name, make, counter))

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Result(name, clients, len(latencies), time.perf_counter() - began, latencies)


def measure(name: str, base: str, headers: dict[str, str], clients: int, seconds: float, make: Callable) -> Result:
    """Closed-loop load: ``clients`` connections each sending the next request as soon as the last is answered."""
    return asyncio.run(_measure(name, base, headers, clients, seconds, make))


@contextmanager
def reference_server(url: str, port: int, workers: int) -> Iterator[tuple[str, int]]:
    """``bench.reference`` (the send's SQL through raw async psycopg) on uvicorn, as many processes as Parley's."""
    command = [sys.executable, "-m", "uvicorn", "bench.reference:app", "--port", str(port), "--workers", str(workers)]
    command += ["--no-access-log", "--log-level", "warning"]
    with serving(command, bench_environment(url), port, "/") as found:
        yield found


def seed(url: str, deep_messages: int) -> dict[str, object]:
    """Migrate, then create the application, a 10-member channel, and a channel holding ``deep_messages`` messages."""
    migrated(url)
    from django.db import connection

    from chat.actions.applications import check_create_application
    from chat.actions.channels import check_create_channel
    from chat.actions.users import check_create_user

    application, secret = check_create_application("bench")
    users = [check_create_user(application, name=f"user-{i}", is_guest=False) for i in range(MEMBERS)]
    channel, _ = check_create_channel(application, channel_type="PUBLIC", name="bench", members=users)
    deep, _ = check_create_channel(application, channel_type="PUBLIC", name="deep", members=users[:2])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO chat_message (application_id, channel_id, thread_id, type, user_id, body, properties,
                                      nested_level, replies_count, report_count, created_time)
            SELECT %s, %s, %s, 'TEXT', %s, 'message ' || g, '{}'::jsonb, 0, 0, 0,
                   now() - (%s - g) * interval '1 millisecond'
            FROM generate_series(1, %s) AS g
            """,
            [application.pk, deep.pk, deep.main_thread_pk, users[0].pk, deep_messages, deep_messages],
        )
        cursor.execute("ANALYZE chat_message")
        cursor.execute(
            "SELECT id FROM chat_message WHERE channel_id = %s ORDER BY id DESC OFFSET %s LIMIT 1",
            [deep.pk, int(deep_messages * 0.9)],
        )
        deep_cursor = cursor.fetchone()[0]
    connection.close()
    return {
        "application": application.pk,
        "key": application.key,
        "secret": secret,
        "channel": channel.pk,
        "thread": channel.main_thread_pk,
        "users": [user.pk for user in users],
        "deep_channel": deep.pk,
        "deep_cursor": deep_cursor,
    }


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    parser.add_argument("--deep-messages", type=int, default=1_000_000)
    parser.add_argument("--list-requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    recreate_database(url)
    started = time.perf_counter()
    data = seed(url, args.deep_messages)
    print(f"seeded {args.deep_messages:,} messages in {time.perf_counter() - started:.0f} s", flush=True)

    users: list[int] = data["users"]  # type: ignore[assignment]
    json_headers = {"Content-Type": "application/json"}
    with uvicorn(url, args.port, args.workers) as (base, server):
        auth = {**json_headers, "Authorization": "Bearer " + token(base, str(data["key"]), str(data["secret"]))}

        def send(n: int) -> tuple:
            body = {"type": "TEXT", "body": f"hello {n}", "user": {"id": users[n % MEMBERS]}}
            return "POST", f"/v1/channels/{data['channel']}/messages", json.dumps(body).encode(), 200

        def bare(n: int) -> tuple:
            body = {k: data[k] for k in ("application", "channel", "thread")}
            body |= {"user": users[n % MEMBERS], "body": f"hello {n}"}
            return "POST", "/bench/insert", json.dumps(body).encode(), 201

        deep_path = f"/v1/channels/{data['deep_channel']}/messages"

        def first_page(_: int) -> tuple:
            return "GET", deep_path, b"", 200

        def deep_page(_: int) -> tuple:
            return "GET", f"{deep_path}?next={data['deep_cursor']}&relation=NEXT", b"", 200

        measure("warm-up", base, auth, 4, 2.0, send)
        measure("warm-up", base, json_headers, 4, 2.0, bare)
        results = []
        for clients in (1, 16):
            runs: list[tuple[str, dict[str, str], Callable[[int], tuple]]] = [
                ("send message", auth, send),
                ("bare insert", json_headers, bare),
            ]
            for name, headers, make in runs:
                before = cpu_seconds(server)
                results.append(measure(name, base, headers, clients, args.seconds, make))
                after = cpu_seconds(server)
                used = sorted((after[pid] - before.get(pid, 0.0) for pid in after), reverse=True)
                results[-1].worker_cpu = [round(seconds / results[-1].seconds * 100) for seconds in used]
        lists = []
        for name, page in (("first page", first_page), ("page 900k deep", deep_page)):
            measure("warm-up", base, auth, 1, 1.0, page)
            lists.append(asyncio.run(_count(name, base, auth, args.list_requests, page)))

        def same_sql(n: int) -> tuple:
            body = {"type": "TEXT", "body": f"hello {n}", "user": {"id": users[n % MEMBERS]}}
            return "POST", f"/ref/channels/{data['channel']}/messages", json.dumps(body).encode(), 200

        with reference_server(url, args.port + 1, args.workers) as (reference_base, reference_pid):
            measure("warm-up", reference_base, auth, 4, 2.0, same_sql)
            for clients in (1, 16):
                before = cpu_seconds(reference_pid)
                results.append(measure("same SQL", reference_base, auth, clients, args.seconds, same_sql))
                after = cpu_seconds(reference_pid)
                used = sorted((after[pid] - before.get(pid, 0.0) for pid in after), reverse=True)
                results[-1].worker_cpu = [round(seconds / results[-1].seconds * 100) for seconds in used]

    print(
        f"\nPlatform API on PostgreSQL, config.serve --workers {args.workers} (uvicorn), {os.cpu_count()} CPUs, "
        f"{args.seconds:.0f} s runs"
    )
    print(f"{'endpoint':<16}{'clients':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  server workers' CPU %")
    for result in results:
        print(
            f"{result.name:<16}{result.clients:>8}{result.rate:>10.0f}{result.percentile(0.5):>10.1f}"
            f"{result.percentile(0.99):>10.1f}  {' + '.join(map(str, result.worker_cpu))}"
        )
    for clients in (1, 16):
        sent, ceiling, reference = (r for r in results if r.clients == clients)
        print(
            f"send message at {clients} clients: {sent.rate / reference.rate:.0%} of the same SQL through raw async "
            f"psycopg, {sent.rate / ceiling.rate:.0%} of the bare insert"
        )
    first, deep = lists
    print(f"\nList channel messages ({args.deep_messages:,}-message channel, 25 per page, 1 client):")
    for result in lists:
        print(f"  {result.name:<16} p50 {result.percentile(0.5):6.1f} ms   p99 {result.percentile(0.99):6.1f} ms")
    print(f"  deep / first p50: {deep.percentile(0.5) / first.percentile(0.5):.2f}x")
    sent = next(r for r in results if r.clients == 16 and r.name == "send message")
    cpu_per_send = sum(sent.worker_cpu) / 100 / sent.rate * 1e6
    recording = metrics_cost()
    print(
        f"\nMetrics: recording one send's series costs {recording:.1f} us of CPU (multiprocess files, as config.serve "
        f"runs) = {recording / cpu_per_send:.2%} of the server CPU per send at 16 clients ({cpu_per_send:,.0f} us)"
    )


METRICS_COST = """
import os, tempfile, time
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
import django
django.setup()
from chat import metrics
from platform_api.metrics import REQUEST_SECONDS
count = 50_000
started = time.process_time()
for _ in range(count):
    REQUEST_SECONDS.labels("v1/channels/<int:channel_id>/messages", "POST", "200").observe(0.01)
    metrics.EVENTS_PUBLISHED.inc()
print((time.process_time() - started) / count * 1e6)
"""


def metrics_cost() -> float:
    """Microseconds of CPU that recording a send's series takes (its request's latency and its event's publication),
    in a process of its own in multiprocess mode."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "SECRET_KEY": "bench"}
    done = subprocess.run(  # noqa: S603  (fixed argv)
        [sys.executable, "-c", METRICS_COST], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


async def _count(name: str, base: str, headers: dict[str, str], count: int, make: Callable) -> Result:
    """Exactly ``count`` sequential requests (latency, not throughput)."""
    url = urlparse(base)
    connection = Connection(url.hostname or "127.0.0.1", url.port or 80, headers)
    began = time.perf_counter()
    latencies = [await connection.timed(name, make, n) for n in range(count)]
    return Result(name, 1, count, time.perf_counter() - began, latencies)


if __name__ == "__main__":
    main()
