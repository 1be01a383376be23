"""Chat functions behind the operating system's boundary: registry-only dependencies, no link out of an
application's folder, a bubblewrap sandbox that a planted link to ``/`` or a UDP datagram cannot cross, a refusal
where the sandbox cannot start, a per-application share of the workers, and npm installs that are time-limited and
never hold up other requests."""

import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.checks import Error
from django.test import Client

from chat.models import Application
from functions.actions import worker_spec
from functions.checks import functions_folder_apart
from functions.models import InvocationStatus, Runtime
from functions.pool import PoolThread
from functions.runtime import dependencies_folder, handler_file, links_leaving
from tests.conftest import Api, api_for, fetch_token
from tests.factories import ApplicationFactory
from tests.functions.test_running import deploy, run
from tests.live import live_server, server_environment, wait_for


@pytest.fixture
def request_log() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records every request (what a blind SSRF would reach)."""
    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(urlsplit(self.path).path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.mark.parametrize(
    "spec",
    [
        "file:/",
        "/",
        "./node_modules",
        "~/secrets",
        "link:..",
        "workspace:*",
        "git+https://127.0.0.1/repo.git",
        "github:someone/package",
        "someone/package",
        "npm:r@file:/",
        "{recorder}/r.tgz",
        "git+{recorder}/r.git",
    ],
)
def test_only_registry_packages_may_be_dependencies(api: Api, request_log: tuple[str, list[str]], spec: str) -> None:
    # given
    recorder, seen = request_log
    before = api.get("/v1/runtimes/nodejs").json()["dependencies"]
    wanted = [{"name": "is-number", "version": "7.0.0"}, {"name": "r", "version": spec.format(recorder=recorder)}]

    # when
    refused = api.put("/v1/runtimes/nodejs/dependencies", wanted)

    # then
    assert refused.status_code == 400, refused.content
    assert refused.json()["field"] == "dependencies[1].version"
    assert "only packages of the npm registry" in refused.json()["message"]
    assert api.get("/v1/runtimes/nodejs").json()["dependencies"] == before
    assert seen == []


def test_registry_specs_of_every_kind_install(api: Api) -> None:
    # when
    installed = api.put(
        "/v1/runtimes/nodejs/dependencies",
        [{"name": "is-number", "version": "^7.0.0"}, {"name": "num", "version": "npm:is-number@7.0.0"}],
    )

    # then
    assert installed.status_code == 200, installed.content
    assert {(d["name"], d["version"]) for d in installed.json()["dependencies"]} >= {
        ("is-number", "^7.0.0"),
        ("num", "npm:is-number@7.0.0"),
    }


def test_a_tree_with_a_link_leading_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    # given
    (tmp_path / "node_modules" / "inside").mkdir(parents=True)
    (tmp_path / "node_modules" / ".bin").mkdir()
    (tmp_path / "node_modules" / ".bin" / "tool").symlink_to("../inside")
    clean = links_leaving(tmp_path)
    (tmp_path / "node_modules" / "r").symlink_to("/")
    (tmp_path / "node_modules" / "up").symlink_to("../../")

    # when
    leaving = links_leaving(tmp_path)

    # then
    assert clean == []
    assert sorted(leaving) == ["node_modules/r", "node_modules/up"]


READ_THROUGH_A_LINK_TO_ROOT = """
import fs from "node:fs";
import dgram from "node:dgram";

const attempt = (what: () => unknown) => {
  try { what(); return "allowed"; } catch (error: any) { return error.code; }
};

