"""``/metrics`` (Prometheus) of real processes: the token guards it; a ``config.serve`` scrape sums its web processes
(connections and subscriptions per process, events published and delivered, fan-out latency, API latency by route
and status) and forgets a killed process; a Celery worker's own port shows its jobs and function runs."""

import importlib
import os
import re
import signal
import urllib.error
from typing import Any

import orjson
import pytest
from channels.testing import HttpCommunicator
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from chat.actions.messages import check_send_message
from chat.realtime.stomp import Frame
from config.asgi import application as asgi_application
from config.metrics import exposition
from functions.models import ChatFunction, Invocation, InvocationStatus
from imports.models import Job, JobState
from tests.chat.realtime.test_slow_client import listen
from tests.conftest import api_for, fetch_token
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.functions.test_triggers import deploy
from tests.live import (
    ROOT,
    Samples,
    call,
    celery_worker,
    free_port,
    live_server,
    scrape,
    server_environment,
    total,
    wait_for,
)

TOKEN = "metrics-token-of-the-test"  # noqa: S105


def delivered(samples: Samples) -> Samples | None:
    """``samples``, once they count a fan-out."""
    return samples if total(samples, "parley_fanout_latency_seconds_count") else None


def pids(samples: Samples, name: str) -> set[str]:
    """The processes that report ``name`` with a value."""
    return {dict(labels)["pid"] for (found, labels), value in samples.items() if found == name and value}


@pytest.mark.parametrize(
    ("configured", "given", "status"),
    [("", TOKEN, 404), (TOKEN, None, 401), (TOKEN, "wrong", 401), (TOKEN, TOKEN, 200)],
)
async def test_metrics_answer_only_the_token_and_are_off_without_one(
    settings: Any, configured: str, given: str | None, status: int
) -> None:
    # given
    settings.PARLEY_METRICS_TOKEN = configured
    headers = [(b"authorization", f"Bearer {given}".encode())] if given else []

    # when
    answer = await HttpCommunicator(asgi_application, "GET", "/metrics", headers=headers).get_response()

    # then
    assert answer["status"] == status
    if status == 200:
        assert b"# TYPE parley_http_request_duration_seconds histogram" in answer["body"]


@pytest.mark.django_db(transaction=True)
def test_a_scrape_of_config_serve_sums_its_processes_and_forgets_a_killed_one() -> None:
    # given a server of two web processes, and jane listening to #general on one of them
    application = ApplicationFactory.create()
    jane = UserFactory.create(application=application, name="jane")
    general = ChannelFactory.create(application=application, name="general", members=[jane])
    with live_server(workers=2, env={**server_environment(), "PARLEY_METRICS_TOKEN": TOKEN}) as server:
        url = server.url.replace("http", "ws") + f"/rtm/websocket?api-key={application.key}"
        connection, parser = listen(url, "jane", f"/topic/channels/{general.pk}/messages")
        token = fetch_token(Client(), application.key, application.secret)["access_token"]  # type: ignore[attr-defined]

        # when a backend sends a message through the Platform API, and jane hears it
        message = {"type": "TEXT", "body": "hi"}
        status, _ = call(f"{server.url}/v1/channels/{general.pk}/messages", "POST", token, message)
        assert status == 200
        heard: list[Frame] = []
        while not any(frame.command == "MESSAGE" for frame in heard):
            heard += parser.feed(str(connection.recv(timeout=10)).encode())
        samples = wait_for(lambda: delivered(scrape(server.url + "/metrics", TOKEN)), "the delivery to be counted")

        # then either process's scrape shows both processes' series
        assert total(samples, "parley_websocket_connections", protocol="stomp") == 1
        assert total(samples, "parley_websocket_subscriptions") == 1
        (listening,) = pids(samples, "parley_websocket_connections")
        assert total(samples, "parley_events_published_total") >= 1
        assert total(samples, "parley_events_delivered_total") >= 1
        sent = {"route": "v1/channels/<int:channel_id>/messages", "method": "POST", "status": "200"}
        assert total(samples, "parley_http_request_duration_seconds_count", **sent) == 1
        assert total(samples, "parley_http_request_duration_seconds_bucket", le="+Inf", **sent) == 1

        # when the process holding jane's connection is killed
        os.kill(int(listening), signal.SIGKILL)

        # then its live series are gone from the scrape
        wait_for(
            lambda: listening not in pids(scrape(server.url + "/metrics", TOKEN), "parley_websocket_connections"),
            "the dead process's series to go",
            timeout=30,
        )
        assert total(scrape(server.url + "/metrics", TOKEN), "parley_websocket_connections") == 0
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_serves_its_jobs_and_function_runs_on_its_own_port() -> None:
    # given a worker with a metrics port, a function on sent messages, and an import waiting for the worker
    application = ApplicationFactory.create()
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    deploy(application, "user.sent.message", "async function handleEvent(e) { return 1; }")
    port = free_port()
    environment = {**server_environment(), "PARLEY_METRICS_TOKEN": TOKEN, "PARLEY_WORKER_METRICS_PORT": str(port)}

    # when the worker runs the import and the function
    with celery_worker(environment):
        items = b'[{"name": "bo"}, {"name": "cy"}, {"name": ""}]'
        job_id = api_for(application).upload("/v1/imports/users", items).json()["id"]
        check_send_message(channel, message_type="TEXT", user=ada, body="hello")
        wait_for(lambda: Job.objects.get(pk=job_id).state == JobState.FINISHED, "the import", timeout=60)
        ran = Invocation.objects.filter(function__application=application).exclude(status=InvocationStatus.RUNNING)
        wait_for(ran.exists, "the function's run", timeout=60)
        samples = wait_for(lambda: scrape(f"http://127.0.0.1:{port}/metrics", TOKEN), "the worker's metrics")
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(f"http://127.0.0.1:{port}/metrics", token="wrong")

    # then its port shows the items processed, no job running any more, and the run by type and outcome
    assert total(samples, "parley_job_items_total", type="USER_IMPORT") == 3
    assert total(samples, "parley_jobs_running", type="USER_IMPORT") == 0
    outcome = {"type": "user.sent.message", "status": "SUCCEEDED"}
    assert total(samples, "parley_function_invocations_total", **outcome) == 1
    assert total(samples, "parley_function_duration_seconds_count", type="user.sent.message") == 1
    assert refused.value.code == 401
    assert ChatFunction.objects.filter(application=application).count() == 1


SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def test_the_grafana_dashboard_charts_only_series_and_labels_that_parley_exposes() -> None:
    # given every series Parley declares (the modules that declare them imported), and their labels
    for module in ("chat.metrics", "platform_api.metrics", "functions.actions", "imports.actions", "imports.jobs"):
        importlib.import_module(module)
    labels = {"le", "pid", "instance", "job"}
    exposed = set()
    for family in text_string_to_metric_families(exposition().decode()):
        if family.name.startswith("parley_"):
            exposed |= {family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type]}
    for collector in REGISTRY._collector_to_names:  # noqa: SLF001  (the label names of series with no sample yet)
        labels |= set(getattr(collector, "_labelnames", ()))
    dashboard = orjson.loads((ROOT / "deploy" / "grafana" / "parley-dashboard.json").read_bytes())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    # then each chart asks for series and labels that exist
    assert len(expressions) >= 12
    for expression in expressions:
        named = set(re.findall(r"\bparley_[a-z_]+", expression))
        assert named, expression
        assert named <= exposed, (expression, named - exposed)
        grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", expression) for label in group.split(",")}
        assert grouped <= labels, (expression, grouped - labels)
