"""Writing history: messages that were sent elsewhere (an import), stored in bulk as they were.

History is not news: no notifications, no live events and no channel sequence number (``Message.sequence`` stays
empty), so that nobody is alerted and no reconnecting client is replayed old messages as new. The rows go in with
PostgreSQL's COPY (ten times the speed of an INSERT of the same rows from Django), its columns and their encoding
taken from the model, so that a new field of ``Message`` needs no change here; other databases get ``bulk_create``.
"""

from collections import Counter

from django.db import connection
from django.db.models import F

from chat.models import Message

MESSAGES = Message._meta.db_table


def do_write_history(messages: list[Message]) -> None:
    """Insert validated messages, and count the replies among them on their parents.

    A message whose import key is taken (imported meanwhile by another job) breaks the unique index: IntegrityError,
    and nothing of the batch is written.
    """
    if not messages:
        return
    if connection.vendor == "postgresql":
        _copy(messages)
    else:
        Message.objects.bulk_create(messages)
    replied = Counter(message.thread_id for message in messages if message.nested_level)
    for thread_id, count in replied.items():
        Message.objects.filter(reply_thread=thread_id).update(replies_count=F("replies_count") + count)


def _copy(messages: list[Message]) -> None:
    fields = [field for field in Message._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,  # psycopg's errors as Django's
        cursor.cursor.copy(f"COPY {MESSAGES} ({columns}) FROM STDIN") as copy,  # noqa: S608  (names from metadata)
    ):
        for message in messages:
            copy.write_row([field.get_db_prep_save(getattr(message, field.attname), connection) for field in fields])
