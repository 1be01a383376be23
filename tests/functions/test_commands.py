"""``manage.py deploy_function``: operators deploy handler scripts from files through the same actions."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from functions.models import ChatFunction, Invocation

pytestmark = pytest.mark.django_db


def test_deploying_twice_creates_the_function_once_and_two_versions(application, tmp_path):
    # given
    script = tmp_path / "handler.ts"
    script.write_text("async function handleEvent(event: any, context: any) { return 1; }")

    # when
    for _ in range(2):
        out = StringIO()
        call_command("deploy_function", application.key, "user.sent.message", str(script), "--name", "Echo", stdout=out)

    # then
    function = ChatFunction.objects.get(application=application)
    assert (function.name, function.current_version_number) == ("Echo", 2)
    assert "Deployed version 2 of user.sent.message" in out.getvalue()
    assert function.versions.get(version_number=2).handler_script == script.read_text()


def test_bad_deployments_say_why_and_change_nothing(application, tmp_path):
    blank = tmp_path / "blank.js"
    blank.write_text("   ")
    with pytest.raises(CommandError, match="No single application"):
        call_command("deploy_function", "nope", "user.sent.message", str(blank))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("deploy_function", application.key, "user.sent.message", str(tmp_path / "missing.js"))
    with pytest.raises(CommandError, match="handlerScript"):
        call_command("deploy_function", application.key, "user.sent.message", str(blank))
    assert not ChatFunction.objects.exists()


def test_run_function_runs_the_current_version_against_the_sample_event_or_a_given_one(application, tmp_path):
    # given
    script = tmp_path / "handler.ts"
    script.write_text(
        "async function handleEvent(event: any) { console.log('for', event.username); return event.authParams; }"
    )
    call_command("deploy_function", application.key, "user.attempted.start_session", str(script), stdout=StringIO())

    # when
    sample, given = StringIO(), StringIO()
    call_command("run_function", application.key, "user.attempted.start_session", stdout=sample)
    event = '{"username": "bob", "authParams": {"token": "t"}}'
    call_command("run_function", application.name, "user.attempted.start_session", "--event", event, stdout=given)

    # then
    assert "of version 1: SUCCEEDED in" in sample.getvalue()
    assert 'Logs:\nfor jane@example.com\nResult: {\n  "displayName": "Jane"\n}' in sample.getvalue()
    assert '"token": "t"' in given.getvalue()
    assert Invocation.objects.filter(function__application=application).count() == 2


def test_run_function_reports_a_failed_run_and_bad_input(application, tmp_path):
    # given
    script = tmp_path / "handler.js"
    script.write_text("function handleEvent() { throw new RangeError('too far'); }")
    call_command("deploy_function", application.key, "user.sent.message", str(script), stdout=StringIO())

    # then
    with pytest.raises(CommandError, match="RangeError: too far"):
        call_command("run_function", application.key, "user.sent.message", stdout=StringIO())
    with pytest.raises(CommandError, match="not JSON"):
        call_command("run_function", application.key, "user.sent.message", "--event", "{nope", stdout=StringIO())
    with pytest.raises(CommandError, match="no deployed user.read.message function"):
        call_command("run_function", application.key, "user.read.message", stdout=StringIO())
