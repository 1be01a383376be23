"""``/metrics`` in Prometheus's text format, for the series the apps declare (``chat.metrics``,
``platform_api.metrics``, ``functions.actions``, ``imports.actions``, ``imports.jobs``).

A host's processes share their values through files (prometheus-client's multiprocess mode): ``config.serve`` and
each Celery worker give their processes a fresh folder (``PROMETHEUS_MULTIPROC_DIR``) before any series exists, so
one scrape of a web process shows every web process of that ``config.serve``, and a worker's own port
(``PARLEY_WORKER_METRICS_PORT``) shows its pool. Both answer only a request bearing ``PARLEY_METRICS_TOKEN``; without a
token set, ``/metrics`` does not exist (404) on the public port.

prometheus-client decides when it is imported whether values live in files, so this module imports it only inside
its functions: ``config.serve``'s supervisor and the Celery worker call ``share_between_processes`` before the apps
(and their series) are imported.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from config.bodies import ASGIApp, Receive, Scope, Send

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def share_between_processes() -> Callable[[], None]:
    """Give this process and the ones it starts a fresh folder of metric files (unless the operator named one);
    what removes it again when they are all gone."""
    if os.environ.get(FOLDER_VARIABLE):
        return lambda: None
    folder = tempfile.mkdtemp(prefix="parley-metrics-")
    os.environ[FOLDER_VARIABLE] = folder
    return lambda: shutil.rmtree(folder, ignore_errors=True)


def process_gone(pid: int) -> None:
    """A process of this host stopped: its live gauges (connections, subscriptions, jobs running) no longer count."""
    if os.environ.get(FOLDER_VARIABLE):
        from prometheus_client import multiprocess  # noqa: PLC0415  (see the module's docstring)

        multiprocess.mark_process_dead(pid)


def exposition() -> bytes:
    """Every series of this host's processes (or of this process alone, outside multiprocess mode)."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess  # noqa: PLC0415

    if os.environ.get(FOLDER_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def authorized(authorization: str | None) -> bool | None:
    """Whether ``authorization`` (an HTTP Authorization header) bears the metrics token; None when no token is set
    (the endpoint is off)."""
    from django.conf import settings  # noqa: PLC0415  (the Celery worker's server reads it once Django is set up)

    token = settings.PARLEY_METRICS_TOKEN
    if not token:
        return None
    given = (authorization or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus's text format
ERRORS = {
    None: (404, b'{"error":"NotFoundError","message":"Metrics are off: set PARLEY_METRICS_TOKEN."}'),
    False: (401, b'{"error":"UnauthorizedError","message":"/metrics needs the metrics token (Bearer)."}'),
}


def metrics_endpoint(app: ASGIApp) -> ASGIApp:
    """Answer ``GET /metrics``; hand everything else to ``app``."""

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/metrics":
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        allowed = authorized(headers.get(b"authorization", b"").decode("latin-1"))
        if allowed is True:
            status, content_type, body = 200, CONTENT_TYPE, await asyncio.to_thread(exposition)
        else:
            (status, body), content_type = ERRORS[allowed], "application/json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return endpoint


def _wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    allowed = authorized(environ.get("HTTP_AUTHORIZATION"))
    if environ.get("PATH_INFO") != "/metrics":
        allowed = None
    if allowed is True:
        start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
        return [exposition()]
    status, body = ERRORS[allowed]
    start_response(
        f"{status} {'Not Found' if status == 404 else 'Unauthorized'}", [("Content-Type", "application/json")]
    )
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the signature of the base class)
        """Scrapes are not worth a log line each."""


def serve_worker_metrics(port: int) -> WSGIServer:
    """Serve ``/metrics`` of this Celery worker (main process and pool) on ``port``, in a thread."""
    server = make_server("0.0.0.0", port, _wsgi, handler_class=_QuietHandler)  # noqa: S104  (scraped from outside)
    # the worker forks its pool after this: no pool process keeps the port (it would outlive a killed worker)
    os.register_at_fork(after_in_child=server.socket.close)
    threading.Thread(target=server.serve_forever, name="parley-metrics", daemon=True).start()
    return server
