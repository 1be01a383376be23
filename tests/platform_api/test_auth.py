"""The token endpoint and bearer authentication."""

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from chat.actions.applications import do_rotate_application_secret
from tests.conftest import api_for, fetch_token


@pytest.mark.parametrize("multipart", [True, False])
def test_client_credentials_token_is_issued_for_multipart_and_urlencoded(application, multipart):
    # when
    body = fetch_token(Client(), application.key, application.secret, multipart=multipart)
    # then
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 3600
    assert body["access_token"]


def test_bad_client_credentials_are_refused_with_401(application):
    basic = base64.b64encode(f"{application.key}:wrong".encode()).decode()
    response = Client().post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]


def test_v1_needs_a_token(client, db):
    response = client.get("/v1/application")
    assert response.status_code == 401
    assert response.json()["error"] == "UnauthorizedError"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(client, db):
    response = client.get("/v1/application", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401


def test_the_token_names_the_application(api, application):
    response = api.get("/v1/application")
    assert response.status_code == 200
    assert response.json()["id"] == application.pk
    assert response.json()["key"] == application.key


def test_rotating_the_secret_revokes_old_tokens_and_the_old_secret(application):
    # given
    api = api_for(application)
    # when
    new_secret = do_rotate_application_secret(application)
    # then
    assert api.get("/v1/application").status_code == 401
    basic = base64.b64encode(f"{application.key}:{application.secret}".encode()).decode()
    old = Client().post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert old.status_code == 401
    assert fetch_token(Client(), application.key, new_secret)["access_token"]


def test_the_secret_is_stored_hashed(application):
    application.oauth_client.refresh_from_db()
    assert application.secret not in application.oauth_client.client_secret


def test_an_expired_token_is_refused(application):
    # given
    api = api_for(application)
    assert api.get("/v1/application").status_code == 200
    # when
    token = AccessToken.objects.get(application=application.oauth_client)
    token.expires = timezone.now() - timedelta(seconds=1)
    token.save()
    # then
    response = api.get("/v1/application")
    assert response.status_code == 401
    assert response.json()["error"] == "UnauthorizedError"
