"""Sending webhooks: each event the relay places (``chat.feed``) becomes one delivery per endpoint that wants it, and
worker processes send due deliveries, signed with the Standard Webhooks scheme, recording every attempt.

Signing (standardwebhooks.com): ``webhook-id`` (the delivery id, the same for every attempt), ``webhook-timestamp``
(seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the endpoint's
secret (``whsec_`` + base64); during a day after a rotation the previous secret signs too (two signatures).

Safe sending: the target's host name is resolved here and every address must be public unless the operator allows
private ones (``PARLEY_WEBHOOKS_ALLOW_PRIVATE``); the request goes to the address that was checked (the name kept for
TLS and the Host header), redirects are not followed, time is bounded and at most ``RESPONSE_BYTES`` of an answer are
read. A 2xx answer delivers.

Failures: a delivery is tried again later and later (``retry_pause``) until it has failed for
``PARLEY_WEBHOOKS_RETRY_HOURS`` (24): then it is dead, kept for a replay. An endpoint that fails is paused as a whole
(at most ``PARLEY_WEBHOOKS_MAX_PAUSE_SECONDS``) and probed with one delivery, so that a receiver that comes back is
sent its backlog within that pause; one that has failed for ``PARLEY_WEBHOOKS_DISABLE_HOURS`` (24) is turned off.
"""

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from chat.errors import Invalid
from chat.models import DeliveryState, EventRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from chat.wire.events import render_event

logger = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"  # noqa: S105  (the scheme's prefix, not a secret)
RESPONSE_BYTES = 64 * 1024
BATCH = 200
IDLE_SECONDS = 0.1
USER_AGENT = "Parley-Webhooks/1"
RECORDED = ("attempts", "state", "delivered_time", "next_attempt_time")


def new_secret() -> str:
    """A signing secret, in the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of one request."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signatures(endpoint: WebhookEndpoint, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: the current secret's, and the previous one's while it is still honoured."""
    found = [sign(endpoint.secret, message_id, timestamp, body)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires
        and endpoint.previous_secret_expires > timezone.now()
    ):
        found.append(sign(endpoint.previous_secret, message_id, timestamp, body))
    return " ".join(found)


def refused_address(address: str) -> bool:
    """Whether a webhook may not be sent to this IP address (loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_target(url: str) -> httpx.URL:
    """The endpoint URL, if it may be a webhook target at all (scheme, host, length); raises ``Invalid``."""
    if len(url) > 2048:
        raise Invalid("url must be at most 2048 characters.", field="url")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise Invalid(f"url is not a URL: {error}", field="url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Invalid("url must be an http or https URL with a host.", field="url")
    if parsed.userinfo:
        raise Invalid("url must not carry credentials.", field="url")
    if not settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE:
        try:
            literal = ipaddress.ip_address(parsed.host)
        except ValueError:
            literal = None
        if literal is not None and refused_address(str(literal)) or parsed.host.lower() == "localhost":
            raise Invalid("url must not point at a loopback, private or link-local address.", field="url")
    return parsed


def create_deliveries(placed: list[EventRecord]) -> int:
    """One delivery of each placed event to each enabled endpoint of its application that wants its type (in the
    relay's transaction); how many."""
    applications = {record.application_id for record in placed}
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(application_id__in=applications, enabled=True):
        endpoints[endpoint.application_id].append(endpoint)
    made = [
        WebhookDelivery(endpoint=endpoint, event=record)
        for record in placed
        for endpoint in endpoints.get(record.application_id, ())
        if not endpoint.event_types or record.type in endpoint.event_types
    ]
    WebhookDelivery.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)


def retry_pause(attempts: int) -> timedelta:
    """How long a delivery waits after its ``attempts``-th failure: doubling from 5 s, at most an hour."""
    return timedelta(seconds=min(5 * 2 ** (attempts - 1), 3600))


def endpoint_pause(failures: int) -> timedelta:
    """How long a failing endpoint rests before its next probe: doubling from 1 s, at most the configured pause."""
    return timedelta(seconds=min(2 ** (failures - 1), settings.PARLEY_WEBHOOKS_MAX_PAUSE_SECONDS))


@dataclass
class Outcome:
    """How one attempt went."""

    delivery: WebhookDelivery
    status: int | None
    latency_ms: int
    error: str


