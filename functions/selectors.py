"""Reads of chat functions for the doors (Platform API, dashboard, tasks): tenant-first, with the joins they render;
and the functions that events trigger, cached in each process."""

from typing import Any

from django.db.models import QuerySet

from chat.errors import NotFound
from chat.generations import GenerationCache
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


# The functions events may trigger, by process and application (``chat.generations``): one Redis GET per event
# instead of a query; any change to an application's functions renews its generation.
TRIGGERS = GenerationCache[dict[str, int]]("functions", ttl_seconds=60.0)


def _triggerable(application_id: int) -> dict[str, int]:
    functions = ChatFunction.objects.filter(application_id=application_id, enabled=True, current_version_number__gt=0)
    return dict(functions.values_list("type", "pk"))


def triggered_functions(application_id: int) -> dict[str, int]:
    """The application's functions that events may run (enabled, with a current version): their ids by type."""
    return TRIGGERS.get(application_id, application_id, lambda: _triggerable(application_id)) or {}


def renew_triggers(application_id: int) -> None:
    """Have every process read the application's triggered functions again (now, and once the change commits)."""
    TRIGGERS.renew(application_id)


def function_changed(sender: type[ChatFunction], instance: ChatFunction, **_: Any) -> None:
    """A function was saved or deleted (its application's triggers may be others now)."""
    renew_triggers(instance.application_id)
