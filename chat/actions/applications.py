"""Create tenants, rotate their secrets, change their settings."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.db import transaction
from oauth2_provider.models import Application as OAuthClient

from chat.actions.channels import check_create_channel
from chat.errors import Invalid
from chat.events import Event, send_event_on_commit
from chat.models import Application, ChannelType
from chat.realtime.control import Recheck, recheck_on_commit

DEMO_CHANNELS = (("lobby", "Lobby"), ("random", "Random"))


def secret_digest(secret: str) -> str:
    """The SHA-256 of a secret (fast, unsalted: fine for long random secrets, never for passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def functions_client_secret(application: Application) -> str:
    """The second client secret of an application, the one its chat functions read (``CHATKITTY_CLIENT_SECRET``).

    Derived, never stored: a keyed hash of the application key and its OAuth client's stored secret hash, so that
    rotating the application's secret replaces it too."""
    material = f"{application.key}:{application.oauth_client.client_secret}".encode()
    return hmac.new(settings.PARLEY_FUNCTIONS_KEY.encode(), material, hashlib.sha256).hexdigest()


def new_secret() -> str:
    """A fresh client secret, shown once and stored only hashed."""
    return secrets.token_urlsafe(36)


@transaction.atomic
def check_create_application(
    name: str, *, session_authentication: str = Application.SessionAuthentication.SIGNED_TOKEN
) -> tuple[Application, str]:
    """Create an application and its OAuth client; returns the application and its secret in clear (shown once).

    Sessions need a token signed by the tenant's backend unless the creator chooses ``UNSECURED`` (anyone who knows
    the public key and a username is that user: development and demos only)."""
    if not name.strip():
        raise Invalid("An application needs a name.", field="name")
    if session_authentication not in Application.SessionAuthentication.values:
        raise Invalid("sessionAuthentication must be SIGNED_TOKEN or UNSECURED.", field="sessionAuthentication")
    secret = new_secret()
    application = Application(name=name.strip(), session_authentication=session_authentication)
    application.oauth_client = OAuthClient.objects.create(
        name=name.strip(),
        client_id=application.key,
        client_secret=secret,
        client_type=OAuthClient.CLIENT_CONFIDENTIAL,
        authorization_grant_type=OAuthClient.GRANT_CLIENT_CREDENTIALS,
        hash_client_secret=True,
    )
    application.save()
    return application, secret


def _check_public_key(pem: str) -> None:
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except ValueError as error:
        raise Invalid("sessionTokenPublicKey must be a PEM public key.", field="sessionTokenPublicKey") from error
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise Invalid("sessionTokenPublicKey must be an RSA, EC or Ed25519 key.", field="sessionTokenPublicKey")


@transaction.atomic
def do_create_demo_application() -> tuple[Application, str]:
    """The application of the browser chat demo (``/demo/``): anyone may pick a name (guest users), create channels,
    and chat in its public channels; returns it and its secret."""
    application, secret = check_create_application(
        Application.DEMO_NAME, session_authentication=Application.SessionAuthentication.UNSECURED
    )
    application.guest_users = application.user_created_channels = Application.Toggle.ENABLED
    application.save(update_fields=["guest_users", "user_created_channels"])
    for name, display_name in DEMO_CHANNELS:
        check_create_channel(application, channel_type=ChannelType.PUBLIC, name=name, display_name=display_name)
    return application, secret


@transaction.atomic
def do_rotate_application_secret(application: Application) -> str:
    """Replace the application's secret and revoke every token issued with the old one; returns the new secret."""
    secret = new_secret()
    client = application.oauth_client
    client.client_secret = secret
    client.save(update_fields=["client_secret", "updated"])
    client.accesstoken_set.all().delete()
    return secret


def do_rotate_push_secret(application: Application) -> str:
    """Give the application a new socket service secret (the Appsecret of ``/wssv`` pushes and of sockets with full
    access), separate from its OAuth client secret; returns it in clear (shown once)."""
    secret = "sk_" + secrets.token_urlsafe(32)
    application.push_secret_digest = secret_digest(secret)
    application.save(update_fields=["push_secret_digest"])
    recheck_on_commit(Recheck(application.pk, push_secret=True))
    return secret


def check_rename_application(application: Application, name: str) -> Application:
    """Give the application another name."""
    if not name.strip():
        raise Invalid("An application needs a name.", field="name")
    application.name = name.strip()
    application.save(update_fields=["name"])
    return application


def do_set_application_administrators(application: Application, users: Iterable[Any]) -> None:
    """Who among the dashboard's staff users runs the application (superusers run them all anyway)."""
    application.administrators.set(users)


def check_update_application_settings(
    application: Application,
    *,
    guest_users: str | None,
    user_created_channels: str | None,
    session_authentication: str | None = None,
    session_token_public_key: str | None = None,
) -> Application:
    """Change the settings; an absent one stays as it is. Toggles are ENABLED or DISABLED; choosing SIGNED_TOKEN
    session authentication (or clearing the key under it) needs a PEM public key (RSA, EC or Ed25519) to verify the
    tokens with; a new application has none yet, and no session starts until it is set."""
    allowed = set(Application.Toggle.values)
    for field, value in (("guestUsers", guest_users), ("userCreatedChannels", user_created_channels)):
        if value is not None and value not in allowed:
            raise Invalid(f"{field} must be one of {sorted(allowed)}.", field=field)
    schemes = Application.SessionAuthentication.values
    if session_authentication is not None and session_authentication not in schemes:
        raise Invalid(f"sessionAuthentication must be one of {schemes}.", field="sessionAuthentication")
    if session_token_public_key:
        _check_public_key(session_token_public_key)
    with transaction.atomic():
        if guest_users is not None:
            application.guest_users = guest_users
        if user_created_channels is not None:
            application.user_created_channels = user_created_channels
        if session_authentication is not None:
            application.session_authentication = session_authentication
        if session_token_public_key is not None:
            application.session_token_public_key = session_token_public_key.strip()
        touches_sessions = session_authentication is not None or session_token_public_key is not None
        if (
            touches_sessions
            and application.session_authentication == Application.SessionAuthentication.SIGNED_TOKEN
            and not application.session_token_public_key
        ):
            raise Invalid(
                "SIGNED_TOKEN session authentication needs sessionTokenPublicKey.", field="sessionTokenPublicKey"
            )
        application.save(
            update_fields=[
                "guest_users",
                "user_created_channels",
                "session_authentication",
                "session_token_public_key",
            ]
        )
        send_event_on_commit(
            Event(
                type="application.settings.updated",
                application_id=application.pk,
                resource_type="application",
                resource_id=application.pk,
            )
        )
    return application
