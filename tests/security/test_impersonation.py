"""Impersonation by default: new applications need signed session tokens unless their creator chooses otherwise, the
dashboard marks the unsafe choice, and a signed token may not live longer than the maximum."""

import io
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from chat.actions.applications import (
    check_create_application,
    check_update_application_settings,
    do_create_demo_application,
)
from chat.models import Application
from chat.realtime.auth import AccessDenied, authenticate
from tests.factories import UserFactory, public_pem, session_token

pytestmark = pytest.mark.django_db
UNSECURED = Application.SessionAuthentication.UNSECURED
SIGNED_TOKEN = Application.SessionAuthentication.SIGNED_TOKEN


def test_a_new_application_cannot_be_logged_into_with_a_username_alone() -> None:
    # given
    application, _ = check_create_application("Acme")
    UserFactory.create(application=application, name="ceo")

    # when
    with pytest.raises(AccessDenied) as refused:
        authenticate(application.key, "ceo", None)

    # then
    assert application.session_authentication == SIGNED_TOKEN
    assert "sessionTokenPublicKey" in str(refused.value)


def test_the_command_makes_the_choice_explicit() -> None:
    # when
    signed, unsecured = io.StringIO(), io.StringIO()
    call_command("create_application", "Signed", stdout=signed)
    call_command("create_application", "Playground", "--sessions", "unsecured", stdout=unsecured)

    # then
    assert Application.objects.get(name="Signed").session_authentication == SIGNED_TOKEN
    assert "Sessions: SIGNED_TOKEN" in signed.getvalue()
    assert Application.objects.get(name="Playground").session_authentication == UNSECURED
    assert "anyone who knows the key and a username logs in as that user" in unsecured.getvalue()


def test_the_demo_application_stays_guest_friendly() -> None:
    application, _ = do_create_demo_application()
    assert application.session_authentication == UNSECURED
    assert authenticate(application.key, "visitor", None).user.is_guest


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_the_dashboard_asks_for_the_choice_and_marks_unsecured_applications(admin_client: Client) -> None:
    # given
    form = admin_client.get("/admin/chat/application/add/")

    # when
    admin_client.post("/admin/chat/application/add/", {"name": "Signed", "session_authentication": SIGNED_TOKEN})
    admin_client.post("/admin/chat/application/add/", {"name": "Open", "session_authentication": UNSECURED})
    listing = admin_client.get("/admin/chat/application/").content.decode()
    open_app = Application.objects.get(name="Open")
    change: Any = admin_client.get(f"/admin/chat/application/{open_app.pk}/change/")
    home = admin_client.get(f"/admin/chat/application/{open_app.pk}/home/").content.decode()

    # then
    assert 'name="session_authentication"' in form.content.decode()
    assert Application.objects.get(name="Signed").session_authentication == SIGNED_TOKEN
    assert open_app.session_authentication == UNSECURED
    assert listing.count("UNSECURED (unsafe)") == 1
    assert any("Unsafe: sessions are UNSECURED" in str(m) for m in change.context["messages"])
    assert 'id="unsafe-sessions"' in home


def test_a_session_token_valid_for_longer_than_the_maximum_is_refused() -> None:
    # given
    key = ed25519.Ed25519PrivateKey.generate()
    application, _ = check_create_application("Acme")
    check_update_application_settings(
        application, guest_users=None, user_created_channels=None, session_token_public_key=public_pem(key)
    )
    now = int(time.time())

    def login(expires: int) -> Any:
        return authenticate(
            application.key, "ada", None, {"token": session_token(key, application, "ada", exp=expires)}
        )

    # when
    with pytest.raises(AccessDenied) as refused:
        login(now + 365 * 86400)
    day = login(now + 86400)

    # then
    assert "lives too long" in str(refused.value)
    assert day.user.name == "ada"
