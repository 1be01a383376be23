"""Who a websocket session is: the application's public key, then the user the CONNECT frame names.

How the user is proven is an application setting. ``UNSECURED`` (for development): a known username is enough, and
where the application enables guest users an unknown name becomes a new guest. ``SIGNED_TOKEN``: the tenant's
backend signs a JWT (RS256/ES256/EdDSA…) with its private key, ``sub`` the username, ``aud`` the application key,
``exp`` required, optional ``name`` (the display name of a user created on first login); the browser passes it as
``authParams: {token}`` and Parley verifies it with the public key in the settings, with no round trip. A resumed
session (``StompX-Auth-Session-ID``) must belong to the same user.

Sockets of the socket service (``SocketAccess``) hold one of three credentials: the application's socket service
secret (every channel name, and every pushed event: backends); its public key, which browsers may hold (subscribe only,
to names that do not start with ``private-``); or a short-lived token the tenant's backend signs like a session token
(``aud`` the key, ``exp``, ``channels``: the names it opens, ``private-`` ones included).
"""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings

from chat.actions.applications import secret_digest
from chat.actions.users import check_create_user
from chat.errors import ChatError
from chat.models import Application, ChatUser, UserSession
from chat.selectors.applications import application_by_key, application_by_push_secret_digest, resumable_sessions
from chat.selectors.users import live_users

PRIVATE_PREFIX = "private-"
# How long after a connection drops its session can be resumed (the SDK retries every 5 s).


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
    application = application_by_key(api_key)
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


@dataclass(frozen=True)
class SocketAccess:
    """What a socket-service credential opens: its application, and the channel names it may subscribe to (None:
    every name not starting with ``private-``, for the public key)."""

    application: Application
    full: bool = False
    channels: frozenset[str] | None = None

    def allows(self, name: str) -> bool:
        """Whether the socket may subscribe to (and list the pushes of) ``name``."""
        if self.full:
            return True
        if self.channels is not None:
            return name in self.channels
        return not name.startswith(PRIVATE_PREFIX)


def application_of_push_secret(secret: str) -> Application | None:
    """The application whose socket service secret this is."""
    secret = secret.strip()
    if not secret:
        return None
    return application_by_push_secret_digest(secret_digest(secret))


def socket_access(key: str, token: str = "") -> SocketAccess:
    """The access a socket's ``key`` (the socket service secret, or the application's public key) or ``token`` gives;
    ``AccessDenied`` when neither opens anything."""
    if token:
        return _socket_token_access(token)
    application = application_of_push_secret(key)
    if application is not None:
        return SocketAccess(application, full=True)
    application = application_by_key(key)
    if application is None:
        raise AccessDenied("Unauthorized: unknown application key.")
    return SocketAccess(application)


def _socket_token_access(token: str) -> SocketAccess:
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.InvalidTokenError as error:
        raise AccessDenied(f"The socket token is not valid: {error}.") from error
    application = application_by_key(audience)
    if application is None or not application.session_token_public_key.strip():
        raise AccessDenied("The socket token names no application that verifies tokens (aud, sessionTokenPublicKey).")
    claims = _verified_claims(application, token, ["exp", "aud", "channels"], "socket token")
    names = claims["channels"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise AccessDenied("The socket token's channels must be a list of channel names.")
    if len(names) > settings.PARLEY_SOCKET_MAX_SUBSCRIPTIONS:
        raise AccessDenied(f"A socket token may open at most {settings.PARLEY_SOCKET_MAX_SUBSCRIPTIONS} channels.")
    return SocketAccess(application, channels=frozenset(names))


def _verified_claims(application: Application, token: str, required: list[str], what: str) -> dict[str, Any]:
    """The claims of a token the tenant signed for this application, not expired and not living too long."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            application.session_token_public_key,
            algorithms=TOKEN_ALGORITHMS,
            audience=application.key,
            leeway=TOKEN_LEEWAY,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError as error:
        raise AccessDenied(f"The {what} has expired.") from error
    except (jwt.InvalidTokenError, ValueError) as error:
        raise AccessDenied(f"The {what} is not valid: {error}.") from error
    longest = settings.PARLEY_SESSION_TOKEN_MAX_LIFETIME_SECONDS
    if claims["exp"] - time.time() > longest + TOKEN_LEEWAY.total_seconds():
        raise AccessDenied(f"The {what} lives too long: at most {longest} s from now (exp).")
    return claims


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
    claims = _verified_claims(application, token, ["exp", "sub", "aud"], "session token")
    if claims["sub"] != username:
        raise AccessDenied(f"The session token is for {claims['sub']!r}, not {username!r}.")
    return claims


def _resumable(user: ChatUser, key: str | None) -> UserSession | None:
    """The user's session with this key, if it is live or ended less than ``RESUME_WINDOW`` ago."""
    if not key:
        return None
    try:
        uuid.UUID(key)
    except ValueError:
        return None
    return resumable_sessions().filter(user=user, key=key).first()
