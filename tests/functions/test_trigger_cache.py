"""Which functions an event may run is read once per change of an application's functions, in every process: a
change renews the application's generation in Redis, each process's cache is keyed by it, and without Redis the
database answers every time."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from functions.actions import check_create_function, check_create_function_version, do_set_function_enabled
from functions.models import ChatFunction
from functions.selectors import triggered_functions
from tests.factories import ApplicationFactory
from tests.live import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


def reads(application_id: int) -> tuple[dict[str, int], int]:
    """The triggered functions, and how many queries finding them took."""
    with CaptureQueriesContext(connection) as queries:
        found = triggered_functions(application_id)
    return found, len(queries)


def test_each_change_to_an_applications_functions_is_seen_at_its_next_event_and_only_then_read_again() -> None:
    # given an application without functions, read once (as its first event does)
    application = ApplicationFactory.create()
    other = ApplicationFactory.create()
    first = reads(application.pk)

    # when events come, then a function is deployed, turned off, and deleted
    unchanged = reads(application.pk)
    function = check_create_function(application, function_type="user.sent.message", name="echo")
    undeployed = reads(application.pk)
    check_create_function_version(function, handler_script="async function handleEvent() {}")
    deployed = reads(application.pk)
    again = reads(application.pk)
    do_set_function_enabled(function, enabled=False)
    disabled = reads(application.pk)
    do_set_function_enabled(function, enabled=True)
    ChatFunction.objects.get(pk=function.pk).delete()
    deleted = reads(application.pk)

    # then each change was seen at once, and nothing was read again between changes
    assert first == ({}, 1)
    assert unchanged == ({}, 0)
    assert undeployed == ({}, 1)
    assert deployed == ({"user.sent.message": function.pk}, 1)
    assert again == ({"user.sent.message": function.pk}, 0)
    assert disabled == ({}, 1)
    assert deleted == ({}, 1)
    assert reads(other.pk) == ({}, 1)


def test_without_redis_the_database_answers_every_event(own_redis: OwnRedis) -> None:
    # given an application with a deployed function, and Redis gone
    application = ApplicationFactory.create()
    function = check_create_function(application, function_type="user.sent.message", name="echo")
    check_create_function_version(function, handler_script="async function handleEvent() {}")
    own_redis.stop()

    # when
    found = [reads(application.pk) for _ in range(2)]

    # then
    assert found == [({"user.sent.message": function.pk}, 1)] * 2
