"""Messages and threads: sending, history with cursors, edits, deletes, notifications, unread state, receipts."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions.messages import check_read_channel, check_report_message
from chat.errors import Conflict, Invalid
from chat.models import Notification
from tests.factories import ChannelFactory, UserFactory, send

FILE = {"url": "https://cdn.example.com/a.png", "name": "a.png", "contentType": "image/png", "size": 10}


def params_of(link):
    return {key: values[0] for key, values in parse_qs(urlparse(link["href"]).query).items()}


def test_send_as_system_and_as_user(api, application):
    jane = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane])
    system = api.post(f"/v1/channels/{channel.pk}/messages", {"type": "TEXT", "body": "Hello, World!"}).json()
    assert system["type"] == "SYSTEM_TEXT"
    assert "user" not in system
    assert system["nestedLevel"] == 0
    user = api.post(
        f"/v1/channels/{channel.pk}/messages",
        {"type": "TEXT", "body": "hi", "user": {"username": jane.name}, "groupTag": "g", "properties": {"x": 1}},
    ).json()
    assert user["type"] == "TEXT"
    assert user["user"]["id"] == jane.pk
    assert user["groupTag"] == "g"
    file = api.post(f"/v1/channels/{channel.pk}/messages", {"type": "FILE", "file": FILE}).json()
    assert file["type"] == "SYSTEM_FILE"
    assert file["file"]["type"] == "EXTERNAL"
    assert file["file"]["size"] == 10
    user_file = api.post(
        f"/v1/channels/{channel.pk}/messages",
        {"type": "FILE", "file": {**FILE, "content_type": "x/y"}, "user": {"id": jane.pk}},
    ).json()
    assert user_file["type"] == "FILE"


def test_send_message_rejects_bad_input(api, application):
    outsider = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, channel_type="PRIVATE")
    url = f"/v1/channels/{channel.pk}/messages"
    cases = [
        ({"body": "x"}, 400, "type"),
        ({"type": "VOICE", "body": "x"}, 400, "type"),
        ({"type": "TEXT"}, 400, "body"),
        ({"type": "TEXT", "body": "   "}, 400, "body"),
        ({"type": "TEXT", "body": "x" * 10_001}, 400, "body"),
        ({"type": "FILE"}, 400, "file"),
        ({"type": "FILE", "file": {**FILE, "size": -1}}, 400, "file.size"),
        ({"type": "TEXT", "body": "x", "user": {"username": "ghost"}}, 404, "user"),
        ({"type": "TEXT", "body": "x", "user": {"id": outsider.pk}}, 400, "user"),
    ]
    for body, status, field in cases:
        response = api.post(url, body)
        assert (response.status_code, response.json().get("field")) == (status, field), body
    assert channel.messages.count() == 0


def test_sending_into_a_public_channel_joins_the_sender(api, application):
    jane = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application)
    response = api.post(f"/v1/channels/{channel.pk}/messages", {"type": "TEXT", "body": "x", "user": {"id": jane.pk}})
    assert response.status_code == 200
    assert channel.memberships.filter(user=jane).exists()


def test_channel_history_pages_with_integer_cursors_both_ways(api, application):
    channel = ChannelFactory.create(application=application)
    ids = [send(channel, f"m{i}").pk for i in range(12)]
    first = api.get(f"/v1/channels/{channel.pk}/messages", {"size": 5}).json()
    assert [m["id"] for m in first["_embedded"]["messages"]] == ids[::-1][:5]
    assert first["page"] == {"size": 5}
    assert "prev" not in first["_links"]
    send(channel, "arrives later")
    second = api.get(f"/v1/channels/{channel.pk}/messages", params_of(first["_links"]["next"])).json()
    assert [m["id"] for m in second["_embedded"]["messages"]] == ids[::-1][5:10]
    third = api.get(f"/v1/channels/{channel.pk}/messages", params_of(second["_links"]["next"])).json()
    assert [m["id"] for m in third["_embedded"]["messages"]] == ids[::-1][10:]
    assert "next" not in third["_links"]
    back = api.get(f"/v1/channels/{channel.pk}/messages", params_of(third["_links"]["prev"])).json()
    assert [m["id"] for m in back["_embedded"]["messages"]] == ids[::-1][5:10]
    assert api.get(f"/v1/channels/{channel.pk}/messages", {"relation": "UP"}).json()["field"] == "relation"
    assert api.get(f"/v1/channels/{channel.pk}/messages", {"next": "abc"}).json()["field"] == "next"


def test_message_filters_and_application_wide_list(api, application):
    jane = UserFactory.create(application=application)
    one, two = (
        ChannelFactory.create(application=application, members=[jane]),
        ChannelFactory.create(application=application),
    )
    send(one, "apples", user=jane)
    send(two, "pears")
    listed = api.get("/v1/messages").json()["_embedded"]["messages"]
    assert [m["body"] for m in listed] == ["pears", "apples"]
    assert [m["body"] for m in api.get("/v1/messages", {"username": jane.name}).json()["_embedded"]["messages"]] == [
        "apples"
    ]
    assert [
        m["body"] for m in api.get(f"/v1/channels/{one.pk}/messages", {"query": "APP"}).json()["_embedded"]["messages"]
    ] == ["apples"]


def test_update_and_delete_message(api, application):
    channel = ChannelFactory.create(application=application)
    message = send(channel, "tpyo", properties={"a": 1})
    edited = api.patch(f"/v1/messages/{message.pk}", {"body": "typo", "properties": {"b": 2}}).json()
    assert edited["body"] == "typo"
    assert edited["properties"] == {"a": 1, "b": 2}
    assert edited["lastEditedTime"]
    assert api.get(f"/v1/messages/{message.pk}").json()["body"] == "typo"
    deleted = api.delete(f"/v1/messages/{message.pk}").json()
    assert deleted["type"] == "MAIN"
    assert deleted["id"] == channel.main_thread_id
    assert api.get(f"/v1/messages/{message.pk}").status_code == 404
    assert "lastReceivedMessage" not in api.get(f"/v1/channels/{channel.pk}").json()


def test_delete_all_messages(api, application, other_application):
    send(ChannelFactory.create(application=application), "mine")
    theirs = send(ChannelFactory.create(application=other_application), "theirs")
    assert api.delete("/v1/messages").json()["id"] == application.pk
    assert api.get("/v1/messages").json()["_embedded"]["messages"] == []
    theirs.refresh_from_db()  # still there: another tenant's messages are untouched


def test_sending_notifies_the_other_members(api, application):
    jane, bob = (
        UserFactory.create(application=application, display_name="Jane"),
        UserFactory.create(application=application),
    )
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    api.post(f"/v1/channels/{channel.pk}/messages", {"type": "TEXT", "body": "hi", "user": {"id": jane.pk}})
    api.post(f"/v1/channels/{channel.pk}/messages", {"type": "TEXT", "body": "system"})
    bobs = api.get(f"/v1/users/{bob.pk}/notifications").json()["_embedded"]["notifications"]
    assert [(n["title"], n["data"]["type"]) for n in bobs] == [
        ("System message sent", "SYSTEM:SENT:MESSAGE"),
        ("Jane sent a message", "USER:SENT:MESSAGE"),
    ]
    assert bobs[1]["data"]["_relays"]["message"].endswith(f"{bobs[1]['data']['message']['id']}.relay")
    assert bobs[1]["channel"]["id"] == channel.pk
    assert bobs[1]["muted"] is False
    janes = api.get(f"/v1/users/{jane.pk}/notifications").json()["_embedded"]["notifications"]
    assert [n["data"]["type"] for n in janes] == ["SYSTEM:SENT:MESSAGE"]


def test_unread_messages_count_and_read_receipts(api, application):
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    first, second = send(channel, "one", user=jane), send(channel, "two", user=jane)
    unread = api.get(f"/v1/users/{bob.pk}/messages", {"unread": "True"}).json()["_embedded"]["messages"]
    assert [m["id"] for m in unread] == [second.pk, first.pk]
    assert api.get(f"/v1/users/{bob.pk}/messages/unread/count").json() == {"count": 2}
    assert api.get(f"/v1/users/{jane.pk}/messages/unread/count").json() == {"count": 0}
    sent = api.get(f"/v1/users/{jane.pk}/messages").json()["_embedded"]["messages"]
    assert [m["id"] for m in sent] == [second.pk, first.pk]
    assert api.get(f"/v1/messages/{first.pk}/read-receipts").json()["page"]["totalElements"] == 0
    # when
    check_read_channel(channel, bob, up_to=first)
    # then
    assert api.get(f"/v1/users/{bob.pk}/messages/unread/count").json() == {"count": 1}
    receipts = api.get(f"/v1/messages/{first.pk}/read-receipts").json()["_embedded"]["receipts"]
    assert [r["user"]["id"] for r in receipts] == [bob.pk]
    assert api.get(f"/v1/messages/{second.pk}/read-receipts").json()["page"]["totalElements"] == 0
    assert Notification.objects.get(user=bob, message=first).read_time is not None


def test_threads(api, application):
    jane = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane])
    main = api.get(f"/v1/channels/{channel.pk}").json()["_links"]["thread"]["href"]
    thread_id = int(main.rsplit("/", 1)[1])
    thread = api.get(f"/v1/threads/{thread_id}").json()
    assert thread["type"] == "MAIN"
    assert thread["id"] == thread_id
    sent = api.post(
        f"/v1/threads/{thread_id}/messages", {"type": "TEXT", "body": "in thread", "user": {"id": jane.pk}}
    ).json()
    assert sent["channelId"] == channel.pk
    listed = api.get(f"/v1/threads/{thread_id}/messages").json()["_embedded"]["messages"]
    assert [m["id"] for m in listed] == [sent["id"]]
    keys = api.post(f"/v1/threads/{thread_id}/keystrokes", {"keys": "x", "user": {"id": jane.pk}})
    assert keys.json()["username"] == jane.name
    assert api.get("/v1/threads/999999").status_code == 404


def test_read_receipt_summaries_count_what_each_member_has_not_read(api, other_api, application):
    # given
    jane, bob, mia = (UserFactory.create(application=application) for _ in range(3))
    general = ChannelFactory.create(application=application, members=[jane, bob, mia])
    side = ChannelFactory.create(application=application, members=[jane, bob])
    first = send(general, "one", user=jane)
    send(general, "two", user=jane)
    send(general, "system")
    send(side, "psst", user=bob)
    check_read_channel(general, mia, up_to=first)
    # when
    page = api.get("/v1/application/message-read-receipt-summaries", {"sort": "count,desc"}).json()
    # then
    rows = [(s["channel"]["id"], s["user"]["id"], s["count"]) for s in page["_embedded"]["summaries"]]
    assert rows[0] == (general.pk, bob.pk, 3)
    assert sorted(rows[1:]) == sorted([(general.pk, jane.pk, 1), (general.pk, mia.pk, 2), (side.pk, jane.pk, 1)])
    assert page["page"]["totalElements"] == 4
    assert "_links" not in page["_embedded"]["summaries"][0]["user"]
    assert other_api.get("/v1/application/message-read-receipt-summaries").json()["page"]["totalElements"] == 0


def test_users_filter_by_unread(api, application):
    jane, bob, mia = (UserFactory.create(application=application) for _ in range(3))
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    send(channel, "hi", user=jane)

    def names(unread: str) -> set[str]:
        return {u["name"] for u in api.get("/v1/users", {"unread": unread}).json()["_embedded"]["users"]}

    assert names("true") == {bob.name}
    assert names("False") == {jane.name, mia.name}
    check_read_channel(channel, bob)
    assert names("true") == set()
    assert api.get("/v1/users", {"unread": "maybe"}).status_code == 400


def test_reported_messages_list_what_members_reported(api, other_api, application):
    # given
    jane, bob, mia = (UserFactory.create(application=application) for _ in range(3))
    channel = ChannelFactory.create(application=application, members=[jane, bob, mia])
    rude, fine, worse = (
        send(channel, "rude", user=jane),
        send(channel, "fine", user=jane),
        send(channel, "x", user=jane),
    )
    check_report_message(rude, bob, reason="Rude")
    check_report_message(worse, bob)
    check_report_message(worse, mia, reason="Spam")
    # when
    page = api.get(f"/v1/channels/{channel.pk}/reported-messages", {"sort": "reportCount,desc"}).json()
    # then
    assert [(m["id"], m["reportCount"]) for m in page["_embedded"]["messages"]] == [(worse.pk, 2), (rude.pk, 1)]
    assert "reportCount" not in api.get(f"/v1/messages/{fine.pk}").json()
    assert other_api.get(f"/v1/channels/{channel.pk}/reported-messages").status_code == 404


def test_reporting_rules(application):
    jane, bob, outsider = (UserFactory.create(application=application) for _ in range(3))
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    message = send(channel, "hello", user=jane)
    check_report_message(message, bob)
    with pytest.raises(Conflict):
        check_report_message(message, bob)
    with pytest.raises(Invalid, match="own messages"):
        check_report_message(message, jane)
    with pytest.raises(Invalid, match="not a member"):
        check_report_message(message, outsider)
    with pytest.raises(Invalid) as error:
        check_report_message(message, outsider, reason="x" * 2000)
    assert error.value.field == "reason"
    message.refresh_from_db()
    assert message.report_count == 1


def test_notification_page_costs_the_same_queries_for_1_and_10_channels(api, application):
    # given
    jane, bob = UserFactory.create(application=application), UserFactory.create(application=application)
    send(ChannelFactory.create(application=application, name="c0", members=[jane, bob]), "hi", user=jane)
    api.get("/v1/application")  # the token's lookup is not the page's cost
    with CaptureQueriesContext(connection) as one_channel:
        api.get(f"/v1/users/{bob.pk}/notifications")
    for i in range(1, 10):
        send(ChannelFactory.create(application=application, name=f"c{i}", members=[jane, bob]), "hi", user=jane)
    # when
    with CaptureQueriesContext(connection) as ten_channels:
        page = api.get(f"/v1/users/{bob.pk}/notifications").json()
    # then
    assert len({n["channel"]["id"] for n in page["_embedded"]["notifications"]}) == 10
    assert all(n["channel"]["lastReceivedMessage"]["body"] == "hi" for n in page["_embedded"]["notifications"])
    assert len(ten_channels.captured_queries) == len(one_channel.captured_queries)
