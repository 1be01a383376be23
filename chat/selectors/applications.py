"""Reads of applications as a whole: sessions, pushed events, the demo application, lookups by reference."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from chat.models import (
    Application,
    ChatSession,
    PushMessage,
    SessionState,
    UserSession,
)


def user_sessions(*, application: Application, state: str | None = None) -> QuerySet[UserSession]:
    """The application's user sessions, optionally by state."""
    sessions = UserSession.objects.filter(application=application).select_related("user")
    return sessions.filter(state=state) if state else sessions


def user_sessions_by_id(ids: Iterable[int]) -> dict[int, UserSession]:
    """User sessions of any application with their users, by id (the ones there are)."""
    return UserSession.objects.select_related("user").in_bulk(list(ids))


def chat_sessions_by_id(ids: Iterable[int]) -> dict[int, ChatSession]:
    """Chat sessions of any application with their sessions' users, by id (the ones there are)."""
    return ChatSession.objects.select_related("user_session__user").in_bulk(list(ids))


def chat_sessions(*, application: Application, state: str | None = None) -> QuerySet[ChatSession]:
    """The application's chat sessions, optionally by state."""
    sessions = ChatSession.objects.filter(application=application).select_related("user_session__user", "channel")
    return sessions.filter(state=state) if state else sessions


def demo_application() -> Application | None:
    """The application the browser chat demo runs in (``manage.py bootstrap_demo`` creates it)."""
    return Application.objects.filter(name=Application.DEMO_NAME).order_by("pk").first()


PUSH_SORTS = {"createdAt": "created_time", "id": "id", "channel": "channel", "event": "event"}


def push_messages(
    *, application: Application, channel: str | None = None, event: str | None = None, data: str | None = None
) -> QuerySet[PushMessage]:
    """An application's pushed events, filtered by channel name, event and (text in) data."""
    found = PushMessage.objects.filter(application=application)
    if channel:
        found = found.filter(channel=channel)
    if event:
        found = found.filter(event=event)
    if data:
        found = found.annotate(data_text=Cast("data", TextField())).filter(data_text__contains=data)
    return found


def application_by_reference(reference: str) -> Application | None:
    """The one application whose id, key or name this is (None if none or several match)."""
    matches = Application.objects.filter(Q(key=reference) | Q(name=reference))
    if reference.isdigit():
        matches = Application.objects.filter(Q(key=reference) | Q(name=reference) | Q(pk=int(reference)))
    found = list(matches.distinct()[:2])
    return found[0] if len(found) == 1 else None


# How long after its connection dropped a user session may still be resumed (with its marks).
RESUME_WINDOW = datetime.timedelta(minutes=5)


def application_by_key(key: Any) -> Application | None:
    """The application whose public API key this is (None for anything else)."""
    return Application.objects.filter(key=key.strip()).first() if isinstance(key, str) and key.strip() else None


def application_by_push_secret_digest(digest: str) -> Application | None:
    """The application whose socket service secret has this digest."""
    return Application.objects.filter(push_secret_digest=digest).first()


def resumable_sessions() -> QuerySet[UserSession]:
    """User sessions that are live or ended less than ``RESUME_WINDOW`` ago."""
    return UserSession.objects.filter(
        Q(state=SessionState.ACTIVE) | Q(end_time__gte=timezone.now() - RESUME_WINDOW)
    ).select_related("user", "application")


def application_of_client(client: Any) -> Application | None:
    """The application whose OAuth client this is."""
    return Application.objects.filter(oauth_client=client).first() if client is not None else None
