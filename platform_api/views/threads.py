"""Threads: read one, relay keystrokes in it, list and send its messages."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from chat.models import Thread
from chat.selectors.messages import get_thread, thread_messages
from chat.wire.messages import MessageResource, ReplyThreadKeystrokesResourceSerializer, ReplyThreadResourceSerializer
from platform_api.hal import cursor_page
from platform_api.schema import CURSOR_PARAMETERS, cursor_paged
from platform_api.views.base import PlatformView
from platform_api.views.channels import KeystrokesInput, keystrokes_response
from platform_api.views.messages import MessageSending, SendMessageInput


class ThreadScoped(PlatformView):
    """Views under one thread."""

    def thread(self, thread_id: int) -> Thread:
        """The thread of this application with this id."""
        return get_thread(application=self.application, thread_id=thread_id)


class ThreadView(ThreadScoped):
    """``/v1/threads/{id}``."""

    @extend_schema(operation_id="retrieveThread", responses=ReplyThreadResourceSerializer)
    def get(self, request: Request, thread_id: int) -> Response:
        """A thread."""
        return self.ok(self.renderer.render("thread", self.thread(thread_id)))


class ThreadKeystrokesView(ThreadScoped):
    """``/v1/threads/{id}/keystrokes``."""

    @extend_schema(
        operation_id="sendThreadKeystrokes", request=KeystrokesInput, responses=ReplyThreadKeystrokesResourceSerializer
    )
    def post(self, request: Request, thread_id: int) -> Response:
        """Relay keystrokes in the thread on behalf of a user."""
        return keystrokes_response(self, self.thread(thread_id), self.validated(KeystrokesInput))


class ThreadMessagesView(ThreadScoped, MessageSending):
    """``/v1/threads/{id}/messages``."""

    @extend_schema(
        operation_id="listThreadMessages",
        parameters=CURSOR_PARAMETERS,
        responses=cursor_paged("MessageResource", "messages", MessageResource),
    )
    def get(self, request: Request, thread_id: int) -> Response:
        """The thread's messages, newest first."""
        messages = thread_messages(thread=self.thread(thread_id))
        return self.ok(cursor_page(request, messages, "messages", self.renderer.messages))

    @extend_schema(operation_id="sendThreadMessage", request=SendMessageInput, responses=MessageResource())
    def post(self, request: Request, thread_id: int) -> Response:
        """Send a message into the thread as a user or as the system."""
        thread = self.thread(thread_id)
        data = self.validated(SendMessageInput)
        user = self.user_ref(data["user"]) if "user" in data else None
        return self.send(data, thread.channel, thread, user)
