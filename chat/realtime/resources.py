"""Resources in the StompX dialect: the Platform API's JSON plus the hypermedia maps the SDK navigates by.

The server names every destination: each resource carries ``_relays`` (reads), ``_topics`` (pushes), ``_actions``
(writes) and ``_streams`` (uploads), and the SDK uses whatever strings it finds there. The maps do not depend on who
reads them (the hub renders an event once for every listener); what a user may do is checked when they do it.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from chat.bounds import renderable
from chat.models import Application, Channel, ChannelBlock, ChannelType, ChatUser, Message, Reaction, Thread, UserBlock
from chat.selectors.messages import reactions_of
from chat.wire.renderer import Renderer
from chat.wire.timestamps import timestamp

USER_TOPICS = (
    "self",
    "elements",
    "features",
    "styles",
    "channels",
    "messages",
    "readReceipts",
    "notifications",
    "contacts",
    "participants",
    "users",
    "reactions",
    "threads",
    "calls",
)
CHANNEL_TOPICS = (
    "self",
    "messages",
    "typing",
    "keystrokes",
    "participants",
    "readReceipts",
    "reactions",
    "events",
    "members",
    "moderators",
    "blockRecords",
)


def user_topic(user_id: int, name: str) -> str:
    """The topic string of one of a user's 14 topics."""
    return f"/topic/users/{user_id}/{name}"


def channel_topic(channel_id: int, name: str) -> str:
    """The topic string of one of a channel's 11 topics."""
    return f"/topic/channels/{channel_id}/{name}"


def _names(base: str, suffix: str, names: Iterable[str]) -> dict[str, str]:
    """``{"addModerator": f"{base}.add_moderator{suffix}", ...}``: a map of destinations named after their keys."""
    return {name: f"{base}.{''.join('_' + c.lower() if c.isupper() else c for c in name)}{suffix}" for name in names}


