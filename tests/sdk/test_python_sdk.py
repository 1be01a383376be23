"""ChatKitty's Python server-side SDK (PyPI ``chatkitty-server-side-sdk`` 1.0.0, package ``openapi_client``),
unmodified, against a live Parley: what it reads must deserialize with its closed enums (jobs, functions)."""

import base64
import json
import urllib.request
from typing import Any

import openapi_client
import pytest
from openapi_client.api.functions_api import FunctionsApi
from openapi_client.api.jobs_api import JobsApi
from openapi_client.api.runtime_api import RuntimeApi

from imports import jobs
from imports.actions import check_create_export_job
from imports.models import JobType
from tests.conftest import api_for
from tests.factories import ApplicationFactory
from tests.live import LiveServer

pytestmark = pytest.mark.sdk


def sdk_client(server: LiveServer, key: str, secret: str) -> openapi_client.ApiClient:
    """The Python SDK configured as its README says, with a token from /oauth/token."""
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310  (our own live server)
        server.url + "/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310
        token = json.load(answer)["access_token"]
    return openapi_client.ApiClient(openapi_client.Configuration(host=server.url, access_token=token))


def test_the_python_sdk_reads_export_jobs_back(live_parley: LiveServer) -> None:
    # given: an export of each kind, one finished
    application: Any = ApplicationFactory.create()
    messages = check_create_export_job(application, JobType.MESSAGE_ANALYTICS_EXPORT)
    users = check_create_export_job(application, JobType.USER_ANALYTICS_EXPORT)
    jobs.run(messages.pk)

    # when
    with sdk_client(live_parley, application.key, application.secret) as client:
        api = JobsApi(client)
        listed = api.retrieve_jobs()
        one = api.retrieve_job(messages.pk)

    # then
    assert sorted((job.id, job.type) for job in listed.embedded.jobs) == [
        (messages.pk, "MESSAGE_IMPORT"),
        (users.pk, "USER_IMPORT"),
    ]
    assert (one.type, one.state, one["kind"]) == ("MESSAGE_IMPORT", "FINISHED", "MESSAGE_ANALYTICS_EXPORT")


def test_the_python_sdk_lists_functions_of_parleys_own_types(live_parley: LiveServer) -> None:
    # given
    application: Any = ApplicationFactory.create()
    api = api_for(application)
    for function_type in ("user.sent.message", "channel.created", "user.joined.channel"):
        assert (
            api.post("/v1/runtimes/nodejs/functions", {"type": function_type, "name": function_type}).status_code == 200
        )

    # when
    with sdk_client(live_parley, application.key, application.secret) as client:
        listed = RuntimeApi(client).retrieve_nodejs_runtime_functions()
        one = FunctionsApi(client).retrieve_function(listed.embedded.functions[1].id)

    # then
    assert sorted((function.type, function["kind"]) for function in listed.embedded.functions) == [
        ("system.triggered.event", "channel.created"),
        ("system.triggered.event", "user.joined.channel"),
        ("user.sent.message", "user.sent.message"),
    ]
    assert one.type in ("system.triggered.event", "user.sent.message")
