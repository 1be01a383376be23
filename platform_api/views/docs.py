"""The API reference (Redoc) and the interactive console (Swagger UI), served from Parley's own static files
(``drf-spectacular-sidecar``) under a Content-Security-Policy that lets the pages load nothing from elsewhere: a
self-hosted install that is offline, firewalled or behind a strict proxy shows them all the same."""

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

# Both pages run only their own scripts and reach only this server; Redoc renders its search in a worker from a blob.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)


def _confined(response: Response) -> Response:
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


class ReferenceView(SpectacularRedocView):
    """``/v1/docs``: the reference, Redoc started by its element (no inline script)."""

    template_name = "platform_api/redoc.html"
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The page."""
        return _confined(super().get(request, *args, **kwargs))


class ConsoleView(SpectacularSwaggerSplitView):
    """``/v1/console``: Swagger UI, its start script served by this view too (``?script``), so that the page needs no
    inline script; "Authorize" takes a client id and secret and gets a token from ``/oauth/token``."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The page, or its start script."""
        return _confined(super().get(request, *args, **kwargs))
