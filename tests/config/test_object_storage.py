"""Stored files on S3-compatible object storage (``PARLEY_STORAGE_URL``), against a real S3-protocol server: chat
files, display pictures, import uploads and export results go to the bucket and nowhere on local disk, and every
download still passes Parley's grants and comes back with the user-content headers."""

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chat.actions.sessions import do_start_user_session
from chat.models import Application, ChatUser
from chat.realtime.grants import read_grant, write_grant
from config.settings import file_storage
from imports import jobs
from tests.conftest import Api, Bucket
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, send

pytestmark = pytest.mark.django_db


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def content(response: object) -> bytes:
    """The body of a streamed download."""
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def nothing_on_disk(settings_media_root: Path) -> bool:
    return not settings_media_root.exists() or not any(path.is_file() for path in settings_media_root.rglob("*"))


def test_a_file_message_is_kept_in_the_bucket_and_downloads_only_with_a_grant(
    client: Client, application: Application, object_storage: Bucket, settings
) -> None:
    # given
    jane = UserFactory.create(application=application, name="jane")
    channel = ChannelFactory.create(application=application, members=[jane])
    session = do_start_user_session(jane, user_agent="test")
    upload = SimpleUploadedFile("notes.txt", b"kept in the bucket", content_type="text/html")

    # when
    response = client.post(
        f"/rtm/streams/channels/{channel.pk}/messages", {"file": upload}, headers={"Grant": write_grant(session)}
    )

    # then
    assert response.status_code == 200, response.content
    path = response.json()["file"]["url"].removeprefix("http://testserver")
    key = path.removeprefix("/rtm/")
    assert object_storage.objects() == [f"parley/{key}"]
    downloaded = client.get(path, {"grant": read_grant(session)})
    assert downloaded.status_code == 200
    assert content(downloaded) == b"kept in the bucket"
    assert (downloaded["Content-Type"], downloaded["X-Content-Type-Options"]) == ("text/plain", "nosniff")
    assert downloaded["Content-Disposition"].startswith("attachment")
    assert downloaded["Content-Security-Policy"] == "sandbox; default-src 'none'"
    stranger = do_start_user_session(UserFactory.create(application=ApplicationFactory.create()))
    assert client.get(path, {"grant": read_grant(stranger)}).status_code == 403
    assert client.get(path.replace(key.split("/")[2], "0" * 32), {"grant": read_grant(session)}).status_code == 404
    assert nothing_on_disk(settings.MEDIA_ROOT)


def test_a_display_picture_is_kept_in_the_bucket_and_shown_inline(
    client: Client, application: Application, object_storage: Bucket, settings
) -> None:
    # given
    jane = UserFactory.create(application=application, name="jane")
    session = do_start_user_session(jane, user_agent="test")
    picture = SimpleUploadedFile("me.png", png(), content_type="image/png")

    # when
    response = client.post(
        "/rtm/streams/user/display_picture", {"file": picture}, headers={"Grant": write_grant(session)}
    )

    # then
    assert response.status_code == 200, response.content
    path = response.json()["displayPictureUrl"].removeprefix("http://testserver")
    assert object_storage.objects() == [f"parley/{path.removeprefix('/rtm/')}"]
    shown = client.get(path)
    assert (shown.status_code, shown["Content-Type"]) == (200, "image/png")
    assert "attachment" not in shown.get("Content-Disposition", "")
    assert content(shown) == png()
    assert nothing_on_disk(settings.MEDIA_ROOT)


def test_an_import_is_read_from_the_bucket_and_its_upload_removed_when_it_ends(
    api: Api, object_storage: Bucket, settings
) -> None:
    # given
    content = json.dumps([{"name": "ada"}, {"name": "bob"}, {"name": ""}]).encode()
    job_id = api.upload("/v1/imports/users", content).json()["id"]
    (kept,) = object_storage.objects()
    assert kept.startswith(f"parley/imports/{api.application.pk}/")

    # when
    jobs.run(job_id)

    # then
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert (job["state"], job["progress"]["created"], job["progress"]["failed"]) == ("FINISHED", 2, 1)
    assert set(ChatUser.objects.filter(application=api.application).values_list("name", flat=True)) == {"ada", "bob"}
    assert object_storage.objects() == []
    assert nothing_on_disk(settings.MEDIA_ROOT)


def test_an_export_is_written_to_the_bucket_and_downloads_through_the_api(
    api: Api, application: Application, object_storage: Bucket, settings
) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    send(ChannelFactory.create(application=application, name="general", members=[ada]), "hello", user=ada)
    job_id = api.client.post("/v1/analytics/messages", "", content_type="application/x-www-form-urlencoded").json()[
        "id"
    ]

    # when
    jobs.run(job_id)
    download = api.client.get(f"/v1/jobs/{job_id}/file")

    # then
    assert object_storage.objects() == [f"parley/exports/{application.pk}/{job_id}/messages.csv"]
    rows = content(download).decode().splitlines()
    assert rows[0].startswith("message_id,created_time,channel_id,channel_name")
    assert len(rows) == 2
    assert ",general," in rows[1]
    assert nothing_on_disk(settings.MEDIA_ROOT)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "gs://bucket", "bucket/prefix"])
def test_a_storage_url_that_names_no_s3_bucket_is_refused_at_start(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="PARLEY_STORAGE_URL must be s3://bucket"):
        file_storage(url)
