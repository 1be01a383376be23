"""``python -m config.serve`` replaces a web process that dies, keeps the other's connections, and stops (with a
message) in a crash loop instead of restarting forever (issue 18)."""

import os
import signal
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.factories import ApplicationFactory
from tests.live import ROOT, call, free_port, live_server, server_environment, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def children(pid: int) -> set[int]:
    """The live web processes of the server ``pid`` (spawned by multiprocessing; not its resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in command:
                found.add(int(entry.name))
    return found


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310  (the test's own server)
            return answer.status == 200
    except OSError:
        return False


def is_open(connection: ClientConnection) -> bool:
    try:
        connection.ping().wait(2)
    except Exception:  # noqa: BLE001  (a closed or reset connection, whichever way it shows)
        return False
    return True


def test_a_killed_web_process_is_replaced_and_the_others_connections_stay() -> None:
    # given two web processes and a dozen websockets spread over them by the kernel
    application = ApplicationFactory.create()
    with live_server(workers=2) as server:
        workers = wait_for(lambda: children(server.process.pid) if len(children(server.process.pid)) == 2 else None,
                           "two web processes")  # fmt: skip
        url = server.url.replace("http://", "ws://") + f"/rtm/websocket?api-key={application.key}"
        with ExitStack() as opened:
            sockets = [opened.enter_context(connect(url, subprotocols=["v12.stomp"])) for _ in range(12)]  # type: ignore[list-item]

            # when one web process is killed
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)

            # then the server lives on, answers, starts another process, and the survivor's connections stay open
            wait_for(lambda: len(children(server.process.pid) - {victim}) == 2, "a new web process")
            assert server.process.poll() is None
            assert wait_for(lambda: healthy(server.url), "the server to answer")
            still_open = [sock for sock in sockets if is_open(sock)]
            assert 0 < len(still_open) < len(sockets)  # those of the killed process dropped, the others did not


@pytest.mark.parametrize("deflate", ["", "1"])
def test_websockets_take_permessage_deflate_only_when_the_operator_turns_it_on(deflate: str) -> None:
    # given a server as configured (off by default)
    application = ApplicationFactory.create()
    with live_server(env={**server_environment(), "PARLEY_WS_DEFLATE": deflate}) as server:
        url = server.url.replace("http://", "ws://") + f"/rtm/websocket?api-key={application.key}"

        # when a client offers permessage-deflate, as browsers do
        with connect(url, subprotocols=["v12.stomp"], compression="deflate") as socket:  # type: ignore[list-item]
            handshake = socket.response
            accepted = handshake.headers.get("Sec-WebSocket-Extensions") if handshake is not None else "no handshake"

    # then the server takes it only when told to
    assert accepted is None if not deflate else (accepted or "").startswith("permessage-deflate")


def test_a_crash_loop_stops_with_a_message() -> None:
    # given web processes that die as they start
    environment = {**server_environment(), "DJANGO_SETTINGS_MODULE": "config.no_such_settings"}
    command = [sys.executable, "-m", "config.serve", "--port", str(free_port()), "--workers", "1"]

    # when
    ended = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603

    # then
    assert ended.returncode == 1
    assert "crash loop" in ended.stderr
    assert ended.stderr.count("starting another") == 4


def up(url: str) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310  (the test's own server)
            return bool(answer.status == 200)
    except OSError:
        return False


def test_json_logs_put_every_line_of_the_server_and_its_access_log_as_one_object(transactional_db: None) -> None:
    # given a server that logs JSON, with its access log on
    port = free_port()
    environment = {**server_environment(), "PARLEY_LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "config.serve", "--port", str(port), "--workers", "1", "--log-level", "info"]
    server = subprocess.Popen(command, cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True)  # noqa: S603

    # when it answers a request that Django logs (401) and stops
    try:
        wait_for(lambda: up(f"http://127.0.0.1:{port}/healthz"), "the server", timeout=30)
        assert call(f"http://127.0.0.1:{port}/v1/application", token="not-a-token")[0] == 401
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    # then every line is a JSON object with its time, level and logger, the access log's included
    lines = [orjson.loads(line) for line in errors.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines), errors
    assert any(line["logger"] == "uvicorn.access" and "/v1/application" in line["message"] for line in lines)
    assert any(line["logger"] == "django.request" and line["level"] == "WARNING" for line in lines)
