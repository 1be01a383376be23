"""Messages: application-wide list and delete, one message (read, edit, delete), read receipts; and sending."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.messages import check_send_message, check_update_message, do_delete_all_messages, do_delete_message
from chat.models import Channel, ChatUser, Message, MessageType, Thread
from chat.selectors.messages import application_messages, get_message, message_read_receipts
from chat.wire.applications import ApplicationResourceSerializer
from chat.wire.messages import MessageReadReceiptResourceSerializer, MessageResource, ReplyThreadResourceSerializer
from platform_api.hal import cursor_page, hal_page
from platform_api.inputs import InputSerializer, PropertiesField, UserReferenceField
from platform_api.schema import CURSOR_PARAMETERS, MESSAGE_FILTERS, PAGE_PARAMETERS, cursor_paged, paged
from platform_api.views.base import PlatformView

RECEIPT_SORT = {"createdTime": "read_time"}


class FileInput(InputSerializer):
    """An external file."""

    url = serializers.CharField(max_length=2048)
    name = serializers.CharField(max_length=256)
    content_type = serializers.CharField(max_length=256)
    size = serializers.IntegerField(min_value=0)


class SendMessageInput(InputSerializer):
    """A text or file message, by a user or (without ``user``) by the system."""

    type = serializers.ChoiceField(choices=[MessageType.TEXT, MessageType.FILE])
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    file = FileInput(required=False)
    user = UserReferenceField(required=False)
    group_tag = serializers.CharField(max_length=256, required=False, allow_blank=True)
    properties = PropertiesField(required=False)


class UpdateMessageInput(InputSerializer):
    """A merge patch of a message."""

    body = serializers.CharField(required=False, trim_whitespace=False)
    properties = PropertiesField(required=False, allow_null=True)


class MessageSending(PlatformView):
    """Views that send messages into a channel or a thread."""

    def send(self, data: dict[str, Any], channel: Channel, thread: Thread | None, user: ChatUser | None) -> Response:
        """Send a validated ``SendMessageInput`` through the one write path; answer with the message."""
        message = check_send_message(
            channel,
            thread=thread,
            message_type=data["type"],
            body=data.get("body"),
            file=data.get("file"),
            user=user,
            group_tag=data.get("group_tag"),
            properties=data.get("properties"),
        )
        return self.ok(self.renderer.message(message))


class MessagesView(PlatformView):
    """``/v1/messages``."""

    @extend_schema(
        operation_id="listMessages",
        parameters=[*CURSOR_PARAMETERS, *MESSAGE_FILTERS],
        responses=cursor_paged("MessageResource", "messages", MessageResource),
    )
    def get(self, request: Request) -> Response:
        """Every message of the application, newest first."""
        messages = application_messages(
            application=self.application,
            username=request.query_params.get("username"),
            query=request.query_params.get("query"),
        )
        return self.ok(cursor_page(request, messages, "messages", self.renderer.messages))

    @extend_schema(operation_id="deleteMessages", responses={200: ApplicationResourceSerializer})
    def delete(self, request: Request) -> Response:
        """Delete every message of the application; answers with the application."""
        do_delete_all_messages(self.application)
        return self.ok(self.renderer.render("application", self.application))


class MessageScoped(PlatformView):
    """Views under one message."""

    def message(self, message_id: int) -> Message:
        """The message of this application with this id."""
        return get_message(application=self.application, message_id=message_id)


class MessageView(MessageScoped):
    """``/v1/messages/{id}``."""

    @extend_schema(operation_id="retrieveMessage", responses=MessageResource())
    def get(self, request: Request, message_id: int) -> Response:
        """A message."""
        return self.ok(self.renderer.message(self.message(message_id)))

    @extend_schema(operation_id="updateMessage", request=UpdateMessageInput, responses=MessageResource())
    def patch(self, request: Request, message_id: int) -> Response:
        """Merge-patch a message's body and properties."""
        message = self.message(message_id)
        data: dict[str, Any] = self.validated(UpdateMessageInput)
        return self.ok(self.renderer.message(check_update_message(message, data)))

    @extend_schema(operation_id="deleteMessage", responses={200: ReplyThreadResourceSerializer})
    def delete(self, request: Request, message_id: int) -> Response:
        """Delete a message; answers with the thread it was in."""
        thread = do_delete_message(self.message(message_id))
        return self.ok(self.renderer.render("thread", thread))


class MessageReadReceiptsView(MessageScoped):
    """``/v1/messages/{id}/read-receipts``."""

    @extend_schema(
        operation_id="listMessageReadReceipts",
        parameters=PAGE_PARAMETERS,
        responses=paged("MessageReadReceiptResource", "receipts", MessageReadReceiptResourceSerializer),
    )
    def get(self, request: Request, message_id: int) -> Response:
        """Who read the message, and when."""
        readers = message_read_receipts(message=self.message(message_id))
        page = hal_page(request, readers, "receipts", self.renderer.many("receipt"), RECEIPT_SORT, ("read_time", "id"))
        return self.ok(page)