async function handleEvent(event: any) {
  const root = event.folder + "/node_modules/r";
  const datagram = new dgram.Socket("udp4");
  await new Promise((resolve) => datagram.send("escaped", event.udpPort, "127.0.0.1", resolve));
  datagram.close();
  return {
    uid: process.getuid(),
    passwd: attempt(() => fs.readFileSync(root + "/etc/passwd")),
    serverEnvironment: attempt(() => fs.readFileSync(root + "/proc/" + event.serverPid + "/environ")),
    processes: fs.readdirSync(root + "/proc").filter((name) => /^[0-9]+$/.test(name)).length,
    stateDirectory: attempt(() => fs.readdirSync(root + event.stateDirectory)),
    media: attempt(() => fs.readdirSync(root + event.media)),
    otherApplication: attempt(() => fs.readdirSync(root + event.otherFolder)),
    sources: attempt(() => fs.readFileSync(root + event.settingsFile)),
  };
}
"""


def test_a_link_to_the_root_planted_in_a_folder_leads_nowhere_outside_the_sandbox(
    api: Api, application: Application, other_application: Application
) -> None:
    # given: the tree the attack made npm write (node_modules/r -> /), planted after a clean install
    assert api.put("/v1/runtimes/nodejs/dependencies", [{"name": "is-number", "version": "7.0.0"}]).status_code == 200
    runtime = Runtime.objects.get(application=application)
    folder = dependencies_folder(application.pk, runtime.dependencies)
    planted = folder / "node_modules" / "r"
    planted.unlink(missing_ok=True)  # function folders outlive a test database: the id may have been used before
    planted.symlink_to("/")
    other_folder = worker_spec(other_application, Runtime.objects.create(application=other_application)).folder
    function = deploy(api, "user.sent.message", READ_THROUGH_A_LINK_TO_ROOT)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(1.0)

    # when
    invocation = run(
        function,
        {
            "folder": str(folder),
            "udpPort": listener.getsockname()[1],
            "serverPid": os.getpid(),
            "stateDirectory": str(django_settings.STATE_DIR),
            "media": str(django_settings.MEDIA_ROOT),
            "otherFolder": str(other_folder),
            "settingsFile": str(Path(__import__("config.settings").settings.__file__)),
        },
    )

    # then
    assert invocation.status == InvocationStatus.SUCCEEDED, invocation.error
    result: dict[str, Any] = invocation.result or {}
    assert result["uid"] == django_settings.PARLEY_FUNCTIONS_UID_BASE + application.pk
    assert {key: value for key, value in result.items() if key not in ("uid", "processes")} == {
        "passwd": "ENOENT",
        "serverEnvironment": "ENOENT",
        "stateDirectory": "ENOENT",
        "media": "ENOENT",
        "otherApplication": "ENOENT",
        "sources": "ENOENT",
    }
    assert result["processes"] <= 3  # bubblewrap's init and the worker: a PID namespace of its own
    with pytest.raises(TimeoutError):
        listener.recvfrom(100)
    listener.close()
    planted.unlink()


def test_functions_refuse_to_run_where_the_sandbox_cannot_start_unless_the_operator_says_unsafe(
    api: Api, settings: Any
) -> None:
    # given
    function = deploy(api, "user.sent.message", "function handleEvent() { return 'ran'; }")
    settings.PARLEY_FUNCTIONS_BWRAP = "/nonexistent/bwrap"

    # when
    refused = run(function)
    install = api.put("/v1/runtimes/nodejs/dependencies", [{"name": "is-odd", "version": "3.0.1"}])
    settings.PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX = True
    unsafe = run(function)

    # then
    assert refused.status == InvocationStatus.FAILED
    assert refused.error.startswith("Chat functions cannot run: bubblewrap (/nonexistent/bwrap) is not installed.")
    assert "PARLEY_FUNCTIONS_UNSAFE_NO_SANDBOX=1" in refused.error
    assert install.status_code == 400
    assert "Chat functions cannot run" in install.json()["message"]
    assert (unsafe.status, unsafe.result) == (InvocationStatus.SUCCEEDED, "ran")


def test_function_folders_may_not_overlap_the_state_directory(settings: Any) -> None:
    # given
    default = functions_folder_apart()
    settings.PARLEY_FUNCTIONS_DIR = Path(settings.STATE_DIR) / "functions"

    # when
    errors = functions_folder_apart()

    # then
    assert default == []
    assert [error.id for error in errors] == ["functions.E001"]
    assert isinstance(errors[0], Error)


def test_one_applications_slow_handlers_leave_workers_for_the_others(api: Api, db: None) -> None:
    # given: a pool of 2 workers, 1 per application; the slow tenant queues 3 runs of 3 s each
    slow = deploy(
        api,
        "user.sent.message",
        "async function handleEvent() { await new Promise((r) => setTimeout(r, 3000)); return 'slow'; }",
    )
    other = ApplicationFactory.create()
    quick = deploy(api_for(other), "user.sent.message", "function handleEvent() { return 'quick'; }")
    slow_spec = worker_spec(slow.application, slow.runtime)
    quick_spec = worker_spec(quick.application, quick.runtime)
    version = slow.versions.get()
    quick_version = quick.versions.get()
    thread = PoolThread(capacity=2, per_application=1)
    request = {"op": "run", "event": {}, "token": "", "origin": ""}
    slow_runs = [
        thread.submit(
            slow_spec, {**request, "handler": str(handler_file(slow_spec.folder, version.handler_script))}, 10
        )
        for _ in range(3)
    ]
    share = thread.pool.shares
    wait_for(lambda: slow.application_id in share and share[slow.application_id].locked(), "a slow run to start")

    # when
    started = time.monotonic()
    answer = thread.submit(
        quick_spec, {**request, "handler": str(handler_file(quick_spec.folder, quick_version.handler_script))}, 10
    ).result()
    waited = time.monotonic() - started

    # then
    assert (answer.ok, answer.result) == (True, "quick"), answer.error
    assert waited < 2.5
    assert all(not run.done() for run in slow_runs[1:])
    assert [run.result().result for run in slow_runs] == ["slow"] * 3
    thread.close()


@pytest.fixture
def hanging_registry() -> Iterator[tuple[str, list[socket.socket]]]:
    """An npm registry that accepts connections and never answers: its URL, and the connections it holds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/", held
    server.close()
    for connection in held:
        connection.close()


