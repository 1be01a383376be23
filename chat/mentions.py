"""Mentions in message text: ``@username`` for a user, ``#name`` for a channel, ``@channel``/``@here`` for everyone.

A mention is stored on the message with its tag and its position in UTF-16 code units (what JavaScript clients index
strings by), and names the user or channel it resolved to; tags that match nothing are plain text.
"""

import re
from dataclasses import dataclass
from typing import Any

from chat.models import Channel, ChatUser

USER_TAG = re.compile(r"(?<![\w@])@([\w.+\-@]*\w)")
CHANNEL_TAG = re.compile(r"(?<![\w#&])#([\w\-.]*\w)")
EVERYONE = frozenset({"channel", "here"})


@dataclass(frozen=True)
class Mentions:
    """What a message mentions: rows to store on it, and whom to notify."""

    rows: list[dict[str, Any]]
    user_ids: frozenset[int]
    mentions_channel: bool


def _utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def find_mentions(body: str, channel: Channel) -> Mentions:
    """Resolve the tags of ``body`` within the channel's application, in two queries at most."""
    if "@" not in body and "#" not in body:
        return Mentions([], frozenset(), False)
    user_tags = [(m.start(), m.end(), m.group(1)) for m in USER_TAG.finditer(body)]
    channel_tags = [(m.start(), m.end(), m.group(1)) for m in CHANNEL_TAG.finditer(body)]
    users = {
        user.name: user.pk
        for user in ChatUser.objects.filter(
            application_id=channel.application_id, deleted_time__isnull=True, name__in={t[2] for t in user_tags}
        ).only("pk", "name")
    }
    names = {t[2] for t in channel_tags}
    channels = {}
    if names:
        channels = dict(
            Channel.objects.filter(application_id=channel.application_id, name__in=names).values_list("name", "pk")
        )
    rows: list[dict[str, Any]] = []
    user_ids: set[int] = set()
    mentions_channel = False
    for start, end, name in user_tags:
        position = {"tag": body[start:end], "startPosition": _utf16(body, start), "endPosition": _utf16(body, end)}
        if name in users:
            rows.append({"type": "USER", **position, "user_id": users[name]})
            user_ids.add(users[name])
        elif name in EVERYONE:
            rows.append({"type": "CHANNEL", **position, "channel_id": channel.pk})
            mentions_channel = True
    for start, end, name in channel_tags:
        if name in channels:
            position = {"tag": body[start:end], "startPosition": _utf16(body, start), "endPosition": _utf16(body, end)}
            rows.append({"type": "CHANNEL", **position, "channel_id": channels[name]})
            mentions_channel = mentions_channel or channels[name] == channel.pk
    rows.sort(key=lambda row: row["startPosition"])
    return Mentions(rows, frozenset(user_ids), mentions_channel)
