"""Request parsers: JSON under every media type the SDKs send, with a size limit and empty-body tolerance; and the
middleware that lets multipart uploads through as the npm platform SDK sends them."""

import re
from collections.abc import Awaitable, Callable, Mapping
from inspect import iscoroutinefunction
from typing import IO, Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from rest_framework import exceptions, parsers

from chat.bounds import check_depth
from platform_api.errors import PayloadTooLarge


class JSONParser(parsers.BaseParser):
    """``application/json``; an empty body is ``{}``; a body over the limit is 413."""

    media_type = "application/json"

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Read at most the configured number of bytes and decode them."""
        limit = settings.PARLEY_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if not raw.strip():
            return {}
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise exceptions.ParseError(f"Malformed JSON: {error}") from error
        return check_depth(value, "")


class ChatKittyJSONParser(JSONParser):
    """``application/vnd.chatkitty+json``, sent by the newer npm client."""

    media_type = "application/vnd.chatkitty+json"


class MergePatchParser(JSONParser):
    """``application/json+merge-patch``, the spelling ChatKitty's clients use on PATCH."""

    media_type = "application/json+merge-patch"


class StandardMergePatchParser(JSONParser):
    """``application/merge-patch+json``, the RFC 7396 spelling."""

    media_type = "application/merge-patch+json"


_BOUNDARY_LINE = re.compile(rb"--([0-9A-Za-z'()+_,\-./:=? ]{1,70})\r?\n")


def _mend_multipart(request: HttpRequest) -> None:
    """The npm platform SDK posts ``multipart/form-data`` with no ``boundary=`` parameter and chunked (no
    Content-Length). Under ASGI the whole body is already spooled to a file: give the request its length, and the
    boundary its first line opens with, so Django and DRF parse it like any other multipart body."""
    meta = request.META
    content_type = meta.get("CONTENT_TYPE", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return
    body = getattr(request, "_stream", None)  # ASGIRequest: the spooled body file
    if body is None or not hasattr(body, "seek") or not hasattr(body, "tell"):
        return
    if not meta.get("CONTENT_LENGTH"):
        body.seek(0, 2)
        meta["CONTENT_LENGTH"] = str(body.tell())
        body.seek(0)
    if "boundary=" not in content_type.lower():
        head = body.read(80)
        body.seek(0)
        found = _BOUNDARY_LINE.match(head)
        if found is not None:
            meta["CONTENT_TYPE"] = f"multipart/form-data; boundary={found.group(1).decode('ascii')}"
            request._set_content_type_params(meta)  # type: ignore[attr-defined]  # Django's own parse of it


@sync_and_async_middleware
def multipart_middleware(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]:
    """Mend multipart requests (``_mend_multipart``) before anything reads them."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            _mend_multipart(request)
            return await get_response(request)

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        _mend_multipart(request)
        return get_response(request)

    return sync_middleware
