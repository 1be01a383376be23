"""When functions run: the synchronous session hook, and the asynchronous runs that events of the bus trigger.

``user.attempted.start_session`` runs while a websocket session starts and decides it. Every other type runs after
the change that caused it has committed: ``dispatch`` (a listener of ``chat.events``) looks for enabled functions
of the types an event triggers (``functions.selectors.triggered_functions``, cached in each process), renders their
arguments as the Platform API renders resources (so the state is that of the moment of the event, deleted rows
included) and queues one Celery task per run. Functions in the origin chain of the request (what a function's own
API calls cause) are skipped. The catalog (README: "Chat functions") documents each type's arguments.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from chat.events import Event
from chat.models import Notification
from chat.wire.renderer import Renderer
from functions import origin, sandbox
from functions.actions import PreparedRun, arun_prepared, do_record_invocation, prepare_run
from functions.models import ChatFunction, FunctionType
from functions.selectors import triggered_functions

Args = dict[str, Any]


@dataclass(frozen=True)
class Trigger:
    """A function type an event triggers, and how to build its runs' arguments (one run per item returned)."""

    function_type: str
    build: Callable[[Renderer, Event], list[Args]]


def _user(renderer: Renderer, pk: Any) -> Args | None:
    return renderer.by_id("user", pk)


def _channel(renderer: Renderer, pk: Any) -> Args:
    return renderer.by_id("channel", pk) or {"id": pk}


def _message(renderer: Renderer, pk: Any) -> Args | None:
    return renderer.by_id("message", pk)


def _sent_message(renderer: Renderer, event: Event) -> list[Args]:
    if not event.data.get("user_id"):
        return []  # a system message: no user sent it
    return [
        {
            "user": _user(renderer, event.data["user_id"]),
            "channel": _channel(renderer, event.channel_id),
            "message": _message(renderer, event.resource_id),
        }
    ]


def _notifications(renderer: Renderer, event: Event) -> list[Args]:
    found = Notification.objects.select_related("user", "channel", "message").filter(message_id=event.resource_id or 0)
    return [
        {"user": renderer.user(notification.user), "notification": renderer.render("notification", notification)}
        for notification in found
    ]


def _changed_message(renderer: Renderer, event: Event) -> list[Args]:
    message = _message(renderer, event.resource_id) or event.data.get("snapshot") or {"id": event.resource_id}
    return [{"channel": _channel(renderer, event.channel_id), "message": message}]


def _reaction(renderer: Renderer, event: Event) -> list[Args]:
    return [
        {
            "user": _user(renderer, event.data.get("user_id")),
            "message": _message(renderer, event.resource_id),
            "reaction": {"emoji": event.data.get("emoji")},
        }
    ]


def _user_in_channel(renderer: Renderer, event: Event) -> list[Args]:
    return [{"user": _user(renderer, event.data.get("user_id")), "channel": _channel(renderer, event.channel_id)}]


def _read(renderer: Renderer, event: Event) -> list[Args]:
    return [{**_user_in_channel(renderer, event)[0], "message": _message(renderer, event.data.get("message_id"))}]


def _custom_event(renderer: Renderer, event: Event) -> list[Args]:
    sent = {"type": event.data.get("event_type"), "properties": event.data.get("properties") or {}}
    args: Args = {"channel": _channel(renderer, event.channel_id), "event": sent}
    if event.data.get("user_id"):
        args["user"] = _user(renderer, event.data["user_id"])
    return [args]


def _channel_only(renderer: Renderer, event: Event) -> list[Args]:
    return [{"channel": _channel(renderer, event.channel_id)}]


def _user_only(renderer: Renderer, event: Event) -> list[Args]:
    return [{"user": _user(renderer, event.resource_id)}]


def _thread(renderer: Renderer, event: Event) -> list[Args]:
    rendered = renderer.by_id("thread", event.data.get("thread_id")) or {"id": event.data.get("thread_id")}
    return [{"channel": _channel(renderer, event.channel_id), "thread": rendered}]


def _by_user(build: Callable[[Renderer, Event], list[Args]]) -> Callable[[Renderer, Event], list[Args]]:
    return lambda renderer, event: build(renderer, event) if event.data.get("user_id") else []


def _by_system(build: Callable[[Renderer, Event], list[Args]]) -> Callable[[Renderer, Event], list[Args]]:
    return lambda renderer, event: [] if event.data.get("user_id") else build(renderer, event)


T = FunctionType
TRIGGERS: dict[str, tuple[Trigger, ...]] = {
    "message.created": (
        Trigger(T.USER_SENT_MESSAGE, _sent_message),
        Trigger(T.USER_RECEIVED_NOTIFICATION, _notifications),
    ),
    "message.updated": (Trigger(T.MESSAGE_UPDATED, _changed_message),),
    "message.deleted": (Trigger(T.MESSAGE_DELETED, _changed_message),),
    "message.reaction.created": (Trigger(T.USER_REACTED_TO_MESSAGE, _reaction),),
    "channel.read": (Trigger(T.USER_READ_MESSAGE, _read),),
    "channel.invite.sent": (Trigger(T.USER_RECEIVED_CHANNEL_INVITE, _user_in_channel),),
    "channel.event.sent": (
        Trigger(T.USER_TRIGGERED_EVENT, _by_user(_custom_event)),
        Trigger(T.SYSTEM_TRIGGERED_EVENT, _by_system(_custom_event)),
    ),
    "channel.participant.active": (Trigger(T.USER_STARTED_CHAT_SESSION, _user_in_channel),),
    "channel.created": (Trigger(T.CHANNEL_CREATED, _channel_only),),
    "channel.updated": (Trigger(T.CHANNEL_UPDATED, _channel_only),),
    "channel.deleted": (Trigger(T.CHANNEL_DELETED, _channel_only),),
    "channel.member.added": (Trigger(T.USER_JOINED_CHANNEL, _user_in_channel),),
    "channel.member.removed": (Trigger(T.USER_LEFT_CHANNEL, _user_in_channel),),
    "channel.thread.created": (Trigger(T.THREAD_CREATED, _thread),),
    "user.created": (Trigger(T.USER_CREATED, _user_only),),
    "user.updated": (Trigger(T.USER_UPDATED, _user_only),),
    "user.deleted": (Trigger(T.USER_DELETED, _user_only),),
}


