"""JSON Merge Patch (RFC 7396), the semantics of every PATCH on the Platform API."""

from typing import Any

from chat.bounds import MAX_JSON_DEPTH
from chat.errors import Invalid


def merge_patch(target: Any, patch: Any, depth: int = 1) -> Any:
    """Apply ``patch`` to ``target``: objects merge key by key, ``null`` removes a key, anything else replaces. A
    patch nested deeper than the bound of stored JSON is refused."""
    if not isinstance(patch, dict):
        return patch
    if depth > MAX_JSON_DEPTH:
        raise Invalid(f"The patch nests deeper than {MAX_JSON_DEPTH} levels.", field="properties")
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value, depth + 1)
    return result
