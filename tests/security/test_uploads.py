"""Stored XSS through uploads: a file's type comes from its bytes, a display picture must decode as a raster image,
and user content is served so that a browser never runs it on Parley's origin."""

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from chat.actions.sessions import do_start_user_session
from chat.models import UserSession
from chat.realtime.grants import read_grant, write_grant
from tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db

SCRIPT = b"<!doctype html><html><body><script>fetch('/admin/').then(r => r.text()).then(alert)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
USER_CONTENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    """A real PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def guest_session(application) -> UserSession:
    guest = UserFactory.create(application=application, name="guest", is_guest=True)
    ChannelFactory.create(application=application, name="general", members=[guest])
    return do_start_user_session(guest, user_agent="test")


def post_file(client: Client, path: str, session: UserSession, content: bytes, name: str, kind: str) -> Any:
    upload = SimpleUploadedFile(name, content, content_type=kind)
    return client.post(path, {"file": upload}, headers={"Grant": write_grant(session)})


def fetch(client: Client, url: str, session: UserSession) -> Any:
    return client.get(url.removeprefix("http://testserver"), {"grant": read_grant(session)})


def headers_of(response: Any) -> dict[str, str]:
    return {name: response.get(name) for name in ("Content-Type", "Content-Disposition", *USER_CONTENT_HEADERS)}


@pytest.mark.parametrize(
    ("content", "name", "declared"),
    [(SCRIPT, "evil.html", "image/png"), (SCRIPT, "evil.png", "image/png"), (SVG, "evil.svg", "image/svg+xml")],
)
def test_a_display_picture_that_is_not_a_raster_image_is_refused(
    client: Client, guest_session: UserSession, content: bytes, name: str, declared: str
) -> None:
    # when
    response = post_file(client, "/rtm/streams/user/display_picture", guest_session, content, name, declared)

    # then
    assert response.status_code == 400
    assert response.json()["field"] == "file"
    assert "PNG, JPEG, GIF or WebP" in response.json()["message"]
    guest_session.user.refresh_from_db()
    assert guest_session.user.display_picture is None


def test_a_real_picture_is_served_inline_as_the_image_it_is(client: Client, guest_session: UserSession) -> None:
    # given: a PNG declared as HTML under an .html name
    uploaded = post_file(client, "/rtm/streams/user/display_picture", guest_session, png(), "me.html", "text/html")
    assert uploaded.status_code == 200, uploaded.content

    # when
    served = client.get(uploaded.json()["displayPictureUrl"].removeprefix("http://testserver"))

    # then
    assert served.status_code == 200
    assert headers_of(served) == {
        "Content-Type": "image/png",
        "Content-Disposition": 'inline; filename="me.html"',
        **USER_CONTENT_HEADERS,
    }


@pytest.mark.parametrize(
    ("content", "name", "declared", "served_type"),
    [
        (SCRIPT, "evil.html", "text/html", "text/plain"),
        (SCRIPT, "evil.png", "image/png", "text/plain"),
        (SVG, "evil.svg", "image/svg+xml", "text/plain"),
        (b"\x00\x01binary\xff", "evil.html", "text/html", "application/octet-stream"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "report.pdf", "text/html", "application/pdf"),
    ],
)
def test_a_message_file_is_typed_by_its_bytes_and_served_as_an_attachment(
    client: Client, guest_session: UserSession, content: bytes, name: str, declared: str, served_type: str
) -> None:
    # given
    channel = guest_session.user.memberships.get().channel

    # when
    sent = post_file(client, f"/rtm/streams/channels/{channel.pk}/messages", guest_session, content, name, declared)
    served = fetch(client, sent.json()["file"]["url"], guest_session)

    # then
    assert sent.status_code == 200, sent.content
    assert sent.json()["file"]["contentType"] == served_type
    assert served.status_code == 200
    assert headers_of(served) == {
        "Content-Type": served_type,
        "Content-Disposition": f'attachment; filename="{name}"',
        **USER_CONTENT_HEADERS,
    }


def test_an_image_message_file_is_shown_inline(client: Client, guest_session: UserSession) -> None:
    # given
    channel = guest_session.user.memberships.get().channel

    # when
    sent = post_file(client, f"/rtm/streams/channels/{channel.pk}/messages", guest_session, png(), "cat.bin", "x/y")
    served = fetch(client, sent.json()["file"]["url"], guest_session)

    # then
    assert sent.json()["file"]["contentType"] == "image/png"
    assert headers_of(served)["Content-Disposition"] == 'inline; filename="cat.bin"'
    assert headers_of(served)["Content-Type"] == "image/png"


def test_a_picture_too_large_to_decode_is_refused(client: Client, guest_session: UserSession) -> None:
    # when: 8,000 x 8,000 pixels of one colour compress to a small PNG
    response = post_file(
        client, "/rtm/streams/user/display_picture", guest_session, png((8000, 8000)), "bomb.png", "image/png"
    )

    # then
    assert response.status_code == 400
    assert response.json()["field"] == "file"


def test_user_content_may_be_served_from_an_origin_of_its_own(
    client: Client, guest_session: UserSession, settings: Any
) -> None:
    # given
    settings.PARLEY_USER_CONTENT_URL = "https://usercontent.example.net"
    channel = guest_session.user.memberships.get().channel

    # when
    sent = post_file(
        client, f"/rtm/streams/channels/{channel.pk}/messages", guest_session, b"hi", "a.txt", "text/plain"
    )

    # then
    assert sent.json()["file"]["url"].startswith(f"https://usercontent.example.net/rtm/files/{channel.application_id}/")


def test_generated_avatars_are_marked_as_user_content(client: Client) -> None:
    # when
    served = client.get("/avatars/initials.svg", {"name": "<script>alert(1)</script>"})

    # then
    assert served.status_code == 200
    assert {name: served[name] for name in USER_CONTENT_HEADERS} == USER_CONTENT_HEADERS
