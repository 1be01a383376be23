"""The wire contract: content types, size limits, errors, routing, OpenAPI and tenancy."""

import json

import pytest

from tests.factories import ChannelFactory, UserFactory, send


def test_merge_patch_media_types_and_empty_bodies(api, application):
    user = UserFactory.create(application=application)
    for content_type in ("application/json+merge-patch", "application/merge-patch+json", "application/json"):
        assert api.patch(f"/v1/users/{user.pk}", "", content_type=content_type).status_code == 200


def test_unsupported_content_type_is_415(api):
    response = api.post("/v1/users", "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"] == "UnsupportedMediaTypeError"


def test_malformed_json_is_400(api):
    response = api.post("/v1/users", "{not json")
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["message"]


def test_a_body_that_is_not_an_object_is_400(api):
    assert api.post("/v1/users", "[1, 2]").status_code == 400


def test_oversized_body_is_413(api, settings):
    settings.PARLEY_MAX_BODY_BYTES = 1000
    response = api.post("/v1/users", {"name": "x", "properties": {"blob": "y" * 2000}})
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLargeError"


def test_wrong_method_is_405_json(api):
    response = api.call("PATCH", "/v1/users")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowedError"


def test_unknown_routes_and_trailing_slashes_are_404_json_not_redirects(api):
    for path in ("/v1/nothing", "/v1/users/", "/v1/users/abc"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "ResourceNotFoundError"


def test_timestamps_are_utc_with_milliseconds_and_ids_are_integers(api, application):
    body = api.post("/v1/users", {"name": "t"}).json()
    channel = api.post("/v1/channels", {"type": "PUBLIC"}).json()
    assert isinstance(body["id"], int)
    assert len(channel["createdTime"]) == len("2021-09-16T20:45:33.696Z")
    assert channel["createdTime"].endswith("Z")
    error = api.get("/v1/users/987654321").json()
    assert len(error["timestamp"]) == len("2021-09-16T20:45:33.696Z"), error


def test_absent_optionals_are_omitted_never_null(api, application):
    channel = ChannelFactory.create(application=application)
    send(channel)
    for path in ("/v1/channels", f"/v1/channels/{channel.pk}/messages", "/v1/users"):
        assert "null" not in json.dumps(api.get(path).json()), path


def test_openapi_document_and_docs_page_are_served(client, db):
    document = client.get("/v1/openapi.json")
    assert document.status_code == 200
    schema = document.json()
    assert schema["openapi"].startswith("3.")
    assert "/v1/channels/{channel_id}/messages" in schema["paths"]
    assert client.get("/v1/docs").status_code == 200


def test_avatar_is_an_svg_of_initials(client, db):
    response = client.get("/avatars/initials.svg", {"name": "Jane Doe"})
    assert response["Content-Type"] == "image/svg+xml"
    assert b">JD</text>" in response.content


TENANT_URLS = [
    ("GET", "/v1/users/{user}"),
    ("PATCH", "/v1/users/{user}"),
    ("DELETE", "/v1/users/{user}"),
    ("GET", "/v1/users/{user}/channels"),
    ("POST", "/v1/users/{user}/display-picture"),
    ("GET", "/v1/users/{user}/messages"),
    ("GET", "/v1/users/{user}/messages/unread/count"),
    ("GET", "/v1/users/{user}/notifications"),
    ("GET", "/v1/users/{user}/secrets/s"),
    ("PUT", "/v1/users/{user}/secrets/s"),
    ("DELETE", "/v1/users/{user}/secrets/s"),
    ("GET", "/v1/channels/{channel}"),
    ("PATCH", "/v1/channels/{channel}"),
    ("DELETE", "/v1/channels/{channel}"),
    ("POST", "/v1/channels/{channel}/events"),
    ("GET", "/v1/channels/{channel}/invites"),
    ("POST", "/v1/channels/{channel}/invites"),
    ("POST", "/v1/channels/{channel}/keystrokes"),
    ("GET", "/v1/channels/{channel}/members"),
    ("POST", "/v1/channels/{channel}/members"),
    ("DELETE", "/v1/channels/{channel}/members/{user}"),
    ("GET", "/v1/channels/{channel}/memberships"),
    ("GET", "/v1/channels/{channel}/messages"),
    ("POST", "/v1/channels/{channel}/messages"),
    ("GET", "/v1/channels/{channel}/moderators"),
    ("POST", "/v1/channels/{channel}/moderators"),
    ("DELETE", "/v1/channels/{channel}/moderators/{user}"),
    ("GET", "/v1/channels/{channel}/participants"),
    ("GET", "/v1/channels/{channel}/reported-messages"),
    ("GET", "/v1/messages/{message}"),
    ("PATCH", "/v1/messages/{message}"),
    ("DELETE", "/v1/messages/{message}"),
    ("GET", "/v1/messages/{message}/read-receipts"),
    ("GET", "/v1/threads/{thread}"),
    ("POST", "/v1/threads/{thread}/keystrokes"),
    ("GET", "/v1/threads/{thread}/messages"),
    ("POST", "/v1/threads/{thread}/messages"),
]


@pytest.mark.parametrize(("method", "template"), TENANT_URLS)
def test_another_tenants_ids_answer_404_and_change_nothing(api, other_application, method, template):
    # given: data that belongs to another application
    owner = UserFactory.create(application=other_application, name="owner", display_name="Owner")
    channel = ChannelFactory.create(application=other_application, members=[owner], properties={"k": 1})
    message = send(channel, "theirs", user=owner)
    UserFactory.create(application=api.application, name="owner")
    path = template.format(user=owner.pk, channel=channel.pk, message=message.pk, thread=channel.main_thread_id)
    body = {
        "type": "TEXT",
        "body": "x",
        "keys": "x",
        "user": {"username": "owner"},
        "username": "owner",
        "displayName": "Hacked",
        "properties": {"k": 2},
        "secret": {"v": 1},
        "url": "https://x.io/a.png",
        "name": "a",
        "contentType": "image/png",
        "size": 1,
    }
    # when
    response = api.call(method, path, body if method in ("POST", "PUT", "PATCH") else None)
    # then
    assert response.status_code == 404, response.content
    owner.refresh_from_db()
    channel.refresh_from_db()
    message.refresh_from_db()
    assert (owner.display_name, owner.deleted_time, channel.properties, message.body) == (
        "Owner",
        None,
        {"k": 1},
        "theirs",
    )
    assert channel.messages.count() == 1
    assert channel.memberships.count() == 1
    assert not owner.secrets.exists()
