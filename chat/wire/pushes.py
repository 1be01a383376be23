"""The socket service's pushed events as its API lists them (``GET /wssv/message`` over HTTP, and the same request
over a socket): one rendering, one listing with its filters, sort, limit and skip."""

from typing import Any

from chat.errors import Invalid
from chat.models import Application, PushMessage
from chat.selectors.applications import PUSH_SORTS, push_messages

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def render_push(push: PushMessage) -> dict[str, Any]:
    """A pushed event as the API lists it."""
    return {
        "id": push.pk,
        "channel": push.channel,
        "event": push.event,
        "data": push.data,
        "createdAt": int(push.created_time.timestamp() * 1000),
    }


def list_pushes(application: Application, params: dict[str, Any]) -> dict[str, Any]:
    """A page of pushed events as ``GET /wssv/message`` answers it (also asked over a socket)."""
    text = {key: value for key, value in params.items() if isinstance(value, str)}
    found = push_messages(
        application=application, channel=text.get("channel"), event=text.get("event"), data=text.get("data")
    )
    sorts = params.get("sort") or ["createdAt_DESC"]
    order = []
    for sort in [sorts] if isinstance(sorts, str) else sorts:
        for term in sort.strip("[]").replace('"', "").split(","):
            field, _, direction = term.strip().partition("_")
            if field not in PUSH_SORTS or direction.upper() not in ("ASC", "DESC", ""):
                raise Invalid(f"sort must be like createdAt_DESC (fields: {', '.join(PUSH_SORTS)}).", field="sort")
            order.append(("-" if direction.upper() == "DESC" else "") + PUSH_SORTS[field])
    limit, skip = _count(params.get("limit"), DEFAULT_LIMIT, "limit"), _count(params.get("skip"), 0, "skip")
    if limit > MAX_LIMIT:
        raise Invalid(f"limit must be at most {MAX_LIMIT}.", field="limit")
    page = list(found.order_by(*order, "-id")[skip : skip + limit])
    return {"messages": [render_push(push) for push in page], "total": found.count()}


def _count(value: Any, default: int, field: str) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or not value.isdigit():
        raise Invalid(f"{field} must be a non-negative integer.", field=field)
    return int(value)
