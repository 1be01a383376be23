"""Reads of applications as a whole: sessions, pushed events, the demo application, lookups by reference."""

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from chat.models import (
    Application,
    ChatSession,
    PushMessage,
    UserSession,
)


def user_sessions(*, application: Application, state: str | None = None) -> QuerySet[UserSession]:
    """The application's user sessions, optionally by state."""
    sessions = UserSession.objects.filter(application=application).select_related("user")
    return sessions.filter(state=state) if state else sessions


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
