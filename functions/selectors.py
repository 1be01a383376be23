"""Reads of chat functions for the doors (Platform API, dashboard, tasks): tenant-first, with the joins they render;
and the functions that events trigger, cached in each process."""

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from redis import RedisError

from chat.errors import NotFound
from chat.events import bus_redis
from chat.models import Application
from functions.models import ChatFunction, FunctionVersion, Invocation, InvocationStatus


def application_functions(*, application: Application) -> QuerySet[ChatFunction]:
    """The application's functions, with their runtime."""
    return ChatFunction.objects.filter(application=application).select_related("runtime")


def get_function(*, application: Application, function_id: int) -> ChatFunction:
    """The application's function of this id (404 otherwise)."""
    function = application_functions(application=application).filter(pk=function_id).first()
    if function is None:
        raise NotFound(f"Function {function_id} not found.")
    return function


def function_to_run(function_id: int) -> ChatFunction | None:
    """A function about to run, with what running it needs (None: deleted since it was queued)."""
    return ChatFunction.objects.select_related("application__oauth_client", "runtime").filter(pk=function_id).first()


def has_function_of_type(*, application: Application, function_type: str) -> bool:
    """Whether the application has a function of this type (one per type)."""
    return ChatFunction.objects.filter(application=application, type=function_type).exists()


def get_function_version(*, application: Application, version_id: int) -> FunctionVersion:
    """A version of one of the application's functions (404 otherwise)."""
    version = FunctionVersion.objects.filter(function__application=application, pk=version_id).first()
    if version is None:
        raise NotFound(f"Function version {version_id} not found.")
    return version


def version_scripts(*, function: ChatFunction, numbers: tuple[int, ...]) -> dict[int, str]:
    """The handler scripts of these versions of the function, by version number."""
    found = FunctionVersion.objects.filter(function=function, version_number__in=numbers)
    return dict(found.values_list("version_number", "handler_script"))


def function_invocations(*, function: ChatFunction) -> QuerySet[Invocation]:
    """The function's log of runs, with their versions."""
    return Invocation.objects.filter(function=function).select_related("version")


def recent_failures(*, application: Application, count: int = 10) -> list[Invocation]:
    """The application's last failed function runs, newest first."""
    failed = Invocation.objects.filter(function__application=application, status=InvocationStatus.FAILED)
    return list(failed.select_related("function", "version").order_by("-id")[:count])


logger = logging.getLogger(__name__)
# The functions events may trigger, by process: (application, generation) -> ({type: function id}, read at). Any change
# to an application's functions gives it a new generation in Redis (``renew_triggers_on_commit``), so that every
# process reads them again at its next event of that application: one Redis GET per event instead of a query. An
# entry is dropped after TRIGGERS_TTL_SECONDS in case a renewal was lost (Redis away at that moment).
_triggers: dict[tuple[int, str], tuple[dict[str, int], float]] = {}
TRIGGERS_TTL_SECONDS = 60.0
TRIGGERS_KEPT = 10_000


def _generation_key(application_id: int) -> str:
    return f"{settings.PARLEY_EVENT_PREFIX}:functions:{application_id}"


def _triggerable(application_id: int) -> dict[str, int]:
    functions = ChatFunction.objects.filter(application_id=application_id, enabled=True, current_version_number__gt=0)
    return dict(functions.values_list("type", "pk"))


def triggered_functions(application_id: int) -> dict[str, int]:
    """The application's functions that events may run (enabled, with a current version): their ids by type."""
    try:
        generation = str(bus_redis().get(_generation_key(application_id)))
    except RedisError:
        return _triggerable(application_id)
    now = time.monotonic()
    found = _triggers.get((application_id, generation))
    if found is not None and now - found[1] < TRIGGERS_TTL_SECONDS:
        return found[0]
    if len(_triggers) >= TRIGGERS_KEPT:
        _triggers.clear()
    read = _triggerable(application_id)
    _triggers[(application_id, generation)] = (read, now)
    return read


def renew_triggers_on_commit(application_id: int) -> None:
    """Once the transaction commits, have every process read the application's triggered functions again."""

    def renew() -> None:
        try:
            bus_redis().set(_generation_key(application_id), uuid.uuid4().hex)
        except RedisError as error:
            logger.warning("functions of application %s changed; processes may run the old set for %.0f s: %s",
                           application_id, TRIGGERS_TTL_SECONDS, error)  # fmt: skip

    transaction.on_commit(renew)


def function_changed(sender: type[ChatFunction], instance: ChatFunction, **_: Any) -> None:
    """A function was saved or deleted (its application's triggers may be others now)."""
    renew_triggers_on_commit(instance.application_id)
