"""The socket service API over HTTP (``socket-service-api.md`` and its chat variant): a backend pushes events to
channel names (``/wssv/send``, ``/wssv/send-multi``, ``/chat/send``, ``/chat/send-multi``) and lists what was pushed
(``/wssv/message``), authorized by ``Authorization: key=<application secret>``. Every answer is the documented
envelope ``{"code", "data", "message", "Error"}``: code 0 on success, the HTTP status otherwise.

Subscribing (``/channel/subscribe``, ``/channel/unsubscribe``) is a socket's business: those paths answer here only
to say so; sockets reach them as sails.io virtual requests (``chat.realtime.sails``).
"""

from collections.abc import Callable
from typing import Any

import orjson
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chat.actions.push import check_push
from chat.bounds import check_depth
from chat.errors import ChatError, Invalid
from chat.models import Application
from chat.realtime.auth import application_of_push_secret
from chat.wire.pushes import list_pushes, render_push
from platform_api.errors import DOMAIN_STATUS

ERROR_NAMES = {400: "InvalidRequestError", 401: "UnauthorizedError", 404: "NotFoundError", 405: "MethodNotAllowed"}


def envelope(
    data: Any = None, *, status: int = 200, message: str = "Success", field: str | None = None
) -> JsonResponse:
    """The documented answer: code 0 and ``Error`` null on success; otherwise the status, and an error that names
    its kind and, where there is one, the field."""
    if status < 400:
        return JsonResponse({"code": 0, "data": data if data is not None else {}, "message": message, "Error": None})
    error: dict[str, Any] = {"name": ERROR_NAMES.get(status, "Error"), "message": message}
    if field:
        error["field"] = field
    return JsonResponse({"code": status, "data": None, "message": message, "Error": error}, status=status)


def application_of_key(header: str) -> Application | None:
    """The application whose socket service secret ``Authorization: key=<secret>`` carries."""
    scheme, _, secret = header.partition("=")
    if scheme.strip().lower() != "key":
        return None
    return application_of_push_secret(secret)


def _body(request: HttpRequest) -> Any:
    if not request.body:
        return request.POST.dict()
    try:
        value = orjson.loads(request.body)
    except orjson.JSONDecodeError as error:
        raise Invalid("The body must be JSON.", field="body") from error
    return check_depth(value, "")


Handler = Callable[[HttpRequest, Application], JsonResponse]


def _door(method: str) -> Callable[[Handler], Callable[[HttpRequest], JsonResponse]]:
    """Authorize by the application key, answer domain errors in the envelope."""

    def wrap(handler: Handler) -> Callable[[HttpRequest], JsonResponse]:
        @csrf_exempt
        def view(request: HttpRequest) -> JsonResponse:
            if request.method != method:
                return envelope(status=405, message=f"Use {method}.")
            application = application_of_key(request.headers.get("Authorization", ""))
            if application is None:
                return envelope(status=401, message="Authorization: key=<socket service secret> is required.")
            try:
                return handler(request, application)
            except ChatError as error:
                return envelope(status=DOMAIN_STATUS.get(type(error), 400), message=error.message, field=error.field)

        view.__doc__ = handler.__doc__
        return view

    return wrap


@_door("POST")
def send(request: HttpRequest, application: Application) -> JsonResponse:
    """Push one event (``channel`` a name or an array, ``event`` default ``Message``, ``data`` any JSON)."""
    pushed = check_push(application, [_body(request)])
    return envelope({"messages": [render_push(push) for push in pushed]})


@_door("POST")
def send_multi(request: HttpRequest, application: Application) -> JsonResponse:
    """Push several events: the body is an array of them (or ``{"body": [...]}``)."""
    body = _body(request)
    items = body.get("body") if isinstance(body, dict) else body
    pushed = check_push(application, items, many=True)
    return envelope({"messages": [render_push(push) for push in pushed]})


@_door("GET")
def messages(request: HttpRequest, application: Application) -> JsonResponse:
    """Pushed events, filtered by ``channel``, ``event`` and ``data``; ``sort`` like ``createdAt_DESC``; ``limit``
    (10, at most 100) and ``skip``."""
    params = {key: request.GET.getlist(key) if key == "sort" else request.GET.get(key) for key in request.GET}
    return envelope(list_pushes(application, params))


@csrf_exempt
def socket_only(request: HttpRequest) -> JsonResponse:
    """``/channel/subscribe`` and ``/channel/unsubscribe`` over plain HTTP: there is no socket to subscribe."""
    return envelope(status=400, message="Subscribe over a socket connection (sails.io: io.socket.post).")
