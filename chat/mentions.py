"""Mentions in message text: ``@username`` for a user, ``#name`` for a channel, ``@channel``/``@here`` for everyone.

A mention is stored on the message with its tag and its position in UTF-16 code units (what JavaScript clients index
strings by), and names the user or channel it resolved to; tags that match nothing are plain text.
"""

import re
from dataclasses import dataclass
from typing import Any

from chat.models import Channel, ChatUser

# A tag is the sign and a run of name characters that ends at its last word character. The run is taken whole
# (possessively) and trimmed afterwards: a backtracking pattern made each failed tag rescan the rest of the text
# (quadratic: 0.4 s for 10,000 characters of "@.").
USER_TAG = re.compile(r"(?<![\w@])@([\w.+\-@]*+)")
CHANNEL_TAG = re.compile(r"(?<![\w#&])#([\w\-.]*+)")
USER_TAG_TAIL = ".+-@"
CHANNEL_TAG_TAIL = "-."
EVERYONE = frozenset({"channel", "here"})


@dataclass(frozen=True)
class Tag:
    """A tag in a text: the name it gives, and where it stands (indexes of the text, and in UTF-16 code units)."""

    name: str
    start: int
    end: int
    utf16_start: int
    utf16_end: int


@dataclass(frozen=True)
class Mentions:
    """What a message mentions: rows to store on it, and whom to notify."""

    rows: list[dict[str, Any]]
    user_ids: frozenset[int]
    mentions_channel: bool


def find_tags(body: str) -> tuple[list[Tag], list[Tag]]:
    """The user tags and channel tags of ``body``, in one pass over it for each kind and one for UTF-16 positions."""
    found: list[tuple[bool, int, int, str]] = []
    for is_user, pattern, tail in ((True, USER_TAG, USER_TAG_TAIL), (False, CHANNEL_TAG, CHANNEL_TAG_TAIL)):
        for match in pattern.finditer(body):
            name = match.group(1).rstrip(tail)
            if name:
                found.append((is_user, match.start(), match.start() + 1 + len(name), name))
    indexes = sorted({index for _, start, end, _ in found for index in (start, end)})
    units, last, counted = {}, 0, 0
    for index in indexes:
        counted += len(body[last:index].encode("utf-16-le")) // 2
        units[index], last = counted, index
    tags: tuple[list[Tag], list[Tag]] = ([], [])
    for is_user, start, end, name in found:
        tags[0 if is_user else 1].append(Tag(name, start, end, units[start], units[end]))
    return tags


def find_mentions(body: str, channel: Channel) -> Mentions:
    """Resolve the tags of ``body`` within the channel's application, in two queries at most."""
    if "@" not in body and "#" not in body:
        return Mentions([], frozenset(), False)
    user_tags, channel_tags = find_tags(body)
    users = {
        user.name: user.pk
        for user in ChatUser.objects.filter(
            application_id=channel.application_id, deleted_time__isnull=True, name__in={t.name for t in user_tags}
        ).only("pk", "name")
    }
    names = {t.name for t in channel_tags}
    channels = {}
    if names:
        channels = dict(
            Channel.objects.filter(application_id=channel.application_id, name__in=names).values_list("name", "pk")
        )
    rows: list[dict[str, Any]] = []
    user_ids: set[int] = set()
    mentions_channel = False
    for tag in user_tags:
        if tag.name in users:
            rows.append({"type": "USER", **_position(body, tag), "user_id": users[tag.name]})
            user_ids.add(users[tag.name])
        elif tag.name in EVERYONE:
            rows.append({"type": "CHANNEL", **_position(body, tag), "channel_id": channel.pk})
            mentions_channel = True
    for tag in channel_tags:
        if tag.name in channels:
            rows.append({"type": "CHANNEL", **_position(body, tag), "channel_id": channels[tag.name]})
            mentions_channel = mentions_channel or channels[tag.name] == channel.pk
    rows.sort(key=lambda row: row["startPosition"])
    return Mentions(rows, frozenset(user_ids), mentions_channel)


def _position(body: str, tag: Tag) -> dict[str, Any]:
    return {"tag": body[tag.start : tag.end], "startPosition": tag.utf16_start, "endPosition": tag.utf16_end}
