"""Serve ``config.asgi:application`` with N uvicorn processes, each on its own SO_REUSEPORT socket, and replace a
process that dies (a crash loop stops everything, with a message). SIGTERM drains every worker (requests finish,
websockets are told to reconnect elsewhere, within ``PARLEY_DRAIN_SECONDS``); SIGHUP restarts them one at a time.

``uvicorn --workers N`` lets N processes accept from one shared socket: whichever is awake takes a burst of new
keep-alive connections, so under load one process (one core, the GIL) serves nearly all of them while the others idle.
With one SO_REUSEPORT socket per process the kernel spreads connections evenly across processes.
Usage: ``python -m config.serve --host 127.0.0.1 --port 8000 --workers 2 [--log-level warning] [--no-access-log]``.
"""

import argparse
import gc
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.synchronize
import os
import signal
import socket
import sys
import time
from types import FrameType

import uvicorn

from config.metrics import process_gone, share_between_processes

logger = logging.getLogger("parley.serve")
DRAIN_SECONDS = int(os.environ.get("PARLEY_DRAIN_SECONDS", "20"))  # how long a stopping worker may finish its work
# permessage-deflate on websockets, off unless asked for: browsers offer it, and each socket that takes it holds its
# own compressor (83 KiB per idle connection instead of 41, measured by bench.fanout --deflate with and without) and
# compresses every frame again, for frames of a few hundred bytes; a proxy in front may compress instead.
WS_DEFLATE = os.environ.get("PARLEY_WS_DEFLATE", "").strip().lower() in {"1", "true", "yes", "on"}


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, saying when it accepts connections."""

    def __init__(self, config: uvicorn.Config, ready: "multiprocessing.synchronize.Event") -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then say so."""
        await super().startup(sockets=sockets)
        self.ready.set()


def _serve(sock: socket.socket, log_level: str, access_log: bool, ready: "multiprocessing.synchronize.Event") -> None:
    # Thousands of long-lived connection objects make CPython's default collection thresholds scan them often, in
    # pauses that land on message fan-out; collect the young generation less often (the approach of Instagram's).
    gc.set_threshold(50_000, 20, 100)
    # On SIGTERM uvicorn stops accepting, closes websockets with 1012 (service restart: the SDK reconnects and resumes
    # elsewhere) and lets requests finish, for at most PARLEY_DRAIN_SECONDS.
    # With PARLEY_LOG_FORMAT=json, uvicorn's lines go through Django's logging (one JSON object per line).
    own_logging = os.environ.get("PARLEY_LOG_FORMAT") == "json"
    config = uvicorn.Config(
        "config.asgi:application",
        log_config=None if own_logging else uvicorn.config.LOGGING_CONFIG,
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        proxy_headers=True,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        ws_per_message_deflate=WS_DEFLATE,
        ws="config.websocket:DirectWebSocketProtocol",  # lends each socket's transport for fan-out (issue 22)
    )
    _Server(config, ready).run(sockets=[sock])


# A worker that dies is replaced after a pause that doubles while it keeps dying young, up to the last; this many
# deaths within the window is a crash loop: everything stops, with a message, rather than restarting forever.
RESTART_FIRST_SECONDS = 0.5
RESTART_MAX_SECONDS = 8.0
CRASH_LOOP_DEATHS = 5
CRASH_LOOP_WINDOW_SECONDS = 60.0
YOUNG_SECONDS = 10.0  # a worker that lived less than this died young


