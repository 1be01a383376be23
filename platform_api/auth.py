"""Authentication of /v1 calls: a bearer token issued by ``POST /oauth/token``, bound to one application."""

import hashlib
from typing import TYPE_CHECKING

from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

from chat.models import Application


class ApplicationTokenAuthentication(authentication.BaseAuthentication):
    """Bearer token → its application. ``request.user`` is the authenticated ``Application`` (the tenant).

    One indexed query per request: the token by checksum with its OAuth client and tenant.
    """

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[Application, AccessToken] | None:
        """Resolve the bearer token; no header means anonymous (refused later with 401)."""
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed bearer token header.")
        checksum = hashlib.sha256(header[1]).hexdigest()
        token = AccessToken.objects.select_related("application__tenant").filter(token_checksum=checksum).first()
        if token is None or token.expires <= timezone.now() or token.application is None:
            raise exceptions.AuthenticationFailed("The access token is invalid or has expired.")
        try:
            application = token.application.tenant
        except Application.DoesNotExist:
            raise exceptions.AuthenticationFailed("The access token has no application.") from None
        return application, token

    def authenticate_header(self, request: Request) -> str:
        """Ask for a bearer token on 401."""
        return 'Bearer realm="parley"'


class IsApplication(permissions.BasePermission):
    """Only requests authenticated as an application get in."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        """True when a valid token named an application."""
        return isinstance(request.user, Application)
