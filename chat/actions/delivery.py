"""Storing a new message with its notifications in as few round trips as the database allows.

Sending is the hottest write: on PostgreSQL the membership check, the channel's next sequence number, the insert, the
parent's reply count, the fan-out to every member and the ``message.created`` row of the event log are one statement
(one round trip, atomic by itself, no BEGIN/COMMIT of its own: the message and its event are stored together or not
at all). Other
databases (SQLite for development) run the same steps as separate statements in one transaction. Both fan out with
the same ``INSERT … SELECT`` over the memberships, so the kind each member gets is decided in one place.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Field

from chat.events import next_sequence
from chat.mentions import Mentions
from chat.models import Channel, ChannelMembership, ChannelType, EventRecord, Message, Notification, NotificationType
from chat.selectors.channels import is_member

CHANNELS = Channel._meta.db_table
MEMBERSHIPS = ChannelMembership._meta.db_table
MESSAGES = Message._meta.db_table
NOTIFICATIONS = Notification._meta.db_table
EVENTS = EventRecord._meta.db_table


@dataclass(frozen=True)
class Delivery:
    """A message about to be stored, what it replies to and mentions, and whether its sender must be a member."""

    message: Message
    parent: Message | None
    mentions: Mentions
    sender_must_be_member: bool


def logs_its_event() -> bool:
    """Whether ``store`` also writes the message's ``message.created`` row of the event log (in its one statement);
    elsewhere the caller logs it, in the transaction that stores the message."""
    return connection.vendor == "postgresql"


def store(delivery: Delivery) -> list[int] | None:
    """Insert the message (setting its id) and notify the other members; None if the sender is not a member.

    A message in a direct channel brings it back to the members who had hidden it: they are returned.
    """
    if connection.vendor == "postgresql":
        return _store_in_one_statement(delivery)
    return _store_in_steps(delivery)


def _store_in_steps(delivery: Delivery) -> list[int] | None:
    message = delivery.message
    with transaction.atomic():
        sender = message.user
        if (
            delivery.sender_must_be_member
            and sender is not None
            and not is_member(channel=message.channel, user=sender)
        ):
            return None
        message.sequence = next_sequence(message.channel_id)
        message.save(force_insert=True)
        if delivery.parent is not None:
            _bump_replies(delivery.parent)
        sql, params = _fan_out(delivery, message_id="%(message)s")
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "message": message.pk})
        if not _may_be_hidden(message):
            return []
        hidden = ChannelMembership.objects.filter(channel_id=message.channel_id, hidden_sequence__isnull=False)
        unhides = list(hidden.values_list("user_id", flat=True))
        hidden.update(hidden_sequence=None)
    return unhides


def _may_be_hidden(message: Message) -> bool:
    """Only direct channels can be hidden (``check_hide_channel``)."""
    return message.channel.type == ChannelType.DIRECT


def _bump_replies(parent: Message) -> None:
    Message.objects.filter(pk=parent.pk).update(replies_count=F("replies_count") + 1)


def _store_in_one_statement(delivery: Delivery) -> list[int] | None:
    message = delivery.message
    sql, params = send_statement(delivery)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    message.pk, message.sequence, unhides = row
    message._state.adding = False
    message._state.db = connection.alias
    return sorted(unhides or [])


def send_statement(delivery: Delivery) -> tuple[str, dict[str, Any]]:
    """PostgreSQL's one statement that stores a message (the benchmark's same-SQL reference runs it too): it returns
    the message's id, sequence number and the members it unhid, or no row if the sender may not send there."""
    message = delivery.message
    columns, names, values = _message_columns(connection.vendor)
    params: dict[str, Any] = {
        name: field.get_db_prep_save(getattr(message, field.attname), connection) for name, field in columns
    }
    gate = "TRUE"
    if delivery.sender_must_be_member:
        gate = f"EXISTS (SELECT 1 FROM {MEMBERSHIPS} WHERE channel_id = %(m_channel_id)s AND user_id = %(m_user_id)s)"  # noqa: S608
    bump = ""
    if delivery.parent is not None:
        bump = (
            f", bumped AS (UPDATE {MESSAGES} SET replies_count = replies_count + 1"  # noqa: S608
            " WHERE id = %(parent)s AND EXISTS (SELECT 1 FROM stored))"
        )
    unhide, unhidden, unhides_data = "", "NULL", "'{}'::jsonb"
    if _may_be_hidden(message):
        unhide = (
            f", unhidden AS (UPDATE {MEMBERSHIPS} SET hidden_sequence = NULL"  # noqa: S608
            " WHERE channel_id = %(m_channel_id)s AND hidden_sequence IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM stored) RETURNING user_id)"
        )
        unhidden = "(SELECT array_agg(user_id) FROM unhidden)"
        unhides_data = (
            "(SELECT CASE WHEN count(*) = 0 THEN '{}'::jsonb"
            " ELSE jsonb_build_object('unhides', jsonb_agg(user_id ORDER BY user_id)) END FROM unhidden)"
        )
    # the event's data as ``chat.actions.messages`` publishes it: thread, sender, sequence (and who sees it again)
    logged = (
        f", logged AS (INSERT INTO {EVENTS}"  # noqa: S608
        " (application_id, type, resource_type, resource_id, channel_id, sequence, data, created_time)"
        " SELECT %(m_application_id)s, 'message.created', 'message', stored.id, %(m_channel_id)s, stored.sequence,"
        " jsonb_build_object('thread_id', CAST(%(m_thread_id)s AS bigint), 'user_id', CAST(%(m_user_id)s AS bigint),"
        f" 'sequence', stored.sequence) || {unhides_data}, %(m_created_time)s FROM stored)"
    )
    fan_out, fan_out_params = _fan_out(delivery, message_id="stored.id", source="stored CROSS JOIN")
    sql = (
        f"WITH numbered AS (UPDATE {CHANNELS} SET last_sequence = last_sequence + 1"  # noqa: S608
        f" WHERE id = %(m_channel_id)s AND {gate} RETURNING last_sequence),"
        f" stored AS (INSERT INTO {MESSAGES} ({names})"
        f" SELECT {values} FROM numbered RETURNING id, sequence){bump}{unhide}{logged},"
        f" notified AS ({fan_out})"
        f" SELECT id, sequence, {unhidden} FROM stored"
    )
    return sql, {**params, **fan_out_params}


