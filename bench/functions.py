"""Chat functions benchmark (issue 5): the overhead of the synchronous session hook and of an asynchronous run, and
how many trivial runs per second a Celery worker gets through, all with warm Node.js pools.

Run ``.venv/bin/python -m bench.functions`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the local server's
``parley_functions`` database, dropped and re-created; Redis from ``REDIS_URL``). It starts the web server as
bin/run does (``config.serve``, two ASGI processes) and a Celery worker (``--concurrency 2``), then measures:

- session hook: CONNECT → CONNECTED of a STOMP websocket session, for an application with a trivial
  ``user.attempted.start_session`` function and for one without; the overhead is the difference of the medians;
- async run: a user's message committed → its ``user.sent.message`` handler starts (the handler returns
  ``Date.now()``), messages sent at ``--rate``/s;
- throughput: ``--runs`` trivial runs queued at once, finished per second.

Goal: session hook p50 overhead ≤ 20 ms; ≥ 200 trivial runs/s on 2 cores.
"""

import argparse
import os
import statistics
import time
from typing import Any

from websockets.sync.client import connect
from websockets.typing import Subprotocol

from bench.harness import celery_worker, migrated, recreate_database, uvicorn

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_functions"


def seed(url: str) -> dict[str, Any]:
    """Two applications (one with a session hook), a user each, a channel with a timing handler."""
    migrated(url)
    from chat.actions.applications import check_create_application
    from chat.actions.channels import check_create_channel
    from chat.actions.users import check_create_user
    from functions.actions import check_create_function, check_create_function_version

    seeded: dict[str, Any] = {}
    for name in ("hooked", "plain"):
        application, _ = check_create_application(name, session_authentication="UNSECURED")
        user = check_create_user(application, name="jane", display_name="Jane")
        seeded[name] = application.key
        if name == "hooked":
            hook = check_create_function(application, function_type="user.attempted.start_session", name="hook")
            check_create_function_version(hook, handler_script="function handleEvent(event) { return true; }")
            timed = check_create_function(application, function_type="user.sent.message", name="timed")
            check_create_function_version(timed, handler_script="function handleEvent() { return Date.now(); }")
            channel, _ = check_create_channel(application, channel_type="PUBLIC", name="general", creator=user)
            seeded.update(channel=channel.pk, user=user.pk, timed=timed.pk)
    return seeded


def connect_ms(base: str, key: str) -> float:
    """One STOMP session: CONNECT sent → CONNECTED received, in ms."""
    url = f"{base.replace('http', 'ws', 1)}/rtm/websocket?api-key={key}"
    with connect(url, subprotocols=[Subprotocol("v12.stomp")]) as ws:
        started = time.perf_counter()
        ws.send("CONNECT\naccept-version:1.2\nhost:parley\nStompX-User:jane\n\n\x00")
        answer = str(ws.recv(timeout=10))
        elapsed = (time.perf_counter() - started) * 1000
        if not answer.startswith("CONNECTED"):
            raise RuntimeError(answer)
        return elapsed


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def session_hook(base: str, seeded: dict[str, Any], sessions: int) -> dict[str, tuple[float, float]]:
    """Connect times with and without the hook, interleaved (after a warm-up of each)."""
    for _ in range(10):
        connect_ms(base, seeded["hooked"])
        connect_ms(base, seeded["plain"])
    hooked, plain = [], []
    for _ in range(sessions):
        hooked.append(connect_ms(base, seeded["hooked"]))
        plain.append(connect_ms(base, seeded["plain"]))
    return {"hooked": percentiles(hooked), "plain": percentiles(plain)}


def async_runs(seeded: dict[str, Any], count: int, rate: float) -> tuple[float, float]:
    """Message committed → handler started, ms."""
    from chat.actions.messages import check_send_message
    from chat.models import Channel, ChatUser
    from functions.models import Invocation

    channel = Channel.objects.get(pk=seeded["channel"])
    user = ChatUser.objects.get(pk=seeded["user"])
    delays = []
    for _ in range(count):
        seen = Invocation.objects.filter(function_id=seeded["timed"]).count()
        sent = time.time()
        check_send_message(channel, message_type="TEXT", user=user, body="timed")
        deadline = time.monotonic() + 10
        while Invocation.objects.filter(function_id=seeded["timed"], status="SUCCEEDED").count() <= seen:
            if time.monotonic() > deadline:
                raise RuntimeError("a run did not finish within 10 s")
            time.sleep(0.002)
        started = Invocation.objects.filter(function_id=seeded["timed"]).latest("id").result
        delays.append(float(started or 0) - sent * 1000)
        time.sleep(max(0.0, 1 / rate - (time.time() - sent)))
    return percentiles(delays)


def throughput(seeded: dict[str, Any], runs: int) -> float:
    """Trivial runs queued at once, finished per second."""
    from functions.models import Invocation
    from functions.tasks import run_function

    before = Invocation.objects.filter(status="SUCCEEDED").count()
    started = time.perf_counter()
    for _ in range(runs):
        run_function.delay(seeded["timed"], {}, [])
    while Invocation.objects.filter(status="SUCCEEDED").count() < before + runs:
        time.sleep(0.05)
    return runs / (time.perf_counter() - started)


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--port", type=int, default=18769)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    api_url = f"http://127.0.0.1:{args.port}"
    os.environ["PARLEY_API_URL"] = api_url

    recreate_database(url)
    seeded = seed(url)
    with uvicorn(url, args.port, 2) as (base, _), celery_worker(url, PARLEY_API_URL=api_url):
        hook = session_hook(base, seeded, args.sessions)
        async_runs(seeded, 20, args.rate)  # warm the worker's pools
        delays = async_runs(seeded, args.messages, args.rate)
        rate = throughput(seeded, args.runs)
    overhead = hook["hooked"][0] - hook["plain"][0]
    print(f"\nChat functions: config.serve --workers 2 and a Celery worker --concurrency 2, {os.cpu_count()} CPUs")
    print(f"{'measure':<48}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'CONNECT -> CONNECTED, with a session hook':<48}{hook['hooked'][0]:>9.1f}{hook['hooked'][1]:>9.1f}")
    print(f"{'CONNECT -> CONNECTED, without':<48}{hook['plain'][0]:>9.1f}{hook['plain'][1]:>9.1f}")
    print(f"{'session hook overhead (difference of p50s)':<48}{overhead:>9.1f}")
    print(f"{'message committed -> async handler started':<48}{delays[0]:>9.1f}{delays[1]:>9.1f}")
    print(f"trivial runs queued at once: {rate:.0f} runs/s ({args.runs} runs)")


if __name__ == "__main__":
    main()
