"""Live fan-out benchmark (issue 3): StompX subscribers on one channel, messages sent through the Platform API.

Run ``.venv/bin/python -m bench.fanout`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the local server's
``parley_fanout`` database, dropped and re-created; Redis from ``REDIS_URL``). It starts the web server as bin/run does
(``config.serve``, two ASGI processes), then measures, with the Node.js load clients of ``fanout_clients.mjs``:

1. memory: server RSS added per idle connection, at ``--idle`` connections (each CONNECTed and subscribed);
2. the paced workload: ``--subs`` subscribers (all members of the channel), ``--events`` messages at ``--rate``/s;
3. the same workload with ``--stalled`` more subscribers that stop reading (issue 18: a slow client cannot hurt the
   others; the server closes one whose buffer passes ``PARLEY_WS_MAX_QUEUED_FRAMES`` / ``_BYTES``);
4. soketi on the same workload, in the same run, with the shared harness (``../shared/bench``), when installed;
5. the ramp: more subscribers until p99 passes 250 ms or a delivery is lost.

With ``--hosts`` it measures instead what a second host costs (issue 19): the paced workload on one Parley host, then
on two hosts sharing the database and Redis (each its own ``config.serve --workers W``, subscribers split between
them, messages sent through the first), with each host's CPU and the Redis commands per message.

Goals: 0 lost and p99 <= 100 ms for 500 subscribers at 20 messages/s on 2 cores; <= 64 KiB per idle connection.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from bench.harness import ROOT, cpu_seconds, migrated, recreate_database, rss_bytes, token, uvicorn

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_fanout"
CLIENTS = ROOT / "bench" / "fanout_clients.mjs"
PEERS = ROOT.parent / "shared" / "bench"


def seed(url: str, users: int, members: int) -> dict[str, Any]:
    """Migrate; create the application, ``users`` users and a public channel whose first ``members`` users belong."""
    migrated(url)
    from django.db import connection

    from chat.actions.applications import check_create_application
    from chat.actions.channels import check_create_channel
    from chat.actions.users import check_create_user

    application, secret = check_create_application("fanout", session_authentication="UNSECURED")
    created = [check_create_user(application, name=f"user-{i}", is_guest=False) for i in range(users)]
    channel, _ = check_create_channel(application, channel_type="PUBLIC", name="fanout", members=created[:members])
    connection.close()
    return {"key": application.key, "secret": secret, "channel": channel.pk, "sender": created[0].pk}


def node(*arguments: str, on_line: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Run a Node.js load client to the end (``on_line`` sees each plain line as it comes); its JSON result."""
    process = subprocess.Popen(  # noqa: S603  (fixed argv)
        ["node", *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None  # noqa: S101
    lines = []
    for line in process.stdout:
        if not line.startswith(("{", " ", "}")):
            on_line(line.strip())
        lines.append(line)
    _, errors = process.communicate(timeout=60)
    output = "".join(lines)
    if process.returncode != 0 or "{" not in output:
        raise RuntimeError(f"load client failed ({process.returncode}): {errors[-2000:]}")
    return dict(json.loads(output[output.index("{") :]))


def measured(server: int, *arguments: str, hosts: tuple[int, ...] = ()) -> dict[str, Any]:
    """Run the load clients with ``arguments``; add the server processes' CPU while events were being sent (and,
    for ``hosts``, each host's CPU and the Redis commands run meanwhile)."""
    servers = hosts or (server,)
    marks: dict[str, tuple[list[dict[int, float]], int]] = {}

    def mark(line: str) -> None:
        marks[line] = ([cpu_seconds(pid) for pid in servers], redis_calls())

    result = node(str(CLIENTS), *arguments, on_line=mark)
    seconds = result["publish_and_drain_s"]
    (before, calls_before), (after, calls_after) = marks["publishing"], marks["drained"]
    per_host = [
        [end - start.get(pid, 0.0) for pid, end in ended.items()] for start, ended in zip(before, after, strict=True)
    ]
    used = sorted((u for host in per_host for u in host), reverse=True)
    result["server_cpu"] = " + ".join(f"{u / seconds * 100:.0f}%" for u in used if u > 0.01)
    result["host_cpu_ms_per_message"] = [round(sum(host) * 1000 / result["events"], 1) for host in per_host]
    result["host_cpu_percent"] = [round(sum(host) / seconds * 100) for host in per_host]
    result["redis_commands_per_message"] = round((calls_after - calls_before) / result["events"], 1)
    return result


def redis_calls() -> int:
    """Commands Redis has run so far (all clients)."""
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        return sum(int(stats["calls"]) for stats in client.info("commandstats").values())
    finally:
        client.close()


def parley_run(
    base: str,
    data: dict[str, Any],
    auth: str,
    subs: int,
    args: argparse.Namespace,
    server: int,
    stalled: int = 0,
    second: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """The paced workload against Parley (StompX subscribers, ``stalled`` of them more that stop reading, messages
    through the Platform API); with a ``second`` host (base URL, server pid), half the subscribers connect there."""
    return measured(
        server,
        *("--url", base, "--key", data["key"], "--token", auth, "--channel", str(data["channel"])),
        *("--sender", str(data["sender"]), "--subs", str(subs), "--events", str(args.events)),
        *("--rate", str(args.rate), "--stalled", str(stalled), "--payload-bytes", str(args.payload_bytes)),
        *(("--url2", second[0]) if second else ()),
        hosts=(server, second[1]) if second else (server,),
    )


def idle_memory(base: str, data: dict[str, Any], server: int, count: int, deflate: bool = False) -> dict[str, Any]:
    """Server RSS before and while ``count`` idle sessions are connected and subscribed (offering permessage-deflate,
    as browsers do, with ``deflate``)."""
    time.sleep(1)
    before = rss_bytes(server)
    arguments = ["--url", base, "--key", data["key"], "--channel", str(data["channel"]), "--subs", str(count)]
    if deflate:
        arguments.append("--deflate")
    process = subprocess.Popen(  # noqa: S603  (fixed argv)
        ["node", str(CLIENTS), *arguments, "--hold"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None  # noqa: S101
        ready = json.loads(process.stdout.readline())
        time.sleep(3)
        during = rss_bytes(server)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    ready.update(rss_before_mb=round(before / 2**20, 1), rss_during_mb=round(during / 2**20, 1))
    ready["kib_per_connection"] = round((during - before) / max(1, ready["ready"]) / 1024, 1)
    return ready


@contextmanager
def soketi() -> Iterator[bool]:
    """soketi as ../shared/bench/README.md sets it up, if it is installed there (``npm install`` in its folder)."""
    folder = PEERS / "soketi"
    server = folder / "node_modules" / "@soketi" / "soketi" / "bin" / "server.js"
    if not server.exists() or not (PEERS / "node_modules").exists():
        yield False
        return
    process = subprocess.Popen(  # noqa: S603  (fixed argv)
        ["node", str(server), "start", "--config=soketi.json"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", 16001), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield True
    finally:
        process.terminate()
        process.wait(timeout=20)


def soketi_run(subs: int, args: argparse.Namespace) -> dict[str, Any]:
    """The same workload on soketi, through the shared harness."""
    found = node(
        str(PEERS / "bench_fanout.mjs"),
        *("--proto", "pusher", "--ws-base", "ws://127.0.0.1:16001", "--http", "http://127.0.0.1:16001"),
        *("--app-id", "app-id", "--key", "app-key", "--secret", "app-secret"),
        *("--subs", str(subs), "--events", str(args.events), "--rate", str(args.rate)),
    )
    latency = found["delivery_latency_ms"]
    return {
        "subscribers": found["connected"],
        "delivered": found["delivered"],
        "lost": found["missing"],
        "delivered_per_s": found["delivered_msgs_per_s"],
        "latency_ms": {"p50": latency["p50"], "p99": latency["p99"], "max": latency["max"]},
    }


def row(name: str, result: dict[str, Any]) -> str:
    """One line of the results table."""
    latency = result["latency_ms"]
    client_cpu = result.get("client_cpu_percent")
    clients = "" if client_cpu is None else f"  clients {client_cpu}%"
    cpu = f"server {result['server_cpu']}" if "server_cpu" in result else ""
    if "publish_ms" in result:
        cpu = f"POST p50 {result['publish_ms']['p50']} p99 {result['publish_ms']['p99']}; {cpu}"
    return (
        f"{name:<22}{result['subscribers']:>6}{result['delivered_per_s'] or 0:>12}"
        f"{latency['p50']:>9}{latency['p99']:>9}{latency['max']:>9}{result['lost']:>7}  {cpu}{clients}"
    )


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=500)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--stalled", type=int, default=10, help="subscribers that stop reading, in a run of their own")
    parser.add_argument("--payload-bytes", type=int, default=100)
    parser.add_argument("--idle", type=int, default=5000, help="connections for the memory run (0 skips it)")
    parser.add_argument("--deflate", action="store_true", help="idle clients offer permessage-deflate, as browsers do")
    parser.add_argument("--ramp", type=int, nargs="*", default=[1000, 1500, 2000, 3000], help="subscriber counts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=18766)
    parser.add_argument("--hosts", action="store_true", help="compare one host with two (issue 19) instead")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if args.hosts:
        compare_hosts(url, args)
        return

    recreate_database(url)
    users = max([args.subs + args.stalled, args.idle, *args.ramp])
    started = time.perf_counter()
    data = seed(url, users, args.subs + args.stalled)
    print(f"seeded {users} users in {time.perf_counter() - started:.0f} s", flush=True)

    lines = []
    with uvicorn(url, args.port, args.workers) as (base, server):
        auth = token(base, data["key"], data["secret"])
        parley_run(base, data, auth, 10, argparse.Namespace(events=20, rate=20, payload_bytes=100), server)  # warm-up
        memory = idle_memory(base, data, server, args.idle, deflate=args.deflate) if args.idle else None

        result = parley_run(base, data, auth, args.subs, args, server)
        lines.append(row("Parley", result))
        if args.stalled:
            result = parley_run(base, data, auth, args.subs, args, server, stalled=args.stalled)
            lines.append(row(f"Parley, {args.stalled} stalled", result))
            closed = f"{result['stalled_closed_by_server']} of {result['stalled']} stalled subscribers"
        for subs in args.ramp:
            result = parley_run(base, data, auth, subs, args, server)
            lines.append(row("Parley (ramp)", result))
            if result["lost"] or result["latency_ms"]["p99"] > 250:
                break
    with soketi() as present:
        if present:
            lines.insert(1, row("soketi 1.6 (same run)", soketi_run(args.subs, args)))

    print(f"\nFan-out: {args.events} messages at {args.rate:g}/s through the Platform API, config.serve --workers")
    print(f"{args.workers}, {os.cpu_count()} CPUs; latency = send start to receive, ms")
    print(f"{'server':<22}{'subs':>6}{'delivered/s':>12}{'p50':>9}{'p99':>9}{'max':>9}{'lost':>7}  CPU")
    print("\n".join(lines))
    if args.stalled:
        print(f"{closed} were closed by the server")
    if memory is not None:
        print(
            f"\nIdle connections: {memory['ready']} connected and subscribed in {memory['connect_s']} s; server RSS "
            f"{memory['rss_before_mb']} MB -> {memory['rss_during_mb']} MB = {memory['kib_per_connection']} KiB each"
        )
        if args.deflate:
            side = "on" if os.environ.get("PARLEY_WS_DEFLATE") else "off"
            print(f"(the clients offered permessage-deflate, as browsers do; the server's PARLEY_WS_DEFLATE {side})")


def compare_hosts(url: str, args: argparse.Namespace) -> None:
    """The paced workload on one host, then on two hosts sharing PostgreSQL and Redis."""
    recreate_database(url)
    data = seed(url, args.subs, args.subs)
    warm_up = argparse.Namespace(events=20, rate=20, payload_bytes=100)
    results = []
    with uvicorn(url, args.port, args.workers) as (base, server):
        auth = token(base, data["key"], data["secret"])
        parley_run(base, data, auth, 10, warm_up, server)
        results.append(("one host", parley_run(base, data, auth, args.subs, args, server)))
    with uvicorn(url, args.port, args.workers) as (base, server), uvicorn(url, args.port + 1, args.workers) as other:
        auth = token(base, data["key"], data["secret"])
        parley_run(base, data, auth, 10, warm_up, server, second=other)
        results.append(("two hosts", parley_run(base, data, auth, args.subs, args, server, second=other)))
    print(f"\nOne host vs two: {args.subs} subscribers, {args.events} messages at {args.rate:g}/s through the Platform")
    print(f"API; each host config.serve --workers {args.workers}, all on this machine ({os.cpu_count()} CPUs)")
    print(f"{'':<11}{'p50':>7}{'p99':>8}{'lost':>6}  {'CPU per host':<16}{'CPU ms/message per host':<26}Redis cmds/msg")
    for name, result in results:
        latency = result["latency_ms"]
        cpu = " + ".join(f"{c}%" for c in result["host_cpu_percent"])
        per_message = " + ".join(str(c) for c in result["host_cpu_ms_per_message"])
        print(
            f"{name:<11}{latency['p50']:>7}{latency['p99']:>8}{result['lost']:>6}  {cpu:<16}{per_message:<26}"
            f"{result['redis_commands_per_message']}"
        )


if __name__ == "__main__":
    main()
