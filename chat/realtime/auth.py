"""Who a websocket session is: the application's public key, then the user the CONNECT frame names.

How the user is proven is an application setting. ``UNSECURED`` (for development): a known username is enough, and
where the application enables guest users an unknown name becomes a new guest. ``SIGNED_TOKEN``: the tenant's
backend signs a JWT (RS256/ES256/EdDSA…) with its private key, ``sub`` the username, ``aud`` the application key,
``exp`` required, optional ``name`` (the display name of a user created on first login); the browser passes it as
``authParams: {token}`` and Parley verifies it with the public key in the settings, with no round trip. A resumed
session (``StompX-Auth-Session-ID``) must belong to the same user.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
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


# Asymmetric algorithms only: a shared-secret (HS*) token would need a secret stored here.
TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
TOKEN_LEEWAY = timedelta(seconds=30)  # clock skew between the tenant's backend and Parley


def authenticate(api_key: str, username: str, resume_session: str | None, auth_params: Any = None) -> Login:
    """Resolve the key and the user, or refuse."""
    application = Application.objects.filter(key=api_key).first() if api_key else None
    if application is None:
        raise AccessDenied("Unknown API key.")
    username = username.strip()
    if not username:
        raise AccessDenied("A username (StompX-User) is required.")
    user = live_users(application=application).filter(name=username).first()
    signed = application.session_authentication == Application.SessionAuthentication.SIGNED_TOKEN
    claims = verify_session_token(application, username, auth_params) if signed else {}
    if user is None:
        if not signed and application.guest_users != Application.Toggle.ENABLED:
            raise AccessDenied(f"No user named {username!r}.")
        try:
            display_name = claims.get("name") if isinstance(claims.get("name"), str) else None
            user = check_create_user(application, name=username, display_name=display_name, is_guest=not signed)
        except ChatError as error:
            raise AccessDenied(str(error)) from error
    return Login(application, user, _resumable(user, resume_session))


def verify_session_token(application: Application, username: str, auth_params: Any) -> dict[str, Any]:
    """The claims of the session token in ``auth_params``, or refuse: signed by the tenant, for this application and
    user, not expired."""
    if not application.session_token_public_key.strip():
        raise AccessDenied(
            "This application requires signed session tokens and has no sessionTokenPublicKey yet: its backend sets "
            "one with PUT /v1/application/settings."
        )
    token = auth_params.get("token") if isinstance(auth_params, dict) else None
    if not isinstance(token, str) or not token:
        raise AccessDenied("This application requires a signed session token (authParams.token).")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            application.session_token_public_key,
            algorithms=TOKEN_ALGORITHMS,
            audience=application.key,
            leeway=TOKEN_LEEWAY,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise AccessDenied("The session token has expired.") from error
    except (jwt.InvalidTokenError, ValueError) as error:
        raise AccessDenied(f"The session token is not valid: {error}.") from error
    if claims["sub"] != username:
        raise AccessDenied(f"The session token is for {claims['sub']!r}, not {username!r}.")
    longest = settings.PARLEY_SESSION_TOKEN_MAX_LIFETIME_SECONDS
    if claims["exp"] - time.time() > longest + TOKEN_LEEWAY.total_seconds():
        raise AccessDenied(f"The session token lives too long: at most {longest} s from now (exp).")
    return claims


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
