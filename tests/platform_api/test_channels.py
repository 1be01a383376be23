"""Channels: creation rules, updates, members, moderators, invites, events and keystrokes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions.blocks import check_block_channel_user, check_unblock_channel_user
from chat.models import Channel
from tests.factories import ChannelFactory, UserFactory, send


def test_create_public_channel_defaults_name_and_display_name(api):
    body = api.post("/v1/channels", {"type": "PUBLIC"}).json()
    assert body["type"] == "PUBLIC"
    assert len(body["name"]) == 36
    assert body["displayName"] == body["name"]
    assert body["_links"]["participants"]["href"].endswith(f"/v1/channels/{body['id']}/participants")


def test_create_private_channel_with_creator_and_members_in_snake_case(api, application):
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    response = api.post(
        "/v1/channels",
        {
            "type": "PRIVATE",
            "name": "team",
            "display_name": "Team",
            "creator": {"id": jane.pk},
            "members": [{"username": bob.name}],
        },
        content_type="application/vnd.chatkitty+json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["displayName"] == "Team"
    assert body["creator"]["id"] == jane.pk
    members = api.get(f"/v1/channels/{body['id']}/members").json()["_embedded"]["users"]
    assert {m["id"] for m in members} == {jane.pk, bob.pk}
    moderators = api.get(f"/v1/channels/{body['id']}/moderators").json()["_embedded"]["users"]
    assert [m["id"] for m in moderators] == [jane.pk]


def test_a_direct_channel_is_returned_again_for_the_same_members(api, application):
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    first = api.post("/v1/channels", {"type": "DIRECT", "members": [{"id": jane.pk}, {"username": bob.name}]}).json()
    again = api.post("/v1/channels", {"type": "DIRECT", "members": [{"username": bob.name}, {"id": jane.pk}]}).json()
    assert first["id"] == again["id"]
    assert {m["id"] for m in first["members"]} == {jane.pk, bob.pk}
    assert "name" not in first
    assert Channel.objects.filter(type="DIRECT").count() == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "type"),
        ({"type": "GROUP"}, 400, "type"),
        ({"type": "DIRECT", "members": []}, 400, "members"),
        ({"type": "PUBLIC", "members": [{"username": "ghost"}]}, 404, "members[0]"),
        ({"type": "PUBLIC", "members": "x"}, 400, "members"),
        ({"type": "PUBLIC", "creator": {"id": "1"}}, 400, "creator"),
        ({"type": "PUBLIC", "properties": "x"}, 400, "properties"),
    ],
)
def test_create_channel_rejects_bad_input(api, body, status, field):
    response = api.post("/v1/channels", body)
    assert response.status_code == status
    assert response.json()["field"] == field


def test_a_taken_channel_name_is_a_conflict(api):
    assert api.post("/v1/channels", {"type": "PUBLIC", "name": "general"}).status_code == 200
    response = api.post("/v1/channels", {"type": "PRIVATE", "name": "general"})
    assert response.status_code == 409
    assert response.json()["field"] == "name"


def test_list_channels_filters(api, application):
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    public = ChannelFactory.create(application=application, members=[jane], properties={"topic": "x"})
    private = ChannelFactory.create(application=application, channel_type="PRIVATE", members=[jane, bob])
    direct = ChannelFactory.create(application=application, channel_type="DIRECT", name=None, members=[jane, bob])

    def ids(params):
        return {c["id"] for c in api.get("/v1/channels", params).json()["_embedded"]["channels"]}

    assert ids({}) == {public.pk, private.pk, direct.pk}
    assert ids({"type": "PRIVATE"}) == {private.pk}
    assert ids({"members": [jane.name, bob.name]}) == {private.pk, direct.pk}
    assert ids({"properties": '{"topic": "x"}'}) == {public.pk}
    assert ids({"startTime": "2000-01-01T00:00:00+00:00", "endTime": "2000-01-02T00:00:00Z"}) == set()
    assert ids({"sort": "id,desc"}) == {public.pk, private.pk, direct.pk}
    assert api.get("/v1/channels", {"type": "GROUP"}).json()["field"] == "type"
    assert api.get("/v1/channels", {"startTime": "yesterday"}).json()["field"] == "startTime"


def test_update_and_delete_channel(api, application):
    channel = ChannelFactory.create(application=application, properties={"a": 1})
    send(channel, "hi")
    body = api.patch(f"/v1/channels/{channel.pk}", {"displayName": "Renamed", "properties": {"b": 2}}).json()
    assert body["displayName"] == "Renamed"
    assert body["properties"] == {"a": 1, "b": 2}
    assert body["lastReceivedMessage"]["body"] == "hi"
    assert "_links" not in body["lastReceivedMessage"]
    assert api.patch(f"/v1/channels/{channel.pk}", {"displayName": ""}).json()["field"] == "displayName"
    deleted = api.delete(f"/v1/channels/{channel.pk}")
    assert deleted.status_code == 200
    assert deleted.json()["id"] == application.pk
    assert api.get(f"/v1/channels/{channel.pk}").status_code == 404


def test_members_and_memberships(api, application):
    channel = ChannelFactory.create(application=application)
    jane = UserFactory.create(application=application)
    added = api.post(f"/v1/channels/{channel.pk}/members", {"username": jane.name})
    assert added.status_code == 200
    assert added.json()["id"] == channel.pk
    assert api.post(f"/v1/channels/{channel.pk}/members", {"id": jane.pk}).status_code == 200
    memberships = api.get(f"/v1/channels/{channel.pk}/memberships").json()
    assert memberships["page"]["totalElements"] == 1
    assert "createdTime" in memberships["_embedded"]["memberships"][0]
    assert api.delete(f"/v1/channels/{channel.pk}/members/{jane.pk}").json()["id"] == channel.pk
    assert api.delete(f"/v1/channels/{channel.pk}/members/{jane.pk}").status_code == 404
    assert api.post(f"/v1/channels/{channel.pk}/members", {"foo": 1}).status_code == 400


def test_direct_channels_have_fixed_members(api, application):
    jane, bob, eve = (UserFactory.create(application=application) for _ in range(3))
    direct = ChannelFactory.create(application=application, channel_type="DIRECT", name=None, members=[jane, bob])
    assert api.post(f"/v1/channels/{direct.pk}/members", {"id": eve.pk}).status_code == 400
    assert api.delete(f"/v1/channels/{direct.pk}/members/{jane.pk}").status_code == 400


def test_moderators(api, application):
    channel = ChannelFactory.create(application=application)
    jane = UserFactory.create(application=application)
    response = api.post(f"/v1/channels/{channel.pk}/moderators", {"username": jane.name})
    assert response.status_code == 200
    assert response.json()["id"] == jane.pk
    assert [u["id"] for u in api.get(f"/v1/channels/{channel.pk}/moderators").json()["_embedded"]["users"]] == [jane.pk]
    assert api.delete(f"/v1/channels/{channel.pk}/moderators/{jane.pk}").json()["id"] == channel.pk
    assert api.get(f"/v1/channels/{channel.pk}/moderators").json()["page"]["totalElements"] == 0
    assert api.get(f"/v1/channels/{channel.pk}/members").json()["page"]["totalElements"] == 1
    assert api.delete(f"/v1/channels/{channel.pk}/moderators/{jane.pk}").status_code == 404


def test_invites(api, application):
    channel = ChannelFactory.create(application=application, channel_type="PRIVATE")
    jane = UserFactory.create(application=application)
    response = api.post(f"/v1/channels/{channel.pk}/invites", {"user": {"username": jane.name}})
    assert response.status_code == 200
    assert response.json()["createdTime"]
    assert api.get(f"/v1/channels/{channel.pk}/invites").json()["page"]["totalElements"] == 1
    api.post(f"/v1/channels/{channel.pk}/members", {"id": jane.pk})
    assert api.get(f"/v1/channels/{channel.pk}/invites").json()["page"]["totalElements"] == 0
    again = api.post(f"/v1/channels/{channel.pk}/invites", {"user": {"id": jane.pk}})
    assert again.status_code == 400
    assert again.json()["field"] == "user"
    assert api.post(f"/v1/channels/{channel.pk}/invites", {}).json()["field"] == "user"


def test_participants_are_members_online(api, application):
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    jane.online = True
    jane.save(update_fields=["online"])
    users = api.get(f"/v1/channels/{channel.pk}/participants").json()["_embedded"]["users"]
    assert [u["id"] for u in users] == [jane.pk]


def test_custom_events_and_keystrokes(api, application):
    jane = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane])
    event = api.post(f"/v1/channels/{channel.pk}/events", {"type": "Boom", "properties": {"n": 42}})
    assert event.status_code == 200
    assert event.json()["properties"] == {"n": 42}
    assert api.post(f"/v1/channels/{channel.pk}/events", {"type": "x"}).json()["field"] == "properties"
    keys = api.post(f"/v1/channels/{channel.pk}/keystrokes", {"keys": "hel", "user": {"username": jane.name}})
    assert keys.status_code == 200
    assert keys.json()["username"] == jane.name
    assert keys.json()["keys"] == "hel"
    assert isinstance(keys.json()["_links"], dict)


def test_last_received_message_is_the_newest_of_the_main_thread(api, application):
    # given
    jane = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane])
    first, second = send(channel, "first", user=jane), send(channel, "second", user=jane)
    # when: the newest is deleted
    api.delete(f"/v1/messages/{second.pk}")
    # then
    assert api.get(f"/v1/channels/{channel.pk}").json()["lastReceivedMessage"]["id"] == first.pk


def test_channel_list_costs_the_same_queries_for_1_and_20_channels(api, application, django_assert_max_num_queries):
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, channel_type="DIRECT", members=[jane, bob])
    send(channel, "hi", user=jane)
    with CaptureQueriesContext(connection) as one:
        api.get("/v1/channels")
    for i in range(19):
        send(ChannelFactory.create(application=application, name=f"c{i}", members=[jane]), f"m{i}", user=jane)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = api.get("/v1/channels").json()
    assert len(page["_embedded"]["channels"]) == 20
    assert all("lastReceivedMessage" in c for c in page["_embedded"]["channels"])


def test_a_user_blocked_from_a_channel_cannot_be_added_or_send_until_unblocked(api, application):
    # given eve was blocked from a public channel
    eve = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[eve])
    check_block_channel_user(channel, eve)

    # when the backend adds her, and she sends (which would join a public channel)
    added = api.post(f"/v1/channels/{channel.pk}/members", {"username": eve.name})
    sent = api.post(f"/v1/channels/{channel.pk}/messages", {"type": "TEXT", "body": "hi", "user": {"id": eve.pk}})

    # then both are refused, naming the user, and she is not a member; once unblocked, she can be added
    assert (added.status_code, added.json()["error"]) == (403, "ForbiddenError")
    assert (sent.status_code, sent.json()["error"]) == (403, "ForbiddenError")
    assert eve.name in sent.json()["message"]
    assert not channel.memberships.filter(user=eve).exists()
    assert not channel.messages.exists()
    check_unblock_channel_user(channel, eve)
    assert api.post(f"/v1/channels/{channel.pk}/members", {"username": eve.name}).status_code == 200
