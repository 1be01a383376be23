"""``POST /oauth/token``: django-oauth-toolkit's client-credentials endpoint in the shape ChatKitty's clients read."""

import base64
import binascii
import hmac
import json
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import TokenView as OAuthTokenView
from oauthlib.common import Request as OAuthRequest

from chat.actions.applications import functions_client_secret
from chat.rates import Budget
from chat.selectors.applications import application_of_client

# Failed token requests allowed per minute: per client id and address, and per address whatever the client.
FAILURES_PER_CLIENT = Budget(10, 60)
FAILURES_PER_ADDRESS = Budget(50, 60)


def _guesser(request: HttpRequest) -> str:
    """Who is asking: the client id (from HTTP Basic or the body) and the address."""
    client = request.POST.get("client_id", "")
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client = unquote_plus(base64.b64decode(credentials).decode().split(":", 1)[0])
        except (binascii.Error, UnicodeDecodeError):
            client = "?"
    return f"token-failures:{client[:100]}:{request.META.get('REMOTE_ADDR', '')}"


def _too_many(wait: int) -> HttpResponse:
    body = {"error": "slow_down", "error_description": f"Too many failed attempts: retry in {wait} s."}
    response = HttpResponse(json.dumps(body), status=429, content_type="application/json")
    response["Retry-After"] = str(wait)
    return response


class TokenView(OAuthTokenView):
    """``POST /oauth/token``: django-oauth-toolkit's endpoint, answering in the shape ChatKitty's clients read.

    Client id and secret come by HTTP Basic; the body is multipart or urlencoded ``grant_type=client_credentials``.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Issue a token, lower-casing ``token_type`` and giving every error an ``error_description``. A client and
        address that failed too often lately are refused (429) before any secret is hashed."""
        guesser = _guesser(request)
        address = f"token-failures:{request.META.get('REMOTE_ADDR', '')}"
        wait = FAILURES_PER_CLIENT.spent(guesser) or FAILURES_PER_ADDRESS.spent(address)
        if wait is not None:
            return _too_many(wait)
        response = super().post(request, *args, **kwargs)
        if response.status_code in (400, 401):
            FAILURES_PER_CLIENT.spend(guesser)
            FAILURES_PER_ADDRESS.spend(address)
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
        if "token_type" in body:
            body["token_type"] = str(body["token_type"]).lower()
        if "error" in body and "error_description" not in body:
            body["error_description"] = {
                "invalid_client": "Bad client credentials",
                "unsupported_grant_type": "Only grant_type=client_credentials is supported",
                "invalid_request": "The token request is malformed",
            }.get(body["error"], body["error"])
        response.content = json.dumps(body).encode()
        response["Content-Length"] = str(len(response.content))
        return response


class Validator(OAuth2Validator):
    """django-oauth-toolkit's validator, which also takes an application's functions secret (the
    ``CHATKITTY_CLIENT_SECRET`` its chat functions see) in place of its client secret."""

    def _authenticate_basic_auth(self, request: OAuthRequest) -> bool:
        if super()._authenticate_basic_auth(request):
            return True
        client = getattr(request, "client", None)
        tenant = application_of_client(client)
        if tenant is None:
            return False
        try:
            _, secret = base64.b64decode(self._extract_basic_auth(request) or "").decode().split(":", 1)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        return hmac.compare_digest(unquote_plus(secret), functions_client_secret(tenant))
