"""The warm pool of Node.js workers that run chat functions, one per process that runs them (web servers for the
session hook, Celery workers for the rest).

A worker is a Node process started from a ``WorkerSpec`` in its application's sandbox (``functions.sandbox``): one
application's folder, environment and initialization script, so that no state crosses tenants. Idle workers wait
for the next run of the same spec; the pool holds at most ``PARLEY_FUNCTIONS_WORKERS`` processes and stops idle ones
of other specs to make room, and one application's runs hold at most ``PARLEY_FUNCTIONS_WORKERS_PER_APPLICATION``
of them at a time (the others wait), so that a tenant's slow handlers never take every worker. A run that overruns its
time kills its worker, a worker that dies (out of memory, ``process.exit``) fails its run; either way the pool
starts a fresh one the next time. The pool lives on its own asyncio loop in a daemon thread: synchronous callers
(tasks, commands) wait on ``run_sync``, asynchronous ones (the websocket consumer) on ``run``.
"""

import asyncio
import atexit
import collections
import contextlib
import json
import os
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from functions import sandbox
from functions.runtime import WorkerSpec, allowed_addresses

STDERR_LINES = 20
START_TIMEOUT_SECONDS = 30.0


@dataclass
class Outcome:
    """How a run ended."""

    ok: bool
    result: Any = None
    error: str = ""
    logs: list[str] = field(default_factory=list)
    duration_ms: float = 0.0


class WorkerLost(Exception):
    """The worker stopped answering: it died or overran; the message says which."""


class Worker:
    """One Node process and the pipes to it."""

    def __init__(self, spec: WorkerSpec, process: asyncio.subprocess.Process, marker: str) -> None:
        self.spec = spec
        self.process = process
        self.marker = marker.encode()
        self.stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())

    @classmethod
    async def start(cls, spec: WorkerSpec, bridge: sandbox.ApiBridge | None) -> "Worker":
        """Start a process for ``spec`` (reaching the API through ``bridge`` when sandboxed) and run its
        initialization script."""
        process = await asyncio.create_subprocess_exec(
            *spec.command(bridge.folder if bridge else None),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(spec.environment),
            cwd=spec.folder,
            limit=16 * 1024 * 1024,
            **sandbox.process_options(spec.application_id),
        )
        worker = cls(spec, process, "\x1e" + secrets.token_hex(8))
        init: dict[str, Any] = {
            "op": "init",
            "marker": worker.marker.decode(),
            "apiUrl": spec.api_url,
            "allowedAddresses": allowed_addresses(spec.api_url),
            "initScript": str(spec.initialization_script) if spec.initialization_script else None,
        }
        if bridge is not None:
            init["apiBridge"] = {"socket": sandbox.API_SOCKET_INSIDE, "port": sandbox.API_PORT}
            init["allowedAddresses"] = [f"127.0.0.1:{sandbox.API_PORT}"]
        try:
            answer, stray = await worker.request(init, START_TIMEOUT_SECONDS)
        except WorkerLost:
            worker.kill()
            raise
        if not answer.get("ok"):
            worker.kill()
            raise WorkerLost(f"The initialization script failed: {answer.get('error')}")
        return worker

    async def request(self, message: dict[str, Any], time_limit: float) -> tuple[dict[str, Any], list[str]]:
        """Send one request and wait for its answer; lines the script printed on its own come back as ``stray``."""
        assert self.process.stdin is not None  # noqa: S101  (pipes were asked for)
        assert self.process.stdout is not None  # noqa: S101
        stray: list[str] = []
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            await self.process.stdin.drain()
            async with asyncio.timeout(time_limit):
                while True:
                    line = await self.process.stdout.readline()
                    if not line:
                        raise WorkerLost(await self._death())
                    if line.startswith(self.marker):
                        return json.loads(line[len(self.marker) :]), stray
                    if line.strip():
                        stray.append(line.decode(errors="replace").rstrip("\n"))
        except TimeoutError as error:
            self.kill()
            raise WorkerLost(f"The function did not finish within {time_limit:g} s; its worker was stopped.") from error
        except (ConnectionError, BrokenPipeError) as error:
            raise WorkerLost(await self._death()) from error

    async def _drain_stderr(self) -> None:
        assert self.process.stderr is not None  # noqa: S101
        while line := await self.process.stderr.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def _death(self) -> str:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self.process.wait()
                await self._stderr_task
        said = " ".join(line.strip() for line in self.stderr if line.strip())[-1500:]
        code = self.process.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return f"The worker running the function {how}" + (f": {said}" if said else ".")

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.returncode is None

    def kill(self) -> None:
        """Stop the process at once."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


class Pool:
    """Warm workers by spec, at most ``capacity`` processes; runs wait for room when all are busy."""

    def __init__(self, capacity: int, per_application: int) -> None:
        self.capacity = capacity
        self.per_application = max(1, min(per_application, capacity))
        self.shares: dict[int, asyncio.Semaphore] = {}
        self.idle: dict[str, list[Worker]] = collections.defaultdict(list)
        self.count = 0
        self.room = asyncio.Condition()
        self.bridge: sandbox.ApiBridge | None = None

    async def run(self, spec: WorkerSpec, request: dict[str, Any], time_limit: float) -> Outcome:
        """Run one request on a worker of ``spec``, within its application's share of the workers."""
        share = self.shares.setdefault(spec.application_id, asyncio.Semaphore(self.per_application))
        async with share:
            return await self._run(spec, request, time_limit)

    async def _run(self, spec: WorkerSpec, request: dict[str, Any], time_limit: float) -> Outcome:
        started = time.perf_counter()
        try:
            worker = await self._checkout(spec)
        except (WorkerLost, OSError) as error:
            return Outcome(ok=False, error=str(error), duration_ms=(time.perf_counter() - started) * 1000)
        try:
            answer, stray = await worker.request(request, time_limit)
        except WorkerLost as error:
            await self._retire(worker)
            return Outcome(ok=False, error=str(error), duration_ms=(time.perf_counter() - started) * 1000)
        await self._checkin(worker)
        return Outcome(
            ok=bool(answer.get("ok")),
            result=answer.get("result"),
            error=str(answer.get("error") or ""),
            logs=stray + list(answer.get("logs") or []),
            duration_ms=float(answer.get("durationMs") or 0.0),
        )

    async def _checkout(self, spec: WorkerSpec) -> Worker:
        async with self.room:
            while True:
                idle = self.idle[spec.key]
                while idle:
                    worker = idle.pop()
                    if worker.alive:
                        return worker
                    self.count -= 1
                if self.count >= self.capacity:
                    self._stop_one_idle()
                if self.count < self.capacity:
                    self.count += 1
                    break
                await self.room.wait()
        try:
            return await Worker.start(spec, await self._bridge())
        except BaseException:
            await self._release_slot()
            raise

    async def _bridge(self) -> sandbox.ApiBridge | None:
        """The API bridge of this pool's sandboxed workers, opened with the first of them."""
        if not sandbox.enabled():
            return None
        if self.bridge is None:
            bridge = sandbox.ApiBridge()
            await bridge.start()
            self.bridge = bridge
        return self.bridge

    def _stop_one_idle(self) -> None:
        """Make room by stopping an idle worker of another spec (the oldest idle one of the first spec found)."""
        for key, workers in self.idle.items():
            if workers:
                workers.pop(0).kill()
                self.count -= 1
                if not workers:
                    del self.idle[key]
                return

    async def _checkin(self, worker: Worker) -> None:
        async with self.room:
            if worker.alive:
                self.idle[worker.spec.key].append(worker)
            else:
                self.count -= 1
            self.room.notify()

    async def _retire(self, worker: Worker) -> None:
        worker.kill()
        await self._release_slot()

    async def _release_slot(self) -> None:
        async with self.room:
            self.count -= 1
            self.room.notify()

    def stop(self) -> None:
        """Stop every idle worker (busy ones stop when their pipes close with this process)."""
        for workers in self.idle.values():
            for worker in workers:
                worker.kill()
        self.idle.clear()
        if self.bridge is not None:
            self.bridge.close()


