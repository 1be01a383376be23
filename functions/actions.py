"""The one write path of chat functions: runtimes, functions, versions. (Running them comes with the runner.)"""

import re
from typing import Any

from django.db import IntegrityError, transaction

from chat.errors import Conflict, Invalid
from chat.models import Application
from functions.models import DEFAULT_DEPENDENCIES, ChatFunction, FunctionType, FunctionVersion, Runtime

# npm package names (scoped or not) and the variable names a script may read from process.env.
PACKAGE_NAME = re.compile(r"(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_VARIABLES = ("CHATKITTY_CLIENT_ID", "CHATKITTY_CLIENT_SECRET", "CHATKITTY_APPLICATION_ID")
MAX_SCRIPT_LENGTH = 200_000


def do_ensure_runtime(application: Application) -> Runtime:
    """The application's runtime, made with the default dependencies the first time it is asked for."""
    runtime, _ = Runtime.objects.get_or_create(
        application=application, defaults={"dependencies": [dict(d) for d in DEFAULT_DEPENDENCIES]}
    )
    return runtime


def check_update_dependencies(runtime: Runtime, dependencies: Any) -> Runtime:
    """Replace the tenant's own NPM dependencies; the defaults always stay."""
    if not isinstance(dependencies, list):
        raise Invalid("dependencies must be an array of {name, version}.", field="dependencies")
    defaults = {d["name"] for d in DEFAULT_DEPENDENCIES}
    own: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(dependencies):
        field = f"dependencies[{index}]"
        if not isinstance(item, dict):
            raise Invalid(f"{field} must be an object with name and version.", field=field)
        name, version = item.get("name"), item.get("version")
        if not isinstance(name, str) or not PACKAGE_NAME.fullmatch(name) or len(name) > 214:
            raise Invalid(f"{field}.name must be an npm package name.", field=f"{field}.name")
        if not isinstance(version, str) or not version.strip() or len(version) > 100:
            raise Invalid(f"{field}.version must be a version or range.", field=f"{field}.version")
        if name not in defaults:
            own[name] = {"name": name, "version": version.strip(), "defaultDependency": False}
    runtime.dependencies = [dict(d) for d in DEFAULT_DEPENDENCIES] + list(own.values())
    runtime.save(update_fields=["dependencies"])
    return runtime


def check_update_environment_variables(runtime: Runtime, variables: Any) -> Runtime:
    """Replace the tenant's environment variables (the CHATKITTY_* ones are Parley's own)."""
    if not isinstance(variables, dict):
        raise Invalid("environmentVariables must be an object of names to strings.", field="environmentVariables")
    for name, value in variables.items():
        if not VARIABLE_NAME.fullmatch(name) or len(name) > 128:
            raise Invalid(f"{name!r} is not a valid variable name.", field=name)
        if name in RESERVED_VARIABLES:
            raise Invalid(f"{name} is set by Parley for every run.", field=name)
        if not isinstance(value, str) or len(value) > 10_000:
            raise Invalid(f"{name} must be a string of at most 10,000 characters.", field=name)
    runtime.environment_variables = dict(variables)
    runtime.save(update_fields=["environment_variables"])
    return runtime


def check_update_initialization_script(runtime: Runtime, script: Any) -> Runtime:
    """Replace the script run once per warm worker before any handler."""
    if not isinstance(script, str) or len(script) > MAX_SCRIPT_LENGTH:
        raise Invalid(f"script must be a string of at most {MAX_SCRIPT_LENGTH} characters.", field="script")
    runtime.initialization_script = script
    runtime.save(update_fields=["initialization_script"])
    return runtime


def check_create_function(
    application: Application,
    *,
    function_type: str,
    name: str,
    description: str = "",
    initialize_asynchronously: bool = False,
) -> ChatFunction:
    """A function for one event type (one per type and application)."""
    if function_type not in FunctionType.values:
        raise Invalid(f"type must be one of {', '.join(FunctionType.values)}.", field="type")
    if not name.strip():
        raise Invalid("A function needs a name.", field="name")
    try:
        with transaction.atomic():
            return ChatFunction.objects.create(
                application=application,
                runtime=do_ensure_runtime(application),
                type=function_type,
                name=name.strip(),
                description=description,
                initialize_asynchronously=initialize_asynchronously,
            )
    except IntegrityError as error:
        raise Conflict(f"This application already has a {function_type} function.", field="type") from error


@transaction.atomic
def check_create_function_version(function: ChatFunction, *, handler_script: Any) -> FunctionVersion:
    """Deploy a new version of a function's handler: it becomes the current one."""
    if not isinstance(handler_script, str) or not handler_script.strip():
        raise Invalid("handlerScript must be the handler's source.", field="handlerScript")
    if len(handler_script) > MAX_SCRIPT_LENGTH:
        raise Invalid(f"handlerScript must be at most {MAX_SCRIPT_LENGTH} characters.", field="handlerScript")
    locked = ChatFunction.objects.select_for_update().get(pk=function.pk)
    number = locked.current_version_number + 1
    version = FunctionVersion.objects.create(function=locked, version_number=number, handler_script=handler_script)
    ChatFunction.objects.filter(pk=function.pk).update(current_version_number=number)
    function.current_version_number = number
    return version


def do_set_function_enabled(function: ChatFunction, *, enabled: bool) -> ChatFunction:
    """Turn a function on or off (an off function is not run)."""
    function.enabled = enabled
    function.save(update_fields=["enabled"])
    return function
