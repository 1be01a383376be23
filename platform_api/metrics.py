"""Request latency by route and status, for every HTTP door (Platform API, OAuth, streams, room keys, dashboard):
``parley_http_request_duration_seconds``. The route is the URL pattern that matched (``v1/channels/<int:pk>``), never
the path, so that ids make no new series; a request no pattern matched counts as ``unmatched``.

The middleware is async-native under ASGI (it adds no thread hop) and plain under WSGI and the test client."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from prometheus_client import Histogram

REQUEST_SECONDS = Histogram(
    "parley_http_request_duration_seconds",
    "HTTP requests by route pattern, method and status, from the first middleware to the response.",
    ["route", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _observe(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None and match.route else "unmatched"
    method = request.method if request.method in METHODS else "OTHER"
    REQUEST_SECONDS.labels(route, method, str(response.status_code)).observe(time.perf_counter() - started)


@sync_and_async_middleware
def request_metrics_middleware(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]:
    """Time each request and count it under its route, method and status."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response = await get_response(request)
            _observe(request, response, started)
            return response

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = get_response(request)
        _observe(request, response, started)
        return response

    return sync_middleware
