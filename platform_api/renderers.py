"""Response renderers: JSON (and its HAL media type) encoded with orjson."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers


class JSONRenderer(renderers.BaseRenderer):
    """``application/json`` with orjson; ``None`` renders as an empty body."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        """Encode ``data``; anything orjson does not know is rendered as its string."""
        if data is None:
            return b""
        return orjson.dumps(data, default=str)


class HalJSONRenderer(JSONRenderer):
    """``application/hal+json``, which the Python SDK lists as acceptable."""

    media_type = "application/hal+json"
