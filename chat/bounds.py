"""Bounds on the JSON that enters Parley (DESIGN rule 11). Every door that turns bytes into JSON values checks them
here, so that nothing nested deeper than ``MAX_JSON_DEPTH``, no integer a database column cannot hold and no text
with a NUL character is stored (parsers accept far deeper documents, and renderers refuse at 255 levels: such a row
would fail every page and connection that shows it); and renderers pass stored values through ``renderable``, so
that one row stored before these bounds fails nobody."""

import logging
from typing import Any

import orjson

from chat.errors import Invalid

MAX_JSON_DEPTH = 32
LARGEST_INTEGER = 2**63 - 1  # what a database column of ids and counts holds
logger = logging.getLogger(__name__)


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> list[str | int] | None:
    """The path to a container nested deeper than ``limit`` levels in ``value`` (``{}`` is one level), or None.
    Iterative, so that no input can exhaust the stack."""
    found = _first_flaw(value, limit)
    return found[0] if found is not None and found[1] == "deep" else None


def _first_flaw(value: Any, limit: int) -> tuple[list[str | int], str] | None:
    """The path to the first container nested too deep ("deep"), integer out of range ("large") or text holding a
    NUL character, which PostgreSQL cannot store ("nul"), or None."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 1, [])]
    while stack:
        current, depth, path = stack.pop()
        if isinstance(current, dict):
            if any("\x00" in key for key in current):
                return path, "nul"
            children: Any = current.items()
        elif isinstance(current, list):
            children = enumerate(current)
        else:
            if isinstance(current, int) and not -LARGEST_INTEGER <= current <= LARGEST_INTEGER:
                return path, "large"
            if isinstance(current, str) and "\x00" in current:
                return path, "nul"
            continue
        if depth > limit:
            return path, "deep"
        stack.extend((child, depth + 1, [*path, key]) for key, child in children)
    return None


def _where(field: str, path: list[str | int]) -> str:
    shown = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path[:6])
    return (field + shown).lstrip(".") + ("…" if len(path) > 6 else "")


def check_depth(value: Any, field: str, limit: int = MAX_JSON_DEPTH) -> Any:
    """``value`` if it nests at most ``limit`` levels and holds no integer beyond 64 bits; else ``Invalid`` naming
    ``field`` (or, for a whole body, the field at fault: its top-level one for nesting, the integer's own)."""
    found = _first_flaw(value, limit)
    if found is None:
        return value
    path, flaw = found
    if flaw == "large":
        named = _where(field, path) or "body"
        raise Invalid(f"{named} must be between {-LARGEST_INTEGER} and {LARGEST_INTEGER}.", field=named)
    if flaw == "nul":
        named = _where(field, path) or "body"
        raise Invalid(f"{named} must not contain NUL characters.", field=named)
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


# The bounds of text, the same at every door: names (of users, channels, threads, keys, pushed events), bodies.
MAX_NAME_LENGTH = 256
MAX_BODY_LENGTH = 10_000


def bounded_text(value: Any, field: str, *, limit: int = MAX_NAME_LENGTH) -> str:
    """``value`` stripped, when it is non-blank text of at most ``limit`` characters; else Invalid naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field} must not be blank.", field=field)
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"{field} must be at most {limit} characters.", field=field)
    return value
