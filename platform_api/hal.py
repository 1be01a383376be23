"""HAL on the wire: absolute links, page-based lists (``page``/``size``/``sort``) and integer-cursor lists."""

import datetime
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson
from django.db.models import Model, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from chat.bounds import LARGEST_INTEGER, check_depth

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
RELATIONS = ("SELF", "PREVIOUS", "NEXT")

M = TypeVar("M", bound=Model)
Render = Callable[[Sequence[Any]], list[dict[str, Any]]]


def href(request: Request, path: str, params: dict[str, Any] | None = None) -> dict[str, str]:
    """A HAL link object to ``path`` on this server, with optional query parameters."""
    url = request.build_absolute_uri(path)
    if params:
        url += "?" + urlencode(params, doseq=True)
    return {"href": url}


def int_param(request: Request, name: str, default: int | None = None, minimum: int | None = 0) -> int | None:
    """An integer query parameter; a bad one is a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"{name} must be an integer."]}) from None
    if minimum is not None and value < minimum:
        raise ValidationError({name: [f"{name} must be at least {minimum}."]})
    if value > LARGEST_INTEGER:
        raise ValidationError({name: [f"{name} must be at most {LARGEST_INTEGER}."]})
    return value


def bool_param(request: Request, name: str) -> bool | None:
    """A boolean query parameter: true/false in any case (the Python SDK sends ``True``)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValidationError({name: [f"{name} must be true or false."]})


def datetime_param(request: Request, name: str) -> datetime.datetime | None:
    """An ISO-8601 date-time query parameter (a naive one is taken as UTC), handed on in UTC: the database takes
    offsets of at most 15:59, the format up to 23:59."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = datetime.datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=datetime.UTC)).astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise ValidationError({name: [f"{name} must be an ISO-8601 date-time."]}) from None


def page_size(request: Request) -> int:
    """``size``: 25 by default, at most 100."""
    size = int_param(request, "size", DEFAULT_PAGE_SIZE, minimum=1) or DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def ordering(request: Request, sortable: dict[str, str], default: Sequence[str] = ("id",)) -> list[str]:
    """``sort=property,asc|desc`` (repeatable) as ORM ordering; unknown properties are a 400 naming ``sort``."""
    order: list[str] = []
    for raw in request.query_params.getlist("sort"):
        prop, _, direction = raw.partition(",")
        direction = direction.strip().lower() or "asc"
        prop = prop.strip()
        if prop not in sortable or direction not in ("asc", "desc"):
            allowed = ", ".join(sorted(sortable))
            raise ValidationError({"sort": [f"sort must be property,(asc|desc) with property one of: {allowed}."]})
        order.append(("-" if direction == "desc" else "") + sortable[prop])
    return [*order, *default] if order else list(default)


def _query_without(request: Request, *names: str) -> dict[str, list[str]]:
    return {key: values for key, values in request.query_params.lists() if key not in names}


def hal_page(
    request: Request,
    queryset: QuerySet[M],
    rel: str,
    render: Render,
    sortable: dict[str, str],
    default_order: Sequence[str] = ("id",),
) -> dict[str, Any]:
    """A page-based HAL list: ``_embedded.<rel>``, ``_links`` (first/prev/self/next/last) and ``page``."""
    size = page_size(request)
    number = int_param(request, "page", 0) or 0
    ordered = queryset.order_by(*ordering(request, sortable, default_order))
    total = ordered.count()
    items = list(ordered[number * size : (number + 1) * size]) if number * size < total else []
    pages = (total + size - 1) // size
    base = _query_without(request, "page", "size")

    def link(page_number: int) -> dict[str, str]:
        return href(request, request.path, {**base, "page": page_number, "size": size})

    links = {"first": link(0), "self": link(number)}
    if number > 0:
        links["prev"] = link(min(number - 1, max(pages - 1, 0)))
    if number + 1 < pages:
        links["next"] = link(number + 1)
    links["last"] = link(max(pages - 1, 0))
    return {
        "_embedded": {rel: render(items)},
        "_links": links,
        "page": {"size": size, "totalElements": total, "totalPages": pages, "number": number},
    }


def cursor_page(request: Request, queryset: QuerySet[M], rel: str, render: Render) -> dict[str, Any]:
    """An integer-cursor list, newest first, costing an index seek at any depth.

    ``start`` pins the newest id of the listing (so new items do not shift pages), ``next`` is the boundary id and
    ``relation`` says which side of it to read: NEXT is older, PREVIOUS is newer, SELF re-reads from ``start``.
    """
    size = page_size(request)
    start = int_param(request, "start")
    boundary = int_param(request, "next")
    relation = (request.query_params.get("relation") or "SELF").upper()
    if relation not in RELATIONS:
        raise ValidationError({"relation": [f"relation must be one of {', '.join(RELATIONS)}."]})
    has_newer = has_older = False
    if relation == "PREVIOUS" and boundary is not None:
        newer = queryset.filter(pk__gt=boundary)
        if start is not None:
            newer = newer.filter(pk__lte=start)
        items = list(newer.order_by("pk")[: size + 1])
        has_newer = len(items) > size
        items = items[:size][::-1]
        has_older = True
    else:
        older = queryset
        if relation == "NEXT" and boundary is not None:
            older = older.filter(pk__lt=boundary)
            has_newer = True
        elif start is not None:
            older = older.filter(pk__lte=start)
        items = list(older.order_by("-pk")[: size + 1])
        has_older = len(items) > size
        items = items[:size]
    if start is None and items:
        start = items[0].pk
    base = _query_without(request, "start", "next", "relation", "size")
    links = {"self": href(request, request.path, {**base, **_cursor(start, None, None), "size": size})}
    if items and has_older:
        links["next"] = href(request, request.path, {**base, **_cursor(start, items[-1].pk, "NEXT"), "size": size})
    if items and has_newer:
        links["prev"] = href(request, request.path, {**base, **_cursor(start, items[0].pk, "PREVIOUS"), "size": size})
    return {"_embedded": {rel: render(items)}, "_links": links, "page": {"size": size}}


def _cursor(start: int | None, boundary: int | None, relation: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if start is not None:
        params["start"] = start
    if boundary is not None:
        params["next"] = boundary
    if relation is not None:
        params["relation"] = relation
    return params


def json_object_param(request: Request, name: str) -> dict[str, Any] | None:
    """A query parameter holding a JSON object, such as ``properties={"team":"red"}``."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValidationError({name: [f"{name} must be a JSON object."]})
    return check_depth(value, name)
