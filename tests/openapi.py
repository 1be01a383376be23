"""Checks real responses against the OpenAPI document the server publishes (drf-spectacular)."""

import json
import re
from functools import cache
from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = "urn:parley-openapi"


@cache
def _document() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    text = json.dumps(schema, default=str).replace('"#/components/', f'"{ROOT}#/components/')
    return json.loads(text)


@cache
def _registry() -> Registry:
    return Registry().with_resource(ROOT, Resource.from_contents(_document(), default_specification=DRAFT202012))


def _template(path: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", resolve(path).route)


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    """The documented JSON schema of a response, or None if the operation documents no body for it."""
    try:
        template = _template(path)
    except Resolver404:
        return None
    operation = _document()["paths"].get(template, {}).get(method.lower())
    assert operation is not None, f"{method} {template} is not in the OpenAPI document"
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method} {template} does not document status {status}"
    content = response.get("content", {})
    return content.get("application/json", {}).get("schema")


def assert_matches_schema(path: str, method: str, status: int, body: Any) -> None:
    """Fail with every violation if ``body`` does not match the documented response."""
    schema = response_schema(path, method, status)
    if schema is None:
        return
    validator = Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} → {status} breaks the OpenAPI document:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}" for e in errors[:10]
    )
