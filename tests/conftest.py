"""Fixtures: applications with real OAuth tokens, and an API client that checks every answer against OpenAPI."""

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, sync_playwright
from rest_framework.test import APIClient

from chat.events import bus_redis
from chat.models import Application
from chat.realtime.hub import _hubs
from tests.factories import ApplicationFactory
from tests.live import ROOT, LiveServer, OwnRedis, OwnS3, live_server
from tests.openapi import assert_matches_schema


def fetch_token(client: Client, key: str, secret: str, multipart: bool = True) -> dict[str, Any]:
    """Ask /oauth/token for a client-credentials token, as the SDKs do."""
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    if multipart:
        response = client.post(
            "/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
        )
    else:
        response = client.post(
            "/oauth/token",
            "grant_type=client_credentials",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
    assert response.status_code == 200, response.content
    return response.json()


@dataclass
class Api:
    """A Platform API client for one application; 2xx answers are checked against the OpenAPI document."""

    client: APIClient
    application: Application

    def call(
        self, method: str, path: str, data: Any = None, content_type: str = "application/json", **extra: Any
    ) -> Any:
        """Send a request; ``data`` is JSON-encoded for bodies, a query dict for GET/HEAD."""
        kwargs: dict[str, Any] = dict(extra)
        if method in ("GET", "HEAD"):
            response = getattr(self.client, method.lower())(path, data, **kwargs)
        else:
            body = data if isinstance(data, str | bytes) or data is None else json.dumps(data)
            payload = body.decode() if isinstance(body, bytes) else body or ""
            response = self.client.generic(method, path, payload, content_type=content_type, **kwargs)
        if 200 <= response.status_code < 300 and response.content:
            assert_matches_schema(path.split("?")[0], method, response.status_code, response.json())
        return response

    def get(self, path: str, params: Any = None, **extra: Any) -> Any:
        """GET with query parameters."""
        return self.call("GET", path, params, **extra)

    def head(self, path: str, params: Any = None) -> Any:
        """HEAD with query parameters."""
        return self.call("HEAD", path, params)

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        """POST a JSON body."""
        return self.call("POST", path, data, **extra)

    def put(self, path: str, data: Any = None, **extra: Any) -> Any:
        """PUT a JSON body."""
        return self.call("PUT", path, data, **extra)

    def patch(self, path: str, data: Any = None, **extra: Any) -> Any:
        """PATCH a merge-patch body."""
        extra.setdefault("content_type", "application/json+merge-patch")
        return self.call("PATCH", path, data, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        """DELETE."""
        return self.call("DELETE", path, None, **extra)

    def upload(self, path: str, content: bytes, name: str = "import.json") -> Any:
        """POST a file as the multipart field ``file``, as the SDKs upload import files."""
        upload = SimpleUploadedFile(name, content, content_type="application/json")
        response = self.client.post(path, {"file": upload}, format="multipart")
        if 200 <= response.status_code < 300:
            assert_matches_schema(path, "POST", response.status_code, response.json())
        return response


def api_for(application: Application) -> Api:
    """An API client holding a real token of ``application``."""
    client = APIClient()
    token = fetch_token(Client(), application.key, application.secret)  # type: ignore[attr-defined]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    return Api(client, application)


# What makes a test of the live tier: it starts a server, a Celery worker, Node.js or a browser. The fast tier is the
# rest (``bin/test -m "not live"``).
LIVE_FIXTURES = frozenset({"live_parley", "chromium", "worker"})
LIVE_MODULES = (
    "tests/sdk/",
    "tests/functions/test_running.py",
    "tests/functions/test_triggers.py",
    "tests/functions/test_commands.py",
    "tests/security/test_functions_sandbox.py",
    "tests/security/test_denial_of_service.py",
    "tests/security/test_revocation.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the live tier."""
    for item in items:
        path = item.path.relative_to(ROOT).as_posix()
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())) or path.startswith(LIVE_MODULES):
            item.add_marker(pytest.mark.live)


@pytest.fixture
def application(db: None) -> Application:
    """The tenant under test."""
    return ApplicationFactory.create()


@pytest.fixture
def other_application(db: None) -> Application:
    """Another tenant, whose data must stay invisible."""
    return ApplicationFactory.create()


@pytest.fixture
def api(application: Application) -> Api:
    """A client authenticated as ``application``."""
    return api_for(application)


@pytest.fixture
def other_api(other_application: Application) -> Api:
    """A client authenticated as ``other_application``."""
    return api_for(other_application)


@pytest.fixture
def live_parley(transactional_db: None) -> Iterator[LiveServer]:
    """A real Parley server process on this test's (committed) database."""
    with live_server(workers=2) as server:
        yield server


ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright (never a downloaded browser).

    Playwright's sync API runs its own event loop in this thread, which Django takes for an async context: the ORM
    calls of the test are plain blocking calls all the same, on connections of that context, closed at the end.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is required: run bin/test, which installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
        connections.close_all()


@pytest.fixture
def own_redis(settings: Any, tmp_path: Path) -> Iterator[OwnRedis]:
    """A Redis of the test's own (to kill and start again) as this process's event bus and Redis: a fresh publishing
    connection, and no hub left from another test's event loop, as in a fresh process."""
    server = OwnRedis(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    bus_redis.cache_clear()
    _hubs.clear()
    yield server
    server.stop()
    bus_redis.cache_clear()
    _hubs.clear()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[OwnS3]:
    """An S3-protocol server (moto) for this test process."""
    server = OwnS3()
    yield server
    server.stop()


@dataclass
class Bucket:
    """The bucket a test's stored files go to, and the environment that points a Parley process at it."""

    name: str
    environment: dict[str, str]
    server: OwnS3

    def objects(self) -> list[str]:
        """The key of every object stored in it."""
        return self.server.keys(self.name)


@pytest.fixture
def object_storage(s3_server: OwnS3, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bucket:
    """This test's stored files go to a fresh bucket of the S3 server (``PARLEY_STORAGE_URL``), and the local media
    folder is one nothing may write to."""
    from config.settings import file_storage  # noqa: PLC0415  (reads the environment set here)

    name, environment = s3_server.bucket()
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings.STORAGES = {**settings.STORAGES, "default": file_storage(environment["PARLEY_STORAGE_URL"])}
    settings.MEDIA_ROOT = tmp_path / "no-media-here"
    return Bucket(name, environment, s3_server)
