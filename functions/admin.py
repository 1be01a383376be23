"""The dashboard's chat functions: each application's runtime (dependencies, environment variables with their
values masked, initialization script), each function's code in an editor with syntax highlighting (saving changed
code deploys a new version), its versions with a diff between two, enable or disable, a test run against a sample
event showing its result and logs, and the invocation log."""

import difflib
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.safestring import SafeString

from chat.bounds import parse_json
from chat.dashboard import TenantAdmin, adopt
from chat.errors import ChatError
from chat.models import Application
from chat.registries import HomePanel
from functions.actions import (
    check_create_function,
    check_create_function_version,
    check_describe_function,
    check_update_dependencies,
    check_update_environment_variables,
    check_update_initialization_script,
    do_run_function,
    do_set_function_enabled,
)
from functions.models import ChatFunction, Runtime
from functions.selectors import has_function_of_type, recent_failures, version_scripts
from functions.triggers import sample_event

MASK = "********"
CODE = forms.Textarea(attrs={"class": "parley-code", "rows": 18, "cols": 100, "spellcheck": "false"})
RECENT = 20


# The code editor's bundle (``chat/web/code-editor.mjs``), loaded as a module.
EDITOR_JS = (forms.Script("chat/code-editor.js", type="module"),)


def masked_variables(variables: dict[str, str]) -> str:
    """``NAME=value`` lines with every value masked."""
    return "\n".join(f"{name}={MASK}" for name in sorted(variables))


def unmasked_variables(text: str, current: dict[str, str]) -> dict[str, str]:
    """The variables a ``NAME=value`` text sets; a value still masked keeps the current one. Raises ValueError."""
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, separator, value = line.partition("=")
        if not separator:
            raise ValueError(f"Line {number} is not NAME=value.")
        name = name.strip()
        variables[name] = current.get(name, "") if value == MASK else value
    return variables


