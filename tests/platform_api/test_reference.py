"""The API reference and its document: built with no warning, valid OpenAPI 3, every operation of the ChatKitty
reference under the reference's operation id (as the published SDKs name them) and Parley's own tagged as such; the
reference page and the console load from Parley's own files with every outside request blocked, and the console gets
a token with the client-credentials flow and calls the API."""

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate
from playwright.sync_api import Browser, Page, Request, Route, expect

from platform_api.views.docs import CONTENT_SECURITY_POLICY
from tests.conftest import ARTIFACTS
from tests.factories import ApplicationFactory
from tests.live import LiveServer, call, live_server

SDKS = Path(__file__).parents[1] / "sdk" / "node_modules"
METHODS = ("get", "post", "put", "patch", "delete", "head")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as ``manage.py spectacular --validate --fail-on-warn`` writes it (it fails on any warning)."""
    path = tmp_path_factory.mktemp("openapi") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return dict(yaml.safe_load(path.read_text()))


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each operation by method and path (parameters unnamed: ``/v1/channels/{}``)."""
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path)): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def sdk_operations(package: str) -> dict[tuple[str, str], str]:
    """The operations a published ChatKitty SDK (typescript-axios) calls: method and path to operation id."""
    source = SDKS / package / "api.ts"
    if not source.exists():
        pytest.fail(f"{source} is missing: run bin/test, which installs the SDKs the tests drive")
    creator = re.compile(
        r"\n {8}(\w+): async \((?:(?!\n {8}\w+: async).)*?const localVarPath = `([^`]+)`"
        r"(?:(?!\n {8}\w+: async).)*?method: '(\w+)'",
        re.DOTALL,
    )
    found = {}
    for name, path, method in creator.findall(source.read_text()):
        path = re.sub(r"\{[^}]+\}", "{}", path)
        found[(method, path if path.startswith("/v1") else "/v1" + path)] = name
    return found


def test_the_document_builds_with_no_warning_and_validates_as_openapi_3(document: dict[str, Any]) -> None:
    # when / then: the fixture built it with --fail-on-warn; the reference validator accepts it
    validate(document)
    found = operations(document)
    assert document["openapi"].startswith("3.")
    assert len(found) > 80
    # every request body is typed, and every enum has a chosen name (not a hash of its values)
    for key, operation in found.items():
        for media in operation.get("requestBody", {}).get("content", {}).values():
            schema = media["schema"]
            assert schema not in ({}, {"type": "object"}), f"{key} takes a free-form body"
    assert not [name for name in document["components"]["schemas"] if re.search(r"[0-9a-f]{3}Enum$", name)]


def test_every_reference_operation_is_documented_under_its_id_and_parleys_own_are_tagged(
    document: dict[str, Any],
) -> None:
    # given the operations of the published SDKs: the platform SDK's names (the reference's), the newer client's
    # for what only it has
    newer, platform = sdk_operations("chatkitty"), sdk_operations("chatkitty-platform-sdk")
    reference = {**newer, **platform}
    assert len(reference) == 70

    # when
    found = operations(document)

    # then
    assert {key: found[key]["operationId"] for key in reference if key in found} == reference
    ours = {key for key, operation in found.items() if "parley" in operation.get("tags", [])}
    assert ours == set(found) - set(reference)
    assert ("POST", "/v1/webhooks") in ours
    assert ("GET", "/v1/events") in ours
    assert found["HEAD", "/v1/users"]["parameters"][0]["name"] == "name"


def outside_blocked(page: Page, server: LiveServer) -> list[str]:
    """Abort every request of the page that leaves the server; the list of those it tried."""
    blocked: list[str] = []

    def route(route: Route, request: Request) -> None:
        if request.url.startswith(server.url):
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    page.route("**/*", route)
    return blocked


@pytest.fixture
def console_application(live_parley: LiveServer) -> tuple[str, str]:
    """The client id and secret of an application on the live server (made before the browser starts)."""
    application: Any = ApplicationFactory.create(name="console")
    return application.key, application.secret


def artifact(name: str) -> Path:
    """Where a screenshot of the test goes."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_the_reference_and_the_console_load_from_parley_alone_and_the_console_calls_the_api(
    live_parley: LiveServer, console_application: tuple[str, str], chromium: Browser
) -> None:
    # given an application, and a browser that may reach nothing but the server
    client_id, client_secret = console_application
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    blocked = outside_blocked(page, live_parley)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)

    # when the reference is opened
    answer = page.goto(live_parley.url + "/v1/docs")

    # then its operations are listed, Parley's own among them, under the page's strict policy
    assert answer is not None
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    reference = page.locator("[data-section-id='operation/retrieveAuthenticatedApplication']")
    expect(reference).to_be_visible(timeout=30_000)
    expect(page.locator("[data-section-id='operation/createWebhookEndpoint']")).to_be_attached()
    expect(page.locator("[data-section-id='tag/parley']")).to_contain_text("Parley's own additions")
    page.screenshot(path=str(artifact("api-reference.png")))

    # when the console is opened, authorized with the client credentials, and asked for the application
    page.goto(live_parley.url + "/v1/console")
    expect(page.locator("#operations-application-retrieveAuthenticatedApplication")).to_be_visible(timeout=30_000)
    page.click("button.authorize")
    page.fill("input[id^='client_id']", client_id)
    page.fill("input[id^='client_secret']", client_secret)
    page.click(".auth-btn-wrapper button.authorize")
    expect(page.get_by_text("Authorized").first).to_be_visible()
    page.click(".btn-done")
    page.click("#operations-application-retrieveAuthenticatedApplication .opblock-summary")
    page.click("#operations-application-retrieveAuthenticatedApplication .try-out__btn")
    page.click("#operations-application-retrieveAuthenticatedApplication .execute")

    # then the call went through with the token it got, and nothing left the server
    live = page.locator("#operations-application-retrieveAuthenticatedApplication .live-responses-table")
    expect(live.locator("tr.response .response-col_status").first).to_have_text("200", timeout=30_000)
    expect(live.locator("tr.response .response-col_description").first).to_contain_text(f'"key": "{client_id}"')
    page.screenshot(path=str(artifact("api-console.png")), full_page=True)
    assert blocked == []
    # the one thing the pages try to fetch from elsewhere, Redoc's own logo, the policy refuses (Redoc then drops it)
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in message for message in refused), refused


@pytest.mark.django_db(transaction=True)
def test_a_new_process_serves_the_document_to_many_callers_at_once() -> None:
    # given a server process that has not built the document yet
    with live_server() as server, ThreadPoolExecutor(8) as pool:
        # when eight callers ask for it at the same moment
        answers = list(pool.map(lambda _: call(f"{server.url}/v1/openapi.json"), range(8)))

    # then every one gets it (drf-spectacular resolves its extensions' classes on first use, racily)
    assert [status for status, _ in answers] == [200] * 8
    assert all(document["info"]["title"] == "Parley Platform API" for _, document in answers)