MESSAGE_FIELDS = [field for field in Message._meta.concrete_fields if not field.primary_key]


@cache
def _message_columns(vendor: str) -> tuple[list[tuple[str, "Field[Any, Any]"]], str, str]:
    """The parameters of a message's columns in ``send_statement`` (name, field), the columns' names, and the SELECT
    list that stores them, cast to their types (worked out once: the casts cost as much as the rest of the
    statement)."""
    columns, values = [], []
    for field in MESSAGE_FIELDS:
        if field.attname == "sequence":
            values.append("numbered.last_sequence")
            continue
        columns.append((f"m_{field.column}", field))
        values.append(f"CAST(%(m_{field.column})s AS {field.cast_db_type(connection)})")
    return columns, ", ".join(str(field.column) for field in MESSAGE_FIELDS), ", ".join(values)


def _titles(message: Message) -> dict[str, str]:
    if message.user is None:
        return {NotificationType.SYSTEM_SENT_MESSAGE: "System message sent"}
    name = message.user.display_name
    return {
        NotificationType.USER_REPLIED_TO_MESSAGE: f"{name} replied to your message",
        NotificationType.USER_MENTIONED_USER: f"{name} mentioned you",
        NotificationType.USER_MENTIONED_CHANNEL: f"{name} mentioned everyone in the channel",
        NotificationType.USER_SENT_MESSAGE: f"{name} sent a message",
    }


def _fan_out(delivery: Delivery, *, message_id: str, source: str = "") -> tuple[str, dict[str, Any]]:
    """One ``INSERT … SELECT`` notifying every member but the sender; each gets one notification of the kind that
    concerns them most: a reply to their message, then a mention of them, then a mention of everyone."""
    message, parent, mentions = delivery.message, delivery.parent, delivery.mentions
    titles = _titles(message)
    params: dict[str, Any] = {
        "n_application": message.application_id,
        "n_body": message.body if message.file is None else "File attachment",
        "n_channel": message.channel_id,
        "n_created": connection.ops.adapt_datetimefield_value(message.created_time),
        "parent": parent.pk if parent is not None else None,
    }
    whens = []
    if message.user_id is None:
        otherwise = NotificationType.SYSTEM_SENT_MESSAGE
    else:
        if parent is not None and parent.user_id is not None:
            params["n_parent_author"] = parent.user_id
            whens.append(f"WHEN member.user_id = %(n_parent_author)s THEN '{NotificationType.USER_REPLIED_TO_MESSAGE}'")
        if mentions.user_ids:
            names = [f"n_mentioned_{index}" for index in range(len(mentions.user_ids))]
            params.update(zip(names, sorted(mentions.user_ids), strict=True))
            listed = ", ".join(f"%({name})s" for name in names)
            whens.append(f"WHEN member.user_id IN ({listed}) THEN '{NotificationType.USER_MENTIONED_USER}'")
        otherwise = (
            NotificationType.USER_MENTIONED_CHANNEL if mentions.mentions_channel else NotificationType.USER_SENT_MESSAGE
        )
    kind = f"CASE {' '.join(whens)} ELSE '{otherwise}' END" if whens else f"'{otherwise}'"
    title_cases = []
    for index, (title_kind, title) in enumerate(titles.items()):
        params[f"n_title_{index}"] = title
        title_cases.append(f"WHEN '{title_kind}' THEN %(n_title_{index})s")
    not_sender = ""
    if message.user_id is not None:
        params["n_sender"] = message.user_id
        not_sender = " AND member.user_id <> %(n_sender)s"
    sql = f"""
        INSERT INTO {NOTIFICATIONS} (application_id, user_id, type, title, body, channel_id, message_id,
            parent_message_id, mentioned_user_id, mentioned_channel_id, muted, created_time)
        SELECT %(n_application)s, chosen.user_id, chosen.kind, CASE chosen.kind {" ".join(title_cases)} END,
            %(n_body)s, %(n_channel)s, {message_id},
            CASE WHEN chosen.kind = '{NotificationType.USER_REPLIED_TO_MESSAGE}' THEN CAST(%(parent)s AS bigint) END,
            CASE WHEN chosen.kind = '{NotificationType.USER_MENTIONED_USER}' THEN chosen.user_id END,
            CASE WHEN chosen.kind = '{NotificationType.USER_MENTIONED_CHANNEL}' THEN CAST(%(n_channel)s AS bigint) END,
            chosen.muted, %(n_created)s
        FROM {source} (SELECT member.user_id, member.muted, {kind} AS kind FROM {MEMBERSHIPS} member
            WHERE member.channel_id = %(n_channel)s{not_sender}) chosen
    """  # noqa: S608  (table names from model metadata, kinds from our enum; every value is a bound parameter)
    return sql, params
