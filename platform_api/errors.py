"""One error shape for the whole API: ``{"error", "message", "timestamp", "field"?, "properties"?}``."""

import logging
import sys
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions, status
from rest_framework.response import Response

from chat import errors as domain
from chat.errors import UNAVAILABLE, database_unavailable
from chat.wire.timestamps import timestamp
from platform_api.casing import snake_to_camel

logger = logging.getLogger(__name__)

ERROR_NAMES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "ResourceNotFoundError",
    405: "MethodNotAllowedError",
    406: "NotAcceptableError",
    409: "ConflictError",
    413: "PayloadTooLargeError",
    415: "UnsupportedMediaTypeError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}

DOMAIN_STATUS = {
    domain.NotFound: status.HTTP_404_NOT_FOUND,
    domain.Invalid: status.HTTP_400_BAD_REQUEST,
    domain.Conflict: status.HTTP_409_CONFLICT,
    domain.Forbidden: status.HTTP_403_FORBIDDEN,
    domain.RateLimited: status.HTTP_429_TOO_MANY_REQUESTS,
}

API_PREFIXES = ("/v1/", "/v1", "/oauth/")


class PayloadTooLarge(exceptions.APIException):
    """The request body is over the configured limit."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def error_body(status_code: int, message: str, field: str | None = None, **properties: Any) -> dict[str, Any]:
    """The API's error object."""
    body: dict[str, Any] = {
        "error": ERROR_NAMES.get(status_code, "Error"),
        "message": message,
        "timestamp": timestamp(timezone.now()),
    }
    if field:
        body["field"] = field
    if properties:
        body["properties"] = properties
    return body


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str, str]]:
    """DRF's nested validation errors as (camelCase field path, message) pairs."""
    if isinstance(detail, dict):
        pairs: list[tuple[str, str]] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else snake_to_camel(str(key))
            pairs += _flatten(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return pairs
    if isinstance(detail, list):
        pairs = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            pairs += _flatten(value, f"{prefix}[{index}]" if nested and prefix else prefix)
        return pairs
    return [(prefix, str(detail))]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render domain errors and DRF's own in the one error shape; anything else is a 500."""
    # Imported here: rest_framework.views loads the parser classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler  # noqa: PLC0415

    if isinstance(exc, domain.ChatError):
        code = DOMAIN_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        return Response(error_body(code, exc.message, exc.field), status=code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        pairs = _flatten(exc.detail)
        field, message = pairs[0] if pairs else ("", "Invalid input.")
        text = f"{field}: {message}" if field else message
        errors: dict[str, list[str]] = {}
        for name, msg in pairs:
            errors.setdefault(name or "request", []).append(msg)
        response.data = error_body(response.status_code, text, field or None, errors=errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(response.status_code, str(detail))
    return response


class UnavailableMiddleware:
    """Answer 503 in the one error shape, at once, when the database cannot be reached while a view runs (the pool
    reconnects by itself when it is back)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The 503, for a database that cannot be reached; anything else goes on as an error."""
        return unavailable(request, exception) if database_unavailable(exception) else None


def unavailable(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """The answer while the database cannot be reached."""
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
    response = JsonResponse(error_body(503, UNAVAILABLE), status=503)
    response["Retry-After"] = "1"
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES) or request.path == "/v1"


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON 404 for API paths; the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body(404, f"No resource at {request.path}."), status=404)
    return page_not_found(request, exception)  # type: ignore[arg-type]


def internal_error(request: HttpRequest) -> HttpResponse:
    """JSON 500 for API paths; the usual page elsewhere; 503 when the database could not be reached (in a
    middleware, before any view)."""
    failure = sys.exc_info()[1]
    if failure is not None and database_unavailable(failure):
        return unavailable(request, failure)
    if _is_api(request):
        return JsonResponse(error_body(500, "The server failed to handle this request."), status=500)
    return server_error(request)
