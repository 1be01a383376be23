"""Every event an action sends is declared in ``chat.catalogue``, and every declared type reaches its consumers.

The scenario drives every action that sends an event, catches each event as it commits, and asks the hub what it
would deliver with every topic listened to, and the function triggers what runs they would queue. A new type that
no action sends, or a type declared for live clients that no client would hear, fails here.
"""

from typing import Any

import pytest

from chat import events
from chat.actions.applications import check_update_application_settings
from chat.actions.blocks import (
    check_block_channel_user,
    check_block_user,
    check_unblock_channel_user,
    check_unblock_user,
)
from chat.actions.channels import (
    check_add_moderator,
    check_create_channel,
    check_hide_channel,
    check_mute_channel,
    check_remove_member,
    check_remove_moderator,
    check_send_channel_event,
    check_send_invite,
    check_update_channel,
    do_delete_channel,
    do_send_keystrokes,
)
from chat.actions.messages import (
    check_clear_channel_history,
    check_create_thread,
    check_read_channel,
    check_report_message,
    check_unread_message,
    check_update_message,
    do_delete_all_messages,
    do_delete_message,
)
from chat.actions.push import check_push
from chat.actions.reactions import check_react, check_remove_reaction
from chat.actions.sessions import (
    do_end_chat_session,
    do_end_user_session,
    do_resume_user_session,
    do_start_chat_session,
    do_start_user_session,
)
from chat.actions.users import check_create_user, check_update_user, do_delete_user
from chat.catalogue import CATALOGUE, FUNCTIONS, LIVE, Consumer, of_consumer
from chat.events import Event
from chat.models import Application, Thread
from chat.realtime.deliveries import AUDIENCE, HANDLERS, Delivery, Listening, audible, deliveries
from chat.realtime.resources import Resources
from chat.wire.renderer import Renderer
from functions.triggers import TRIGGERS
from imports.actions import do_fail_job, do_finish_job
from imports.models import JobType
from tests.factories import UserFactory, claimed_export, send


class Everything:
    """Stands for the topics (and kinds of topic) of a process where every topic has a listener."""

    def __contains__(self, topic: object) -> bool:
        return True

    def get(self, kind: str) -> int:
        return 1


class EveryKind(dict[str, int]):
    """Every kind of topic has a listener."""

    def get(self, kind: str, default: Any = None) -> int:  # type: ignore[override]
        return 1


EVERYWHERE = Listening(Everything(), EveryKind())


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], list[Delivery], int]]:
    """Each committed event, what the hub would deliver of it, and how many function runs it would queue."""
    found: list[tuple[dict[str, Any], list[Delivery], int]] = []
    renderer = Renderer("http://testserver")

    def listen(event: Event) -> None:
        published = {**event.__dict__}
        live = deliveries(published, EVERYWHERE) if audible(published, Everything(), Everything()) else []
        for delivery in live:
            delivery.render(Resources("http://testserver"))  # renders, now, as a client would get it
        runs = sum(len(trigger.build(renderer, event)) for trigger in TRIGGERS.get(event.type, ()))
        found.append((published, live, runs))

    monkeypatch.setattr(events, "COMMITTED_LISTENERS", [listen])
    return found


def test_the_hub_and_the_triggers_handle_exactly_the_declared_types() -> None:
    assert set(HANDLERS) == of_consumer(LIVE)
    assert set(AUDIENCE) | {"push.sent"} == of_consumer(LIVE)  # pushes are heard by their own topic names
    assert set(TRIGGERS) == of_consumer(FUNCTIONS)
    assert [name for name, declared in CATALOGUE.items() if declared.consumers == Consumer(0)] == []


def test_an_undeclared_type_or_undeclared_data_cannot_be_sent() -> None:
    with pytest.raises(ValueError, match="not declared"):
        Event(type="channel.exploded", application_id=1, resource_type="channel", resource_id=1)
    with pytest.raises(ValueError, match="undeclared"):
        Event(type="channel.hidden", application_id=1, resource_type="channel", resource_id=1, data={"who": 1})
    with pytest.raises(ValueError, match="missing"):
        Event(type="channel.hidden", application_id=1, resource_type="channel", resource_id=1)
    with pytest.raises(ValueError, match="about a channel"):
        Event(type="channel.hidden", application_id=1, resource_type="user", resource_id=1, data={"user_id": 1})


