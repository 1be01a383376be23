"""The import, analytics and job doors of the Platform API: 202 with the job at once, clear errors for bad
uploads, listing with the ``running`` filter, error reports and export files as CSV, and tenancy."""

import csv
import io
import json

from chat.models import Application
from imports import jobs
from imports.models import Job
from tests.conftest import Api
from tests.factories import ChannelFactory, UserFactory, send


def read_csv(response: object) -> list[list[str]]:
    """The rows of a CSV download."""
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(content.decode())))


def test_an_import_answers_202_with_the_pending_job_and_keeps_the_file(api: Api) -> None:
    # when
    response = api.upload("/v1/imports/users", json.dumps([{"name": "ada"}]).encode())

    # then
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["type"] == "USER_IMPORT"
    assert body["state"] == "PENDING"
    assert body["progress"] == {"processed": 0, "created": 0, "skipped": 0, "failed": 0}
    assert body["_links"]["self"]["href"].endswith(f"/v1/jobs/{body['id']}")
    assert body["_links"]["errors"]["href"].endswith(f"/v1/jobs/{body['id']}/errors")
    assert "endedTime" not in body
    assert Job.objects.get(pk=body["id"]).application == api.application


def test_each_import_door_makes_its_kind_of_job(api: Api, application: Application) -> None:
    # given
    channel = ChannelFactory.create(application=application)

    # when
    kinds = {
        path: api.upload(path, b"[]").json()["type"]
        for path in (
            "/v1/imports/users",
            "/v1/imports/channels",
            f"/v1/imports/channels/{channel.pk}/members",
            "/v1/imports/messages",
        )
    }

    # then
    assert list(kinds.values()) == ["USER_IMPORT", "CHANNEL_IMPORT", "CHANNEL_MEMBERS_IMPORT", "MESSAGE_IMPORT"]


def test_an_import_without_a_file_or_into_a_direct_channel_or_another_tenants_channel_is_refused(
    api: Api, application: Application, other_application: Application
) -> None:
    # given
    ada, bob = (UserFactory.create(application=application) for _ in range(2))
    direct = ChannelFactory.create(application=application, channel_type="DIRECT", name=None, members=[ada, bob])
    foreign = ChannelFactory.create(application=other_application)

    # when
    no_file = api.client.post("/v1/imports/users", {"other": "x"}, format="multipart")
    as_json = api.post("/v1/imports/users", [{"name": "ada"}])
    into_direct = api.upload(f"/v1/imports/channels/{direct.pk}/members", b"[]")
    into_foreign = api.upload(f"/v1/imports/channels/{foreign.pk}/members", b"[]")

    # then
    assert (no_file.status_code, no_file.json()["field"]) == (400, "file")
    assert as_json.status_code == 415
    assert (into_direct.status_code, into_direct.json()["field"]) == (400, "channel")
    assert into_foreign.status_code == 404
    assert not Job.objects.exists()


def test_jobs_are_listed_newest_first_and_filtered_by_running(api: Api) -> None:
    # given
    finished = api.upload("/v1/imports/users", b"[]").json()["id"]
    jobs.run(finished)
    pending = api.upload("/v1/imports/users", b"[]").json()["id"]

    # when
    everything = api.get("/v1/jobs").json()
    running = api.get("/v1/jobs", {"running": "true"}).json()
    ended = api.get("/v1/jobs", {"running": "false"}).json()

    # then
    assert [job["id"] for job in everything["_embedded"]["jobs"]] == [pending, finished]
    assert everything["page"]["totalElements"] == 2
    assert [job["id"] for job in running["_embedded"]["jobs"]] == [pending]
    assert [(job["id"], job["state"]) for job in ended["_embedded"]["jobs"]] == [(finished, "FINISHED")]
    assert "endedTime" in ended["_embedded"]["jobs"][0]


def test_a_job_shows_its_progress_and_its_error_report_downloads_as_csv(api: Api) -> None:
    # given
    content = json.dumps([{"name": "ada"}, {"name": ""}, {"name": "bob", "isGuest": 1}]).encode()
    job_id = api.upload("/v1/imports/users", content).json()["id"]
    jobs.run(job_id)

    # when
    job = api.get(f"/v1/jobs/{job_id}").json()
    report = api.client.get(f"/v1/jobs/{job_id}/errors")

    # then
    assert job["state"] == "FINISHED"
    assert job["progress"] == {"total": 3, "processed": 3, "created": 1, "skipped": 0, "failed": 2}
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert read_csv(report) == [
        ["row", "field", "message"],
        ["2", "name", "name must not be blank."],
        ["3", "isGuest", "isGuest must be true or false."],
    ]


def test_a_failed_job_says_why(api: Api) -> None:
    # given
    job_id = api.upload("/v1/imports/messages", b"<html>").json()["id"]

    # when
    jobs.run(job_id)
    job = api.get(f"/v1/jobs/{job_id}").json()

    # then
    assert job["state"] == "FAILED"
    assert job["reason"] == "The file must hold a JSON array of items (it does not start with '[')."


def test_message_analytics_export_makes_a_job_whose_csv_file_downloads(api: Api, application: Application) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    message = send(channel, "hello", user=ada)

    # when
    started = api.client.post("/v1/analytics/messages", "", content_type="application/x-www-form-urlencoded")
    job_id = started.json()["id"]
    too_early = api.client.get(f"/v1/jobs/{job_id}/file")
    jobs.run(job_id)
    job = api.get(f"/v1/jobs/{job_id}").json()
    download = api.client.get(f"/v1/jobs/{job_id}/file")

    # then
    assert (started.status_code, started.json()["type"], started.json()["kind"]) == (
        202,
        "MESSAGE_IMPORT",
        "MESSAGE_ANALYTICS_EXPORT",
    )
    assert too_early.status_code == 404
    assert job["state"] == "FINISHED"
    assert job["file"].endswith(f"/v1/jobs/{job_id}/file")
    assert job["_links"]["file"]["href"] == job["file"]
    rows = read_csv(download)
    assert rows[0][:4] == ["message_id", "created_time", "channel_id", "channel_name"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["message_id"] == str(message.pk)
    assert (record["channel_name"], record["username"], record["body_length"], record["imported"]) == (
        "general",
        "ada",
        "5",
        "False",
    )
    assert len(rows) == 2


def test_user_analytics_export_counts_channels_and_messages(api: Api, application: Application) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    UserFactory.create(application=application, name="bob")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    send(channel, "one", user=ada)
    send(channel, "two", user=ada)

    # when
    job_id = api.post("/v1/analytics/users").json()["id"]
    jobs.run(job_id)
    rows = read_csv(api.client.get(f"/v1/jobs/{job_id}/file"))

    # then
    records = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert (records["ada"]["channels"], records["ada"]["messages_sent"]) == ("1", "2")
    assert records["ada"]["last_message_time"].endswith("Z")
    assert (records["bob"]["channels"], records["bob"]["messages_sent"], records["bob"]["last_message_time"]) == (
        "0",
        "0",
        "",
    )


def test_another_tenants_job_is_not_found(api: Api, other_api: Api) -> None:
    # given
    job_id = api.upload("/v1/imports/users", b"[]").json()["id"]

    # when
    responses = [other_api.client.get(f"/v1/jobs/{job_id}{suffix}") for suffix in ("", "/errors", "/file")]

    # then
    assert [response.status_code for response in responses] == [404, 404, 404]
    assert other_api.get("/v1/jobs").json()["page"]["totalElements"] == 0
