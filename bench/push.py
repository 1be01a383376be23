"""Push fan-out benchmark (issue 4): socket-service sockets (sails.io framing) on one channel name, events pushed
through ``POST /wssv/send``, side by side with soketi on the same workload in the same run.

Run ``.venv/bin/python -m bench.push`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the local server's
``parley_push`` database, dropped and re-created; Redis from ``REDIS_URL``). It starts the web server as bin/run does
(``config.serve``, two ASGI processes), then measures with the Node.js load clients of ``fanout_clients.mjs``
(``--proto sails``): ``--subs`` sockets subscribed to one channel, ``--events`` pushes at ``--rate``/s; then soketi
(``../shared/bench``, when installed) on the same workload.

Goal: 0 lost and p99 within 3x of soketi's.
"""

import argparse
import os
from typing import Any

from bench.fanout import measured, row, soketi, soketi_run
from bench.harness import migrated, recreate_database, uvicorn

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_push"
CHANNEL = "bench"


def seed(url: str) -> str:
    """Migrate; create the application; its socket service secret (what a backend pushes and subscribes with)."""
    migrated(url)
    from django.db import connection

    from chat.actions.applications import check_create_application, do_rotate_push_secret

    application, _ = check_create_application("push")
    secret = do_rotate_push_secret(application)
    connection.close()
    return secret


def push_run(base: str, secret: str, subs: int, args: argparse.Namespace, server: int) -> dict[str, Any]:
    """The paced workload against Parley: sails sockets, events through ``POST /wssv/send``."""
    return measured(
        server,
        *("--proto", "sails", "--url", base, "--secret", secret, "--channel", CHANNEL),
        *("--subs", str(subs), "--events", str(args.events), "--rate", str(args.rate)),
    )


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=500)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=18767)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    recreate_database(url)
    secret = seed(url)
    lines = []
    with uvicorn(url, args.port, args.workers) as (base, server):
        push_run(base, secret, 10, argparse.Namespace(events=20, rate=20), server)  # warm-up
        lines.append(row("Parley /wssv/send", push_run(base, secret, args.subs, args, server)))
    with soketi() as present:
        if present:
            lines.append(row("soketi 1.6 (same run)", soketi_run(args.subs, args)))
    print(f"\nPush fan-out: {args.events} events at {args.rate:g}/s over HTTP, config.serve --workers {args.workers},")
    print(f"{os.cpu_count()} CPUs; latency = push start to receive, ms")
    print(f"{'server':<22}{'subs':>6}{'delivered/s':>12}{'p50':>9}{'p99':>9}{'max':>9}{'lost':>7}  CPU")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
