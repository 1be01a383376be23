"""Every model of the chat domain; each row belongs to an Application (the tenant)."""

from chat.models.application import Application
from chat.models.channels import Channel, ChannelBlock, ChannelInvite, ChannelMembership, ChannelType
from chat.models.events import EventRecord
from chat.models.keys import RoomKey
from chat.models.messages import Message, MessageReport, MessageType, Reaction, ReadMark, Thread, ThreadType
from chat.models.notifications import Notification, NotificationType
from chat.models.push import PushMessage
from chat.models.sessions import ChatSession, SessionState, UserSession
from chat.models.users import ChatUser, UserBlock, UserSecret, UserType
from chat.models.webhooks import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Application",
    "Channel",
    "ChannelBlock",
    "ChannelInvite",
    "ChannelMembership",
    "ChannelType",
    "ChatSession",
    "ChatUser",
    "DeliveryState",
    "EventRecord",
    "Message",
    "MessageReport",
    "MessageType",
    "Notification",
    "NotificationType",
    "PushMessage",
    "Reaction",
    "ReadMark",
    "RoomKey",
    "SessionState",
    "Thread",
    "ThreadType",
    "UserBlock",
    "UserSecret",
    "UserSession",
    "UserType",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
