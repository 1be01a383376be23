"""Bounds on the JSON that enters Parley (DESIGN rule 11). Every door that turns bytes into JSON values checks them
here, so that nothing nested deeper than ``MAX_JSON_DEPTH`` is stored (parsers accept far deeper documents, and
renderers refuse at 255 levels: such a row would fail every page and connection that shows it); and renderers pass
stored values through ``renderable``, so that one row stored before these bounds fails nobody."""

import logging
from typing import Any

import orjson

from chat.errors import Invalid

MAX_JSON_DEPTH = 32
logger = logging.getLogger(__name__)


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> list[str | int] | None:
    """The path to a container nested deeper than ``limit`` levels in ``value`` (``{}`` is one level), or None.
    Iterative, so that no input can exhaust the stack."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 1, [])]
    while stack:
        current, depth, path = stack.pop()
        if isinstance(current, dict):
            children: Any = current.items()
        elif isinstance(current, list):
            children = enumerate(current)
        else:
            continue
        if depth > limit:
            return path
        stack.extend((child, depth + 1, [*path, key]) for key, child in children)
    return None


def _where(field: str, path: list[str | int]) -> str:
    shown = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path[:6])
    return (field + shown).lstrip(".") + ("…" if len(path) > 6 else "")


def check_depth(value: Any, field: str, limit: int = MAX_JSON_DEPTH) -> Any:
    """``value`` if it nests at most ``limit`` levels; else ``Invalid`` naming ``field`` (or, for a whole body, its
    top-level field)."""
    path = too_deep(value, limit)
    if path is None:
        return value
    named = field or (str(path[0]) if path else "body")
    raise Invalid(f"{named} nests deeper than {limit} levels (at {_where(field, path)}).", field=named)


def parse_json(raw: bytes | str, field: str, limit: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON that came from outside; ``Invalid`` naming ``field`` when it is not JSON or nests too deep."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Invalid(f"{field or 'The body'} must be JSON: {error}", field=field or None) from error
    return check_depth(value, field, limit)


def renderable(value: Any, what: str) -> Any:
    """A stored JSON value as it may be rendered: itself, or ``{}`` (logged) when it nests too deep to render."""
    if too_deep(value) is None:
        return value
    logger.warning("Not rendering %s: it nests deeper than %d levels.", what, MAX_JSON_DEPTH)
    return {}
