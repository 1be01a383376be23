"""``/healthz`` and ``/readyz`` answer probes in front of Django; readiness follows Redis down and up by itself."""

import time
from typing import Any

import orjson
import pytest
from channels.testing import HttpCommunicator

from config.asgi import application
from tests.live import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


async def probe(path: str, host: bytes = b"10.1.2.3:8000") -> tuple[int, Any]:
    """A probe as an orchestrator sends it: by IP (a host Django would refuse), over plain HTTP."""
    answer = await HttpCommunicator(application, "GET", path, headers=[(b"host", host)]).get_response(timeout=10)
    return answer["status"], orjson.loads(answer["body"])


async def test_health_is_up_and_readiness_fails_fast_without_redis_and_recovers(own_redis: OwnRedis) -> None:
    # given
    assert await probe("/healthz") == (200, {"status": "up"})
    status, body = await probe("/readyz")
    assert (status, body["status"]) == (200, "ready")

    # when Redis dies
    own_redis.stop()
    started = time.monotonic()
    status, body = await probe("/readyz")

    # then readiness fails at once, naming what, in the API's error shape; health stays up
    assert time.monotonic() - started < 5
    assert status == 503
    assert body["error"] == "ServiceUnavailableError"
    assert "Redis" in body["message"]
    assert await probe("/healthz") == (200, {"status": "up"})

    # and when Redis is back, readiness is too, with nothing restarted
    own_redis.start()
    status, body = await probe("/readyz")
    assert (status, body["status"]) == (200, "ready")
