"""camelCase on the wire, snake_case inside: key conversion for input and error field names."""

import re
from collections.abc import Mapping
from typing import Any

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def camel_to_snake(name: str) -> str:
    """``displayName`` → ``display_name``; snake_case names pass through."""
    return _CAMEL_BOUNDARY.sub(r"_\1", name).lower()


def snake_to_camel(name: str) -> str:
    """``display_name`` → ``displayName``; dotted paths convert part by part."""
    return ".".join(_snake_part_to_camel(part) for part in name.split("."))


def _snake_part_to_camel(part: str) -> str:
    head, *rest = part.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def snake_keys(data: Mapping[str, Any], known: set[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Rename the top-level keys of ``data`` whose snake_case form is a known field; other keys are kept as sent."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        snake = camel_to_snake(key)
        result[snake if snake in known else key] = value
    return result
