"""The API reference (Redoc) and the interactive console (Swagger UI), served from Parley's own static files
(``drf-spectacular-sidecar``) under a Content-Security-Policy that lets the pages load nothing from elsewhere: a
self-hosted install that is offline, firewalled or behind a strict proxy shows them all the same."""

import threading
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# Both pages run only their own scripts and reach only this server; Redoc renders its search in a worker from a blob.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)


class DocumentView(SpectacularJSONAPIView):
    """``/v1/openapi.json``, built once per process, by one caller: the document is the same for everyone (public,
    from the URL configuration), building it costs a sixth of a second of CPU that an anonymous caller could ask for
    again and again, and drf-spectacular resolves the classes of its extensions on first use in a way that fails
    callers who come at the same moment (500s from a fresh process)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    building = threading.Lock()
    built: Response | None = None

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The document."""
        with DocumentView.building:
            if DocumentView.built is None:
                DocumentView.built = super().get(request, *args, **kwargs)
        built = DocumentView.built
        return Response(built.data, headers={"Content-Disposition": built["Content-Disposition"]})


class Confined(APIView):
    """A page of the reference: anyone may read it, and it may load nothing from elsewhere."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        """The page, under the policy."""
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class ReferenceView(Confined, SpectacularRedocView):
    """``/v1/docs``: the reference, Redoc started by its element (no inline script)."""

    template_name = "platform_api/redoc.html"


class ConsoleView(Confined, SpectacularSwaggerSplitView):
    """``/v1/console``: Swagger UI, its start script served by this view too (``?script``), so that the page needs no
    inline script; "Authorize" takes a client id and secret and gets a token from ``/oauth/token``."""
