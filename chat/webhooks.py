"""Sending webhooks: each event the relay places (``chat.feed``) becomes one delivery per endpoint that wants it, and
worker processes send due deliveries, signed with the Standard Webhooks scheme, recording every attempt.

Signing (standardwebhooks.com): ``webhook-id`` (the delivery id, the same for every attempt), ``webhook-timestamp``
(seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the endpoint's
secret (``whsec_`` + base64); during a day after a rotation the previous secret signs too (two signatures).

Safe sending: the target's host name is resolved by ``SafeResolver``, which refuses it unless every address is public
or the operator allows private ones (``PARLEY_WEBHOOKS_ALLOW_PRIVATE``), so the connection goes to an address that was
checked; redirects are not followed, time is bounded and at most ``RESPONSE_BYTES`` of an answer are read. A 2xx
answer delivers. ``Sender`` keeps the network and the database busy at once (claim, send, record as a pipeline).

Failures: a delivery is tried again later and later (``retry_pause``) until it has failed for
``PARLEY_WEBHOOKS_RETRY_HOURS`` (24): then it is dead, kept for a replay. An endpoint that fails is paused as a whole
(at most ``PARLEY_WEBHOOKS_MAX_PAUSE_SECONDS``) and probed with one delivery, so that a receiver that comes back is
sent its backlog within that pause; one that has failed for ``PARLEY_WEBHOOKS_DISABLE_HOURS`` (24) is turned off.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import aiohttp.abc
import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from yarl import URL

from chat.errors import Invalid
from chat.models import DeliveryState, EventRecord, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from chat.wire.events import render_event

logger = logging.getLogger(__name__)
SECRET_PREFIX = "whsec_"  # noqa: S105  (the scheme's prefix, not a secret)
RESPONSE_BYTES = 64 * 1024
BATCH = 200
IN_FLIGHT = 400  # attempts out at once, per process
PER_ENDPOINT = 100  # of them to one endpoint
IDLE_SECONDS = 0.1
USER_AGENT = "Parley-Webhooks/1"


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


def check_target(url: str) -> URL:
    """The endpoint URL, if it may be a webhook target at all (scheme, host, length); raises ``Invalid``."""
    if len(url) > 2048:
        raise Invalid("url must be at most 2048 characters.", field="url")
    try:
        parsed = URL(url)
        host = parsed.host
    except (ValueError, TypeError) as error:
        raise Invalid(f"url is not a URL: {error}", field="url") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise Invalid("url must be an http or https URL with a host.", field="url")
    if parsed.user is not None or parsed.password is not None:
        raise Invalid("url must not carry credentials.", field="url")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        if ":" in host or host.replace(".", "").isdigit():  # 127.1, 2130706433: an address the resolver never sees
            raise Invalid("url's host must be a name or an IP address written in full.", field="url") from None
    if not settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE and (
        literal is not None and refused_address(str(literal)) or host.lower().rstrip(".") == "localhost"
    ):
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


def claim(limit: int = BATCH, busy: Collection[int] = ()) -> list[WebhookDelivery]:
    """Take due deliveries of endpoints that are neither resting nor ``busy`` (one probe per endpoint that is failing,
    which rests until the probe's outcome is recorded), leasing them so that no other process sends them meanwhile."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.PARLEY_WEBHOOKS_TIMEOUT_SECONDS + 30)
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_related("endpoint", "event")
            .filter(state=DeliveryState.PENDING, next_attempt_time__lte=now, endpoint__enabled=True)
            .filter(Q(endpoint__next_attempt_time__isnull=True) | Q(endpoint__next_attempt_time__lte=now))
            .exclude(endpoint_id__in=busy)
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
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in taken]).update(next_attempt_time=lease)
        WebhookEndpoint.objects.filter(pk__in=probed).update(next_attempt_time=lease)
    return taken


class SafeResolver(aiohttp.abc.AbstractResolver):
    """Name resolution that refuses a host name with a loopback, private or link-local address (unless the operator
    allows them): the connection then goes to an address that was checked, at the moment of use."""

    def __init__(self) -> None:
        self.inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        """The host's addresses, if every one may be a target."""
        found = await self.inner.resolve(host, port, family)
        if not settings.PARLEY_WEBHOOKS_ALLOW_PRIVATE and any(refused_address(f["host"]) for f in found):
            raise PermissionError(f"{host} leads to a loopback, private or link-local address")
        return found

    async def close(self) -> None:
        """Release the inner resolver."""
        await self.inner.close()


def session() -> aiohttp.ClientSession:
    """The HTTP client of one sending process: the safe resolver, bounded connections, time and redirects."""
    connector = aiohttp.TCPConnector(
        resolver=SafeResolver(), limit=IN_FLIGHT, limit_per_host=PER_ENDPOINT, ttl_dns_cache=10
    )
    timeout = aiohttp.ClientTimeout(total=settings.PARLEY_WEBHOOKS_TIMEOUT_SECONDS, connect=5.0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
        skip_auto_headers=("accept-encoding",),
    )


