"""Test data, created through the same actions the API uses (one write path)."""

import json
import time
from typing import Any

import factory
import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.files.base import ContentFile

from chat.actions.applications import check_create_application, do_rotate_push_secret
from chat.actions.channels import check_create_channel
from chat.actions.messages import check_send_message
from chat.actions.users import check_create_user
from chat.models import Application, Channel, ChatUser, Message
from imports.actions import check_create_export_job, check_create_import_job, do_claim_job
from imports.models import Job


class ApplicationFactory(factory.Factory[Application]):
    """An application; its clear-text secrets are kept on ``application.secret`` (OAuth) and
    ``application.push_secret`` (the socket service) for tests."""

    class Meta:
        model = Application

    name = factory.Sequence(lambda n: f"App {n}")

    @classmethod
    def _create(cls, model_class: type[Application], name: str) -> Application:
        # Tests log users in by name: the factory's applications choose UNSECURED sessions explicitly.
        application, secret = check_create_application(name, session_authentication="UNSECURED")
        application.secret = secret  # type: ignore[attr-defined]
        application.push_secret = do_rotate_push_secret(application)  # type: ignore[attr-defined]
        return application


class UserFactory(factory.Factory[ChatUser]):
    """A chat user of an application."""

    class Meta:
        model = ChatUser

    application = factory.SubFactory(ApplicationFactory)
    name = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    properties = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class: type[ChatUser], application: Application, **kwargs: Any) -> ChatUser:
        return check_create_user(application, **kwargs)


class ChannelFactory(factory.Factory[Channel]):
    """A public channel by default; pass ``channel_type`` and ``members`` for others."""

    class Meta:
        model = Channel

    application = factory.SubFactory(ApplicationFactory)
    channel_type = "PUBLIC"
    name = factory.Sequence(lambda n: f"channel-{n}")

    @classmethod
    def _create(cls, model_class: type[Channel], application: Application, **kwargs: Any) -> Channel:
        channel, _ = check_create_channel(application, **kwargs)
        return channel


def send(channel: Channel, body: str = "hello", user: ChatUser | None = None, **kwargs: Any) -> Message:
    """Send a text message into a channel through the write path."""
    return check_send_message(channel, message_type="TEXT", body=body, user=user, **kwargs)


def public_pem(private_key: ed25519.Ed25519PrivateKey) -> str:
    """The PEM public key a tenant puts in its settings to verify the session tokens it signs."""
    return private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def session_token(
    private_key: ed25519.Ed25519PrivateKey, application: Application, username: str, **claims: Any
) -> str:
    """A session token as a tenant's backend signs it: for ``username`` in ``application``, valid for 5 minutes."""
    payload = {"sub": username, "aud": application.key, "exp": int(time.time()) + 300, **claims}
    return jwt.encode(payload, private_key, algorithm="EdDSA")


def import_file(items: Any) -> ContentFile:
    """An uploaded import file: ``items`` as a JSON array, or the exact bytes given."""
    raw = items if isinstance(items, bytes) else json.dumps(items).encode()
    return ContentFile(raw, name="import.json")


def import_job(
    application: Application, job_type: str, items: Any, channel: Channel | None = None, enqueue: bool = False
) -> Job:
    """An import job of ``items`` (left for the test to run unless ``enqueue``)."""
    return check_create_import_job(application, job_type, import_file(items), channel=channel, enqueue=enqueue)


def claimed_export(application: Application, job_type: str) -> Job:
    """An export job, claimed as a runner claims it (to finish or fail it)."""
    found = do_claim_job(check_create_export_job(application, job_type, enqueue=False).pk)
    assert found is not None
    return found
