"""``POST /oauth/token``: django-oauth-toolkit's client-credentials endpoint in the shape ChatKitty's clients read."""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import TokenView as OAuthTokenView


class TokenView(OAuthTokenView):
    """``POST /oauth/token``: django-oauth-toolkit's endpoint, answering in the shape ChatKitty's clients read.

    Client id and secret come by HTTP Basic; the body is multipart or urlencoded ``grant_type=client_credentials``.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Issue a token, lower-casing ``token_type`` and giving every error an ``error_description``."""
        response = super().post(request, *args, **kwargs)
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
