"""Authentication of /v1 calls: a bearer token issued by ``POST /oauth/token``, bound to one application.

Each process keeps the application of each token it has seen (``TOKENS``, a ``chat.generations`` cache, with the
token's expiry), so that a call costs neither a query nor a round trip. Every change that could make a kept answer
wrong renews the one generation of all tokens, when it is made and again once it commits: a token deleted or changed
(a rotated secret deletes them all; an expiry moved), an OAuth client changed or deleted, an application changed or
deleted. Every process then asks the database again at the next call of each token, so a revoked token is refused at
once everywhere. Issuing a token changes nothing kept (an unknown token is never kept).
"""

import copy
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

from chat.generations import GenerationCache
from chat.models import Application
from chat.rates import Budget

# Hand-written because this runs on every call: the ORM spent 1 ms composing the join, the raw query costs 0.4 ms.
# Table names come from model metadata; the checksum and the time are bound parameters.
TOKEN_LOOKUP = (
    f"SELECT tenant.*, token.expires AS token_expires FROM {Application._meta.db_table} tenant "  # noqa: S608
    f"JOIN {AccessToken._meta.db_table} token ON token.application_id = tenant.oauth_client_id "
    "WHERE token.token_checksum = %s AND token.expires > %s"
)


# checksum → (application, token expiry); one scope: any change renews every token's generation
TOKENS = GenerationCache[tuple[Application, datetime]]("tokens", ttl_seconds=10.0)
ALL_TOKENS = "all"


def _read_token(checksum: str) -> tuple[Application, datetime] | None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    application = next(iter(Application.objects.raw(TOKEN_LOOKUP, [checksum, now])), None)
    if application is None:
        return None
    expires = application.token_expires  # type: ignore[attr-defined]
    if isinstance(expires, str):  # SQLite returns the raw column
        expires = datetime.fromisoformat(expires)
    if expires.tzinfo is None:  # stored in UTC
        expires = expires.replace(tzinfo=UTC)
    return application, expires


def application_of_token(checksum: str) -> Application | None:
    """The application of an unexpired access token, by the SHA-256 of the token: a copy of its own for the caller
    (who may change it), from this process's cache while nothing changed."""
    found = TOKENS.get(ALL_TOKENS, checksum, lambda: _read_token(checksum))
    if found is None or found[1] <= timezone.now():
        return None
    # a shallow copy (its own state and field values) and its own properties, the one field changed in place
    application = copy.copy(found[0])
    application.properties = copy.deepcopy(application.properties)
    return application


def tokens_changed(sender: type[Any], instance: Any, created: bool = False, **_: Any) -> None:
    """A token, OAuth client or application was saved or deleted: every process asks the database again (a token
    just issued is not kept anywhere yet)."""
    if not (created and sender is AccessToken):
        TOKENS.renew(ALL_TOKENS)


class ApplicationTokenAuthentication(authentication.BaseAuthentication):
    """Bearer token → its application. ``request.user`` is the authenticated ``Application`` (the tenant).

    One indexed query per request loads only the tenant of a token that has not expired; the OAuth rows stay unread.
    """

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Application, str] | None:
        """Resolve the bearer token; no header means anonymous (refused later with 401)."""
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed bearer token header.")
        checksum = hashlib.sha256(header[1]).hexdigest()
        application = application_of_token(checksum)
        if application is None:
            raise exceptions.AuthenticationFailed("The access token is invalid or has expired.")
        return application, checksum

    def authenticate_header(self, request: Request) -> str:
        """Ask for a bearer token on 401."""
        return 'Bearer realm="parley"'


class TokenRateThrottle(throttling.BaseThrottle):
    """Each access token's budget of Platform API calls (``PARLEY_API_REQUESTS_PER_10_SECONDS``), shared by every
    process; over it, 429 with ``Retry-After``."""

    def __init__(self) -> None:
        self.wait_seconds: int | None = None

    def allow_request(self, request: Request, view: "APIView") -> bool:
        """Count the call against its token (calls without one are refused by authentication anyway)."""
        if not isinstance(request.auth, str):
            return True
        budget = Budget(settings.PARLEY_API_REQUESTS_PER_10_SECONDS, 10)
        self.wait_seconds = budget.spend(f"api:{request.auth[:32]}")
        return self.wait_seconds is None

    def wait(self) -> float | None:
        """Seconds until the next window."""
        return self.wait_seconds


class IsApplication(permissions.BasePermission):
    """Only requests authenticated as an application get in."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        """True when a valid token named an application."""
        return isinstance(request.user, Application)