# What each type's handler gets (``event``), key by key, with a sample value of each: the catalog the README shows
# and the default event of ``manage.py run_function``.
SAMPLE_VALUES: dict[str, Any] = {
    "username": "jane@example.com",
    "authParams": {"displayName": "Jane"},
    "user": {"id": 1, "type": "PERSON", "name": "jane@example.com", "displayName": "Jane", "properties": {}},
    "channel": {"id": 1, "type": "PUBLIC", "name": "general", "displayName": "General", "properties": {}},
    "message": {"id": 1, "type": "TEXT", "body": "Hello!", "createdTime": "2026-01-01T00:00:00Z", "properties": {}},
    "notification": {"id": 1, "title": "Jane sent a message", "body": "Hello!", "data": {"type": "USER_SENT_MESSAGE"}},
    "reaction": {"emoji": ":+1:"},
    "event": {"type": "poll.opened", "properties": {"question": "Lunch?"}},
    "thread": {"id": 1, "type": "STANDALONE", "name": "planning", "properties": {}},
}
ARGUMENTS: dict[str, tuple[str, ...]] = {
    T.USER_ATTEMPTED_START_SESSION: ("username", "authParams"),
    T.USER_SENT_MESSAGE: ("user", "channel", "message"),
    T.USER_RECEIVED_NOTIFICATION: ("user", "notification"),
    T.USER_REACTED_TO_MESSAGE: ("user", "message", "reaction"),
    T.USER_READ_MESSAGE: ("user", "channel", "message"),
    T.USER_RECEIVED_CHANNEL_INVITE: ("user", "channel"),
    T.USER_TRIGGERED_EVENT: ("user", "channel", "event"),
    T.SYSTEM_TRIGGERED_EVENT: ("channel", "event"),
    T.USER_STARTED_CHAT_SESSION: ("user", "channel"),
    T.CHANNEL_CREATED: ("channel",),
    T.CHANNEL_UPDATED: ("channel",),
    T.CHANNEL_DELETED: ("channel",),
    T.USER_JOINED_CHANNEL: ("user", "channel"),
    T.USER_LEFT_CHANNEL: ("user", "channel"),
    T.MESSAGE_UPDATED: ("channel", "message"),
    T.MESSAGE_DELETED: ("channel", "message"),
    T.THREAD_CREATED: ("channel", "thread"),
    T.USER_CREATED: ("user",),
    T.USER_UPDATED: ("user",),
    T.USER_DELETED: ("user",),
}


def sample_event(function_type: str) -> Args:
    """An example of what a handler of this type gets (empty for the call types, which Parley never triggers)."""
    return {key: SAMPLE_VALUES[key] for key in ARGUMENTS.get(function_type, ())}


def dispatch(event: Event) -> None:
    """Queue the runs an event triggers (called once its transaction has committed)."""
    triggers = TRIGGERS.get(event.type)
    if not triggers:
        return
    chain = origin.chain_for(event.application_id)
    functions = {
        function_type: pk
        for function_type, pk in triggered_functions(event.application_id).items()
        if pk not in chain and any(trigger.function_type == function_type for trigger in triggers)
    }
    if not functions:
        return
    from functions.tasks import run_function  # noqa: PLC0415  (the tasks module imports this one)

    renderer = Renderer(sandbox.api_url())
    for trigger in triggers:
        if trigger.function_type in functions:
            for args in trigger.build(renderer, event):
                run_function.delay(functions[trigger.function_type], args, list(chain))


def _session_run(api_key: str, username: str, auth_params: Any) -> PreparedRun | None:
    function = (
        ChatFunction.objects.select_related("application__oauth_client", "runtime")
        .filter(application__key=api_key, type=FunctionType.USER_ATTEMPTED_START_SESSION)
        .first()
    )
    if function is None:
        return None
    params = auth_params if isinstance(auth_params, dict) else {}
    return prepare_run(function, {"username": username, "authParams": params})


async def attempt_start_session(api_key: str, username: str, auth_params: Any) -> str | None:
    """Run the application's ``user.attempted.start_session`` function, if it has one, and wait: None lets the
    session start; otherwise the reason it may not (the function threw, failed, or returned ``false``)."""
    prepared = await database_sync_to_async(_session_run)(api_key, username, auth_params)
    if prepared is None:
        return None
    outcome = await arun_prepared(prepared)
    await database_sync_to_async(do_record_invocation)(prepared, outcome)
    if not outcome.ok:
        reason = outcome.error.strip().splitlines()[0] if outcome.error.strip() else "it failed"
        return f"The user.attempted.start_session function refused the session: {reason}"
    if outcome.result is False:
        return "The user.attempted.start_session function refused the session."
    return None
