"""The one write path of chat functions: runtimes, functions, versions, and runs (each recorded as an invocation)."""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken
from prometheus_client import Counter, Histogram

from chat.actions.applications import functions_client_secret
from chat.errors import Conflict, Invalid
from chat.models import Application
from functions import origin, pool, sandbox
from functions.models import (
    DEFAULT_DEPENDENCIES,
    ChatFunction,
    FunctionType,
    FunctionVersion,
    Invocation,
    InvocationStatus,
    Runtime,
)
from functions.runtime import (
    NODE,
    InstallFailed,
    WorkerSpec,
    check_registry_specs,
    handler_file,
    install,
    script_file,
)
from functions.selectors import renew_triggers

# npm package names (scoped or not) and the variable names a script may read from process.env.
PACKAGE_NAME = re.compile(r"(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_VARIABLES = ("CHATKITTY_CLIENT_ID", "CHATKITTY_CLIENT_SECRET", "CHATKITTY_APPLICATION_ID")
MAX_SCRIPT_LENGTH = 200_000
MAX_DEPENDENCIES = 100

# Runs of chat functions, counted where each run's outcome is recorded (whatever door ran it).
INVOCATIONS = Counter(
    "parley_function_invocations", "Chat function runs by function type and outcome.", ["type", "status"]
)
INVOCATION_SECONDS = Histogram(
    "parley_function_duration_seconds",
    "How long chat function runs took, by function type.",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def do_ensure_runtime(application: Application) -> Runtime:
    """The application's runtime, made with the default dependencies the first time it is asked for."""
    runtime, _ = Runtime.objects.get_or_create(
        application=application, defaults={"dependencies": [dict(d) for d in DEFAULT_DEPENDENCIES]}
    )
    return runtime


def check_update_dependencies(runtime: Runtime, dependencies: Any) -> Runtime:
    """Replace the tenant's own NPM dependencies (the defaults always stay) once npm has installed them; an install
    that fails changes nothing and says why."""
    if not isinstance(dependencies, list):
        raise Invalid("dependencies must be an array of {name, version}.", field="dependencies")
    if len(dependencies) > MAX_DEPENDENCIES:
        raise Invalid(f"dependencies may name at most {MAX_DEPENDENCIES} packages.", field="dependencies")
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
            own[name] = {"name": name, "version": version.strip(), "defaultDependency": False, "field": field}
    specs = [(item["name"], item["version"]) for item in own.values()]
    for item, refusal in zip(own.values(), check_registry_specs(specs), strict=True):
        if refusal:
            field = f"{item.pop('field')}.version"
            raise Invalid(
                f"{field} {refusal}: only packages of the npm registry may be installed (a version, a range, a tag "
                "or an npm: alias of a registry package).",
                field=field,
            )
        del item["field"]
    wanted = [dict(d) for d in DEFAULT_DEPENDENCIES] + list(own.values())
    try:
        install(runtime.application_id, wanted)
    except (InstallFailed, sandbox.SandboxUnavailable) as error:
        raise Invalid(str(error), field="dependencies") from error
    runtime.dependencies = wanted
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
    renew_triggers(function.application_id)
    function.current_version_number = number
    return version


def check_describe_function(function: ChatFunction, *, name: str, description: str) -> ChatFunction:
    """Rename a function and change its description."""
    if not name.strip():
        raise Invalid("A function needs a name.", field="name")
    function.name, function.description = name.strip(), description
    function.save(update_fields=["name", "description"])
    return function


def do_set_function_enabled(function: ChatFunction, *, enabled: bool) -> ChatFunction:
    """Turn a function on or off (an off function is not run)."""
    function.enabled = enabled
    function.save(update_fields=["enabled"])
    return function


# Access tokens that Parley issues to its own workers are told apart by this scope.
FUNCTION_TOKEN_SCOPE = "create:* read:* update:* delete:* functions"  # noqa: S105  (a scope, not a secret)
FUNCTION_TOKEN_LIFETIME = timedelta(hours=12)
FUNCTION_TOKEN_MARGIN = timedelta(hours=1)  # never hand out a token that could expire during a run


# Tokens this process handed out, by application and the time its OAuth client last changed (a rotated secret
# revokes every token, and changes that time): (token, usable until).
_tokens: dict[tuple[int, Any], tuple[str, Any]] = {}


def function_token(application: Application) -> str:
    """A Platform API access token for the application's functions: reused while it has time left, else issued."""
    now = timezone.now()
    key = (application.pk, application.oauth_client.updated)
    cached = _tokens.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    found = (
        AccessToken.objects.filter(
            application_id=application.oauth_client_id,
            scope=FUNCTION_TOKEN_SCOPE,
            expires__gt=now + FUNCTION_TOKEN_MARGIN,
        )
        .order_by("-expires")
        .values_list("token", "expires")
        .first()
    )
    if found is None:
        found = (secrets.token_urlsafe(32), now + FUNCTION_TOKEN_LIFETIME)
        AccessToken.objects.create(
            application_id=application.oauth_client_id, token=found[0], scope=FUNCTION_TOKEN_SCOPE, expires=found[1]
        )
    _tokens[key] = (found[0], found[1] - FUNCTION_TOKEN_MARGIN)
    return found[0]


@lru_cache(maxsize=1024)
def _version(function_id: int, number: int) -> FunctionVersion:
    """A deployed version (versions never change once deployed, so each process keeps the ones it ran)."""
    return FunctionVersion.objects.get(function_id=function_id, version_number=number)


def worker_spec(application: Application, function_runtime: Runtime) -> WorkerSpec:
    """What a worker for this application starts with; installs its dependency set here if it is missing. Raises
    ``SandboxUnavailable`` where tenant code may not run."""
    sandbox.check_available(NODE)
    folder = install(application.pk, function_runtime.dependencies)
    environment = {
        **function_runtime.environment_variables,
        "CHATKITTY_APPLICATION_ID": str(application.pk),
        "CHATKITTY_CLIENT_ID": application.key,
        "CHATKITTY_CLIENT_SECRET": functions_client_secret(application),
        "CHATKITTY_API_URL": sandbox.api_url(),
    }
    script = function_runtime.initialization_script
    return WorkerSpec(
        application_id=application.pk,
        folder=folder,
        environment=tuple(sorted(environment.items())),
        initialization_script=script_file(folder, "init", script) if script.strip() else None,
        api_url=sandbox.api_url(),
    )


@dataclass(frozen=True)
class PreparedRun:
    """Everything a run needs, read from the database before it starts (so that waiting for it holds nothing)."""

    function: ChatFunction
    version: FunctionVersion
    args: dict[str, Any]
    spec: WorkerSpec | None
    request: dict[str, Any]
    failure: str = ""  # set when the run cannot start (its dependencies would not install)


def prepare_run(function: ChatFunction, args: dict[str, Any], chain: tuple[int, ...] = ()) -> PreparedRun | None:
    """A run of the function's current version with ``args``, or None when it has no version or is off.

    ``chain`` lists the functions whose runs led here; the run's API calls carry it on, with this function added."""
    if not function.enabled or function.current_version_number == 0:
        return None
    version = _version(function.pk, function.current_version_number)
    application = function.application
    try:
        spec = worker_spec(application, function.runtime)
    except (InstallFailed, sandbox.SandboxUnavailable) as error:
        return PreparedRun(function, version, args, None, {}, failure=str(error))
    request = {
        "op": "run",
        "handler": str(handler_file(spec.folder, version.handler_script)),
        "event": args,
        "token": function_token(application),
        "origin": origin.sign(application.pk, (*chain, function.pk)),
    }
    return PreparedRun(function, version, args, spec, request)


def run_prepared(prepared: PreparedRun) -> pool.Outcome:
    """Run on this process's pool and wait (from synchronous code)."""
    if prepared.spec is None:
        return pool.Outcome(ok=False, error=prepared.failure)
    return pool.run_sync(prepared.spec, prepared.request, settings.PARLEY_FUNCTIONS_TIMEOUT)


async def arun_prepared(prepared: PreparedRun) -> pool.Outcome:
    """Run on this process's pool and wait (from asynchronous code)."""
    if prepared.spec is None:
        return pool.Outcome(ok=False, error=prepared.failure)
    return await pool.run(prepared.spec, prepared.request, settings.PARLEY_FUNCTIONS_TIMEOUT)


def do_record_invocation(
    prepared: PreparedRun, outcome: pool.Outcome, invocation: Invocation | None = None
) -> Invocation:
    """Write how a run ended (into its RUNNING invocation, or a new one)."""
    invocation = invocation or Invocation(function=prepared.function, version=prepared.version, args=prepared.args)
    invocation.status = InvocationStatus.SUCCEEDED if outcome.ok else InvocationStatus.FAILED
    invocation.result = outcome.result if outcome.ok else None
    invocation.error = outcome.error[:20_000]
    invocation.logs = "\n".join(outcome.logs)
    invocation.duration_ms = round(outcome.duration_ms)
    invocation.save()
    function_type = prepared.function.type
    INVOCATIONS.labels(function_type, invocation.status).inc()
    INVOCATION_SECONDS.labels(function_type).observe(outcome.duration_ms / 1000)
    return invocation


def do_run_function(function: ChatFunction, args: dict[str, Any], chain: tuple[int, ...] = ()) -> Invocation | None:
    """Run the function's current version now and wait: its invocation shows RUNNING meanwhile, then the outcome."""
    prepared = prepare_run(function, args, chain)
    if prepared is None:
        return None
    invocation = Invocation.objects.create(function=function, version=prepared.version, args=args)
    return do_record_invocation(prepared, run_prepared(prepared), invocation)
