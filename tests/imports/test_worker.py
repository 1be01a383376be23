"""Imports on a real Celery worker process, with the real Redis broker and PostgreSQL: the npm SDKs' uploads end to
end, mixed and broken files, the same file twice, and a worker killed in the middle of a job and started again."""

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.models import Application, Channel, ChannelMembership, ChatUser, Message
from imports.models import Job, JobState
from tests.conftest import Api, api_for
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import LiveServer, celery_worker, server_environment
from tests.sdk.test_sdks import run_scenario


def wait_for(job_id: int, *, until: tuple[str, ...] = (JobState.FINISHED, JobState.FAILED), timeout: float = 60) -> Job:
    """The job once it reaches one of the ``until`` states."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in until:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} is still {Job.objects.get(pk=job_id).state}")


@pytest.fixture
def worker(transactional_db: None) -> Iterator[None]:
    """A Celery worker on this test's database."""
    with celery_worker(server_environment()):
        yield


def test_the_npm_sdks_import_everything_and_export_analytics_through_a_worker(
    live_parley: LiveServer, tmp_path: Path
) -> None:
    # given
    application = ApplicationFactory.create()
    (tmp_path / "users.json").write_text(
        json.dumps([{"name": "ada", "displayName": "Ada", "guest": False, "properties": {}}, {"name": "bob"}])
    )
    (tmp_path / "channels.json").write_text(json.dumps([{"type": "PUBLIC", "name": "general", "members": ["ada"]}]))
    (tmp_path / "members.json").write_text(json.dumps([{"username": "bob"}, {"username": "nobody"}]))

    # when
    with celery_worker(server_environment()):
        outcome = run_node_scenario(live_parley, application, tmp_path)

    # then
    assert outcome["steps"] == ["imports", "jobs", "analytics"]
    states = {
        kind: (job["state"], job.get("progress")) for kind, job in outcome["ended"].items() if kind != "analytics"
    }
    assert states == {
        "users": ("FINISHED", {"total": 2, "processed": 2, "created": 2, "skipped": 0, "failed": 0}),
        "channels": ("FINISHED", {"total": 1, "processed": 1, "created": 1, "skipped": 0, "failed": 0}),
        "members": ("FINISHED", {"total": 2, "processed": 2, "created": 1, "skipped": 0, "failed": 1}),
        "messages": ("FINISHED", {"total": 3, "processed": 3, "created": 3, "skipped": 0, "failed": 0}),
    }
    assert outcome["ended"]["analytics"]["file"].startswith(live_parley.url)
    general = Channel.objects.get(application=application, name="general")
    assert set(ChannelMembership.objects.filter(channel=general).values_list("user__name", flat=True)) == {"ada", "bob"}
    assert list(Message.objects.filter(channel=general).order_by("id").values_list("body", flat=True)) == [
        "old 1",
        "old 2",
        "old 3",
    ]


def run_node_scenario(server: LiveServer, application: Application, files: Path) -> dict:
    """The imports scenario of the npm SDKs, with its files in ``files``."""
    os.environ["FILES"] = str(files)
    try:
        return run_scenario("imports_scenario.js", server, application.key, application.secret)  # type: ignore[attr-defined]
    finally:
        del os.environ["FILES"]


def test_a_worker_imports_mixed_and_broken_files_and_the_same_file_twice(worker: None) -> None:
    # given
    application = ApplicationFactory.create()
    api: Api = api_for(application)
    mixed = json.dumps([{"name": "ada"}, {"name": 7}, {"name": "bob", "properties": "x"}, {"name": "cy"}]).encode()

    # when
    first = api.upload("/v1/imports/users", mixed).json()["id"]
    second = api.upload("/v1/imports/users", mixed).json()["id"]
    broken = api.upload("/v1/imports/users", b'[{"name": "dee"},').json()["id"]

    # then
    first_job, second_job, broken_job = (wait_for(job_id) for job_id in (first, second, broken))
    # the worker runs both copies at once: whichever is first creates the two users, the other skips them
    jobs = (first_job, second_job)
    assert sorted((job.state, job.created, job.skipped, job.failed) for job in jobs) == [
        ("FINISHED", 0, 2, 2),
        ("FINISHED", 2, 0, 2),
    ]
    for job in jobs:
        assert list(job.errors.order_by("row").values_list("row", "field")) == [(2, "name"), (3, "properties")]
    assert broken_job.state == "FAILED"
    assert broken_job.reason.startswith("The file is not valid JSON")
    assert set(ChatUser.objects.filter(application=application).values_list("name", flat=True)) == {"ada", "cy"}


def test_a_job_whose_worker_is_killed_mid_way_is_finished_by_the_next_worker_with_every_item_once(
    transactional_db: None, tmp_path: Path
) -> None:
    # given: 20,000 messages in batches of 250, and workers that give up a dead runner's job after 2 seconds
    application = ApplicationFactory.create()
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    count = 20_000
    items = [
        {"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": f"message {n}", "idempotencyKey": f"m{n}"}
        for n in range(count)
    ]
    environment = {
        **server_environment(),
        "PARLEY_IMPORT_BATCH_SIZE": "250",
        "PARLEY_JOBS_LEASE_SECONDS": "2",
        "PARLEY_JOBS_SWEEP_SECONDS": "0.5",
    }
    api = api_for(application)

    # when: the worker is killed (with its pool processes) once it has written part of the file
    with celery_worker(environment) as doomed:
        job_id = api.upload("/v1/imports/messages", json.dumps(items).encode()).json()["id"]
        deadline = time.monotonic() + 60
        while Job.objects.get(pk=job_id).processed < 500 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
    interrupted = Job.objects.get(pk=job_id)
    written_when_killed = Message.objects.filter(channel=channel).count()
    with celery_worker(environment):
        job = wait_for(job_id, timeout=120)

    # then
    assert interrupted.state == JobState.RUNNING
    assert 500 <= interrupted.processed < count
    assert written_when_killed == interrupted.processed  # the checkpoint and the writes committed together
    assert (job.state, job.total, job.processed, job.created, job.skipped, job.failed) == (
        JobState.FINISHED,
        count,
        count,
        count,
        0,
        0,
    )
    assert job.attempts == 2
    bodies = list(Message.objects.filter(channel=channel).values_list("body", flat=True))
    assert len(bodies) == count
    assert set(bodies) == {f"message {n}" for n in range(count)}
