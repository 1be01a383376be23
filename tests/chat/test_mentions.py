"""Mentions: parsing, resolution within the tenant, positions for JavaScript clients, and the notifications."""

from chat.actions.messages import check_update_message
from chat.mentions import find_mentions
from chat.models import Notification, NotificationType
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, send


def test_tags_resolve_to_users_and_channels_of_the_same_application(application):
    # given
    jane = UserFactory.create(application=application, name="jane@example.com")
    UserFactory.create(application=ApplicationFactory.create(), name="bob")
    channel = ChannelFactory.create(application=application, name="general", members=[jane])
    # when
    found = find_mentions("Hi @jane@example.com, see #general and @bob. Mail me at x@jane.io #nowhere", channel)
    # then
    assert [(row["type"], row["tag"]) for row in found.rows] == [("USER", "@jane@example.com"), ("CHANNEL", "#general")]
    assert found.user_ids == {jane.pk}
    assert found.mentions_channel  # #general is this very channel


def test_positions_count_utf16_code_units_like_javascript(application):
    jane = UserFactory.create(application=application, name="jane")
    channel = ChannelFactory.create(application=application, members=[jane])
    text = "🎉 @jane"
    row = find_mentions(text, channel).rows[0]
    assert (row["startPosition"], row["endPosition"]) == (3, 8)  # "🎉" is two UTF-16 units, as String.length counts
    assert text.encode("utf-16-le")[row["startPosition"] * 2 : row["endPosition"] * 2].decode("utf-16-le") == "@jane"


def test_text_without_tags_costs_no_query(application, django_assert_num_queries):
    channel = ChannelFactory.create(application=application)
    with django_assert_num_queries(0):
        assert find_mentions("plain words", channel).rows == []


def test_mentions_notify_and_render(api, application):
    # given
    jane, bob, mia = (UserFactory.create(application=application, name=n) for n in ("jane", "bob", "mia"))
    channel = ChannelFactory.create(application=application, name="team", members=[jane, bob, mia])
    # when
    sent = api.post(
        f"/v1/channels/{channel.pk}/messages", {"type": "TEXT", "body": "@bob look", "user": {"username": "jane"}}
    ).json()
    everyone = send(channel, "@here lunch?", user=bob)
    # then
    bob_properties = {k: v for k, v in api.get(f"/v1/users/{bob.pk}").json().items() if k != "_links"}
    assert sent["mentions"] == [
        {"type": "USER", "tag": "@bob", "startPosition": 0, "endPosition": 4, "user": bob_properties}
    ]
    kinds = dict(Notification.objects.filter(message_id=sent["id"]).values_list("user__name", "type"))
    assert kinds == {"bob": NotificationType.USER_MENTIONED_USER, "mia": NotificationType.USER_SENT_MESSAGE}
    kinds = dict(Notification.objects.filter(message=everyone).values_list("user__name", "type"))
    assert kinds == {"jane": NotificationType.USER_MENTIONED_CHANNEL, "mia": NotificationType.USER_MENTIONED_CHANNEL}
    note = api.get(f"/v1/users/{bob.pk}/notifications").json()["_embedded"]["notifications"][0]
    assert note["data"]["type"] == "USER:MENTIONED:USER"
    assert note["data"]["mentionedUser"]["id"] == bob.pk
    assert note["title"] == f"{jane.display_name} mentioned you"
    note = api.get(f"/v1/users/{mia.pk}/notifications").json()["_embedded"]["notifications"][0]
    assert note["data"]["mentionedChannel"]["id"] == channel.pk
    listed = api.get(f"/v1/channels/{channel.pk}/messages").json()["_embedded"]["messages"]
    assert [m["mentions"][0]["type"] for m in listed] == ["CHANNEL", "USER"]
    assert listed[0]["mentions"][0]["channel"]["name"] == "team"


def test_editing_the_text_updates_the_mentions(application):
    jane, bob = UserFactory.create(application=application, name="jane"), UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    message = send(channel, "hi @jane", user=bob)
    assert message.mentions
    check_update_message(message, {"body": "hi all"})
    message.refresh_from_db()
    assert message.mentions is None
