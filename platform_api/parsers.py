"""Request parsers: JSON under every media type the SDKs send, with a size limit and empty-body tolerance."""

from collections.abc import Mapping
from typing import IO, Any

import orjson
from django.conf import settings
from rest_framework import exceptions, parsers

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
            return orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise exceptions.ParseError(f"Malformed JSON: {error}") from error


class ChatKittyJSONParser(JSONParser):
    """``application/vnd.chatkitty+json``, sent by the newer npm client."""

    media_type = "application/vnd.chatkitty+json"


class MergePatchParser(JSONParser):
    """``application/json+merge-patch``, the spelling ChatKitty's clients use on PATCH."""

    media_type = "application/json+merge-patch"


class StandardMergePatchParser(JSONParser):
    """``application/merge-patch+json``, the RFC 7396 spelling."""

    media_type = "application/merge-patch+json"
