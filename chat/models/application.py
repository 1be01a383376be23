"""The tenant: one Application per team, with its own users, channels and credentials."""

import uuid

from django.conf import settings
from django.db import models
from oauth2_provider.models import Application as OAuthClient


def new_application_key() -> str:
    """A fresh public key: the OAuth client id and the API key browsers use."""
    return str(uuid.uuid4())


class Application(models.Model):
    """A tenant. Its ``key`` is public; its secret lives hashed on the OAuth client it owns."""

    class Toggle(models.TextChoices):
        ENABLED = "ENABLED"
        DISABLED = "DISABLED"

    class SessionAuthentication(models.TextChoices):
        """How a websocket session proves who its user is."""

        UNSECURED = "UNSECURED"  # the username is enough (development and demos: anyone may be anyone)
        SIGNED_TOKEN = "SIGNED_TOKEN"  # a JWT the tenant's backend signs with its private key  # noqa: S105

    DEMO_NAME = "Demo"  # the application of the browser chat demo (manage.py bootstrap_demo)

    name = models.CharField(max_length=200)
    key = models.CharField(max_length=64, unique=True, default=new_application_key)
    oauth_client = models.OneToOneField(OAuthClient, on_delete=models.PROTECT, related_name="tenant")
    properties = models.JSONField(default=dict, blank=True)
    guest_users = models.CharField(max_length=8, choices=Toggle.choices, default=Toggle.DISABLED)
    user_created_channels = models.CharField(max_length=8, choices=Toggle.choices, default=Toggle.DISABLED)
    session_authentication = models.CharField(
        max_length=16, choices=SessionAuthentication.choices, default=SessionAuthentication.SIGNED_TOKEN
    )
    # PEM public key (RSA, EC or Ed25519) that verifies SIGNED_TOKEN session tokens; Parley holds no signing secret.
    session_token_public_key = models.TextField(blank=True, default="")
    # SHA-256 of the client secret: finds the application of a socket-service request (``Authorization: key=…``)
    # in one indexed lookup; the OAuth client keeps the slow salted hash for token requests.
    # The socket service's Appsecret (pushes, full socket access), its own credential: the SHA-256 of it.
    push_secret_digest = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # The dashboard's staff users who may run this application (superusers run every application).
    administrators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="parley_applications")
    created_time = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"
