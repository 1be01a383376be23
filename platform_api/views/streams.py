"""The browser SDK's HTTP doors (``_streams``): multipart uploads authorized by the session's write grant (``Grant``
header), answered with the resource the SDK expects (a Message, or the CurrentUser for a display picture); and the
downloads of hosted files, authorized by a read grant (``?grant=``, which the SDK appends to file URLs).

Uploads carry ``file`` and optional ``groupTag`` and ``properties`` fields, each JSON-encoded by the SDK.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chat.actions.files import check_picture, hosted_file_path, raster_type, signature_type, stored_upload
from chat.actions.messages import check_open_reply_thread, check_send_message
from chat.actions.users import check_update_display_picture
from chat.bounds import check_depth
from chat.errors import ChatError, Forbidden, Invalid
from chat.models import Channel, Message, MessageType, Thread
from chat.realtime.context import Session, check_message_rate, visible_channel, visible_message, visible_thread
from chat.realtime.grants import application_of_read_grant, session_of_write_grant
from platform_api.errors import DOMAIN_STATUS, error_body

Locate = Callable[[Session], Any]
Upload = Callable[[Session, UploadedFile, HttpRequest, Any], Any]
USER_CONTENT_POLICY = "sandbox; default-src 'none'"
_Response = TypeVar("_Response", bound=HttpResponseBase)


def _field(request: HttpRequest, name: str) -> Any:
    raw = request.POST.get(name)
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw  # a plain string value
    return check_depth(value, name)


def _upload(request: HttpRequest, locate: Locate, handle: Upload) -> HttpResponse:
    """Authorize the upload by its grant, find its target (``locate``: a channel, message or thread this session may
    use) before looking at the file, check the file, and let ``handle`` turn it into the answer's resource."""
    try:
        user_session = session_of_write_grant(request.headers.get("Grant", ""))
        base_url = request.build_absolute_uri("/").rstrip("/")
        session = Session(user_session.application, user_session.user, user_session, base_url)
        target = locate(session)
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid("The upload needs a file (multipart field 'file').", field="file")
        if (upload.size or 0) > settings.PARLEY_MAX_UPLOAD_BYTES:
            return JsonResponse(
                error_body(413, f"file must be at most {settings.PARLEY_MAX_UPLOAD_BYTES} bytes.", "file"), status=413
            )
        return JsonResponse(handle(session, upload, request, target))
    except ChatError as error:
        code = DOMAIN_STATUS.get(type(error), 400)
        return JsonResponse(error_body(code, error.message, error.field), status=code)


def _send_file(
    session: Session, upload: UploadedFile, request: HttpRequest, channel: Channel, thread: Thread | None
) -> Any:
    check_message_rate(session)
    group_tag, properties = _field(request, "groupTag"), _field(request, "properties")
    if group_tag is not None and not isinstance(group_tag, str):
        raise Invalid("groupTag must be a string.", field="groupTag")
    if properties is not None and not isinstance(properties, dict):
        raise Invalid("properties must be a JSON object.", field="properties")
    with stored_upload(session.application, upload, base_url=session.base_url) as stored:
        message = check_send_message(
            channel,
            message_type=MessageType.FILE,
            thread=thread,
            file={**stored, "content_type": stored["contentType"]},
            hosted=True,
            user=session.user,
            group_tag=group_tag,
            properties=properties,
        )
    return session.resources().message(message)


@csrf_exempt
@require_POST
def channel_messages(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Send a file message into a channel."""

    def handle(session: Session, upload: UploadedFile, request: HttpRequest, channel: Channel) -> Any:
        return _send_file(session, upload, request, channel, None)

    return _upload(request, lambda session: visible_channel(session, channel_id), handle)


@csrf_exempt
@require_POST
def message_replies(request: HttpRequest, message_id: int) -> HttpResponse:
    """Reply to a message with a file."""

    def handle(session: Session, upload: UploadedFile, request: HttpRequest, parent: Message) -> Any:
        return _send_file(session, upload, request, parent.channel, check_open_reply_thread(parent))

    return _upload(request, lambda session: visible_message(session, message_id), handle)


@csrf_exempt
@require_POST
def thread_messages(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Send a file message into a thread."""

    def handle(session: Session, upload: UploadedFile, request: HttpRequest, thread: Thread) -> Any:
        return _send_file(session, upload, request, thread.channel, thread)

    return _upload(request, lambda session: visible_thread(session, thread_id), handle)


@csrf_exempt
@require_POST
def display_picture(request: HttpRequest) -> HttpResponse:
    """Upload the current user's display picture (an image)."""

    def handle(session: Session, upload: UploadedFile, request: HttpRequest, _: None) -> Any:
        check_picture(upload)
        with stored_upload(session.application, upload, base_url=session.base_url, folder="pictures") as stored:
            user = check_update_display_picture(
                session.user,
                url=stored["url"],
                name=stored["name"],
                content_type=stored["contentType"],
                size=stored["size"],
                hosted=True,
            )
        return session.resources().current_user(user)

    return _upload(request, lambda session: None, handle)


@require_GET
def hosted_file(request: HttpRequest, application_id: int, key: str, name: str) -> HttpResponse | FileResponse:
    """A hosted message file, for a read grant of its application."""
    try:
        if application_of_read_grant(request.GET.get("grant", "")) != application_id:
            raise Forbidden("This grant does not open this application's files.")
    except ChatError as error:
        return JsonResponse(error_body(403, error.message), status=403)
    return _stored("files", application_id, key, name)


@require_GET
def picture(request: HttpRequest, application_id: int, key: str, name: str) -> HttpResponse | FileResponse:
    """A display picture (public)."""
    return _stored("pictures", application_id, key, name)


def _stored(folder: str, application_id: int, key: str, name: str) -> HttpResponse | FileResponse:
    """A stored file, served so that no browser runs it: a raster image inline with its type, anything else as an
    attachment."""
    path = hosted_file_path(folder, application_id, key, name)
    if path is None:
        return JsonResponse(error_body(404, "No such file."), status=404)
    stored = default_storage.open(path)
    image = raster_type(stored)
    response = FileResponse(
        stored, filename=name, as_attachment=image is None, content_type=image or signature_type(stored)
    )
    return user_content(response)


def user_content(response: _Response) -> _Response:
    """Mark a response of user content: never sniffed into another type, never run as a page."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = USER_CONTENT_POLICY
    return response
