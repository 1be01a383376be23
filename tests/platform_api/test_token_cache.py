"""Each process keeps the application of every bearer token it has seen (``platform_api.auth``): a call costs no
query while nothing changed, every change that could make the kept answer wrong is seen at the next call, a kept
token still expires on time, and without Redis the database answers every call."""

import hashlib
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.test import APIClient

from chat.actions.applications import check_rename_application, check_update_application_settings
from chat.models import Application
from platform_api.auth import application_of_token
from tests.conftest import Api, api_for, fetch_token
from tests.live import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


def call(api: Api | APIClient) -> tuple[int, str | None, int]:
    """``GET /v1/application/settings``: its status, whether guests may connect, and how many token lookups it
    made."""
    client = api.client if isinstance(api, Api) else api
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/v1/application/settings")
    guests = response.json()["guestUsers"] if response.status_code == 200 else None
    return response.status_code, guests, sum("token_checksum" in query["sql"] for query in queries)


def test_a_token_is_looked_up_once_and_each_change_is_seen_at_the_next_call(application: Application) -> None:
    # given a client whose token was used once
    api = api_for(application)
    first = call(api)

    # when it calls again, after the application is renamed, after its settings change, and after its token is
    # deleted (as the dashboard or a revocation does)
    again = call(api)
    check_rename_application(application, "renamed")
    renamed = call(api)
    check_update_application_settings(application, guest_users="ENABLED", user_created_channels=None)
    updated = call(api)
    AccessToken.objects.filter(application=application.oauth_client).delete()
    revoked = call(api)

    # then only the first call and the calls after a change looked the token up, and each change showed at once
    assert first == (200, "DISABLED", 1)
    assert again == (200, "DISABLED", 0)
    assert renamed == (200, "DISABLED", 1)
    assert updated == (200, "ENABLED", 1)
    assert revoked == (401, None, 1)


def test_a_kept_token_expires_on_time(application: Application) -> None:
    # given a token with a second and a half to live, used (and so kept)
    expires = timezone.now() + timedelta(seconds=1.5)
    AccessToken.objects.create(application=application.oauth_client, token="short-lived", expires=expires, scope="")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer short-lived")
    assert call(api)[0] == 200

    # when it has expired, with nothing else changed
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds()) + 0.1)

    # then it is refused
    assert call(api)[0] == 401


def test_a_changed_expiry_is_seen_at_once(application: Application) -> None:
    # given a client whose token is kept
    api = api_for(application)
    assert call(api)[0] == 200

    # when its expiry is moved into the past
    token = AccessToken.objects.get(application=application.oauth_client)
    token.expires = timezone.now() - timedelta(seconds=1)
    token.save()

    # then
    assert call(api)[0] == 401


def test_without_redis_every_call_looks_its_token_up(application: Application, own_redis: OwnRedis) -> None:
    # given a client, and Redis gone
    api = api_for(application)
    own_redis.stop()

    # when it calls twice; then the database answered both
    assert call(api) == (200, "DISABLED", 1)
    assert call(api) == (200, "DISABLED", 1)


def test_what_a_caller_changes_in_its_application_is_not_what_the_next_caller_gets(application: Application) -> None:
    # given the kept application of a token, changed by the request that got it (a field set, its properties edited)
    token = fetch_token(Client(), application.key, application.secret)["access_token"]  # type: ignore[attr-defined]
    checksum = hashlib.sha256(token.encode()).hexdigest()
    first = application_of_token(checksum)
    assert first is not None
    first.name = "changed"
    first.properties["changed"] = True
    first._state.adding = True

    # when the next request gets it
    second = application_of_token(checksum)

    # then it is the application as stored
    assert second is not None
    assert (second.name, second.properties, second._state.adding) == (application.name, application.properties, False)