def _status(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit status {exitcode}"


class Supervisor:
    """Keeps ``count`` uvicorn processes running, each on its own socket: a worker that dies is logged and replaced
    (its socket, held here, keeps the connections the kernel routes to it until the new worker takes them)."""

    def __init__(self, sockets: list[socket.socket], log_level: str, access_log: bool) -> None:
        self.sockets = sockets
        self.log_level = log_level
        self.access_log = access_log
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[multiprocessing.process.BaseProcess] = []
        self.started: list[float] = []
        self.pauses = [RESTART_FIRST_SECONDS] * len(sockets)
        self.deaths: list[float] = []
        self.stopping = False
        self.rolling = False
        self.events: dict[int, multiprocessing.synchronize.Event] = {}

    def start(self, slot: int) -> "multiprocessing.synchronize.Event":
        """Start the worker of one socket; the event is set once it accepts connections."""
        ready = self.context.Event()
        self.events[slot] = ready  # kept: the child opens it by name, and it is gone once nothing here holds it
        process = self.context.Process(target=_serve, args=(self.sockets[slot], self.log_level, self.access_log, ready))
        process.start()
        if slot < len(self.workers):
            self.workers[slot], self.started[slot] = process, time.monotonic()
        else:
            self.workers.append(process)
            self.started.append(time.monotonic())
        return ready

    def roll(self, signum: int = signal.SIGHUP, frame: FrameType | None = None) -> None:
        """Ask for a rolling restart (SIGHUP): each worker in turn is replaced by a new one, then drained."""
        self.rolling = True

    def restart_each(self) -> None:
        """Replace the workers one at a time: the new one accepts on the same socket before the old one drains, so
        no connection is refused and the old one's websockets resume on the others."""
        self.rolling = False
        logger.warning("rolling restart of %d web workers", len(self.workers))
        for slot, old in enumerate(list(self.workers)):
            if self.stopping:
                return
            ready = self.start(slot)
            if not ready.wait(timeout=60):
                logger.error("web worker %d did not start; the rolling restart stops here", slot)
                return
            old.terminate()
            old.join(timeout=DRAIN_SECONDS + 10)
            if old.is_alive():
                old.kill()
                old.join()
            process_gone(old.pid or 0)
        logger.warning("rolling restart done")

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        """Stop every worker (uvicorn finishes its requests and closes its websockets on SIGTERM)."""
        self.stopping = True
        for process in self.workers:
            if process.is_alive():
                process.terminate()

    def run(self) -> int:
        """Supervise until a signal or a crash loop; the exit status."""
        for slot in range(len(self.sockets)):
            self.start(slot)
        while not self.stopping:
            multiprocessing.connection.wait([process.sentinel for process in self.workers], timeout=1.0)
            if self.rolling:
                self.restart_each()
            for slot, process in enumerate(self.workers):
                if self.stopping or process.is_alive():
                    continue
                if not self.replace(slot, process):
                    self.stop()
                    self.join()
                    return 1
        self.join()
        return 0

    def join(self) -> None:
        """Wait for the stopped workers; kill one that does not finish in time."""
        for process in self.workers:
            process.join(timeout=20)
            if process.is_alive():
                process.kill()
                process.join()

    def replace(self, slot: int, dead: multiprocessing.process.BaseProcess) -> bool:
        """Log a worker's death and start another after a pause; False in a crash loop."""
        now = time.monotonic()
        self.deaths = [death for death in self.deaths if now - death < CRASH_LOOP_WINDOW_SECONDS] + [now]
        if len(self.deaths) >= CRASH_LOOP_DEATHS:
            logger.error(
                "web worker %d (pid %s) died (%s): %d deaths in %.0f s is a crash loop, stopping",
                slot, dead.pid, _status(dead.exitcode), len(self.deaths), CRASH_LOOP_WINDOW_SECONDS,
            )  # fmt: skip
            return False
        young = now - self.started[slot] < YOUNG_SECONDS
        pause = self.pauses[slot] if young else RESTART_FIRST_SECONDS
        self.pauses[slot] = min(RESTART_MAX_SECONDS, pause * 2)
        process_gone(dead.pid or 0)
        logger.error(
            "web worker %d (pid %s) died (%s); starting another in %.1f s",
            slot,
            dead.pid,
            _status(dead.exitcode),
            pause,
        )
        time.sleep(pause)
        if not self.stopping:
            self.start(slot)
        return True


def main() -> None:
    """Start the workers, replace those that die, and stop them all on a signal or a crash loop."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1)))
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()

    sockets = [_socket(args.host, args.port) for _ in range(args.workers)]
    remove_metrics = share_between_processes()
    supervisor = Supervisor(sockets, args.log_level, not args.no_access_log)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGHUP, supervisor.roll)
    status = supervisor.run()
    remove_metrics()
    sys.exit(status)


if __name__ == "__main__":
    main()