class Resources:
    """Renders one answer's resources (links and avatars under the connection's host)."""

    def __init__(self, base_url: str, *, one_moment: bool = False) -> None:
        self.renderer = Renderer(base_url, one_moment=one_moment)
        self._reactions: dict[int, list[Reaction]] = {}

    def current_user(self, user: ChatUser) -> dict[str, Any]:
        """The CurrentUser: every relay, topic, action and stream the SDK looks for."""
        base = "/application/user"
        return {
            **self.renderer.user(user, nested=True),
            "_relays": {
                "self": f"{base}.relay",
                "readFileAccessGrant": f"{base}.read_file_access_grant.relay",
                "writeFileAccessGrant": f"{base}.write_file_access_grant.relay",
                "channelsCount": f"{base}/channels.count.relay",
                "channels": f"{base}/channels.relay",
                "messages": f"{base}/messages.relay",
                "joinableChannels": f"{base}/joinable_channels.relay",
                "unreadChannelsCount": f"{base}/unread_channels.count.relay",
                "unreadChannels": f"{base}/unread_channels.relay",
                "unreadMessagesCount": f"{base}/unread_messages.count.relay",
                "contactsCount": f"{base}/contacts.count.relay",
                "contacts": f"{base}/contacts.relay",
                "channelMember": f"{base}/channel_member.relay",
                "userBlockListItems": f"{base}/block_list_items.relay",
            },
            "_topics": {name: user_topic(user.pk, name) for name in USER_TOPICS},
            "_actions": _names(base, "", ("update", "delete", "createChannel", "updateDisplayPicture")),
            "_streams": {"displayPicture": "/rtm/streams/user/display_picture"},
        }

    def user(self, user: ChatUser) -> dict[str, Any]:
        """Another user, as a contact or a member."""
        return {
            **self.renderer.user(user, nested=True),
            "_relays": {"self": f"/application/users/{user.pk}.relay"},
            "_actions": {"block": f"/application/users/{user.pk}.block"},
        }

    def thread(self, thread: Thread) -> dict[str, Any]:
        """A thread. Its events come on its channel's topics (the SDK listens on a thread's topics without
        subscribing to them), as ``thread.message.created`` for the messages of a named thread."""
        base = f"/application/threads/{thread.pk}"
        return {
            "id": thread.pk,
            "type": thread.type,
            "name": thread.name,
            "properties": renderable(thread.properties, "thread properties"),
            "createdTime": timestamp(thread.created_time),
            "_relays": {"channel": f"{base}/channel.relay", "message": f"{base}/message.relay"},
            "_topics": {
                name: channel_topic(thread.channel_id, name) for name in ("self", "messages", "keystrokes", "typing")
            },
            "_actions": _names(base, "", ("message", "keystrokes", "read")),
            "_streams": {"messages": f"/rtm/streams/threads/{thread.pk}/messages"},
        }

    def user_block(self, block: UserBlock) -> dict[str, Any]:
        """A user the current user blocked (an item of their block list)."""
        return {
            "user": self.user(block.blocked),
            "createdTime": timestamp(block.created_time),
            "_actions": {"delete": f"/application/user/block_list_items/{block.blocked_id}.delete"},
        }

    def channel_block(self, block: ChannelBlock) -> dict[str, Any]:
        """A user barred from a channel (a block record)."""
        return {
            "user": self.user(block.user),
            "createdTime": timestamp(block.created_time),
            "_actions": {"delete": f"/application/channels/{block.channel_id}/block_records/{block.user_id}.delete"},
        }

    def channel(self, channel: Channel) -> dict[str, Any]:
        """A channel with its relays, topics and actions."""
        base = f"/application/channels/{channel.pk}"
        actions = _names(
            base, "", ("message", "keystrokes", "read", "mute", "triggerEvent", "clearHistory", "createThread")
        )
        actions |= _names(base, "", ("update", "delete"))
        if channel.type != ChannelType.DIRECT:
            actions |= _names(base, "", ("leave", "addModerator", "deleteModerator", "block"))
        if channel.type == ChannelType.PUBLIC:
            actions["join"] = f"{base}.join"
        if channel.type == ChannelType.PRIVATE:
            actions["invite"] = f"{base}.invite"
        if channel.type == ChannelType.DIRECT:
            actions["hide"] = f"{base}.hide"
        relays = {"self": f"{base}.relay"} | {
            name: f"{base}/{path}.relay"
            for name, path in (
                ("messages", "messages"),
                ("messagesCount", "messages.count"),
                ("unread", "unread"),
                ("lastReadMessage", "last_read_message"),
                ("participants", "participants"),
                ("participantsCount", "participants.count"),
                ("threads", "threads"),
                ("context", "context"),
            )
        }
        # The SDK appends "user.displayName,asc" to these two: they end with an open ``sort=``.
        relays["members"] = f"{base}/members.relay?sort="
        relays["moderators"] = f"{base}/moderators.relay?sort="
        if channel.type != ChannelType.DIRECT:
            relays["blockRecords"] = f"{base}/block_records.relay"
        return {
            **self.renderer.channel(channel, nested=True),
            "_relays": relays,
            "_topics": {name: channel_topic(channel.pk, name) for name in CHANNEL_TOPICS},
            "_actions": actions,
            "_streams": {"messages": f"/rtm/streams/channels/{channel.pk}/messages"},
        }

    def channels(self, channels: list[Channel]) -> list[dict[str, Any]]:
        """Channels, their newest messages loaded together."""
        self.renderer.load_last_messages(channels)
        return [self.channel(channel) for channel in channels]

    def load_reactions(self, messages: Iterable[Message]) -> None:
        """Load the reactions of many messages in one query."""
        missing = [message.pk for message in messages if message.pk not in self._reactions]
        if not missing:
            return
        found: dict[int, list[Reaction]] = defaultdict(list)
        for reaction in reactions_of(missing):
            found[reaction.message_id].append(reaction)
        self._reactions.update({pk: found.get(pk, []) for pk in missing})

    def reactions(self, message: Message) -> list[dict[str, Any]]:
        """A message's reactions grouped by emoji, in the order each emoji was first used."""
        self.load_reactions([message])
        groups: dict[str, list[ChatUser]] = {}
        for reaction in self._reactions[message.pk]:
            groups.setdefault(reaction.emoji, []).append(reaction.user)
        return [
            {
                "emoji": _emoji(emoji),
                "users": [self.renderer.user(user, nested=True) for user in users],
                "count": len(users),
            }
            for emoji, users in groups.items()
        ]

    def message(self, message: Message) -> dict[str, Any]:
        """A message with the relays and actions the SDK uses on it."""
        base = f"/application/messages/{message.pk}"
        relays = {
            "self": f"{base}.relay",
            "channel": f"/application/channels/{message.channel_id}.relay",
            "replies": f"{base}/replies.relay",
            "repliesCount": f"{base}/replies.count.relay",
            "reactions": f"{base}/reactions.relay",
            "readReceipts": f"{base}/read_receipts.relay",
        }
        if message.nested_level:
            relays["parent"] = f"{base}/parent.relay"
        actions = _names(base, "", ("read", "unread", "reply", "edit", "updateProperties", "delete", "report"))
        actions |= _names(base, "", ("react", "removeReaction"))
        rendered = {**self.renderer.message(message, nested=True)}
        reactions = self.reactions(message)
        if reactions:
            rendered["reactions"] = reactions
        return {
            **rendered,
            "_relays": relays,
            "_actions": actions,
            "_streams": {} if message.nested_level else {"replies": f"/rtm/streams/messages/{message.pk}/replies"},
        }

    def new_message(self, message: Message) -> dict[str, Any]:
        """A message just sent, as ``message`` shows it: it has no reactions yet, so none are looked up."""
        self._reactions.setdefault(message.pk, [])
        return self.message(message)

    def messages(self, messages: list[Message]) -> list[dict[str, Any]]:
        """Messages, with what they mention and their reactions loaded together."""
        self.renderer.load_mentioned([row for message in messages for row in message.mentions or ()])
        self.load_reactions(messages)
        return [self.message(message) for message in messages]

    def deleted_message(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """What is left to say of a deleted message: its identity, where it was, and that it is gone."""
        return {**snapshot, "_relays": {"channel": f"/application/channels/{snapshot['channelId']}.relay"}}

    def reaction(self, message: Message, emoji: str, user: ChatUser) -> dict[str, Any]:
        """One user's reaction, pointing at its message."""
        return {
            "emoji": _emoji(emoji),
            "user": self.renderer.user(user, nested=True),
            "messageId": message.pk,
            "_relays": {"message": f"/application/messages/{message.pk}.relay"},
        }

    def receipt(self, user: ChatUser, message_id: int, created: str) -> dict[str, Any]:
        """A read receipt: ``user`` read up to ``message_id``."""
        return {
            "user": self.renderer.user(user, nested=True),
            "messageId": message_id,
            "createdTime": created,
            "_relays": {"message": f"/application/messages/{message_id}.relay"},
        }


def _emoji(character: str) -> dict[str, Any]:
    return {"character": character, "description": "", "aliases": [], "tags": []}


def features(application: Application) -> dict[str, Any]:
    """The application's settings as the SDK's Chat UI feature options."""
    flag = "enabled" if application.user_created_channels == Application.Toggle.ENABLED else "disabled"
    return {"$version": "0.0.2", "channel": {"create": flag}}


def page(name: str, items: list[dict[str, Any]], relays: dict[str, str]) -> dict[str, Any]:
    """A paginated relay's answer (``_relays`` must be present, even empty)."""
    return {"_embedded": {name: items}, "page": {"size": len(items)}, "_relays": relays}
