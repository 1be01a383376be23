"""Room API keys: created (shown once), listed, revoked through the Platform API; used on /api/messaging/messages."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions.keys import check_create_room_key
from chat.models import Message, RoomKey
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


def post(client: Client, key: str | None, body: object) -> dict:
    headers = {"accesstoken": key} if key is not None else None
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/api/messaging/messages", raw, content_type="application/json", headers=headers)
    return {**response.json(), "http": response.status_code}


def test_a_key_is_shown_once_stored_hashed_listed_and_revoked(api, application):
    # given
    channel = ChannelFactory.create(application=application)

    # when
    created = api.post(f"/v1/channels/{channel.pk}/api-keys", {"displayName": "Build bot"})
    listed = api.get(f"/v1/channels/{channel.pk}/api-keys")

    # then
    assert created.status_code == 200, created.content
    key = created.json()["key"]
    assert created.json()["displayName"] == "Build bot"
    assert created.json()["user"]["displayName"] == "Build bot"
    assert key.startswith(created.json()["prefix"])
    [row] = listed.json()["_embedded"]["keys"]
    assert "key" not in row
    stored = RoomKey.objects.get()
    assert key not in {stored.key_hash, stored.prefix, stored.display_name}
    assert stored.key_hash == RoomKey.hash_of(key)
    revoked = api.delete(f"/v1/channels/{channel.pk}/api-keys/{stored.pk}")
    assert revoked.status_code == 200
    assert revoked.json()["revokedTime"]


def test_keys_need_a_display_name_and_a_group_channel_and_stay_in_their_tenant(api, application, other_api):
    channel = ChannelFactory.create(application=application)
    blank = api.post(f"/v1/channels/{channel.pk}/api-keys", {"displayName": " "})
    missing = api.post(f"/v1/channels/{channel.pk}/api-keys", {})
    room_key, _ = check_create_room_key(channel, display_name="bot")
    assert blank.status_code == 400
    assert missing.status_code == 400
    assert "displayName" in missing.json()["message"]
    assert other_api.get(f"/v1/channels/{channel.pk}/api-keys").status_code == 404
    assert other_api.delete(f"/v1/channels/{channel.pk}/api-keys/{room_key.pk}").status_code == 404
    room_key.refresh_from_db()
    assert room_key.revoked_time is None


def test_a_script_posts_with_a_key_and_gets_the_documented_answer(client, application):
    # given a room of three, one of them online
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    jane.online = True
    jane.save()
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    room_key, key = check_create_room_key(channel, display_name="Deploys")

    # when
    answer = post(client, key, {"roomId": channel.pk, "type": "text", "body": {"text": "deployed v2"}, "localId": 7})
    as_string = post(client, key, {"roomId": channel.pk, "type": "text", "body": json.dumps({"text": "again"})})

    # then
    assert (answer["http"], answer["status"]) == (200, "success")
    message = answer["data"]["message"]
    stored = Message.objects.get(pk=message["id"])
    assert message == {
        "id": stored.pk,
        "roomId": channel.pk,
        "fromUserId": room_key.bot_id,
        "totalUserCount": 3,
        "deliveredCount": 1,
        "seenCount": 0,
        "type": "text",
        "body": {"text": "deployed v2"},
        "modifiedAt": int(stored.created_time.timestamp() * 1000),
        "createdAt": int(stored.created_time.timestamp() * 1000),
        "localId": 7,
        "deleted": False,
    }
    assert as_string["data"]["message"]["body"] == {"text": "again"}
    assert stored.user == room_key.bot
    assert room_key.bot.display_name == "Deploys"
    assert jane.notifications.filter(message=stored).exists()  # the one write path: members are notified
    room_key.refresh_from_db()
    assert room_key.last_used_time is not None


def test_bad_keys_and_bodies_are_refused_and_post_nothing(client, application):
    channel = ChannelFactory.create(application=application)
    other_channel = ChannelFactory.create(application=application)
    _, key = check_create_room_key(channel, display_name="bot")
    revoked, revoked_key = check_create_room_key(channel, display_name="old bot")
    revoked.revoked_time = revoked.created_time
    revoked.save()
    _, foreign_key = check_create_room_key(
        ChannelFactory.create(application=ApplicationFactory.create()), display_name="x"
    )
    good = {"roomId": channel.pk, "type": "text", "body": {"text": "hi"}}

    answers = {
        "no key": post(client, None, good),
        "unknown key": post(client, "rk_nope", good),
        "revoked key": post(client, revoked_key, good),
        "another room": post(client, key, {**good, "roomId": other_channel.pk}),
        "another tenant's key": post(client, foreign_key, good),
        "not json": post(client, key, "{"),
        "no room": post(client, key, {**good, "roomId": None}),
        "not text": post(client, key, {**good, "type": "image"}),
        "no text": post(client, key, {**good, "body": {}}),
        "blank text": post(client, key, {**good, "body": {"text": " "}}),
    }

    assert {why: a["http"] for why, a in answers.items()} == {
        "no key": 401,
        "unknown key": 401,
        "revoked key": 403,
        "another room": 403,
        "another tenant's key": 403,
        "not json": 400,
        "no room": 400,
        "not text": 400,
        "no text": 400,
        "blank text": 400,
    }
    assert all(a["status"] == "error" and set(a) == {"status", "message", "http"} for a in answers.values())
    assert not Message.objects.exists()


def test_a_key_made_for_a_moderator_records_them_and_others_are_refused(api, application):
    moderator, member = UserFactory.create(application=application), UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[moderator, member])
    channel.memberships.filter(user=moderator).update(is_moderator=True)

    made = api.post(f"/v1/channels/{channel.pk}/api-keys", {"displayName": "CI", "createdBy": {"id": moderator.pk}})
    refused = api.post(f"/v1/channels/{channel.pk}/api-keys", {"displayName": "CI", "createdBy": {"id": member.pk}})

    assert made.status_code == 200, made.content
    assert made.json()["createdBy"]["id"] == moderator.pk
    assert (refused.status_code, refused.json()["field"]) == (403, "createdBy")
    assert RoomKey.objects.count() == 1


def test_a_script_posting_often_writes_when_its_key_was_used_once_a_minute(client, application):
    # given a key used a minute and a second ago
    channel = ChannelFactory.create(application=application)
    room_key, key = check_create_room_key(channel, display_name="bot")
    long_ago = timezone.now() - timedelta(seconds=61)
    RoomKey.objects.filter(pk=room_key.pk).update(last_used_time=long_ago)
    body = {"roomId": channel.pk, "type": "text", "body": {"text": "hi"}}

    # when it posts twice in a row
    with CaptureQueriesContext(connection) as first:
        assert post(client, key, body)["status"] == "success"
    used = RoomKey.objects.get(pk=room_key.pk).last_used_time
    with CaptureQueriesContext(connection) as second:
        assert post(client, key, body)["status"] == "success"

    # then the first post recorded the use, the second (within the minute) wrote nothing about the key
    assert used is not None
    assert used > long_ago
    assert RoomKey.objects.get(pk=room_key.pk).last_used_time == used
    writes_of_key = [q for q in second.captured_queries if q["sql"].startswith('UPDATE "chat_roomkey"')]
    assert [q for q in first.captured_queries if q["sql"].startswith('UPDATE "chat_roomkey"')] != []
    assert writes_of_key == []
