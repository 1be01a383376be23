"""Deep JSON: refused where it enters (REST bodies and query parameters, multipart fields, STOMP frames, sails
packets, pushes, room-key bodies, merge patches, imported items), and a row stored before the bound breaks no page."""

from typing import Any

import orjson
import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat.bounds import MAX_JSON_DEPTH, too_deep
from chat.errors import Invalid
from chat.merge_patch import merge_patch
from chat.models import ChatUser, Message
from chat.realtime.stomp import Frame
from imports.items import ItemError, clean_user
from tests.chat.realtime.test_consumer import connect, tenant  # noqa: F401  (fixtures)
from tests.conftest import Api
from tests.factories import ChannelFactory, UserFactory, send


def nested(levels: int) -> str:
    """JSON text of objects nested ``levels`` deep."""
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


def deep(levels: int) -> Any:
    """Objects nested ``levels`` deep (built without recursion)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_depth_is_measured_without_recursion() -> None:
    assert too_deep(deep(MAX_JSON_DEPTH)) is None
    assert too_deep(deep(MAX_JSON_DEPTH + 1)) == ["a"] * MAX_JSON_DEPTH
    assert too_deep(orjson.loads(nested(1000))) is not None


@pytest.mark.parametrize("levels", [33, 300, 1000])
def test_rest_bodies_nested_too_deep_are_refused_naming_the_field(api: Api, levels: int) -> None:
    # given
    user = UserFactory.create(application=api.application, name="jane")
    channel = ChannelFactory.create(application=api.application, name="general", members=[user])
    body = '{"name": "eve", "properties": ' + nested(levels) + "}"

    # when
    answers = {
        "create user": api.post("/v1/users", body),
        "patch user": api.patch(f"/v1/users/{user.pk}", '{"properties": ' + nested(levels) + "}"),
        "secret": api.put(f"/v1/users/{user.pk}/secrets/token", '{"secret": ' + nested(levels) + "}"),
        "message": api.post(
            f"/v1/channels/{channel.pk}/messages", '{"type": "TEXT", "body": "x", "properties": ' + nested(levels) + "}"
        ),
        "filter": api.get("/v1/users", {"properties": nested(levels)}),
    }

    # then
    assert {why: answer.status_code for why, answer in answers.items()} == dict.fromkeys(answers, 400)
    assert {why: answer.json().get("field") for why, answer in answers.items()} == {
        "create user": "properties",
        "patch user": "properties",
        "secret": "secret",
        "message": "properties",
        "filter": "properties",
    }
    assert not ChatUser.objects.filter(name="eve").exists()
    assert not Message.objects.exists()


def test_json_within_the_bound_is_taken(api: Api) -> None:
    # when
    created = api.post("/v1/users", '{"name": "eve", "properties": ' + nested(MAX_JSON_DEPTH - 1) + "}")

    # then
    assert created.status_code == 200, created.content


def test_a_row_stored_too_deep_before_the_bound_breaks_no_page(api: Api) -> None:
    # given: rows written as they could be before (orjson renders at most 255 levels)
    user = UserFactory.create(application=api.application, name="jane")
    channel = ChannelFactory.create(application=api.application, name="general", members=[user])
    message = send(channel, "hello", user)
    ChatUser.objects.filter(pk=user.pk).update(properties=deep(300))
    Message.objects.filter(pk=message.pk).update(properties=deep(300))
    well = UserFactory.create(application=api.application, name="well", properties={"team": "red"})

    # when
    pages = {
        "users": api.get("/v1/users"),
        "channel messages": api.get(f"/v1/channels/{channel.pk}/messages"),
        "messages": api.get("/v1/messages"),
        "user": api.get(f"/v1/users/{user.pk}"),
    }

    # then
    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    users = {u["name"]: u["properties"] for u in pages["users"].json()["_embedded"]["users"]}
    assert users == {"jane": {}, "well": {"team": "red"}}
    assert pages["channel messages"].json()["_embedded"]["messages"][0]["properties"] == {}
    assert well.properties == {"team": "red"}


def test_pushes_and_room_key_bodies_nested_too_deep_are_refused(api: Api, client: Client) -> None:
    # given
    channel = ChannelFactory.create(application=api.application, name="general")
    key = api.post(f"/v1/channels/{channel.pk}/api-keys", {"displayName": "Deploys"}).json()["key"]
    secret = api.application.push_secret  # type: ignore[attr-defined]

    # when
    pushes = [
        client.post(
            "/wssv/send",
            '{"channel": "news", "data": ' + nested(levels) + "}",
            content_type="application/json",
            headers={"Authorization": f"key={secret}"},
        )
        for levels in (300, 2000)
    ]
    rooms = [
        client.post(
            "/api/messaging/messages",
            '{"roomId": ' + str(channel.pk) + ', "type": "text", "body": ' + nested(levels) + "}",
            content_type="application/json",
            headers={"accesstoken": key},
        )
        for levels in (300, 2000)
    ]

    # then
    assert [(push.status_code, push.json()["Error"]["field"]) for push in pushes] == [(400, "data"), (400, "body")]
    assert [(room.status_code, room.json()["status"]) for room in rooms] == [(400, "error"), (400, "error")]
    assert "nests deeper than 32 levels" in rooms[0].json()["message"]
    assert not Message.objects.exists()


def test_a_merge_patch_nested_too_deep_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        merge_patch({}, deep(MAX_JSON_DEPTH + 2))
    assert refused.value.field == "properties"


def test_an_imported_item_nested_too_deep_or_too_large_fails_alone_naming_its_field(settings: Any) -> None:
    settings.PARLEY_MAX_BODY_BYTES = 1000
    for properties in (deep(300), {"blob": "x" * 1000}):
        with pytest.raises(ItemError) as refused:
            clean_user({"name": "eve", "properties": properties}, 1)
        assert refused.value.field == "properties"
    assert clean_user({"name": "eve", "properties": {"blob": "x" * 900}}, 1)


@pytest.mark.django_db(transaction=True)
async def test_a_stomp_frame_nested_too_deep_is_refused_and_the_connection_lives_on(connect, tenant) -> None:  # noqa: F811
    # given
    jane = connect(tenant["application"].key)
    await jane.login("jane")
    channels = await jane.relay("/application/user/channels.relay")
    action = channels["_embedded"]["channels"][0]["_actions"]["message"]
    body = ('{"type": "TEXT", "body": "x", "properties": ' + nested(300) + "}").encode()

    # when
    frame = Frame("SEND", {"destination": action, "receipt": "deep"}, body)
    await jane.ws.send_to(text_data=frame.encode().decode())
    answer = await jane.frame()
    again = await jane.relay("/application/user.relay")

    # then
    assert answer.headers.get("receipt-id") == "deep"
    assert orjson.loads(answer.body)["error"] == "InvalidRequestError"
    assert "nests deeper than 32 levels" in orjson.loads(answer.body)["message"]
    assert again["name"] == "jane"
    assert not await database_sync_to_async(Message.objects.exists)()
