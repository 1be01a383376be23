"""User sessions and chat sessions, recorded by the realtime API."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.models import SessionState
from chat.selectors.applications import chat_sessions, user_sessions
from chat.wire.channels import ChatSessionResourceSerializer
from chat.wire.users import ChatUserSessionResourceSerializer
from platform_api.hal import hal_page
from platform_api.schema import PAGE_PARAMETERS, STATE_PARAMETER, paged
from platform_api.views.base import PlatformView

SESSION_SORT = {"id": "id", "createdTime": "created_time", "endTime": "end_time", "state": "state"}


def state_param(request: Request) -> str | None:
    """The ``state`` filter: ACTIVE or ENDED."""
    state = request.query_params.get("state")
    if state and state not in SessionState.values:
        raise serializers.ValidationError({"state": [f"state must be one of {', '.join(SessionState.values)}."]})
    return state or None


class UserSessionsView(PlatformView):
    """``/v1/user-sessions``."""

    @extend_schema(
        operation_id="listUserSessions",
        parameters=[*PAGE_PARAMETERS, STATE_PARAMETER],
        responses=paged("ChatUserSessionResource", "sessions", ChatUserSessionResourceSerializer),
    )
    def get(self, request: Request) -> Response:
        """A page of user sessions."""
        sessions = user_sessions(application=self.application, state=state_param(request))
        return self.ok(hal_page(request, sessions, "sessions", self.renderer.many("user_session"), SESSION_SORT))


class ChatSessionsView(PlatformView):
    """``/v1/chat-sessions``."""

    @extend_schema(
        operation_id="listChatSessions",
        parameters=[*PAGE_PARAMETERS, STATE_PARAMETER],
        responses=paged("ChatSessionResource", "sessions", ChatSessionResourceSerializer),
    )
    def get(self, request: Request) -> Response:
        """A page of chat sessions."""
        sessions = chat_sessions(application=self.application, state=state_param(request))
        return self.ok(hal_page(request, sessions, "sessions", self.renderer.many("chat_session"), SESSION_SORT))
