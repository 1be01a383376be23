"""Functions triggered for real: the session hook while an unmodified @chatkitty/core client connects to a live
Parley, and a function run by a real Celery worker after a message, calling back through its context."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from chat.actions.applications import do_rotate_application_secret
from chat.actions.messages import check_send_message
from chat.models import Application, Channel, ChatUser, Message
from functions.actions import check_create_function, check_create_function_version, do_run_function
from functions.models import ChatFunction, Invocation, InvocationStatus
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import LiveServer, celery_idle, celery_worker, server_environment, wait_for
from tests.sdk.test_sdks import run_node

# The reference's sample user.attempted.start_session handler, exactly as it is published (channel 702 included).
REFERENCE_SAMPLE = (
    "const logs = [];\n\nasync function handleEvent(event: UserAttemptedStartSessionEvent, context: Context) {\n"
    " let email = event.username;\n let displayName = event.authParams.displayName || email;\n\n"
    " let userApi = context.getUserApi();\n\n logs.push('Hello ' + event.username);\n\n"
    " await userApi.getUserExists(email)\n .catch(async () => {\n let user = await userApi.createUser(\n {\n"
    " 'name': email,\n 'displayName': displayName\n }\n );\n\n let channelApi = context.getChannelApi();\n\n"
    " await channelApi.createChannelMember(702, { 'id': user.data.id });\n });\n\n return logs;\n}"
)


def deploy(application: Application, function_type: str, script: str) -> ChatFunction:
    """Create the function and deploy ``script`` as its current version."""
    function = check_create_function(application, function_type=function_type, name=function_type)
    check_create_function_version(function, handler_script=script)
    function.refresh_from_db()
    return function


@pytest.fixture
def channel_702(transactional_db: None) -> Iterator[Application]:
    """An application whose channel 702 exists (the id the reference's sample handler adds new users to)."""
    application = ApplicationFactory.create()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 701)", [Channel._meta.db_table])
    ChannelFactory.create(application=application, name="lobby")
    assert Channel.objects.filter(pk=702, application=application).exists()
    yield application
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 1000000)", [Channel._meta.db_table])


def start_session(server: LiveServer, application: Application, username: str, display_name: str) -> dict[str, Any]:
    """An unmodified @chatkitty/core client starts a session."""
    host = server.url.removeprefix("http://")
    variables = {"PARLEY_HOST": host, "API_KEY": application.key, "USERNAME": username, "DISPLAY_NAME": display_name}
    return run_node("core_session_hook_scenario.mjs", variables)


def test_the_reference_sample_start_session_handler_creates_the_user_and_the_session_starts(
    channel_702: Application, live_parley: LiveServer
) -> None:
    # given
    function = deploy(channel_702, "user.attempted.start_session", REFERENCE_SAMPLE)

    # when
    first = start_session(live_parley, channel_702, "ada@example.com", "Ada Lovelace")
    again = start_session(live_parley, channel_702, "ada@example.com", "Ada Lovelace")

    # then
    assert first == {
        "succeeded": True,
        "user": {"name": "ada@example.com", "displayName": "Ada Lovelace"},
        "channels": ["lobby"],
    }
    assert again["succeeded"] is True
    user = ChatUser.objects.get(application=channel_702, name="ada@example.com")
    assert (user.display_name, user.is_guest) == ("Ada Lovelace", False)
    runs = list(Invocation.objects.filter(function=function).order_by("id"))
    assert [(run.status, run.args) for run in runs] == [
        (InvocationStatus.SUCCEEDED, {"username": "ada@example.com", "authParams": {"displayName": "Ada Lovelace"}})
    ] * 2
    assert runs[0].result == ["Hello ada@example.com"]


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (
            "async function handleEvent(event) { throw new Error('not on the list: ' + event.username); }",
            "Error: not on the list: eve@example.com",
        ),
        ("function handleEvent() { return false; }", "refused the session."),
    ],
)
def test_a_start_session_function_that_throws_or_says_false_refuses_the_session(
    live_parley: LiveServer, script: str, reason: str
) -> None:
    # given
    application = ApplicationFactory.create()
    UserFactory.create(application=application, name="eve@example.com")
    deploy(application, "user.attempted.start_session", script)

    # when
    outcome = start_session(live_parley, application, "eve@example.com", "Eve")

    # then
    assert outcome["succeeded"] is False
    assert reason in str(outcome["error"])
    assert Invocation.objects.get().status == (
        InvocationStatus.FAILED if "throw" in script else InvocationStatus.SUCCEEDED
    )


ECHO = """
async function handleEvent(event: any, context: any) {
  console.log(`${event.user.name} said ${event.message.body} in ${event.channel.name}`);
  await context.getChannelApi().sendChannelMessage(event.channel.id, {
    type: "TEXT",
    body: "echo: " + event.message.body,
    user: { username: event.user.name },
  });
  return "echoed";
}
"""


def test_a_message_triggers_its_function_on_a_celery_worker_which_does_not_trigger_itself_again(
    live_parley: LiveServer,
) -> None:
    # given
    application = ApplicationFactory.create()
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[ada])
    function = deploy(application, "user.sent.message", ECHO)
    environment = {**server_environment(), "PARLEY_API_URL": live_parley.url}

    # when
    with celery_worker(environment):
        check_send_message(channel, message_type="TEXT", user=ada, body="hello")
        # the run is recorded after its echo was sent, so a self-triggered second run would be queued by then
        wait_for(lambda: Invocation.objects.filter(function=function).exists(), "the run to be recorded")
        wait_for(celery_idle, "the worker to run or refuse whatever was queued")

    # then
    assert list(Message.objects.filter(channel=channel).order_by("id").values_list("user__name", "body")) == [
        ("ada", "hello"),
        ("ada", "echo: hello"),
    ]
    run = Invocation.objects.get(function=function)
    assert (run.status, run.result, run.logs) == (InvocationStatus.SUCCEEDED, "echoed", "ada said hello in general")
    assert run.args["message"]["body"] == "hello"
    assert run.args["channel"]["id"] == channel.pk


CREDENTIALS = """
import { ChatKitty } from "chatkitty-platform-sdk";

async function handleEvent(event: any) {
  const kitty = new ChatKitty({
    clientId: process.env.CHATKITTY_CLIENT_ID!,
    clientSecret: process.env.CHATKITTY_CLIENT_SECRET!,
    basePath: process.env.CHATKITTY_API_URL,
    authorizationBasePath: process.env.CHATKITTY_API_URL + "/oauth/token",
  });
  const users = await kitty.Users.listUsers();
  return users.data._embedded.users.map((user: any) => user.name);
}
"""


def test_a_function_signs_in_with_the_credentials_in_its_environment(live_parley: LiveServer, settings: Any) -> None:
    # given
    settings.PARLEY_FUNCTIONS_API_URL = live_parley.url
    application = ApplicationFactory.create()
    UserFactory.create(application=application, name="ada")
    function = deploy(application, "user.sent.message", CREDENTIALS)

    # when
    invocation = do_run_function(function, {})
    do_rotate_application_secret(application)
    application.refresh_from_db()
    function.refresh_from_db()
    after_rotation = do_run_function(function, {})

    # then
    assert invocation is not None
    assert (invocation.status, invocation.result) == (InvocationStatus.SUCCEEDED, ["ada"]), invocation.error
    assert after_rotation is not None
    assert after_rotation.status == InvocationStatus.SUCCEEDED, after_rotation.error
