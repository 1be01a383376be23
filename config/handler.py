"""Django's HTTP requests under ASGI with one thread hop each.

Django's own ``ASGIHandler`` runs the middleware chain in async mode, so every hook of a sync-style middleware
(``process_request``, ``process_response``, ...), the ``request_started`` receivers, the view, the rendering and
``close()`` each cross from the event loop to a thread (about 17 crossings a request here, ~80 µs of CPU each), and
its ``ThreadSensitiveContext`` starts a new thread for every request. ``ParleyASGIHandler`` reads the body on the
event loop, then makes one call on a fixed pool of threads that does everything Django does synchronously (as under
WSGI): ``request_started``, the sync middleware chain, the view, the rendering and ``close()`` (which returns the
thread's database connection to the pool); the loop then sends the answer. A streaming answer (a file, a CSV report)
is sent from that same thread, chunk by chunk, as a WSGI server would, so that its iterator reads the database on the
connection of the thread that opened it. Static files are sent in that same one call, found and headed by
ServeStatic's own code before Django (as a Django middleware it is async-only, which would turn the whole chain above
it async, and its async file reads cross to a thread for each chunk).
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix
from servestatic.middleware import ServeStaticMiddleware

Send = Any
Receive = Any


class ParleyASGIHandler(ASGIHandler):
    """Django's ASGI handler for HTTP, with the whole synchronous part of a request in one call on a thread pool."""

    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(settings.PARLEY_HTTP_THREADS, thread_name_prefix="parley-http")
        self.static_files = ServeStaticMiddleware(not_a_static_file)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Serve one HTTP request (no ``ThreadSensitiveContext``: the pool's threads are reused)."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Read the body here, answer in one call on the pool, send a whole answer from here."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(self.respond, thread_sensitive=False, executor=self.executor)(
                scope, body_file, send
            )
        finally:
            body_file.close()
        if response is not None:
            await self.send_response(response, send)

    def respond(self, scope: dict[str, Any], body_file: Any, send: Send) -> HttpResponseBase | None:
        """On a thread of the pool: the request from start to close. A whole answer is returned for the loop to send
        (its body is in memory, so it is closed first); a streaming one is sent from here, then closed."""
        static = scope["path"].startswith(self.static_files.static_prefix) and scope["method"] in ("GET", "HEAD")
        if static and self.serve_static(scope, body_file, send):
            return None
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = self.get_response(request) if request is not None else cast(HttpResponseBase, error_response)
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's handler marks it
        if not response.streaming:
            response.close()
            return response
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        try:
            self.stream(response, send)
        finally:
            response.close()
        return None

    def serve_static(self, scope: dict[str, Any], body_file: Any, send: Send) -> bool:
        """Send the static file the path names from this thread (ServeStatic's lookup and headers: caching,
        compressed variants, ranges); whether there was one."""
        request = self.request_class(scope, body_file)
        files = self.static_files
        found = files.find_file(request.path_info) if files.autorefresh else files.files.get(request.path_info)
        if found is None:
            return False
        answer = found.get_response(request.method or "GET", request.META)
        sent = async_to_sync(send)
        listed = [
            (name.encode("latin1"), value.encode("latin1")) for name, value in answer.headers if value is not None
        ]
        sent({"type": "http.response.start", "status": int(answer.status), "headers": listed})
        if answer.file is not None:
            with answer.file as file:
                while chunk := file.read(self.chunk_size):
                    sent({"type": "http.response.body", "body": chunk, "more_body": True})
        sent({"type": "http.response.body"})
        return True

    def stream(self, response: HttpResponseBase, send: Send) -> None:
        """Send a streaming answer from this thread, each chunk handed to the event loop (stops when the client
        has gone)."""
        sent = async_to_sync(send)
        sent({"type": "http.response.start", "status": response.status_code, "headers": headers(response)})
        try:
            for part in response:
                for chunk, _ in self.chunk_bytes(part):
                    sent({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:  # the client went away
            return
        sent({"type": "http.response.body"})


async def not_a_static_file(request: HttpRequest) -> None:
    """ServeStatic's middleware wants a next handler; ours never calls it (it only uses its lookup)."""


def headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """The answer's headers and cookies as ASGI sends them (as Django's ``send_response`` encodes them)."""
    found = [
        (header.encode("ascii") if isinstance(header, str) else header, value.encode("latin1"))
        for header, value in response.items()
    ]
    found += [(b"Set-Cookie", cookie.output(header="").encode("ascii").strip()) for cookie in response.cookies.values()]
    return found
