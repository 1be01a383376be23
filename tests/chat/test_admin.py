"""The dashboard's room API keys: create (the secret shown once), read-only afterwards, revoke after confirmation."""

import re

import pytest
from django.contrib.messages import get_messages

from chat.models import RoomKey
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_key_sees_it_once_and_revokes_it_after_confirming(admin_client, application):
    # given
    channel = ChannelFactory.create(application=application, name="ops")

    # when the key is created
    created = admin_client.post("/admin/chat/roomkey/add/", {"channel": channel.pk, "display_name": "Alerts"})

    # then its secret is in the page's message, once, and works as a key of that channel
    assert created.status_code == 302
    shown = [str(message) for message in get_messages(created.wsgi_request) if "copy it now" in str(message)]
    assert len(shown) == 1
    key = re.search(r"rk_\S+", shown[0]).group(0)  # type: ignore[union-attr]
    room_key = RoomKey.objects.get()
    assert room_key.key_hash == RoomKey.hash_of(key)
    assert (room_key.channel, room_key.display_name, room_key.bot.display_name) == (channel, "Alerts", "Alerts")
    assert key in admin_client.get(created["Location"]).content.decode()  # the page after creating shows it
    page = admin_client.get(f"/admin/chat/roomkey/{room_key.pk}/change/")
    assert page.status_code == 200
    assert key not in page.content.decode()  # and no page shows it again

    # when it is revoked: first a confirmation, then the revocation
    action = {"action": "revoke", "_selected_action": [room_key.pk]}
    asked = admin_client.post("/admin/chat/roomkey/", action)
    room_key.refresh_from_db()
    assert asked.status_code == 200
    assert "Yes, revoke" in asked.content.decode()
    assert room_key.revoked_time is None
    admin_client.post("/admin/chat/roomkey/", {**action, "confirmed": "yes"})
    room_key.refresh_from_db()
    assert room_key.revoked_time is not None


def test_the_add_form_names_what_is_missing(admin_client):
    response = admin_client.post("/admin/chat/roomkey/add/", {"display_name": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"channel", "display_name"}
    assert not RoomKey.objects.exists()
