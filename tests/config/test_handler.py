"""The HTTP handler (``config.handler``) crosses from the event loop to a thread once a request, on threads it reuses,
and answers as Django's own handler does: a Platform API call, a refused one, a streamed download."""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from chat.models import Application
from config.handler import ParleyASGIHandler
from imports import jobs
from imports.models import JobType
from tests.conftest import fetch_token
from tests.factories import ApplicationFactory, import_job

pytestmark = pytest.mark.django_db(transaction=True)


def scope(path: str, token: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(handler: ParleyASGIHandler, request: dict[str, Any]) -> tuple[int, bytes]:
    """One request through the handler, as an ASGI server makes it; its status and whole body."""
    communicator = ApplicationCommunicator(handler, request)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait()
    return start["status"], body


def counted(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Record the loop's hand-offs to threads (every ``sync_to_async`` is one ``run_in_executor``): what each ran."""
    hops: list[str] = []
    original: Callable[..., Any] = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        inner = getattr(getattr(getattr(func, "func", None), "__self__", None), "func", func)
        hops.append(getattr(inner, "__qualname__", repr(inner))[:150])
        return original(executor, func, *args)

    loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]
    return hops


def test_a_request_crosses_to_a_thread_once_and_no_thread_is_started_per_request() -> None:
    # given a handler that has served a first request (its pool's thread started), and a client's token
    application: Application = ApplicationFactory.create()
    token = fetch_token(Client(), application.key, application.secret)["access_token"]  # type: ignore[attr-defined]
    handler = ParleyASGIHandler()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(call(handler, scope("/v1/application", token)))
    hops = counted(loop)
    started: list[str] = []
    original_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original_start(thread)

    # when 20 more requests are made one after the other, one of them refused, and a static file is asked for
    threading.Thread.start = start  # type: ignore[method-assign,assignment]
    try:
        answers = [loop.run_until_complete(call(handler, scope("/v1/application", token))) for _ in range(19)]
        answers.append(loop.run_until_complete(call(handler, scope("/v1/application", "not-a-token"))))
        stylesheet = loop.run_until_complete(call(handler, scope("/static/admin/css/base.css", "")))
    finally:
        threading.Thread.start = original_start  # type: ignore[method-assign]
        loop.close()

    # then each crossed once (the static file too), no thread was started, and the answers are Django's
    assert hops == ["ParleyASGIHandler.respond"] * 21
    assert [name for name in started if not name.startswith("parley-http")] == []
    assert [status for status, _ in answers] == [200] * 19 + [401]
    assert application.key.encode() in answers[0][1]
    assert stylesheet[0] == 200
    assert b"body" in stylesheet[1]


def test_a_streamed_download_is_sent_whole_from_the_thread_that_reads_it() -> None:
    # given an import with failed rows, whose error report is a streamed CSV read from the database
    application: Application = ApplicationFactory.create()
    token = fetch_token(Client(), application.key, application.secret)["access_token"]  # type: ignore[attr-defined]
    job = import_job(application, JobType.USER_IMPORT, [{"name": f"u{n}"} for n in range(3)] + [{"bad": 1}] * 500)
    jobs.run(job.pk)
    handler = ParleyASGIHandler()

    # when
    status, body = asyncio.run(call(handler, scope(f"/v1/jobs/{job.pk}/errors", token)))

    # then
    rows = body.decode().splitlines()
    assert status == 200
    assert len(rows) == 501  # the header and every failed row
    assert rows[1].startswith("4,")
