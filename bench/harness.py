"""What every benchmark here shares: a fresh PostgreSQL database, the web server as bin/run starts it, a Platform API
token, and the CPU and memory of the server's processes read from /proc."""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def migrated(url: str) -> None:
    """Point Django at ``url`` with the benchmark settings, set it up, and migrate the (fresh) database."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def cpu_seconds(parent: int) -> dict[int, float]:
    """CPU time (user + system) of each child process of ``parent`` (uvicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def rss_bytes(parent: int) -> int:
    """Resident memory of the children of ``parent`` (uvicorn's workers) together, from /proc."""
    total = 0
    for pid in cpu_seconds(parent):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[tuple[str, int]]:
    """Run a server's ``command`` and wait until ``probe`` answers (any HTTP status); its base URL and pid."""
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603  (fixed argv)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + probe, timeout=1)  # noqa: S310  (our own http URL)
                break
            except urllib.error.HTTPError:  # it answered
                break
            except OSError:
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def bench_environment(url: str) -> dict[str, str]:
    """The environment of a server on the benchmark settings and database ``url``."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    env.setdefault("SECRET_KEY", "bench")
    return env


@contextmanager
def uvicorn(url: str, port: int, workers: int) -> Iterator[tuple[str, int]]:
    """The web server as bin/run starts it (``config.serve``: uvicorn processes), on the benchmark settings."""
    command = [sys.executable, "-m", "config.serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with serving(command, bench_environment(url), port, "/v1/openapi.json") as found:
        yield found


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole body of an ASGI request (the benchmarks' own small ASGI apps)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def answer(send: Callable[[dict[str, Any]], Awaitable[None]], status: int, payload: bytes) -> None:
    """Send a whole ASGI answer."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@contextmanager
def celery_worker(url: str, concurrency: int = 2, **env: str) -> Iterator[int]:
    """A Celery worker as bin/run starts it, on the benchmark settings (and ``env``); yields its pid."""
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings", **env}
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", str(concurrency)]
    process = subprocess.Popen([*command, "--loglevel", "warning"], cwd=ROOT, env=environment)  # noqa: S603
    try:
        time.sleep(4)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def token(base: str, key: str, secret: str) -> str:
    """A client-credentials token, as the SDKs get one."""
    request = urllib.request.Request(  # noqa: S310  (our own http URL)
        base + "/oauth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        return str(json.load(response)["access_token"])
