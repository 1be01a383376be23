"""The published ChatKitty npm clients, unmodified, drive a live Parley through their own token flow."""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chat.actions.messages import check_send_message
from chat.models import Application, Channel, ChannelMembership, ChatUser, Message, PushMessage
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory
from tests.live import ROOT, LiveServer, live_server, reserved_port, server_environment

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node", path=str(Path(sys.executable).parent)) or shutil.which("node")


def run_scenario(script: str, server: LiveServer, key: str, secret: str) -> dict[str, Any]:
    """Run a Platform API scenario script; it exits non-zero naming the step and the HTTP exchange that failed."""
    return run_node(script, {"PARLEY_URL": server.url, "CLIENT_ID": key, "CLIENT_SECRET": secret})


def node_path() -> str:
    """Node.js (the virtualenv's), with the npm clients installed beside this file."""
    if NODE is None or not (HERE / "node_modules").is_dir():
        pytest.fail("Node.js and tests/sdk/node_modules are required: run bin/test, which installs them")
    return NODE


def run_node(script: str, variables: dict[str, str]) -> dict[str, Any]:
    """Run a script with Node.js and ``variables`` in its environment; its last line of output is JSON."""
    env = {**os.environ, **variables}
    result = subprocess.run(  # noqa: S603  (fixed argv)
        [node_path(), str(HERE / script)], cwd=HERE, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout.strip().splitlines()[-1])


def core_environment(server: LiveServer, application: Application) -> dict[str, str]:
    """What a ``@chatkitty/core`` scenario needs: the server, the application's key, and its credentials for the
    Platform API calls of its backend."""
    return {
        "PARLEY_HOST": server.url.removeprefix("http://"),
        "API_KEY": application.key,
        "CLIENT_ID": application.key,
        "CLIENT_SECRET": application.secret,  # type: ignore[attr-defined]
    }


