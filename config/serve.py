"""Serve ``config.asgi:application`` with N uvicorn processes, each on its own SO_REUSEPORT socket.

``uvicorn --workers N`` lets N processes accept from one shared socket: whichever is awake takes a burst of new
keep-alive connections, so under load one process (one core, the GIL) serves nearly all of them while the others idle.
With one SO_REUSEPORT socket per process the kernel spreads connections evenly across processes.
Usage: ``python -m config.serve --host 127.0.0.1 --port 8000 --workers 2 [--log-level warning] [--no-access-log]``.
"""

import argparse
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
from types import FrameType

import uvicorn


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve(sock: socket.socket, log_level: str, access_log: bool) -> None:
    # Thousands of long-lived connection objects make CPython's default collection thresholds scan them often, in
    # pauses that land on message fan-out; collect the young generation less often (the approach of Instagram's).
    gc.set_threshold(50_000, 20, 100)
    config = uvicorn.Config(
        "config.asgi:application", log_level=log_level, access_log=access_log, lifespan="off", proxy_headers=True
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    """Start the workers and stop them all when one exits or a signal arrives."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1)))
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--no-access-log", action="store_true")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    workers = []
    for _ in range(args.workers):
        process = context.Process(
            target=_serve, args=(_socket(args.host, args.port), args.log_level, not args.no_access_log)
        )
        process.start()
        workers.append(process)

    def stop(signum: int, frame: FrameType | None) -> None:
        for process in workers:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    multiprocessing.connection.wait([process.sentinel for process in workers])
    stop(signal.SIGTERM, None)
    for process in workers:
        process.join(timeout=20)
    sys.exit(max(abs(process.exitcode or 0) for process in workers))


if __name__ == "__main__":
    main()
