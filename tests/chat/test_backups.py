"""``manage.py backup`` and ``restore`` as an operator runs them: an installation on PostgreSQL and S3 storage is
archived, restored into a new database and a new bucket, and archived again: the two archives hold the same rows
(byte for byte) and the same files (by checksum). A damaged archive, or a database that is not new, is refused
before anything is written."""

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from chat.actions.sessions import do_start_user_session
from chat.backups import DATABASE_MEMBER, read_manifest
from chat.models import Application, Message
from chat.realtime.grants import write_grant
from imports import jobs
from tests.conftest import Api, Bucket
from tests.factories import ChannelFactory, UserFactory, send
from tests.functions.test_triggers import deploy
from tests.live import ROOT, OwnS3, database_url, server_environment

pytestmark = pytest.mark.django_db(transaction=True)


def manage(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` as an operator would."""
    return subprocess.run(  # noqa: S603  (fixed argv)
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@contextmanager
def new_database() -> Iterator[str]:
    """A new, empty database on the test's PostgreSQL server; its URL."""
    name = f"parley_restore_{os.getpid()}_{random.getrandbits(32):08x}"
    server = database_url().rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows_in(url: str) -> int:
    """How many chat messages a database holds."""
    with psycopg.connect(url) as database:
        found = database.execute("SELECT count(*) FROM chat_message").fetchone()
    return int(found[0]) if found else 0


@pytest.fixture
def installation(api: Api, application: Application, object_storage: Bucket, client: Client) -> Bucket:
    """An application with users, channels, messages, a file message, a display picture, an export's file and a
    deployed function, its files in the bucket."""
    jane, bob = (UserFactory.create(application=application, name=name) for name in ("jane", "bob"))
    general = ChannelFactory.create(application=application, name="general", members=[jane, bob])
    for number in range(25):
        send(general, f"message {number}", user=jane if number % 2 else bob)
    # a time below the millisecond (which Django's JSON encoder would cut) must come back whole
    Message.objects.filter(channel=general).update(created_time=timezone.now().replace(microsecond=123))
    session = do_start_user_session(jane, user_agent="test")
    grant = {"Grant": write_grant(session)}
    notes = SimpleUploadedFile("notes.txt", b"the notes of the meeting", content_type="text/plain")
    assert (
        client.post(f"/rtm/streams/channels/{general.pk}/messages", {"file": notes}, headers=grant).status_code == 200
    )
    picture = SimpleUploadedFile("me.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", content_type="image/gif")
    client.post("/rtm/streams/user/display_picture", {"file": picture}, headers=grant)
    exported = api.client.post("/v1/analytics/messages", "", content_type="application/x-www-form-urlencoded")
    jobs.run(exported.json()["id"])
    deploy(application, "user.sent.message", "async function handleEvent(e) { return e; }")
    assert len(object_storage.objects()) >= 2
    return object_storage


def test_a_backup_restores_into_a_new_installation_with_the_same_rows_and_files(
    installation: Bucket, s3_server: OwnS3, tmp_path: Path
) -> None:
    # given an archive of the installation
    first, second = tmp_path / "first.tar.gz", tmp_path / "second.tar.gz"
    here = {**server_environment(), **installation.environment}
    backed_up = manage("backup", "--output", str(first), env=here)
    assert backed_up.returncode == 0, backed_up.stderr
    _, new_bucket = s3_server.bucket()

    # when it is restored into a new database and bucket, and that installation is archived in turn
    with new_database() as url:
        there = {**server_environment(url), **new_bucket}
        restored = manage("restore", str(first), env=there)
        assert restored.returncode == 0, restored.stderr
        again = manage("backup", "--output", str(second), env=there)
        assert again.returncode == 0, again.stderr

    # then both archives hold the same rows, byte for byte, and the same files
    original, copy = read_manifest(first), read_manifest(second)
    assert original["rows"]["chat.message"] == 26
    assert {"chat.application", "chat.chatuser", "functions.functionversion", "imports.job"} <= set(original["rows"])
    assert copy["rows"] == original["rows"]
    assert copy["migrations"] == original["migrations"]
    assert copy["members"] == original["members"]
    assert copy["members"][DATABASE_MEMBER] == original["members"][DATABASE_MEMBER]
    stored = {name.removeprefix("objects/") for name in original["members"]} - {DATABASE_MEMBER}
    assert stored == {key.removeprefix("parley/") for key in installation.objects()}
    assert "Wrote" in backed_up.stdout
    assert "Restored" in restored.stdout


def test_a_damaged_archive_or_a_database_that_is_not_new_is_refused_before_anything_is_written(
    installation: Bucket, s3_server: OwnS3, tmp_path: Path
) -> None:
    # given an archive, and a copy of it with one byte changed
    archive, damaged = tmp_path / "backup.tar.gz", tmp_path / "damaged.tar.gz"
    here = {**server_environment(), **installation.environment}
    assert manage("backup", "--output", str(archive), env=here).returncode == 0
    content = bytearray(archive.read_bytes())
    content[len(content) // 2] ^= 0xFF
    damaged.write_bytes(bytes(content))
    _, new_bucket = s3_server.bucket()

    with new_database() as url:
        there = {**server_environment(url), **new_bucket}
        # when the damaged archive is restored
        refused = manage("restore", str(damaged), env=there)

        # then it is refused, and nothing was written
        assert refused.returncode != 0
        assert "damaged" in refused.stderr or "cannot be read" in refused.stderr, refused.stderr
        assert s3_server.keys(new_bucket["PARLEY_STORAGE_URL"].split("/")[2]) == []

    # when the archive is restored over the installation it came from
    over = manage("restore", str(archive), env=here)

    # then it is refused too: a restore is into a new database
    assert over.returncode != 0
    assert "already holds rows" in over.stderr
    assert rows_in(database_url()) == 26
    # and an archive is never written over
    assert "exists" in manage("backup", "--output", str(archive), env=here).stderr
