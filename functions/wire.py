"""The wire representations of chat functions' resources (runtime, functions, versions, invocations), rendered by
the core's ``Renderer`` once ``FunctionsConfig.ready`` registers them."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat.wire.fields import LinksField, Resource, StoredJSONField, Timestamp
from functions.models import ChatFunction, FunctionType, FunctionVersion, Invocation, Runtime


class ChatRuntimeDependencySerializer(serializers.Serializer):
    """An NPM package every function of the runtime may import."""

    name = serializers.CharField()
    version = serializers.CharField()
    defaultDependency = serializers.BooleanField()


class ChatRuntimeScriptSerializer(serializers.Serializer):
    """A script (the runtime's initialization script)."""

    script = serializers.CharField(allow_blank=True)


class ChatRuntimeResourceSerializer(Resource):
    """An application's Node.js runtime."""

    type = serializers.SerializerMethodField()
    id = serializers.IntegerField()
    version = serializers.CharField()
    dependencies = ChatRuntimeDependencySerializer(many=True)
    environmentVariables = serializers.DictField(source="environment_variables", child=serializers.CharField())
    initializationScript = serializers.SerializerMethodField()
    _links = LinksField(required=False)

    def get_type(self, runtime: Runtime) -> str:
        """Always NODEJS."""
        return "NODEJS"

    @extend_schema_field(ChatRuntimeScriptSerializer)
    def get_initializationScript(self, runtime: Runtime) -> dict[str, str] | None:  # noqa: N802
        """The initialization script, when there is one."""
        return {"script": runtime.initialization_script} if runtime.initialization_script else None

    def links(self, runtime: Runtime) -> dict[str, Any]:
        """Self and the functions."""
        return {"self": self.url("/v1/runtimes/nodejs"), "functions": self.url("/v1/runtimes/nodejs/functions")}


class ChatFunctionRuntimeSerializer(serializers.Serializer):
    """The runtime a function runs on, in brief."""

    type = serializers.SerializerMethodField()
    id = serializers.IntegerField()
    version = serializers.CharField()

    def get_type(self, runtime: Runtime) -> str:
        """Always NODEJS."""
        return "NODEJS"


# The reference's 17 function types, the only ones ChatKitty's Python SDK reads; a function of one of Parley's own
# types (run on another event of its bus) shows ``system.triggered.event`` there, and its ``kind`` says which.
REFERENCE_TYPES = list(FunctionType)[: list(FunctionType).index(FunctionType.SYSTEM_TRIGGERED_EVENT) + 1]


class ChatFunctionResourceSerializer(Resource):
    """A function of an application, run on one type of event: ``type`` is one of the reference's types (Parley's
    own show ``system.triggered.event``), ``kind`` the type it runs on, whichever it is."""

    id = serializers.IntegerField()
    type = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(source="type", choices=FunctionType.choices)
    runtime = ChatFunctionRuntimeSerializer()
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    enabled = serializers.BooleanField()
    currentVersionNumber = serializers.IntegerField(source="current_version_number")
    _links = LinksField(required=False)

    @extend_schema_field({"type": "string", "enum": [str(value) for value in REFERENCE_TYPES]})
    def get_type(self, function: ChatFunction) -> str:
        """The reference's type of the function."""
        if function.type in REFERENCE_TYPES:
            return str(function.type)
        return str(FunctionType.SYSTEM_TRIGGERED_EVENT)

    def links(self, function: ChatFunction) -> dict[str, Any]:
        """Self, its current version, versions and invocations."""
        base = f"/v1/functions/{function.pk}"
        return {
            "self": self.url(base),
            "currentVersion": self.url(f"{base}/current-version"),
            "versions": self.url(f"{base}/versions"),
            "invocations": self.url(f"{base}/invocations"),
        }

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """An empty description is left out."""
        data = super().to_representation(instance)
        if not data.get("description"):
            data.pop("description", None)
        return data


class ChatFunctionVersionResourceSerializer(Resource):
    """One deployed handler script of a function."""

    id = serializers.IntegerField()
    versionNumber = serializers.IntegerField(source="version_number")
    handlerScript = serializers.CharField(source="handler_script")
    createdTime = Timestamp(source="created_time")
    _links = LinksField(required=False)

    def links(self, version: FunctionVersion) -> dict[str, Any]:
        """Self and the function."""
        return {
            "self": self.url(f"/v1/function-versions/{version.pk}"),
            "function": self.url(f"/v1/functions/{version.function_id}"),
        }


class ChatFunctionInvocationResourceSerializer(Resource):
    """One run of a function: the version, arguments, status, result, error, logs and duration."""

    id = serializers.IntegerField()
    versionNumber = serializers.IntegerField(source="version.version_number")
    args = StoredJSONField()
    status = serializers.CharField()
    result = StoredJSONField()
    error = serializers.CharField(required=False)
    logs = serializers.CharField(required=False)
    durationMs = serializers.IntegerField(source="duration_ms", required=False)
    createdTime = Timestamp(source="created_time")
    _links = LinksField(required=False)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """``result`` is always there (null while running or after a failure)."""
        return {**super().to_representation(instance), "result": instance.result}

    def links(self, invocation: Invocation) -> dict[str, Any]:
        """The function and the version that ran."""
        return {
            "function": self.url(f"/v1/functions/{invocation.function_id}"),
            "version": self.url(f"/v1/function-versions/{invocation.version_id}"),
        }


RESOURCES = {
    "runtime": ChatRuntimeResourceSerializer,
    "function": ChatFunctionResourceSerializer,
    "function_version": ChatFunctionVersionResourceSerializer,
    "invocation": ChatFunctionInvocationResourceSerializer,
}
