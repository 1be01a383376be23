"""Users: the /v1/users operations, their inputs and their errors."""

import pytest

from chat.models import ChatUser
from tests.factories import ChannelFactory, UserFactory


def test_create_user_with_camel_case(api):
    response = api.post(
        "/v1/users", {"name": "jane@x.com", "displayName": "Jane", "isGuest": False, "properties": {"n": 42}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "jane@x.com"
    assert body["displayName"] == "Jane"
    assert body["isGuest"] is False
    assert body["properties"] == {"n": 42}
    assert body["presence"] == {"status": "UNAVAILABLE", "online": False}
    assert body["displayPictureUrl"].startswith("http://testserver/avatars/")
    assert body["_links"]["self"]["href"] == f"http://testserver/v1/users/{body['id']}"


def test_create_user_with_snake_case_and_vnd_content_type(api):
    response = api.post(
        "/v1/users",
        {"name": "bob", "display_name": "Bob", "is_guest": True},
        content_type="application/vnd.chatkitty+json",
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "Bob"
    assert response.json()["isGuest"] is True


def test_display_name_defaults_to_name(api):
    assert api.post("/v1/users", {"name": "solo"}).json()["displayName"] == "solo"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "isGuest": "maybe"}, "isGuest"),
        ({"name": "x", "properties": [1]}, "properties"),
        ({"name": "x" * 300}, "name"),
    ],
)
def test_create_user_rejects_bad_input_naming_the_field(api, body, field):
    response = api.post("/v1/users", body)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"] == "BadRequestError"
    assert response.json()["timestamp"].endswith("Z")


def test_a_taken_name_is_a_conflict(api):
    api.post("/v1/users", {"name": "dup"})
    response = api.post("/v1/users", {"name": "dup"})
    assert response.status_code == 409
    assert response.json()["field"] == "name"
    assert ChatUser.objects.filter(name="dup").count() == 1


def test_list_users_pages_filters_and_sorts(api, application):
    for index in range(30):
        UserFactory.create(
            application=application, name=f"u{index:02d}", properties={"team": "red" if index % 2 else "blue"}
        )
    first = api.get("/v1/users").json()
    assert first["page"] == {"size": 25, "totalElements": 30, "totalPages": 2, "number": 0}
    assert len(first["_embedded"]["users"]) == 25
    assert set(first["_links"]) == {"first", "self", "next", "last"}
    second = api.get("/v1/users", {"page": 1}).json()
    assert len(second["_embedded"]["users"]) == 5
    assert "prev" in second["_links"]
    by_name = api.get("/v1/users", {"name": "u07"}).json()["_embedded"]["users"]
    assert [u["name"] for u in by_name] == ["u07"]
    red = api.get("/v1/users", {"properties": '{"team": "red"}', "size": 100}).json()
    assert red["page"]["totalElements"] == 15
    desc = api.get("/v1/users", {"sort": "name,desc", "size": 2}).json()["_embedded"]["users"]
    assert [u["name"] for u in desc] == ["u29", "u28"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "x"}, "page"),
        ({"size": 0}, "size"),
        ({"sort": "password,asc"}, "sort"),
        ({"properties": "[1]"}, "properties"),
        ({"page": -1}, "page"),
    ],
)
def test_list_users_rejects_bad_parameters(api, params, field):
    response = api.get("/v1/users", params)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_size_is_capped_at_100(api):
    assert api.get("/v1/users", {"size": 1000}).json()["page"]["size"] == 100


def test_head_users_tells_whether_a_name_exists(api, application):
    UserFactory.create(application=application, name="Jane Doe")
    assert api.head("/v1/users", {"name": "Jane Doe"}).status_code == 200
    assert api.head("/v1/users", {"name": "nobody"}).status_code == 404
    assert api.head("/v1/users").status_code == 400


def test_update_user_is_a_merge_patch(api, application):
    user = UserFactory.create(application=application, properties={"a": 1, "b": {"c": 2, "d": 3}})
    response = api.patch(
        f"/v1/users/{user.pk}",
        {"displayName": "New", "presence": {"status": "BUSY"}, "properties": {"a": None, "b": {"c": 5}}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "New"
    assert body["presence"]["status"] == "BUSY"
    assert body["properties"] == {"b": {"c": 5, "d": 3}}


def test_an_empty_patch_changes_nothing(api, application):
    user = UserFactory.create(application=application, display_name="Same")
    response = api.patch(f"/v1/users/{user.pk}", "")
    assert response.status_code == 200
    assert response.json()["displayName"] == "Same"


def test_delete_user_answers_with_the_application_and_frees_the_name(api, application):
    user = UserFactory.create(application=application, name="gone")
    channel = ChannelFactory.create(application=application, members=[user])
    response = api.delete(f"/v1/users/{user.pk}")
    assert response.status_code == 200
    assert response.json()["key"] == application.key
    assert api.get(f"/v1/users/{user.pk}").status_code == 404
    assert not channel.memberships.filter(user=user).exists()
    assert api.post("/v1/users", {"name": "gone"}).status_code == 200


def test_display_picture(api, application):
    user = UserFactory.create(application=application)
    response = api.post(
        f"/v1/users/{user.pk}/display-picture",
        {"url": "https://cdn.example.com/jane.png", "name": "jane.png", "contentType": "image/png", "size": 32768},
    )
    assert response.status_code == 200
    assert response.json()["displayPictureUrl"] == "https://cdn.example.com/jane.png"
    bad = api.post(f"/v1/users/{user.pk}/display-picture", {"url": "nope", "name": "x", "contentType": "x", "size": 1})
    assert bad.status_code == 400
    assert bad.json()["field"] == "url"


def test_secrets_round_trip(api, application):
    user = UserFactory.create(application=application)
    assert api.get(f"/v1/users/{user.pk}/secrets/token").status_code == 404
    assert api.put(f"/v1/users/{user.pk}/secrets/token", {"secret": {"k": "v"}}).json()["id"] == user.pk
    assert api.get(f"/v1/users/{user.pk}/secrets/token").json() == {"secret": {"k": "v"}}
    assert api.put(f"/v1/users/{user.pk}/secrets/token", {"secret": "plain"}).status_code == 200
    assert api.get(f"/v1/users/{user.pk}/secrets/token").json() == {"secret": "plain"}
    assert api.delete(f"/v1/users/{user.pk}/secrets/token").status_code == 200
    assert api.delete(f"/v1/users/{user.pk}/secrets/token").status_code == 404
    assert api.put(f"/v1/users/{user.pk}/secrets/token", {"nope": 1}).json()["field"] == "secret"


def test_user_channels_lists_created_and_joined(api, application):
    user = UserFactory.create(application=application)
    joined = ChannelFactory.create(application=application, members=[user])
    created = ChannelFactory.create(application=application, creator=user)
    ChannelFactory.create(application=application)
    body = api.get(f"/v1/users/{user.pk}/channels").json()
    assert {c["id"] for c in body["_embedded"]["channels"]} == {joined.pk, created.pk}
