"""Operator commands."""

import json
from io import StringIO

from django.core.management import call_command
from django.test import Client

from chat.models import Application
from tests.conftest import fetch_token


def test_create_application_json_prints_only_the_credentials(db):
    out = StringIO()
    call_command("create_application", "Acme", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body) == {"id", "key", "secret", "pushSecret"}
    assert Application.objects.get(pk=body["id"]).key == body["key"]
    assert fetch_token(Client(), body["key"], body["secret"])["access_token"]


def test_rotate_application_secret_by_key(db):
    out = StringIO()
    call_command("create_application", "Acme", "--json", stdout=out)
    created = json.loads(out.getvalue())
    out = StringIO()
    call_command("rotate_application_secret", created["key"], "--json", stdout=out)
    rotated = json.loads(out.getvalue())
    assert rotated["secret"] != created["secret"]
    assert fetch_token(Client(), rotated["key"], rotated["secret"])["access_token"]


def test_bootstrap_demo_creates_once_and_prints_logins(db, settings, tmp_path):
    settings.STATE_DIR = tmp_path
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)
    saved = json.loads((tmp_path / "credentials.json").read_text())
    assert saved["demo"]["secret"] in out.getvalue()
    assert saved["admin"]["password"] in out.getvalue()
    assert "/demo/" in out.getvalue()
    call_command("bootstrap_demo", stdout=StringIO())
    [demo] = Application.objects.filter(name="Demo")
    assert (demo.guest_users, demo.user_created_channels) == ("ENABLED", "ENABLED")
    assert sorted(demo.channels.values_list("name", "type")) == [("lobby", "PUBLIC"), ("random", "PUBLIC")]