class PoolThread:
    """This process's pool and the event loop it runs on."""

    def __init__(self, capacity: int, per_application: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="function-pool", daemon=True)
        self.thread.start()
        self.pool = Pool(capacity, per_application)
        atexit.register(self.close)

    def submit(self, spec: WorkerSpec, request: dict[str, Any], time_limit: float) -> "Future[Outcome]":
        """Start a run from any thread."""
        return asyncio.run_coroutine_threadsafe(self.pool.run(spec, request, time_limit), self.loop)

    def close(self) -> None:
        """Stop the workers and the loop."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.pool.stop)
            self.loop.call_soon_threadsafe(self.loop.stop)


_lock = threading.Lock()
_current: tuple[int, PoolThread] | None = None


def pool_thread() -> PoolThread:
    """This process's pool (a forked child makes its own)."""
    global _current  # noqa: PLW0603
    with _lock:
        if _current is None or _current[0] != os.getpid():
            thread = PoolThread(settings.PARLEY_FUNCTIONS_WORKERS, settings.PARLEY_FUNCTIONS_WORKERS_PER_APPLICATION)
            _current = (os.getpid(), thread)
        return _current[1]


def run_sync(spec: WorkerSpec, request: dict[str, Any], time_limit: float) -> Outcome:
    """Run and wait (from synchronous code)."""
    return pool_thread().submit(spec, request, time_limit).result()


async def run(spec: WorkerSpec, request: dict[str, Any], time_limit: float) -> Outcome:
    """Run and wait (from asynchronous code on another loop)."""
    return await asyncio.wrap_future(pool_thread().submit(spec, request, time_limit))
