"""schemathesis over the OpenAPI document: generated requests to every /v1 operation, as an authenticated tenant,
valid and invalid, bounded in examples; no answer may be a server error. (The npm install door is left out: it would
run npm for every generated package name; its refusals are tested in test_functions_sandbox.)"""

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.conftest import Api

EXAMPLES_PER_OPERATION = 10
LEFT_OUT = ("updateNodejsRuntimeDependencies",)


@pytest.fixture
def web_schema(api: Api) -> Iterator[Any]:
    """The OpenAPI document of this Parley, served in process (inside the test's transaction, as Django's test
    client keeps it: requests do not close the database connection). After ``api``: Django's test client connects
    the closing of connections again after each of its requests."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_no_generated_request_makes_a_server_error(web_schema: Any, api: Api) -> None:
    # given
    token = api.client._credentials["HTTP_AUTHORIZATION"]  # type: ignore[attr-defined]  # noqa: SLF001  (its real token)
    operations = [result.ok() for result in web_schema.get_all_operations()]
    operations = [operation for operation in operations if operation.definition.raw.get("operationId") not in LEFT_OUT]
    calls = 0
    failures: dict[str, str] = {}

    # when: valid requests, then invalid ones
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            nonlocal calls
            calls += 1
            with transaction.atomic():  # a refused write rolls back alone, as it would in its own request
                response = case.call(headers={"Authorization": token})
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Unsatisfiable:
            continue  # no invalid request exists for an operation that takes nothing
        except Exception as error:  # noqa: BLE001  (every operation's failure is collected, then reported)
            failures[f"{operation.method.upper()} {operation.path} ({mode.value})"] = str(error)[:500]

    # then
    print(f"schemathesis: {len(operations)} operations, {calls} generated requests, {len(failures)} failing")
    assert failures == {}
    assert len(operations) > 60
