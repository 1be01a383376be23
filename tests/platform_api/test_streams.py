"""The browser SDK's uploads (``/rtm/streams``) and hosted files: grants, limits, refusals, tenant isolation."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from chat.actions.blocks import check_block_channel_user
from chat.actions.sessions import do_start_user_session
from chat.models import Message, UserSession
from chat.realtime.grants import read_grant, write_grant
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def jane_session(application) -> UserSession:
    jane = UserFactory.create(application=application, name="jane")
    ChannelFactory.create(application=application, name="general", members=[jane])
    return do_start_user_session(jane, user_agent="test")


def upload(client: Client, path: str, grant: str | None, **fields: object) -> Any:
    return client.post(path, fields, headers={"Grant": grant} if grant is not None else None)


def text_file(content: bytes = b"hello file", name: str = "notes.txt", kind: str = "text/plain") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=kind)


def test_a_file_message_is_stored_and_downloaded_with_a_read_grant_of_its_application(client, jane_session):
    # given
    channel = jane_session.user.memberships.get().channel

    # when
    response = upload(
        client, f"/rtm/streams/channels/{channel.pk}/messages", write_grant(jane_session), file=text_file()
    )

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["type"], body["file"]["type"], body["file"]["size"]) == ("FILE", "HOSTED", 10)
    assert Message.objects.get(pk=body["id"]).user == jane_session.user
    path = body["file"]["url"].removeprefix("http://testserver")
    downloaded = client.get(path, {"grant": read_grant(jane_session)})
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == b"hello file"
    stranger = do_start_user_session(UserFactory.create(application=ApplicationFactory.create()))
    assert client.get(path, {"grant": read_grant(stranger)}).status_code == 403
    assert client.get(path).status_code == 403


def test_uploads_are_refused_with_a_clear_error(client, jane_session, settings):
    channel = jane_session.user.memberships.get().channel
    stream = f"/rtm/streams/channels/{channel.pk}/messages"
    grant = write_grant(jane_session)
    other_channel = ChannelFactory.create(application=ApplicationFactory.create())
    settings.PARLEY_MAX_UPLOAD_BYTES = 100

    refusals = {
        "no grant": upload(client, stream, None, file=text_file()),
        "forged grant": upload(client, stream, grant[:-2] + "xx", file=text_file()),
        "read grant": upload(client, stream, read_grant(jane_session), file=text_file()),
        "no file": upload(client, stream, grant),
        "too large": upload(client, stream, grant, file=text_file(b"x" * 101)),
        "bad properties": upload(client, stream, grant, file=text_file(), properties="[1]"),
        "other tenant's channel": upload(
            client, f"/rtm/streams/channels/{other_channel.pk}/messages", grant, file=text_file()
        ),
        "not an image": upload(client, "/rtm/streams/user/display_picture", grant, file=text_file()),
    }

    assert {why: (r.status_code, r.json()["error"]) for why, r in refusals.items()} == {
        "no grant": (403, "ForbiddenError"),
        "forged grant": (403, "ForbiddenError"),
        "read grant": (403, "ForbiddenError"),
        "no file": (400, "BadRequestError"),
        "too large": (413, "PayloadTooLargeError"),
        "bad properties": (400, "BadRequestError"),
        "other tenant's channel": (404, "ResourceNotFoundError"),
        "not an image": (400, "BadRequestError"),
    }
    assert refusals["no file"].json()["field"] == "file"
    assert refusals["bad properties"].json()["field"] == "properties"
    assert not Message.objects.exists()


def test_a_grant_of_a_session_that_ended_long_ago_is_refused(client, jane_session):
    channel = jane_session.user.memberships.get().channel
    UserSession.objects.filter(pk=jane_session.pk).update(
        state="ENDED", end_time=timezone.now() - timedelta(minutes=10)
    )
    response = upload(
        client, f"/rtm/streams/channels/{channel.pk}/messages", write_grant(jane_session), file=text_file()
    )
    assert (response.status_code, response.json()["error"]) == (403, "ForbiddenError")


def test_browsers_on_other_origins_may_upload(client):
    response = client.options(
        "/rtm/streams/user/display_picture",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="grant, content-type",
    )
    assert response.status_code == 200
    assert response["access-control-allow-origin"] == "*"
    assert "grant" in response["access-control-allow-headers"]


def test_a_refused_file_message_leaves_no_file_behind(client, jane_session, settings):
    # given jane was blocked from her channel (a public one she could otherwise send into)
    channel = jane_session.user.memberships.get().channel
    check_block_channel_user(channel, jane_session.user)
    folder = Path(settings.MEDIA_ROOT) / "files" / str(channel.application_id)

    def stored() -> set[Path]:
        return {path for path in folder.rglob("*") if path.is_file()}

    before = stored()

    # when she uploads a file message
    response = upload(
        client, f"/rtm/streams/channels/{channel.pk}/messages", write_grant(jane_session), file=text_file()
    )

    # then it is refused, and the stored upload is removed again
    assert (response.status_code, response.json()["error"]) == (403, "ForbiddenError")
    assert stored() == before
    assert not Message.objects.exists()