@pytest.fixture
def own_functions_folder() -> Iterator[Path]:
    """A functions folder no other test (or test run) uses, readable by the applications' sandbox users."""
    folder = Path(tempfile.gettempdir()) / f"parley-test-functions-{uuid.uuid4().hex}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_an_npm_install_is_time_limited_and_other_requests_go_on_meanwhile(
    transactional_db: None, hanging_registry: tuple[str, list[socket.socket]], own_functions_folder: Path
) -> None:
    # given a server with a functions folder of its own (the shared one of the tests may hold this application id's
    # set from another test run, and then nothing is installed)
    application = ApplicationFactory.create()
    environment = {
        **server_environment(),
        "npm_config_registry": hanging_registry[0],
        "npm_config_fetch_retries": "0",
        "PARLEY_FUNCTIONS_NPM_TIMEOUT": "4",
        "PARLEY_FUNCTIONS_DIR": str(own_functions_folder),
    }
    with live_server(workers=1, env=environment) as server:
        token = fetch_token(Client(), application.key, application.secret)["access_token"]  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
            started = time.monotonic()
            request = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    return response.status, response.read(), time.monotonic() - started
            except urllib.error.HTTPError as error:
                return error.code, error.read(), time.monotonic() - started

        # when
        with ThreadPoolExecutor(2) as executor:
            install = executor.submit(
                call, "PUT", "/v1/runtimes/nodejs/dependencies", b'[{"name": "is-number", "version": "7.0.0"}]'
            )
            wait_for(lambda: hanging_registry[1], "npm to be waiting on the registry")
            meanwhile = [call("GET", "/v1/runtimes/nodejs") for _ in range(3)]
            status, body, took = install.result()

    # then
    assert [answer[0] for answer in meanwhile] == [200, 200, 200]
    assert max(answer[2] for answer in meanwhile) < 1.0
    assert not install.running()
    assert status == 400
    assert b"npm install did not finish in 4 s." in body
    assert 4 <= took < 10


def tarball(name: str, version: str) -> bytes:
    """An npm package tarball holding only its package.json."""
    manifest = json.dumps({"name": name, "version": version}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        entry = tarfile.TarInfo("package/package.json")
        entry.size = len(manifest)
        archive.addfile(entry, io.BytesIO(manifest))
    return buffer.getvalue()


@pytest.fixture
def trojan_registry(request_log: tuple[str, list[str]]) -> Iterator[str]:
    """An npm registry serving ``trojan``, a package whose own dependency is a tarball URL on loopback (the
    recorder's): what a hostile package published to a registry could carry."""
    recorder, _ = request_log
    packed = tarball("trojan", "1.0.0")

    class Registry(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{port}"
            path = urlsplit(self.path).path  # through a proxy, requests come in absolute form
            if path.rstrip("/") == "/trojan":
                version = {
                    "name": "trojan",
                    "version": "1.0.0",
                    "dependencies": {"evil": f"{recorder}/evil.tgz"},
                    "dist": {
                        "tarball": f"{base}/trojan/-/trojan-1.0.0.tgz",
                        "shasum": hashlib.sha1(packed).hexdigest(),  # noqa: S324  (npm's own checksum)
                    },
                }
                body = json.dumps({"name": "trojan", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": version}})
                payload, kind = body.encode(), "application/json"
            elif path == "/trojan/-/trojan-1.0.0.tgz":
                payload, kind = packed, "application/octet-stream"
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()


def test_a_registry_package_whose_dependency_is_a_url_cannot_make_npm_reach_it(
    api: Api, trojan_registry: str, request_log: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: Parley installs from the registry that serves the trojan
    _, seen = request_log
    monkeypatch.setenv("npm_config_registry", trojan_registry)
    before = api.get("/v1/runtimes/nodejs").json()["dependencies"]

    # when
    refused = api.put("/v1/runtimes/nodejs/dependencies", [{"name": "trojan", "version": "1.0.0"}])

    # then: npm got the trojan from the registry, was refused the URL by the gate, and nothing changed
    assert refused.status_code == 400, refused.content
    assert "npm install failed" in refused.json()["message"], refused.json()["message"]
    assert seen == []
    assert api.get("/v1/runtimes/nodejs").json()["dependencies"] == before
