"""Chat functions through the Platform API: the Node.js runtime (``/v1/runtimes/nodejs``: dependencies, environment
variables, initialization script, functions), functions (``/v1/functions/{id}``: retrieve, enable or disable,
current version, versions, invocations) and versions (``/v1/function-versions/{id}``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.errors import NotFound
from functions.actions import (
    check_create_function,
    check_create_function_version,
    check_update_dependencies,
    check_update_environment_variables,
    check_update_initialization_script,
    do_ensure_runtime,
    do_set_function_enabled,
)
from functions.models import ChatFunction, FunctionType
from functions.selectors import (
    application_functions,
    function_invocations,
    get_function,
    get_function_version,
)
from functions.wire import (
    ChatFunctionInvocationResourceSerializer,
    ChatFunctionResourceSerializer,
    ChatFunctionVersionResourceSerializer,
    ChatRuntimeDependencySerializer,
    ChatRuntimeResourceSerializer,
)
from platform_api.hal import hal_page
from platform_api.inputs import InputSerializer
from platform_api.schema import PAGE_PARAMETERS, PARLEY_TAGS, paged
from platform_api.views.base import PlatformView

FUNCTION_SORT = {"id": "id", "name": "name", "type": "type"}
VERSION_SORT = {"id": "id", "versionNumber": "version_number"}
INVOCATION_SORT = {"id": "id", "createdTime": "created_time"}


class ScriptInput(InputSerializer):
    """A script."""

    script = serializers.CharField(allow_blank=True, trim_whitespace=False)


class CreateFunctionInput(InputSerializer):
    """A new function: the event type it handles, a name, and optionally a description."""

    type = serializers.ChoiceField(choices=FunctionType.choices)
    name = serializers.CharField(max_length=256)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    initialize_asynchronously = serializers.BooleanField(required=False, default=False)


class CreateVersionInput(InputSerializer):
    """A new version: the handler's source (JavaScript or TypeScript)."""

    handler_script = serializers.CharField(trim_whitespace=False)


class FunctionStateInput(InputSerializer):
    """Turn a function on or off."""

    enabled = serializers.BooleanField()


class RuntimeView(PlatformView):
    """``/v1/runtimes/nodejs``."""

    @extend_schema(operation_id="retrieveNodejsRuntime", responses=ChatRuntimeResourceSerializer)
    def get(self, request: Request) -> Response:
        """The application's Node.js runtime."""
        return self.ok(self.renderer.render("runtime", do_ensure_runtime(self.application)))


class RuntimeDependenciesView(PlatformView):
    """``/v1/runtimes/nodejs/dependencies``."""

    @extend_schema(
        operation_id="updateNodejsRuntimeDependencies",
        request=ChatRuntimeDependencySerializer(many=True),
        responses=ChatRuntimeResourceSerializer,
    )
    def put(self, request: Request) -> Response:
        """Replace the runtime's own NPM dependencies (the defaults stay)."""
        runtime = check_update_dependencies(do_ensure_runtime(self.application), request.data)
        return self.ok(self.renderer.render("runtime", runtime))


class RuntimeEnvironmentView(PlatformView):
    """``/v1/runtimes/nodejs/environment-variables``."""

    @extend_schema(
        operation_id="updateNodejsRuntimeEnvironmentVariables",
        request=OpenApiTypes.OBJECT,
        responses=ChatRuntimeResourceSerializer,
    )
    def put(self, request: Request) -> Response:
        """Replace the runtime's environment variables."""
        runtime = check_update_environment_variables(do_ensure_runtime(self.application), request.data)
        return self.ok(self.renderer.render("runtime", runtime))


class RuntimeInitializationScriptView(PlatformView):
    """``/v1/runtimes/nodejs/initialization-script``."""

    @extend_schema(
        operation_id="updateNodejsRuntimeInitializationScript",
        request=ScriptInput,
        responses=ChatRuntimeResourceSerializer,
    )
    def put(self, request: Request) -> Response:
        """Replace the script every warm worker runs once before any handler."""
        body = request.data if isinstance(request.data, dict) else {}
        runtime = check_update_initialization_script(do_ensure_runtime(self.application), body.get("script"))
        return self.ok(self.renderer.render("runtime", runtime))


