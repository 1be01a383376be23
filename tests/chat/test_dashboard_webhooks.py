"""The dashboard's webhooks: an endpoint made with its secret shown once, its health in the list (failing, turned
off and why), the secret rotated, deliveries replayed; a staff user sees only their applications' endpoints."""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chat.actions.webhooks import check_create_endpoint
from chat.feed import relay_all
from chat.models import Application, DeliveryState, WebhookDelivery, WebhookEndpoint
from tests.chat.test_dashboard import shown, staff_client
from tests.factories import ApplicationFactory, ChannelFactory, UserFactory, send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public_targets(settings: Any) -> None:
    settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE = False


def test_an_endpoint_is_made_with_its_secret_shown_once_and_its_health_is_listed(
    admin_client: Client, application: Application
) -> None:
    # when
    made = admin_client.post(
        "/admin/chat/webhookendpoint/add/",
        {"application": application.pk, "url": "https://hooks.example.com/parley", "event_types": ["message.created"],
         "description": "ours", "enabled": "on"},
        follow=True,
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.get()
    refused = admin_client.post(
        "/admin/chat/webhookendpoint/add/",
        {"application": application.pk, "url": "http://10.0.0.1/hooks", "enabled": "on"},
        follow=True,
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, failing_since=timezone.now(), disabled_reason="Turned off: every delivery failed since then."
    )
    listed = admin_client.get("/admin/chat/webhookendpoint/")

    # then
    assert made.status_code == 200
    assert f"(shown this once): {endpoint.secret}" in " ".join(shown(made))
    assert endpoint.event_types == ["message.created"]
    assert "loopback, private or link-local" in " ".join(shown(refused))
    assert WebhookEndpoint.objects.count() == 1
    assert "Turned off: every delivery failed since then." in listed.content.decode()
    assert endpoint.secret not in listed.content.decode()


def test_the_secret_is_rotated_and_deliveries_are_replayed_from_the_dashboard(
    admin_client: Client, application: Application
) -> None:
    # given an endpoint with one dead delivery
    endpoint = check_create_endpoint(application, url="https://hooks.example.com/parley")
    ada = UserFactory.create(application=application, name="ada")
    send(ChannelFactory.create(application=application, members=[ada]), "hello", user=ada)
    relay_all()
    WebhookDelivery.objects.update(state=DeliveryState.DEAD)
    old = endpoint.secret

    # when
    rotated = admin_client.post(
        "/admin/chat/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True
    )
    replayed = admin_client.post(
        "/admin/chat/webhookdelivery/",
        {"action": "replay", "_selected_action": list(WebhookDelivery.objects.values_list("pk", flat=True))},
        follow=True,
    )

    # then
    endpoint.refresh_from_db()
    assert (endpoint.previous_secret, endpoint.secret != old) == (old, True)
    assert f"(shown this once): {endpoint.secret}" in " ".join(shown(rotated))
    assert "will be sent again" in " ".join(shown(replayed))
    assert not WebhookDelivery.objects.exclude(state=DeliveryState.PENDING).exists()


def test_a_staff_user_sees_only_their_applications_endpoints_and_deliveries(application: Application) -> None:
    # given
    mine = check_create_endpoint(application, url="https://hooks.example.com/mine")
    theirs = check_create_endpoint(ApplicationFactory.create(), url="https://hooks.example.com/theirs")
    client = staff_client(application)

    # when
    listed = client.get("/admin/chat/webhookendpoint/").content.decode()
    foreign = client.get(f"/admin/chat/webhookendpoint/{theirs.pk}/change/")

    # then
    assert mine.url in listed
    assert theirs.url not in listed
    assert foreign.status_code in (302, 404)
