"""The low holes: file read grants that expire and end with their session and user, CSV exports that no spreadsheet
runs as formulas, and production settings that pass Django's deployment checks with keys of their own."""

import csv
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chat.actions.sessions import do_end_user_session, do_start_user_session
from chat.actions.users import do_delete_user
from chat.models import UserSession
from chat.realtime.grants import read_grant
from tests.factories import ChannelFactory, UserFactory
from tests.imports.test_commands import command
from tests.live import ROOT
from tests.security.test_uploads import png, post_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored_picture(client: Client, application: Any) -> tuple[str, Any]:
    """A hosted file message's download path and its uploader's session."""
    user = UserFactory.create(application=application, name="ada")
    channel = ChannelFactory.create(application=application, name="general", members=[user])
    session = do_start_user_session(user, user_agent="test")
    sent = post_file(client, f"/rtm/streams/channels/{channel.pk}/messages", session, png(), "a.png", "image/png")
    return sent.json()["file"]["url"].removeprefix("http://testserver"), session


def test_a_read_grant_expires(client: Client, stored_picture: tuple[str, Any], settings: Any) -> None:
    # given
    path, session = stored_picture
    grant = read_grant(session)
    assert client.get(path, {"grant": grant}).status_code == 200
    settings.PARLEY_FILE_GRANT_SECONDS = -1  # every grant is older than that

    # when
    expired = client.get(path, {"grant": grant})

    # then
    assert expired.status_code == 403
    assert "expired" in expired.json()["message"]


def test_a_read_grant_ends_with_its_user(client: Client, stored_picture: tuple[str, Any]) -> None:
    # given
    path, session = stored_picture
    grant = read_grant(session)

    # when
    do_delete_user(session.user)

    # then
    assert client.get(path, {"grant": grant}).status_code == 403


def test_a_read_grant_ends_with_its_session(client: Client, stored_picture: tuple[str, Any], settings: Any) -> None:
    # given
    path, session = stored_picture
    grant = read_grant(session)
    do_end_user_session(session)

    # when: past the window in which a session may be resumed
    UserSession.objects.filter(pk=session.pk).update(end_time=timezone.now() - timedelta(hours=1))

    # then
    assert client.get(path, {"grant": grant}).status_code == 403


def test_csv_exports_keep_formulas_as_text(application: Any, tmp_path: Path) -> None:
    # given
    for n, display_name in enumerate(['=HYPERLINK("http://evil.example","x")', "+1+2", "-3", "@SUM(A1)", "fine"]):
        UserFactory.create(application=application, name=f"u{n}", display_name=display_name)
    output = tmp_path / "users.csv"

    # when
    command("export_users", "--application", application.key, "--output", str(output))

    # then
    names = sorted(row["display_name"] for row in csv.DictReader(output.open()))
    assert names == sorted(['\'=HYPERLINK("http://evil.example","x")', "'+1+2", "'-3", "'@SUM(A1)", "fine"])


def deploy_check(**environment: str) -> str:
    """What ``manage.py check --deploy`` says with the production ``environment`` (and nothing else)."""
    base = {name: os.environ[name] for name in ("PATH", "HOME", "DATABASE_URL") if name in os.environ}
    done = subprocess.run(  # noqa: S603  (fixed argv)
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def test_production_settings_pass_the_deployment_checks() -> None:
    # given
    production = {
        "SECRET_KEY": "k" * 20 + "production-only-secret-key-with-many-characters-" + "x" * 10,
        "ALLOWED_HOSTS": "chat.example.com",
        "PARLEY_HTTPS": "1",
        "PARLEY_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    }

    # when
    with_keys = deploy_check(**production, PARLEY_GRANTS_KEY="g" * 50, PARLEY_FUNCTIONS_KEY="f" * 50)
    without_keys = deploy_check(**production)

    # then
    assert "System check identified no issues" in with_keys, with_keys
    assert "(parley.W001) PARLEY_GRANTS_KEY is derived from SECRET_KEY" in without_keys
