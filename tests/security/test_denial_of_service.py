"""Denial of service: a linear mention parser, request bodies refused before they are read, a throttle on failed
token requests, and per-token rate limits on the Platform API."""

import base64
import contextlib
import socket
import threading
import time
from typing import Any

import pytest
from django.test import Client

from chat.mentions import find_tags
from chat.models import Application
from tests.conftest import Api
from tests.live import LiveServer


@pytest.mark.parametrize("unit", ["@.", "#-", "@@@@x."])
def test_mention_parsing_is_linear_in_the_text(unit: str) -> None:
    # given: hostile bodies of the longest allowed message (the backtracking parser took 0.57 s for "@." here)
    body = (unit * 10_000)[:10_000]

    # when
    started = time.perf_counter()
    find_tags(body)
    took = time.perf_counter() - started

    # then: far under the old parser's time (0.3 ms in bench.mentions), with room for a loaded machine
    assert took < 0.25


def raw_request(server: LiveServer, head: str, body: bytes = b"", wait: float = 5.0) -> bytes:
    """Send ``head`` and ``body`` (which may be shorter than declared) while reading what the server answers, until
    it closes (a server that stops reading may close before everything was sent)."""
    host, port = server.url.removeprefix("http://").split(":")
    answer = bytearray()
    with socket.create_connection((host, int(port)), timeout=wait) as connection:

        def read() -> None:
            with contextlib.suppress(OSError):
                while chunk := connection.recv(65536):
                    answer.extend(chunk)

        reader = threading.Thread(target=read)
        reader.start()
        with contextlib.suppress(OSError):
            connection.sendall(head.encode() + b"\r\n")
            for start in range(0, len(body), 65536):
                connection.sendall(body[start : start + 65536])
        reader.join(wait)
    return bytes(answer)


def test_a_body_declared_too_large_is_refused_before_it_is_sent(live_parley: LiveServer) -> None:
    # when: 30 MiB declared, 1 KiB sent, no credentials
    started = time.monotonic()
    answers = {
        path: raw_request(
            live_parley,
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {30 * 1024 * 1024}\r\n",
            b"x" * 1024,
        )
        for path in ("/v1/users", "/v1/imports/users", "/rtm/streams/user/display_picture", "/oauth/token")
    }
    took = time.monotonic() - started

    # then
    assert {path: answer.split(b"\r\n", 1)[0] for path, answer in answers.items()} == dict.fromkeys(
        answers, b"HTTP/1.1 413 Request Entity Too Large"
    )
    assert b'"field":"body"' in answers["/v1/users"]
    assert took < 5


def test_a_chunked_body_is_cut_off_at_the_limit(live_parley: LiveServer) -> None:
    # given: 2 MiB in chunks of 64 KiB, no length declared
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(32)) + b"0\r\n\r\n"

    # when
    answer = raw_request(
        live_parley,
        "POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n",
        body,
    )

    # then
    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 413 Request Entity Too Large"


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def test_failed_token_requests_are_throttled_per_client_and_address(client: Client, application: Application) -> None:
    # given
    def ask(secret: str, address: str) -> Any:
        return client.post(
            "/oauth/token",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=basic(application.key, secret),
            REMOTE_ADDR=address,
        )

    failures = [ask("wrong", "203.0.113.7").status_code for _ in range(10)]

    # when
    throttled = ask("wrong", "203.0.113.7")
    right_but_throttled = ask(application.secret, "203.0.113.7")  # type: ignore[attr-defined]
    elsewhere = ask(application.secret, "198.51.100.2")  # type: ignore[attr-defined]

    # then
    assert failures == [401] * 10
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled.json()["error"] == "slow_down"
    assert right_but_throttled.status_code == 429
    assert elsewhere.status_code == 200


def test_platform_api_calls_beyond_a_tokens_budget_answer_429_with_retry_after(api: Api, settings: Any) -> None:
    # given
    settings.PARLEY_API_REQUESTS_PER_10_SECONDS = 5

    # when: within at most two windows, the budget runs out
    answers = [api.get("/v1/users") for _ in range(11)]

    # then
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, [answer.status_code for answer in answers]
    assert 1 <= int(refused[0]["Retry-After"]) <= 10
    assert refused[0].json()["error"] == "TooManyRequestsError"
