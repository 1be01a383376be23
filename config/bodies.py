"""Request bodies bounded before they are read (DESIGN rule 11). Django's ASGI handler reads a whole body before any
view sees it, so a refusal in the view comes after the server took in every byte: this ASGI middleware refuses a
body over its route's limit as soon as its declared length, or the bytes that arrived, pass it (413, the JSON error
shape, nothing more read). Only a caller whose credential is valid gets a large limit: a bearer token for imports,
a write grant for the browser SDK's uploads, a staff session for the dashboard; everyone else has
``PARLEY_MAX_BODY_BYTES``."""

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from importlib import import_module
from typing import Any

import orjson
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.base import SessionBase

from chat.errors import ChatError
from chat.realtime.grants import session_of_write_grant
from platform_api.auth import application_of_token
from platform_api.errors import error_body

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
MULTIPART_OVERHEAD = 1024 * 1024


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _cookie(scope: Scope, name: str) -> str:
    for part in _header(scope, b"cookie").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _bearer_valid(scope: Scope) -> bool:
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return application_of_token(hashlib.sha256(token.strip().encode()).hexdigest()) is not None


def _grant_valid(scope: Scope) -> bool:
    try:
        session_of_write_grant(_header(scope, b"grant"))
    except ChatError:
        return False
    return True


def _staff_session(scope: Scope) -> bool:
    key = _cookie(scope, settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    session: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user_id = session.get(SESSION_KEY)
    return user_id is not None and get_user_model().objects.filter(pk=user_id, is_staff=True, is_active=True).exists()


def _limit(scope: Scope) -> int:
    """The largest body this request may send."""
    path = scope.get("path", "")
    if path.startswith("/v1/imports/") and _bearer_valid(scope):
        return settings.PARLEY_MAX_IMPORT_BYTES + MULTIPART_OVERHEAD
    if path.startswith("/rtm/streams/") and _grant_valid(scope):
        return settings.PARLEY_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    if path.startswith("/admin/") and _staff_session(scope):
        return settings.PARLEY_MAX_IMPORT_BYTES + MULTIPART_OVERHEAD
    return settings.PARLEY_MAX_BODY_BYTES


def _needs_limit(scope: Scope) -> bool:
    """Whether the request may carry a body worth bounding (credential checks cost a query: only then)."""
    declared = _header(scope, b"content-length")
    return not declared.isdigit() or int(declared) > settings.PARLEY_MAX_BODY_BYTES


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(error_body(413, f"The request body is larger than {limit} bytes.", "body"))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def body_limit(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI application so that no HTTP request body over its limit is read."""

    async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS") or not _needs_limit(scope):
            await app(scope, receive, send)
            return
        limit = await database_sync_to_async(_limit)(scope)
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        received = 0
        refused = False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    refused = True
                    await _refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await app(scope, counted, unless_refused)

    return bounded