def conversing(script: str, server: LiveServer, application: Application) -> subprocess.Popen[str]:
    """Start a ``@chatkitty/core`` scenario that the test talks with, line by line, over its stdin and stdout."""
    return subprocess.Popen(  # noqa: S603  (fixed argv)
        [node_path(), str(HERE / script)],
        cwd=HERE,
        env={**os.environ, "PARLEY_HOST": server.url.removeprefix("http://"), "API_KEY": application.key},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


PLATFORM_SDK_STEPS = [
    "application",
    "users",
    "secrets",
    "channels",
    "members and moderators",
    "invites, events, keystrokes",
    "messages",
    "user views of messages",
    "threads",
    "sessions",
    "deletes",
]


def test_platform_sdk_runs_every_operation(live_parley: LiveServer) -> None:
    # given
    application = ApplicationFactory.create()

    # when
    outcome = run_scenario("platform_sdk_scenario.js", live_parley, application.key, application.secret)  # type: ignore[attr-defined]

    # then
    assert outcome["steps"] == PLATFORM_SDK_STEPS
    application.refresh_from_db()
    assert application.guest_users == "ENABLED"
    assert not Message.objects.filter(application=application).exists()
    assert ChatUser.objects.get(application=application, name="mia@example.com", deleted_time__isnull=False)
    assert set(Channel.objects.filter(application=application).values_list("name", flat=True)) == {
        "general",
        "invite-only",
        None,
    }


def test_chatkitty_client_runs_its_scenario(live_parley: LiveServer) -> None:
    # given
    application = ApplicationFactory.create()

    # when
    outcome = run_scenario("chatkitty_scenario.js", live_parley, application.key, application.secret)  # type: ignore[attr-defined]

    # then
    assert outcome["steps"] == ["application", "users", "channel and messages", "unread state", "errors", "cleanup"]
    application.refresh_from_db()
    assert application.user_created_channels == "ENABLED"
    assert ChatUser.objects.get(application=application, name="cy").display_name == "Cyrus"
    assert not Channel.objects.filter(application=application).exists()


def test_platform_sdk_runs_on_the_embedded_default_database(tmp_path: Path) -> None:
    """``bin/run``'s default is SQLite: every operation must work there too, and the static files be served."""
    # given a fresh SQLite database and state folder, set up as bin/run does, with an application
    env = {**server_environment(f"sqlite:///{tmp_path / 'db.sqlite3'}"), "PARLEY_STATE_DIR": str(tmp_path)}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, timeout=120)  # noqa: S603
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, timeout=120)  # noqa: S603
    created = subprocess.run(  # noqa: S603  (fixed argv)
        [*manage, "create_application", "Embedded", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    credentials = json.loads(created.stdout)

    # when
    with live_server(workers=2, env=env) as server:
        outcome = run_scenario("platform_sdk_scenario.js", server, credentials["key"], credentials["secret"])
        with urllib.request.urlopen(server.url + "/static/admin/css/base.css") as stylesheet:  # noqa: S310
            served = (stylesheet.status, stylesheet.headers["Content-Type"], stylesheet.read())

    # then
    assert outcome["steps"] == PLATFORM_SDK_STEPS
    assert served[0] == 200
    assert served[1].startswith("text/css")
    assert served[2] == (tmp_path / "static" / "admin" / "css" / "base.css").read_bytes()


def test_chatkitty_core_browser_clients_chat_live(live_parley: LiveServer) -> None:
    """The browser SDK ``@chatkitty/core``, unmodified: two sessions, channel list, live chat, history, clearing
    one's history, hiding a direct channel until a new message brings it back, a named thread, file uploads."""
    # given
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    ChannelFactory.create(application=application, name="general", members=[jane, bob])

    # when
    outcome = run_node(
        "core_chat_scenario.mjs", {"PARLEY_HOST": live_parley.url.removeprefix("http://"), "API_KEY": application.key}
    )

    # then
    assert outcome.pop("participants") == ["bob entered", "bob left"]  # his second chat session, then his first
    assert outcome.pop("upload") == {
        "sent": {"type": "FILE", "name": "notes.txt", "size": 10},
        "properties": {"kind": "notes"},
        "received": {"type": "FILE", "fileType": "HOSTED", "contentType": "text/plain"},
        "download": {"status": 200, "body": "hello file"},
        "withoutGrant": 403,
        "picture": {"url": "me.png", "status": 200},
    }
    assert outcome.pop("thread") == {
        "listed": [["STANDALONE", "planning"]],
        "heard": {"thread": "planning", "body": "in the planning thread"},
        "channel": "general",
        "read": True,
        "bobChannelChat": ["hello from the SDK", None],  # and the file message (no body), but not the thread's
        "janeHistory": [None, "hello from the SDK"],
    }
    assert outcome == {
        "sent": "hello from the SDK",
        "received": "hello from the SDK",
        "from": "jane",
        "history": ["hello from the SDK"],
        "afterClear": {"bob": [], "jane": ["hello from the SDK"]},
        "hiddenType": "DIRECT",
        "whileHidden": ["general"],
        "unhidden": "DIRECT",
        "afterUnhide": 2,
    }
    assert Message.objects.get(application=application, body="hello from the SDK").user == jane


def test_chatkitty_core_five_users_chat_in_a_channel_they_created(live_parley: LiveServer) -> None:
    """Five ``@chatkitty/core`` clients: channel creation, typing, live messages, receipts, unread counts,
    reactions, thread replies, a Platform API message arriving live, channel and user blocks, global typing, the
    channel context, feature options pushed on a settings change, and a refused login that does not retry."""
    # given
    application = ApplicationFactory.create()
    application.user_created_channels = Application.Toggle.ENABLED
    application.save()
    for name in ("jane", "bob", "carol", "dave", "erin"):
        UserFactory.create(application=application, name=name)

    # when
    outcome = run_node(
        "core_team_scenario.mjs",
        core_environment(live_parley, application),
    )

    # then
    assert outcome["created"] == {"type": "PUBLIC", "displayName": "The team"}
    assert outcome["unread"] == {"before": 2, "channels": 1, "after": 0}
    assert outcome["readMessage"] == "hi jane"
    assert outcome["reaction"] == {"emoji": "👍", "by": "dave", "on": "hi team"}
    assert outcome["listedReactions"] == [["👍", 1]]
    assert outcome["reply"] == {"body": "in a thread", "parent": "hi team", "nestedLevel": 1}
    assert outcome["replies"] == ["in a thread"]
    assert outcome["system"] == {"body": "from the backend", "type": "SYSTEM_TEXT"}
    assert outcome["readBy"] is True
    assert outcome["features"] == {"$version": "0.0.2", "channel": {"create": "disabled"}}
    assert outcome["blocks"] == {
        "channelBlocked": "erin",
        "records": ["erin"],
        "rejoinWhileBlocked": "ForbiddenError",
        "userBlocked": ["carol"],
        "dmWhileBlocked": "ForbiddenError",
        "dmAfter": "hey bob",
    }
    received = outcome["received"]
    assert received["jane"] == ["hi team", "hi jane", "in a thread", "from the backend"]  # her own, as it is stored
    for name in ("bob", "carol", "dave", "erin"):
        assert "hi team" in received[name]
        assert "from the backend" in received[name]
    assert outcome["refused"] == {"succeeded": False, "error": "AccessDeniedError", "sockets": 1}
    channel = Channel.objects.get(application=application, name="team")
    assert channel.creator is not None
    assert channel.creator.name == "jane"
    assert sorted(channel.memberships.values_list("user__name", flat=True)) == ["bob", "carol", "dave", "erin", "jane"]


def test_chatkitty_core_clients_hear_joins_moderators_reports_mutes_clears_and_deleting_every_message(
    live_parley: LiveServer,
) -> None:
    """Events that once reached no client, each heard through ``@chatkitty/core`` (issue 17)."""
    # given
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    for name in ("carol", "dave"):
        UserFactory.create(application=application, name=name)
    ChannelFactory.create(application=application, name="lobby", members=[jane, bob])

    # when
    outcome = run_node(
        "core_events_scenario.mjs",
        core_environment(live_parley, application),
    )

    # then
    assert outcome == {
        "joinedBySending": "carol",
        "moderator": ["dave", "dave"],
        "reportCount": 1,
        "bobsOtherSession": ["muted", "cleared"],
        "afterDeletingAll": 0,
    }
    assert ChannelMembership.objects.get(channel__name="lobby", user__name="bob").muted


def test_chatkitty_core_clients_reconnect_after_a_server_restart_and_miss_nothing(transactional_db: None) -> None:
    """The SDK reconnects by itself when the server comes back; what was sent meanwhile arrives, each message once."""
    # given jane and bob chatting live in #general
    application = ApplicationFactory.create()
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    channel = ChannelFactory.create(application=application, name="general", members=[jane, bob])
    port = reserved_port()
    with live_server(workers=2, port=port) as server:
        script = conversing("core_restart_scenario.mjs", server, application)
        assert script.stdout is not None
        assert script.stdin is not None
        ready = script.stdout.readline()
        assert json.loads(ready or "{}") == {"phase": "ready"}, ready + script.stderr.read()  # type: ignore[union-attr]

    # when the server is down, jane sends (her client queues it), the backend sends too, and the server comes back
    script.stdin.write("down\n")
    script.stdin.flush()
    check_send_message(channel, message_type="TEXT", body="sent while bob was away", user=jane)
    with live_server(workers=2, port=port):
        output, errors = script.communicate(timeout=90)

    # then both reconnected by themselves, and bob got everything, each message once
    assert script.returncode == 0, errors + output
    outcome = json.loads(output.strip().splitlines()[-1])
    received = outcome["received"]
    missed = {"sent while bob was away", "queued while down"}
    assert set(received) == {"before the restart", "after the restart", *missed}, outcome  # nothing lost
    assert (received[0], received.count("before the restart")) == ("before the restart", 1), outcome
    assert (received[-1], received.count("after the restart")) == ("after the restart", 1), outcome
    assert [body for body in received if body in missed and received.count(body) != 1] == [], outcome  # each once
    # one per client, then each reconnected by itself (a reconnect may take two tries while the server starts)
    assert 4 <= outcome["sockets"] <= 6, outcome
    assert Message.objects.filter(channel=channel, body="queued while down").count() == 1


def test_sails_io_clients_subscribe_and_receive_pushes(live_parley: LiveServer) -> None:
    """The unmodified sails.io.js client: subscribe, pushes from every send endpoint, unsubscribe, a wrong key."""
    # given
    application = ApplicationFactory.create()

    # when
    outcome = run_node(
        "sails_scenario.js",
        {"PARLEY_URL": live_parley.url, "APP_SECRET": application.push_secret},  # type: ignore[attr-defined]
    )

    # then
    assert outcome["subscribed"] == {
        "a": [200, 0, ["news"]],
        "b": [200, 0, ["news", "sports"]],
        "c": [200, 0, ["Guest"]],
    }
    assert outcome["tooMany"] == [400, 400, "channel"]
    assert outcome["unsubscribed"] == [200, []]
    assert outcome["missed"] == [["Message", {"headline": "second"}], ["multi", "x"]]
    received = outcome["received"]
    assert received["a"] == [["Message", {"headline": "first"}]]
    assert sorted(map(str, received["b"])) == sorted(
        map(
            str,
            [
                ["Message", {"headline": "first"}],
                ["score", {"home": 1}],
                ["Message", {"headline": "second"}],
                ["multi", "x"],
                ["multi", "x"],
            ],
        )
    )
    assert received["c"] == [["hello", 1]]
    assert "Unauthorized" in outcome["refusal"]
    assert outcome["wrongConnected"] is False
    assert PushMessage.objects.filter(application=application).count() == 6
