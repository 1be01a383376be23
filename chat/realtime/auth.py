"""Who a websocket session is: the application's public key, then the user the CONNECT frame names.

With the unsecured scheme (for development) a known username is enough; where the application enables guest users,
an unknown name becomes a new guest. A resumed session (``StompX-Auth-Session-ID``) must belong to the same user.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from chat.actions.users import check_create_user
from chat.errors import ChatError
from chat.models import Application, ChatUser, SessionState, UserSession
from chat.selectors import live_users

# How long after a connection drops its session can be resumed (the SDK retries every 5 s).
RESUME_WINDOW = timedelta(minutes=5)


class AccessDenied(Exception):
    """The session is refused; the message says why (sent in the ERROR frame)."""


@dataclass(frozen=True)
class Login:
    """An authenticated websocket session: the tenant, the user, and the session it resumes (if any)."""

    application: Application
    user: ChatUser
    resumed: UserSession | None


def authenticate(api_key: str, username: str, resume_session: str | None) -> Login:
    """Resolve the key and the user, or refuse."""
    application = Application.objects.filter(key=api_key).first() if api_key else None
    if application is None:
        raise AccessDenied("Unknown API key.")
    username = username.strip()
    if not username:
        raise AccessDenied("A username (StompX-User) is required.")
    user = live_users(application=application).filter(name=username).first()
    if user is None:
        if application.guest_users != Application.Toggle.ENABLED:
            raise AccessDenied(f"No user named {username!r}.")
        try:
            user = check_create_user(application, name=username, is_guest=True)
        except ChatError as error:
            raise AccessDenied(str(error)) from error
    return Login(application, user, _resumable(user, resume_session))


def _resumable(user: ChatUser, key: str | None) -> UserSession | None:
    """The user's session with this key, if it is live or ended less than ``RESUME_WINDOW`` ago."""
    if not key:
        return None
    try:
        uuid.UUID(key)
    except ValueError:
        return None
    recent = Q(state=SessionState.ACTIVE) | Q(end_time__gte=timezone.now() - RESUME_WINDOW)
    return UserSession.objects.filter(recent, user=user, key=key).first()
