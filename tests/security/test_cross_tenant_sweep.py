"""The cross-tenant sweep, generated from the URL configuration: every route that takes an id, with every method,
called by one tenant with another tenant's ids, answers 404 (or 405) and changes nothing. A new route is covered
without anyone writing a test for it."""

import re
from typing import Any

import pytest
from django.apps import apps
from django.core import serializers
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from chat.actions.sessions import do_start_user_session
from chat.feed import relay_all
from chat.models import Message, WebhookDelivery
from chat.realtime.grants import write_grant
from tests.conftest import Api
from tests.factories import UserFactory

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# A body that would be acceptable to most doors had the ids been the caller's own.
BODY = {
    "type": "TEXT",
    "body": "from another tenant",
    "name": "stolen",
    "displayName": "Stolen",
    "username": "mallory",
    "secret": "stolen",
    "enabled": False,
    "handlerScript": "function handleEvent() {}",
    "properties": {"stolen": True},
}
# Doors outside /v1 whose ids belong to a tenant (the browser SDK's upload streams are swept with a grant).
STREAMS = ("rtm/streams/",)


def routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every route pattern of the URL configuration, as text (``v1/users/<int:user_id>``)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            found += routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def tenant_routes() -> list[str]:
    """The routes that name another resource by id: /v1 and the upload streams."""
    return [
        route
        for route in routes()
        if PARAMETER.search(route) and (route.startswith("v1/") or route.startswith(STREAMS))
    ]


@pytest.fixture
def victim(other_api: Api) -> dict[str, Any]:
    """Another tenant with one of everything, made through its own API."""
    endpoint = other_api.post("/v1/webhooks", {"url": "https://hooks.example.com/victim"}).json()
    user = other_api.post("/v1/users", {"name": "victim", "displayName": "Victim"}).json()
    other_api.put(f"/v1/users/{user['id']}/secrets/token", {"secret": "s3cr3t"})
    channel = other_api.post(
        "/v1/channels", {"type": "PRIVATE", "name": "vault", "members": [{"username": "victim"}]}
    ).json()
    message = other_api.post(f"/v1/channels/{channel['id']}/messages", {"type": "TEXT", "body": "private"}).json()
    thread = Message.objects.get(pk=message["id"]).thread_id
    key = other_api.post(f"/v1/channels/{channel['id']}/api-keys", {"displayName": "Deploys"}).json()
    function = other_api.post("/v1/runtimes/nodejs/functions", {"type": "user.sent.message", "name": "victim's"}).json()
    version = other_api.post(f"/v1/functions/{function['id']}/versions", {"handlerScript": "function handleEvent(){}"})
    job = other_api.post("/v1/analytics/users").json()
    relay_all()  # the events so far become the endpoint's deliveries
    return {
        "endpoint_id": endpoint["id"],
        "delivery_id": WebhookDelivery.objects.filter(endpoint_id=endpoint["id"]).values_list("pk", flat=True)[0],
        "user_id": user["id"],
        "channel_id": channel["id"],
        "message_id": message["id"],
        "thread_id": thread,
        "key_id": key["id"],
        "function_id": function["id"],
        "version_id": version.json()["id"],
        "job_id": job["id"],
        "name": "token",
    }


def snapshot() -> str:
    """Every row of the chat, functions and imports apps, serialized."""
    return "".join(
        serializers.serialize("json", model._default_manager.order_by("pk"))
        for label in ("chat", "functions", "imports")
        for model in apps.get_app_config(label).get_models()
    )


def test_no_route_opens_another_tenants_resources(api: Api, victim: dict[str, Any], client: Client) -> None:
    # given
    attacker_session = do_start_user_session(UserFactory.create(application=api.application, name="mallory"))
    grant = write_grant(attacker_session)
    swept = tenant_routes()
    before = snapshot()

    # when
    answers: dict[str, int] = {}
    for route in swept:
        missing = [m["name"] for m in PARAMETER.finditer(route) if m["name"] not in victim]
        assert not missing, f"the sweep does not know the parameter(s) {missing} of {route}: add them to victim"
        path = "/" + PARAMETER.sub(lambda m: str(victim[m["name"]]), route)
        for method in METHODS:
            if route.startswith(STREAMS):
                response = client.generic(method, path, b"", headers={"Grant": grant})
            else:
                response = api.call(method, path, BODY if method in ("POST", "PUT", "PATCH") else None)
            answers[f"{method} {path}"] = response.status_code

    # then
    leaks = {request: status for request, status in answers.items() if status not in (404, 405)}
    assert leaks == {}
    assert snapshot() == before
    assert len(swept) >= 38  # the sweep itself still finds every route with an id
    print(f"cross-tenant sweep: {len(swept)} routes, {len(answers)} requests, {len(leaks)} leaks")