def claim(limit: int = BATCH) -> list[WebhookDelivery]:
    """Take due deliveries of endpoints that are not resting (one probe per endpoint that is failing), leasing them
    so that no other process sends them meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_related("endpoint", "event")
            .filter(state=DeliveryState.PENDING, next_attempt_time__lte=now, endpoint__enabled=True)
            .filter(Q(endpoint__next_attempt_time__isnull=True) | Q(endpoint__next_attempt_time__lte=now))
            .order_by("next_attempt_time", "id")
            .select_for_update(of=("self",), skip_locked=True)[:limit]
        )
        probed: set[int] = set()
        taken = []
        for delivery in due:
            if delivery.endpoint.failures:
                if delivery.endpoint_id in probed:
                    continue
                probed.add(delivery.endpoint_id)
            taken.append(delivery)
        lease = now + timedelta(seconds=settings.PARLEY_WEBHOOKS_TIMEOUT_SECONDS + 30)
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in taken]).update(next_attempt_time=lease)
    return taken


async def send(client: httpx.AsyncClient, delivery: WebhookDelivery) -> Outcome:
    """One attempt: resolve and check the target, post the signed event, read a bounded answer."""
    started = time.perf_counter()
    endpoint = delivery.endpoint
    try:
        url = check_target(endpoint.url)
        infos = await asyncio.get_running_loop().getaddrinfo(url.host, url.port or None, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise OSError("the host name has no address")
        if not settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE and any(refused_address(a) for a in addresses):
            raise PermissionError("the host name leads to a loopback, private or link-local address")
        body = orjson.dumps(render_event(delivery.event))
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": url.netloc.decode("ascii"),
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures(endpoint, delivery.message_id, timestamp, body),
        }
        request = client.build_request(
            "POST", url.copy_with(host=addresses[0]), content=body, headers=headers,
            extensions={"sni_hostname": url.host},
        )  # fmt: skip
        response = await client.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
        error = "" if 200 <= response.status_code < 300 else f"answered {response.status_code}"
        return Outcome(delivery, response.status_code, _ms(started), error)
    except Invalid as refusal:
        return Outcome(delivery, None, _ms(started), refusal.message)
    except (httpx.HTTPError, OSError) as error:
        return Outcome(delivery, None, _ms(started), f"{type(error).__name__}: {error}"[:500])


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def record(outcomes: list[Outcome]) -> None:
    """Write what the attempts did: each delivery's state, the attempt log, each endpoint's health."""
    now = timezone.now()
    by_endpoint: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        delivery = outcome.delivery
        delivery.attempts += 1
        delivery.last_status, delivery.last_latency_ms, delivery.last_error = (
            outcome.status,
            outcome.latency_ms,
            outcome.error[:512],
        )
        if not outcome.error:
            delivery.state, delivery.delivered_time = DeliveryState.SUCCEEDED, now
        elif now - delivery.created_time > timedelta(hours=settings.PARLEY_WEBHOOKS_RETRY_HOURS):
            delivery.state = DeliveryState.DEAD
        else:
            delivery.next_attempt_time = now + retry_pause(delivery.attempts)
        by_endpoint[delivery.endpoint_id].append(outcome)
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(delivery=o.delivery, time=now, status=o.status, latency_ms=o.latency_ms, error=o.error[:512])
            for o in outcomes
        )
        WebhookDelivery.objects.bulk_update(
            [o.delivery for o in outcomes],
            [
                "attempts",
                "state",
                "delivered_time",
                "next_attempt_time",
                "last_status",
                "last_error",
                "last_latency_ms",
            ],
        )
        for endpoint_id, attempts in by_endpoint.items():
            _health(endpoint_id, attempts, now)


def _health(endpoint_id: int, attempts: list[Outcome], now: datetime) -> None:
    """An endpoint that delivered is healthy; one whose every attempt failed rests, and is turned off once it has
    failed for a day."""
    if any(not outcome.error for outcome in attempts):
        recovered = WebhookEndpoint.objects.filter(pk=endpoint_id, failures__gt=0).update(
            failures=0, failing_since=None, next_attempt_time=None
        )
        if recovered:  # back: its backlog goes now, the deliveries that served as probes included
            WebhookDelivery.objects.filter(
                endpoint_id=endpoint_id, state=DeliveryState.PENDING, next_attempt_time__gt=now
            ).update(next_attempt_time=now)
        return
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.failures += 1
    endpoint.failing_since = endpoint.failing_since or now
    endpoint.next_attempt_time = now + endpoint_pause(endpoint.failures)
    if now - endpoint.failing_since > timedelta(hours=settings.PARLEY_WEBHOOKS_DISABLE_HOURS):
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"Turned off: every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
            f"(last: {attempts[-1].error[:120]})."
        )
        logger.warning("webhook endpoint %s turned off: %s", endpoint.pk, endpoint.disabled_reason)
    endpoint.save(update_fields=["failures", "failing_since", "next_attempt_time", "enabled", "disabled_reason"])


async def deliver_due(client: httpx.AsyncClient) -> int:
    """Send one batch of due deliveries at once; how many were sent."""
    taken = await sync_to_async(claim, thread_sensitive=True)()
    if not taken:
        return 0
    outcomes = await asyncio.gather(*(send(client, delivery) for delivery in taken))
    await sync_to_async(record, thread_sensitive=True)(list(outcomes))
    return len(taken)


async def _deliver_until(stop: Any) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    timeout = httpx.Timeout(settings.PARLEY_WEBHOOKS_TIMEOUT_SECONDS, connect=5.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, follow_redirects=False, trust_env=False) as client:
        while not stop.is_set():
            try:
                sent = await deliver_due(client)
            except Exception:  # noqa: BLE001  (the database or a bug: log, rest, go on)
                logger.exception("webhook deliveries failed; trying again")
                await sync_to_async(close_old_connections, thread_sensitive=True)()
                sent = 0
                await asyncio.sleep(1.0)
            if not sent:
                await asyncio.sleep(IDLE_SECONDS)


def run_deliveries(stop: Any) -> threading.Thread:
    """Send due deliveries in a thread of their own until ``stop`` is set."""
    thread = threading.Thread(target=asyncio.run, args=(_deliver_until(stop),), name="parley-webhooks", daemon=True)
    thread.start()
    return thread
