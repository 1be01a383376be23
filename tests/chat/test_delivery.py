"""Storing a message with its notifications: the one statement on PostgreSQL that checks, inserts and fans out."""

import pytest

from chat.actions.messages import check_send_message
from chat.errors import Invalid
from chat.models import ChannelMembership, Message, Notification, NotificationType, Thread, ThreadType
from tests.factories import ChannelFactory, UserFactory, send


def reply_thread(message: Message) -> Thread:
    """The thread of replies to a message (the client API creates these; the Platform API only reads them)."""
    return Thread.objects.create(
        application_id=message.application_id, channel=message.channel, type=ThreadType.MESSAGE, parent_message=message
    )


def kinds_for(message: Message) -> dict[int, tuple[str, int | None, int | None]]:
    """Each recipient's notification of ``message``: its type, parent message and mentioned user."""
    return {
        n.user_id: (n.type, n.parent_message_id, n.mentioned_user_id)
        for n in Notification.objects.filter(message=message)
    }


def test_a_reply_counts_on_its_parent_and_tells_its_author_first(application):
    # given
    jane, bob, mia, leo = (UserFactory.create(application=application, name=n) for n in ("jane", "bob", "mia", "leo"))
    channel = ChannelFactory.create(application=application, members=[jane, bob, mia, leo])
    parent = send(channel, "question", user=jane)

    # when bob replies, mentioning jane (the author) and mia
    reply = send(channel, "@jane @mia answer", user=bob, thread=reply_thread(parent))

    # then
    parent.refresh_from_db()
    assert parent.replies_count == 1
    assert reply.nested_level == 1
    assert kinds_for(reply) == {
        jane.pk: (NotificationType.USER_REPLIED_TO_MESSAGE, parent.pk, None),
        mia.pk: (NotificationType.USER_MENTIONED_USER, None, mia.pk),
        leo.pk: (NotificationType.USER_SENT_MESSAGE, None, None),
    }
    stored = Message.objects.get(pk=reply.pk)
    assert (stored.body, stored.user_id, stored.thread_id, stored.created_time) == (
        reply.body,
        bob.pk,
        reply.thread_id,
        reply.created_time,
    )


def test_a_channel_mention_reaches_everyone_but_the_sender_and_keeps_mutes(application):
    # given
    jane, bob, mia = (UserFactory.create(application=application) for _ in range(3))
    channel = ChannelFactory.create(application=application, members=[jane, bob, mia])
    ChannelMembership.objects.filter(channel=channel, user=mia).update(muted=True)

    # when
    message = send(channel, "@here lunch", user=jane)

    # then
    assert set(kinds_for(message)) == {bob.pk, mia.pk}
    assert {n.type for n in Notification.objects.filter(message=message)} == {NotificationType.USER_MENTIONED_CHANNEL}
    assert Notification.objects.get(message=message, user=mia).muted
    assert Notification.objects.get(message=message, user=bob).mentioned_channel_id == channel.pk


def test_a_system_message_notifies_every_member(application):
    jane, bob = (UserFactory.create(application=application) for _ in range(2))
    channel = ChannelFactory.create(application=application, members=[jane, bob])
    message = send(channel, "maintenance tonight")
    assert message.type == "SYSTEM_TEXT"
    assert set(kinds_for(message).values()) == {(NotificationType.SYSTEM_SENT_MESSAGE, None, None)}
    assert set(kinds_for(message)) == {jane.pk, bob.pk}


def test_a_non_member_of_a_private_channel_stores_nothing(application):
    # given
    jane, outsider = (UserFactory.create(application=application) for _ in range(2))
    channel = ChannelFactory.create(application=application, channel_type="PRIVATE", members=[jane])

    # when
    with pytest.raises(Invalid) as refused:
        check_send_message(channel, message_type="TEXT", body="let me in", user=outsider)

    # then
    assert refused.value.field == "user"
    assert not Message.objects.filter(channel=channel).exists()
    assert not Notification.objects.filter(channel=channel).exists()