class RuntimeFunctionsView(PlatformView):
    """``/v1/runtimes/nodejs/functions``."""

    @extend_schema(
        operation_id="listNodejsRuntimeFunctions",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChatFunctionResource", "functions", ChatFunctionResourceSerializer),
    )
    def get(self, request: Request) -> Response:
        """The application's functions."""
        found = application_functions(application=self.application)
        return self.ok(hal_page(request, found, "functions", self.renderer.many("function"), FUNCTION_SORT))

    @extend_schema(
        operation_id="createNodejsRuntimeFunction",
        request=CreateFunctionInput,
        responses=ChatFunctionResourceSerializer,
    )
    def post(self, request: Request) -> Response:
        """Create the function of an event type (one per type)."""
        data = self.validated(CreateFunctionInput)
        function = check_create_function(
            self.application,
            function_type=data["type"],
            name=data["name"],
            description=data["description"],
            initialize_asynchronously=data["initialize_asynchronously"],
        )
        return self.ok(self.renderer.render("function", function))


class FunctionScoped(PlatformView):
    """Views under one function."""

    def function(self, function_id: int) -> ChatFunction:
        """The function of this application with this id."""
        return get_function(application=self.application, function_id=function_id)


class FunctionView(FunctionScoped):
    """``/v1/functions/{id}``."""

    @extend_schema(operation_id="retrieveFunction", responses=ChatFunctionResourceSerializer)
    def get(self, request: Request, function_id: int) -> Response:
        """A function."""
        return self.ok(self.renderer.render("function", self.function(function_id)))

    @extend_schema(
        operation_id="updateFunction",
        tags=PARLEY_TAGS,
        request=FunctionStateInput,
        responses=ChatFunctionResourceSerializer,
    )
    def patch(self, request: Request, function_id: int) -> Response:
        """Enable or disable a function (a Parley extension: ``{"enabled": false}``)."""
        enabled = self.validated(FunctionStateInput)["enabled"]
        return self.ok(
            self.renderer.render("function", do_set_function_enabled(self.function(function_id), enabled=enabled))
        )


class FunctionCurrentVersionView(FunctionScoped):
    """``/v1/functions/{id}/current-version``."""

    @extend_schema(operation_id="retrieveFunctionCurrentVersion", responses=ChatFunctionVersionResourceSerializer)
    def get(self, request: Request, function_id: int) -> Response:
        """The version deployed now."""
        function = self.function(function_id)
        version = function.versions.filter(version_number=function.current_version_number).first()
        if version is None:
            raise NotFound(f"Function {function_id} has no version yet.")
        return self.ok(self.renderer.render("function_version", version))


class FunctionVersionsView(FunctionScoped):
    """``/v1/functions/{id}/versions``."""

    @extend_schema(
        operation_id="listFunctionVersions",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChatFunctionVersionResource", "versions", ChatFunctionVersionResourceSerializer),
    )
    def get(self, request: Request, function_id: int) -> Response:
        """Every version, oldest first by default."""
        versions = self.function(function_id).versions.all()
        return self.ok(hal_page(request, versions, "versions", self.renderer.many("function_version"), VERSION_SORT))

    @extend_schema(
        operation_id="createFunctionVersion",
        request=CreateVersionInput,
        responses=ChatFunctionVersionResourceSerializer,
    )
    def post(self, request: Request, function_id: int) -> Response:
        """Deploy a new version: it becomes the current one."""
        script = self.validated(CreateVersionInput)["handler_script"]
        version = check_create_function_version(self.function(function_id), handler_script=script)
        return self.ok(self.renderer.render("function_version", version))


class FunctionInvocationsView(FunctionScoped):
    """``/v1/functions/{id}/invocations``."""

    @extend_schema(
        operation_id="listFunctionInvocations",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChatFunctionInvocationResource", "invocations", ChatFunctionInvocationResourceSerializer),
    )
    def get(self, request: Request, function_id: int) -> Response:
        """The log of runs, newest first by default."""
        runs = function_invocations(function=self.function(function_id))
        page = hal_page(request, runs, "invocations", self.renderer.many("invocation"), INVOCATION_SORT, ("-id",))
        return self.ok(page)


class FunctionVersionView(PlatformView):
    """``/v1/function-versions/{id}``."""

    @extend_schema(operation_id="retrieveFunctionVersion", responses=ChatFunctionVersionResourceSerializer)
    def get(self, request: Request, version_id: int) -> Response:
        """One version of a function of this application."""
        version = get_function_version(application=self.application, version_id=version_id)
        return self.ok(self.renderer.render("function_version", version))