async def send(client: aiohttp.ClientSession, delivery: WebhookDelivery) -> Outcome:
    """One attempt: check the target, post the signed event, read a bounded answer."""
    started = time.perf_counter()
    endpoint = delivery.endpoint
    try:
        url = check_target(endpoint.url)
        body = orjson.dumps(render_event(delivery.event))
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures(endpoint, delivery.message_id, timestamp, body),
        }
        async with client.post(url, data=body, headers=headers, allow_redirects=False) as response:
            await response.content.read(RESPONSE_BYTES)
        error = "" if 200 <= response.status < 300 else f"answered {response.status}"
        return Outcome(delivery, response.status, _ms(started), error)
    except Invalid as refusal:
        return Outcome(delivery, None, _ms(started), refusal.message)
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        cause = error.__cause__ if isinstance(error, aiohttp.ClientConnectorDNSError) else error
        return Outcome(delivery, None, _ms(started), f"{type(cause).__name__}: {cause}"[:500])


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def record(outcomes: list[Outcome]) -> None:
    """Write what the attempts did, in a few statements whatever their number: the attempt log, each delivery's state
    (all that succeeded at once; those that failed by how often they had), each endpoint's health."""
    now = timezone.now()
    retry_window = timedelta(hours=settings.PARLEY_WEBHOOKS_RETRY_HOURS)
    succeeded: list[int] = []
    dead: list[int] = []
    failed: dict[int, list[int]] = defaultdict(list)  # attempts so far -> deliveries
    by_endpoint: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        delivery = outcome.delivery
        if not outcome.error:
            succeeded.append(delivery.pk)
        elif now - delivery.created_time > retry_window:
            dead.append(delivery.pk)
        else:
            failed[delivery.attempts].append(delivery.pk)
        by_endpoint[delivery.endpoint_id].append(outcome)
    attempted = F("attempts") + 1
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(delivery=o.delivery, time=now, status=o.status, latency_ms=o.latency_ms, error=o.error[:512])
            for o in outcomes
        )
        deliveries = WebhookDelivery.objects.filter(state=DeliveryState.PENDING)
        deliveries.filter(pk__in=succeeded).update(
            attempts=attempted, state=DeliveryState.SUCCEEDED, delivered_time=now
        )
        deliveries.filter(pk__in=dead).update(attempts=attempted, state=DeliveryState.DEAD)
        for before, pks in failed.items():
            deliveries.filter(pk__in=pks).update(attempts=attempted, next_attempt_time=now + retry_pause(before + 1))
        for endpoint_id, made in by_endpoint.items():
            _health(endpoint_id, made, now)


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


class Sender:
    """One process's webhook sending, as a pipeline: while the attempts of earlier batches are in flight, the next
    batch is claimed and finished attempts are recorded (the database work in one thread of its own), so neither the
    network nor the database waits for the other. At most ``IN_FLIGHT`` attempts are out at once, at most
    ``PER_ENDPOINT`` of them to one endpoint, so that a slow endpoint cannot hold up the others."""

    def __init__(self) -> None:
        self.client = session()
        self.in_flight: dict[int, int] = defaultdict(int)  # endpoint -> attempts out
        self.finished: list[Outcome] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.woken = asyncio.Event()

    async def __aenter__(self) -> "Sender":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.settle()
        await self.client.close()

    @property
    def busy(self) -> bool:
        """Whether attempts are out or not yet recorded."""
        return bool(self.tasks or self.finished)

    async def step(self) -> int:
        """Record what finished and claim what is due (if there is room); how many deliveries this moved."""
        moved = await self._record()
        room = IN_FLIGHT - len(self.tasks)
        if room > 0:
            full = {endpoint for endpoint, out in self.in_flight.items() if out >= PER_ENDPOINT}
            taken = await sync_to_async(claim, thread_sensitive=True)(min(room, BATCH), full)
            for delivery in taken:
                self.in_flight[delivery.endpoint_id] += 1
                task = asyncio.create_task(self._attempt(delivery))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            moved += len(taken)
        return moved

    async def wait(self, seconds: float) -> None:
        """Rest until an attempt finishes, or for ``seconds``."""
        self.woken.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.woken.wait(), seconds)

    async def settle(self) -> None:
        """Let every attempt out finish, and record them."""
        if self.tasks:
            await asyncio.wait(set(self.tasks))
        await self._record()

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        try:
            outcome = await send(self.client, delivery)
            self.finished.append(outcome)  # the list of the moment (``_record`` swaps it)
        finally:
            self.in_flight[delivery.endpoint_id] -= 1
            if not self.in_flight[delivery.endpoint_id]:  # only endpoints with attempts out are kept
                del self.in_flight[delivery.endpoint_id]
            self.woken.set()

    async def _record(self) -> int:
        finished, self.finished = self.finished, []
        if finished:
            await sync_to_async(record, thread_sensitive=True)(finished)
        return len(finished)

    async def run(self, stop: Any) -> None:
        """Send until ``stop`` is set; a failure of the database (or a bug) is logged and waited out."""
        while not stop.is_set():
            try:
                moved = await self.step()
            except Exception:  # noqa: BLE001  (the database or a bug: log, rest, go on)
                logger.exception("webhook deliveries failed; trying again")
                await sync_to_async(close_old_connections, thread_sensitive=True)()
                await asyncio.sleep(1.0)
                continue
            if not moved:
                await self.wait(IDLE_SECONDS)


async def _deliver_until(stop: Any) -> None:
    async with Sender() as sender:
        await sender.run(stop)


def run_deliveries(stop: Any) -> threading.Thread:
    """Send due deliveries in a thread of their own until ``stop`` is set."""
    thread = threading.Thread(target=asyncio.run, args=(_deliver_until(stop),), name="parley-webhooks", daemon=True)
    thread.start()
    return thread