class RuntimeForm(forms.ModelForm):  # type: ignore[type-arg]
    """A runtime's dependencies (JSON), environment variables (masked lines) and initialization script."""

    dependencies_json = forms.CharField(
        label="Dependencies",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text='A JSON array of {"name": …, "version": …}; the default dependencies stay.',
    )
    variables = forms.CharField(
        label="Environment variables",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=f"One NAME=value a line; a value shown as {MASK} is kept as it is.",
    )

    class Meta:
        model = Runtime
        fields = ("initialization_script",)
        widgets = {"initialization_script": CODE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = [dependency for dependency in self.instance.dependencies if not dependency.get("defaultDependency")]
        self.fields["dependencies_json"].initial = json.dumps(
            [{"name": d["name"], "version": d["version"]} for d in own], indent=2
        )
        self.fields["variables"].initial = masked_variables(self.instance.environment_variables)

    def clean(self) -> dict[str, Any]:
        """Apply each part through its action, naming the field an action refuses."""
        data = super().clean() or {}
        runtime = self.instance
        try:
            dependencies = parse_json(data.get("dependencies_json") or "[]", "dependencies")
        except ChatError as error:
            self.add_error("dependencies_json", error.message)
            return data
        try:
            variables = unmasked_variables(data.get("variables") or "", runtime.environment_variables)
        except ValueError as error:
            self.add_error("variables", str(error))
            return data
        for field, apply in (
            ("variables", lambda: check_update_environment_variables(runtime, variables)),
            (
                "initialization_script",
                lambda: check_update_initialization_script(runtime, data["initialization_script"]),
            ),
            ("dependencies_json", lambda: check_update_dependencies(runtime, dependencies)),
        ):
            try:
                apply()
            except ChatError as error:
                self.add_error(field, error.message)
        return data


@admin.register(Runtime)
class RuntimeAdmin(TenantAdmin):
    """The Node.js runtime of each of the user's applications."""

    form = RuntimeForm
    list_display = ("application", "version", "dependency_names", "variable_count")
    fields = ("application", "version", "dependencies_json", "variables", "initialization_script")
    readonly_fields = ("application", "version")

    class Media:
        """The code editor."""

        js = EDITOR_JS

    @admin.display(description="Dependencies")
    def dependency_names(self, runtime: Runtime) -> str:
        """Its packages."""
        return ", ".join(f"{d['name']}@{d['version']}" for d in runtime.dependencies)

    @admin.display(description="Variables")
    def variable_count(self, runtime: Runtime) -> int:
        """How many environment variables."""
        return len(runtime.environment_variables)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Every application has its runtime (made with its first function)."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Runtimes stay."""
        return False

    def save_model(self, request: HttpRequest, obj: Runtime, form: Any, change: bool) -> None:
        """The form's check applied every part through the actions already."""


class FunctionForm(forms.ModelForm):  # type: ignore[type-arg]
    """A function: its type and name when new; then its description, whether it runs, and its code."""

    code = forms.CharField(
        label="Handler script", required=False, widget=CODE, help_text="Saving changed code deploys a new version."
    )

    class Meta:
        model = ChatFunction
        fields = ("application", "type", "name", "description", "enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        function = self.instance
        if function.pk and function.current_version_number:
            current = function.versions.get(version_number=function.current_version_number)
            self.fields["code"].initial = current.handler_script

    def clean(self) -> dict[str, Any]:
        """A new function's type is free in its application."""
        data = super().clean() or {}
        application, function_type = data.get("application"), data.get("type")
        if (
            self.instance.pk is None
            and application is not None
            and has_function_of_type(application=application, function_type=str(function_type))
        ):
            self.add_error("type", f"This application already has a {function_type} function.")
        return data


@admin.register(ChatFunction)
class ChatFunctionAdmin(TenantAdmin):
    """The functions of the user's applications."""

    form = FunctionForm
    list_display = ("name", "type", "application", "enabled", "current_version_number", "created_time")
    list_filter = ("application", "enabled", "type")
    search_fields = ("name", "description")
    list_select_related = ("application",)
    change_form_template = "admin/functions/chatfunction/change_form.html"
    details = ("versions_table", "invocations_table")

    class Media:
        """The code editor."""

        js = EDITOR_JS

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """New: application, type, name, description, code; then also the versions and invocations."""
        base = ("application", "type", "name", "description", "enabled", "code")
        return base if obj is None else (*base, *self.details)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A function's application and type never change."""
        return () if obj is None else ("application", "type", *self.details)

    @admin.display(description="Versions")
    def versions_table(self, function: ChatFunction) -> SafeString:
        """Its versions, newest first, with diffs between neighbours."""
        versions = function.versions.order_by("-version_number")
        return SafeString(
            render_to_string("admin/functions/versions.html", {"function": function, "versions": versions})
        )

    @admin.display(description="Invocations")
    def invocations_table(self, function: ChatFunction) -> SafeString:
        """Its latest runs."""
        runs = function.invocations.select_related("version").order_by("-id")[:RECENT]
        return SafeString(render_to_string("admin/functions/invocations.html", {"runs": runs}))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Functions are turned off, not deleted (their versions and invocations stay on record)."""
        return False

    def save_model(self, request: HttpRequest, obj: ChatFunction, form: Any, change: bool) -> None:
        """Create, turn on or off, and deploy changed code, through the function actions."""
        data = form.cleaned_data
        if not change:
            function = check_create_function(
                data["application"], function_type=data["type"], name=data["name"], description=data["description"]
            )
            adopt(obj, function)
            if not data["enabled"]:
                do_set_function_enabled(obj, enabled=False)
        else:
            check_describe_function(obj, name=data["name"], description=data["description"])
            if "enabled" in form.changed_data:
                do_set_function_enabled(obj, enabled=data["enabled"])
        if data["code"].strip() and (not change or "code" in form.changed_data):
            version = check_create_function_version(obj, handler_script=data["code"])
            messages.success(request, f"Deployed version {version.version_number}.")

    def get_urls(self) -> list[URLPattern]:
        """The diff of two versions and the test run."""
        own = [
            path("<int:function_id>/diff/", self.admin_site.admin_view(self.diff), name="functions_chatfunction_diff"),
            path("<int:function_id>/test/", self.admin_site.admin_view(self.test), name="functions_chatfunction_test"),
        ]
        return own + super().get_urls()

    def _function(self, request: HttpRequest, function_id: int) -> ChatFunction:
        found = self.get_queryset(request).select_related("application__oauth_client", "runtime").filter(pk=function_id)
        function = found.first()
        if function is None:
            raise Http404("No such function.")
        return function

    def diff(self, request: HttpRequest, function_id: int) -> HttpResponse:
        """Two versions side by side (``?a=&b=`` version numbers; by default the two newest)."""
        function = self._function(request, function_id)
        newest = function.current_version_number
        try:
            a, b = int(request.GET.get("a", newest - 1)), int(request.GET.get("b", newest))
        except ValueError:
            raise Http404("Versions are numbers.") from None
        scripts = version_scripts(function=function, numbers=(a, b))
        if a not in scripts or b not in scripts:
            raise Http404("No such versions.")
        table = difflib.HtmlDiff(tabsize=2, wrapcolumn=80).make_table(
            scripts[a].splitlines(), scripts[b].splitlines(), f"version {a}", f"version {b}", context=False
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{function.name}: version {a} → version {b}",
            "function": function,
            "table": SafeString(table),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/functions/chatfunction/diff.html", context)

    def test(self, request: HttpRequest, function_id: int) -> HttpResponse:
        """Run the current version now against an event (the type's sample by default); show result and logs."""
        function = self._function(request, function_id)
        event_text = request.POST.get("event") or json.dumps(sample_event(function.type), indent=2)
        invocation, error = None, ""
        if request.method == "POST":
            try:
                event = parse_json(event_text, "event")
            except ChatError as problem:
                error = problem.message
            else:
                invocation = do_run_function(function, event)
                if invocation is None:
                    error = "The function is disabled or has no version deployed."
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test run of {function.name}",
            "function": function,
            "event": event_text,
            "invocation": invocation,
            "result": json.dumps(invocation.result, indent=2) if invocation is not None else "",
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/functions/chatfunction/test.html", context)


def function_failures_panel(application: Application) -> HomePanel:
    """The application's last ten failed function runs, for its dashboard home page."""
    recent = recent_failures(application=application)
    return HomePanel("Recent function failures", "admin/functions/invocation/home_panel.html", recent, order=20)
