"""Which functions caused a request: what a function does through its context must not trigger that same function.

A worker's API clients send ``X-Parley-Origin``: the application and the chain of functions that led to the run,
signed by Parley. ``OriginMiddleware`` reads it into a context variable for the request; the trigger dispatcher
skips the functions in the chain (so neither a function nor a ring of functions can call itself forever).
"""

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

HEADER = "X-Parley-Origin"
SALT = "parley.functions.origin"
MAX_AGE_SECONDS = 24 * 3600


# (application id, ids of the functions whose runs led here) while a function's call is handled.
current: contextvars.ContextVar[tuple[int, tuple[int, ...]] | None] = contextvars.ContextVar(
    "parley_function_origin", default=None
)


def sign(application_id: int, chain: tuple[int, ...]) -> str:
    """The header value for a run of the last function in ``chain``."""
    return signing.dumps([application_id, list(chain)], key=settings.PARLEY_FUNCTIONS_KEY, salt=SALT, compress=True)


def read(value: str) -> tuple[int, tuple[int, ...]] | None:
    """The origin a header names, or None if it is not one Parley signed lately."""
    try:
        application_id, chain = signing.loads(
            value, key=settings.PARLEY_FUNCTIONS_KEY, salt=SALT, max_age=MAX_AGE_SECONDS
        )
        return int(application_id), tuple(int(pk) for pk in chain)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def chain_for(application_id: int) -> tuple[int, ...]:
    """The functions that led to what is happening now in this application (empty outside a function's call)."""
    origin = current.get()
    return origin[1] if origin is not None and origin[0] == application_id else ()


class OriginMiddleware:
    """Puts a request's ``X-Parley-Origin`` into ``current`` while the request is handled."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        """Set the origin around the rest of the chain."""
        if self.is_async:
            return self._acall(request)
        token = current.set(self._origin(request))
        try:
            response: HttpResponse = self.get_response(request)
            return response
        finally:
            current.reset(token)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        token = current.set(self._origin(request))
        try:
            response: HttpResponse = await self.get_response(request)
            return response
        finally:
            current.reset(token)

    @staticmethod
    def _origin(request: HttpRequest) -> tuple[int, tuple[int, ...]] | None:
        value = request.headers.get(HEADER)
        return read(value) if value else None