@pytest.mark.django_db(transaction=True)
def test_every_declared_event_is_sent_and_reaches_its_consumers(
    application: Application, heard: list[tuple[dict[str, Any], list[Delivery], int]]
) -> None:
    # given
    found = heard
    jane, bob, carol = (UserFactory.create(application=application, name=name) for name in ("jane", "bob", "carol"))

    # when every action that sends an event runs
    dave = check_create_user(application, name="dave", display_name="Dave")
    general, _ = check_create_channel(application, channel_type="PUBLIC", name="general", creator=jane, members=[bob])
    general_id = general.pk
    check_update_channel(general, {"display_name": "General"})
    check_update_user(jane, {"display_name": "Jane D"})
    session = do_start_user_session(jane)
    do_end_chat_session(do_start_chat_session(session, general))
    do_end_user_session(session)
    do_resume_user_session(session)
    do_finish_job(claimed_export(application, JobType.USER_ANALYTICS_EXPORT))
    do_fail_job(claimed_export(application, JobType.MESSAGE_ANALYTICS_EXPORT), "no")
    check_update_application_settings(application, guest_users="ENABLED", user_created_channels=None)
    hello = send(general, "hello", user=jane)
    check_update_message(hello, {"body": "hello!"})
    check_report_message(hello, bob, reason="rude")
    check_react(hello, bob, "👍")
    check_remove_reaction(hello, bob, "👍")
    check_read_channel(general, bob)
    check_unread_message(hello, bob)
    check_mute_channel(general, bob, muted=True)
    check_clear_channel_history(general, bob)
    check_create_thread(general, name="planning")
    check_send_channel_event(general, event_type="poll", properties={"q": "lunch?"}, user=jane)
    do_send_keystrokes(Thread.objects.get(pk=general.main_thread_pk), user=jane, keys="h")
    send(general, "may I join?", user=carol)  # a public channel: sending joins
    check_add_moderator(general, dave)  # not yet a member: joins too
    check_remove_moderator(general, dave)
    check_send_invite(general, UserFactory.create(application=application, name="erin"))
    check_remove_member(general, carol)
    check_unblock_channel_user(general, check_block_channel_user(general, dave).user)
    check_block_user(jane, bob)
    check_unblock_user(jane, bob)
    direct, _ = check_create_channel(application, channel_type="DIRECT", members=[jane, bob])
    send(direct, "psst", user=jane)
    check_hide_channel(direct, bob)
    send(direct, "are you there?", user=jane)
    check_push(application, [{"channel": "lobby", "event": "ping", "data": {"n": 1}}])
    do_delete_message(hello)
    do_delete_all_messages(application)
    do_delete_channel(general)
    do_delete_user(dave)

    # then every declared type was sent, each reached a live client or a function as declared
    assert {event["type"] for event, _, _ in found} == set(CATALOGUE)
    silent = {name for name in of_consumer(LIVE) if not any(live for event, live, _ in found if event["type"] == name)}
    assert silent == set()
    unrun = {
        name for name in of_consumer(FUNCTIONS) if not any(runs for event, _, runs in found if event["type"] == name)
    }
    assert unrun == set()

    # and the defects of issue 17: joining by sending and by becoming a moderator announce the new member
    added = [event["data"]["user_id"] for event, _, _ in found if event["type"] == "channel.member.added"]
    assert added == [carol.pk, dave.pk]
    joined = [
        (delivery.topic, delivery.event_type)
        for event, live, _ in found
        if event["type"] == "channel.member.added"
        for delivery in live
    ]
    assert (f"/topic/channels/{general_id}/members", "channel.member.joined") in joined
    # the member who hid the direct channel, and only them, is told of the message that brings it back
    created = [event["data"] for event, _, _ in found if event["type"] == "message.created"]
    assert [data.get("unhides") for data in created] == [None, None, None, [bob.pk]]
