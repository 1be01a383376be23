"""Chat's history writer stores imported messages as they were, every field of the model, in one COPY."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from chat.actions.history import do_write_history
from chat.actions.messages import check_open_reply_thread
from chat.models import Application, Message
from tests.factories import ChannelFactory, UserFactory, send


@pytest.mark.django_db
def test_history_keeps_every_field_counts_replies_and_sends_nothing(application: Application) -> None:
    # given
    jane = UserFactory.create(application=application)
    channel = ChannelFactory.create(application=application, members=[jane])
    parent = send(channel, "the question", user=jane)
    replies = check_open_reply_thread(parent)
    then = datetime(2020, 5, 17, 8, 30, tzinfo=UTC)
    written = [
        Message(
            application=application,
            channel=channel,
            thread_id=channel.main_thread_pk,
            type="TEXT",
            user=jane,
            body="tab\there, newline\nthere, back\\slash",
            file={"url": "https://files.example.com/a.txt", "name": "a.txt"},
            group_tag="g1",
            properties={"nested": {"list": [1, "two", None]}},
            mentions=[{"user_id": jane.pk}],
            created_time=then,
            import_key="m-1",
        ),
        *(
            Message(
                application=application,
                channel=channel,
                thread=replies,
                type="SYSTEM_TEXT",
                body=f"answer {n}",
                nested_level=1,
                created_time=then,
                import_key=f"r-{n}",
            )
            for n in range(2)
        ),
    ]

    # when
    with CaptureQueriesContext(connection) as queries:
        do_write_history(written)

    # then every field reads back as written; replies are counted; no event, notification or sequence number
    stored = Message.objects.get(import_key="m-1")
    expected = model_to_dict(written[0], exclude=["id"])
    assert model_to_dict(stored, exclude=["id"]) == expected
    assert stored.sequence is None
    parent.refresh_from_db()
    assert parent.replies_count == 2
    assert not jane.notifications.filter(message__import_key__isnull=False).exists()
    assert len(queries) == 1  # besides the COPY (psycopg's own, uncounted): one update for the replied-to parent

    # and a key imported twice writes nothing of the batch
    with pytest.raises(IntegrityError):
        do_write_history(
            [
                Message(
                    application=application,
                    channel=channel,
                    thread_id=channel.main_thread_pk,
                    type="TEXT",
                    body="again",
                    import_key="m-1",
                ),
            ]
        )
