"""The dashboard's chat functions: the runtime with masked variables, code deployed as versions, a diff between
two, turning a function off, a test run showing result and logs, and the invocation log."""

import pytest
from django.test import Client

from chat.models import Application
from functions.actions import check_update_environment_variables, do_ensure_runtime
from functions.models import ChatFunction, Invocation

pytestmark = pytest.mark.django_db

HANDLER = """async function handleEvent(event) {
  console.log("hello", event.user.name);
  return {seen: event.user.name};
}
"""


def test_the_runtime_masks_variable_values_and_keeps_a_masked_one(
    admin_client: Client, application: Application
) -> None:
    # given
    runtime = do_ensure_runtime(application)
    check_update_environment_variables(runtime, {"API_TOKEN": "s3cr3t", "MODE": "test"})

    # when
    page = admin_client.get(f"/admin/functions/runtime/{runtime.pk}/change/").content.decode()
    saved = admin_client.post(
        f"/admin/functions/runtime/{runtime.pk}/change/",
        {
            "dependencies_json": "[]",
            "variables": "API_TOKEN=********\nMODE=live\nNEW=1",
            "initialization_script": "const greeting = 'hi';",
        },
    )
    refused = admin_client.post(
        f"/admin/functions/runtime/{runtime.pk}/change/",
        {"dependencies_json": "[]", "variables": "NOT A LINE", "initialization_script": ""},
    )

    # then
    assert "API_TOKEN=********" in page
    assert "s3cr3t" not in page
    assert saved.status_code == 302
    runtime.refresh_from_db()
    assert runtime.environment_variables == {"API_TOKEN": "s3cr3t", "MODE": "live", "NEW": "1"}
    assert runtime.initialization_script == "const greeting = 'hi';"
    assert refused.context["adminform"].form.errors == {"variables": ["Line 1 is not NAME=value."]}


def test_code_is_deployed_as_versions_diffed_and_test_run(admin_client: Client, application: Application) -> None:
    # when: a function is created with code, then its code changed
    admin_client.post(
        "/admin/functions/chatfunction/add/",
        {
            "application": application.pk,
            "type": "user.sent.message",
            "name": "greeter",
            "enabled": "on",
            "code": HANDLER,
        },
    )
    function = ChatFunction.objects.get(application=application)
    changed = HANDLER.replace('"hello"', '"hi there"')
    admin_client.post(
        f"/admin/functions/chatfunction/{function.pk}/change/",
        {"name": "greeter", "description": "", "enabled": "on", "code": changed},
    )
    page = admin_client.get(f"/admin/functions/chatfunction/{function.pk}/change/").content.decode()
    diff = admin_client.get(f"/admin/functions/chatfunction/{function.pk}/diff/", {"a": 1, "b": 2}).content.decode()
    asked = admin_client.get(f"/admin/functions/chatfunction/{function.pk}/test/")
    ran = admin_client.post(f"/admin/functions/chatfunction/{function.pk}/test/", {"event": asked.context["event"]})

    # then
    function.refresh_from_db()
    assert function.current_version_number == 2
    assert 'class="parley-code"' in page
    assert "chat/code-editor.js" in page
    assert "hi there" in page
    assert "diff_chg" in diff or "diff_add" in diff
    assert '"user"' in asked.context["event"]
    assert ran.context["invocation"].status == "SUCCEEDED"
    assert '"seen"' in ran.context["result"]
    assert "hi there" in ran.content.decode()
    assert Invocation.objects.filter(function=function).count() == 1
    assert "SUCCEEDED" in admin_client.get(f"/admin/functions/chatfunction/{function.pk}/change/").content.decode()


def test_a_function_is_turned_off_and_its_type_is_taken_once(admin_client: Client, application: Application) -> None:
    # given
    form = {"application": application.pk, "type": "user.created", "name": "welcome", "enabled": "on", "code": ""}
    admin_client.post("/admin/functions/chatfunction/add/", form)
    function = ChatFunction.objects.get(application=application)

    # when
    again = admin_client.post("/admin/functions/chatfunction/add/", {**form, "name": "other"})
    admin_client.post(
        f"/admin/functions/chatfunction/{function.pk}/change/", {"name": "welcome", "description": "", "code": ""}
    )
    test = admin_client.post(f"/admin/functions/chatfunction/{function.pk}/test/", {"event": "{}"})

    # then
    assert again.context["adminform"].form.errors == {"type": ["This application already has a user.created function."]}
    function.refresh_from_db()
    assert function.enabled is False
    assert test.context["error"] == "The function is disabled or has no version deployed."
