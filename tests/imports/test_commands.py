"""The operators' import and export commands: the workers' code, a summary with the failed rows, a progress bar on
a terminal (and none in a pipe), and clear errors."""

import csv
import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from chat.models import Application, ChannelMembership, ChatUser, Message
from imports.models import Job, JobState
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, send
from tests.live import ROOT, server_environment


def command(*args: str) -> tuple[str, str]:
    """Run a management command here; its output and error output."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_users_runs_the_job_here_and_sums_it_up_with_its_failed_rows(
    application: Application, tmp_path: Path
) -> None:
    # given
    path = tmp_path / "users.json"
    path.write_text(json.dumps([{"name": "ada"}, {"name": ""}, {"name": "bob"}]))

    # when
    out, err = command("import_users", str(path), "--application", application.key)

    # then
    job = Job.objects.get(application=application)
    assert out.splitlines() == [
        f"Job {job.pk} FINISHED: 3 of 3 items, 2 created, 0 skipped, 1 failed.",
        "  row 2: name: name must not be blank.",
    ]
    assert err == ""  # no progress bar outside a terminal
    assert set(ChatUser.objects.filter(application=application).values_list("name", flat=True)) == {"ada", "bob"}


def test_import_members_and_messages_name_their_channel(application: Application, tmp_path: Path) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general")
    (tmp_path / "members.json").write_text(json.dumps([{"username": "ada"}]))
    (tmp_path / "messages.json").write_text(
        json.dumps([{"type": "TEXT", "channelId": channel.pk, "user": "ada", "body": "old"}])
    )

    # when
    command(
        "import_members",
        str(tmp_path / "members.json"),
        "--application",
        application.name,
        "--channel",
        str(channel.pk),
    )
    command("import_messages", str(tmp_path / "messages.json"), "--application", str(application.pk))

    # then
    assert ChannelMembership.objects.filter(channel=channel, user=ada).exists()
    assert Message.objects.get(channel=channel).body == "old"


def test_import_channels_of_a_broken_file_fails_with_the_reason(application: Application, tmp_path: Path) -> None:
    # given
    path = tmp_path / "channels.json"
    path.write_text('{"type": "PUBLIC"}')

    # when / then
    with pytest.raises(CommandError, match=r"The file must hold a JSON array of items"):
        command("import_channels", str(path), "--application", application.key)
    assert Job.objects.get(application=application).state == JobState.FAILED


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["import_users", "missing.json", "--application", "nope"], "No single application matches 'nope'."),
        (["import_users", "/no/such/file.json", "--application", "{key}"], "Cannot read /no/such/file.json"),
        (
            ["import_members", "x.json", "--application", "{key}", "--channel", "999999999"],
            "Channel 999999999 not found",
        ),
    ],
)
def test_commands_refuse_what_they_cannot_do(application: Application, arguments: list[str], message: str) -> None:
    # when / then
    with pytest.raises(CommandError, match=message):
        command(*[argument.replace("{key}", application.key) for argument in arguments])


def test_export_messages_writes_the_csv_file(application: Application, tmp_path: Path) -> None:
    # given
    ada = UserFactory.create(application=application, name="ada")
    send(ChannelFactory.create(application=application, name="general", members=[ada]), "hello", user=ada)
    output = tmp_path / "messages.csv"

    # when
    out, _ = command("export_messages", "--application", application.key, "--output", str(output))

    # then
    rows = list(csv.DictReader(output.open()))
    assert [(row["channel_name"], row["username"], row["body_length"]) for row in rows] == [("general", "ada", "5")]
    assert out.splitlines()[-1] == f"Wrote {output}"


def test_export_users_keeps_the_file_in_the_storage(application: Application) -> None:
    # given
    UserFactory.create(application=application, name="ada")

    # when
    out, _ = command("export_users", "--application", application.key)

    # then
    kept = Path(out.splitlines()[-1].removeprefix("Kept as ").split(" (GET")[0])
    assert [row["name"] for row in csv.DictReader(kept.open())] == ["ada"]


def test_an_import_on_a_terminal_shows_a_progress_bar(transactional_db: None, tmp_path: Path) -> None:
    # given
    application = ApplicationFactory.create()
    path = tmp_path / "users.json"
    path.write_text(json.dumps([{"name": f"user{n}"} for n in range(50)]))
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide

    # when
    process = subprocess.Popen(  # noqa: S603  (fixed argv)
        [sys.executable, str(ROOT / "manage.py"), "import_users", str(path), "--application", application.key],
        env=server_environment(),
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    out, _ = process.communicate(timeout=120)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)

    # then
    assert process.returncode == 0
    assert b"USER_IMPORT" in shown
    assert b"100%" in shown
    assert b"50/50" in shown
    assert out.decode().strip().endswith("50 of 50 items, 50 created, 0 skipped, 0 failed.")


def test_imports_and_exports_run_on_the_embedded_default_database(tmp_path: Path) -> None:
    """``bin/run``'s default is SQLite: the import path without PostgreSQL's COPY and row locks must work there."""
    # given
    env = {**server_environment(f"sqlite:///{tmp_path / 'db.sqlite3'}"), "PARLEY_STATE_DIR": str(tmp_path)}
    manage = [sys.executable, str(ROOT / "manage.py")]

    def run(*arguments: str) -> str:
        done = subprocess.run(  # noqa: S603  (fixed argv)
            [*manage, *arguments], env=env, check=True, capture_output=True, text=True, timeout=120
        )
        return done.stdout

    run("migrate", "-v", "0")
    key = json.loads(run("create_application", "Embedded", "--json"))["key"]
    (tmp_path / "users.json").write_text(json.dumps([{"name": "ada"}, {"name": "bob"}]))
    (tmp_path / "channels.json").write_text(json.dumps([{"type": "PUBLIC", "name": "general", "members": ["ada"]}]))

    # when
    run("import_users", str(tmp_path / "users.json"), "--application", key)
    run("import_channels", str(tmp_path / "channels.json"), "--application", key)
    channel = json.loads(
        run("shell", "-v", "0", "-c", "from chat.models import Channel; print(Channel.objects.get(name='general').pk)")
    )
    items = [
        {"type": "TEXT", "channelId": channel, "user": "ada", "body": "first", "idempotencyKey": "m1"},
        {"type": "TEXT", "channelId": channel, "user": "bob", "body": "reply", "parentIdempotencyKey": "m1"},
    ]
    (tmp_path / "messages.json").write_text(json.dumps(items))
    first = run("import_messages", str(tmp_path / "messages.json"), "--application", key)
    again = run("import_messages", str(tmp_path / "messages.json"), "--application", key)
    run("export_messages", "--application", key, "--output", str(tmp_path / "messages.csv"))

    # then
    assert first.strip().endswith("2 of 2 items, 2 created, 0 skipped, 0 failed.")
    assert again.strip().endswith("2 of 2 items, 0 created, 2 skipped, 0 failed.")
    rows = list(csv.DictReader((tmp_path / "messages.csv").open()))
    assert [(row["username"], row["nested_level"], row["imported"]) for row in rows] == [
        ("ada", "0", "True"),
        ("bob", "1", "True"),
    ]
