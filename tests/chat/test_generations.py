"""How a process knows the current generation of a cached read (``chat.generations``): a renewal made anywhere is
known at the next use with no round trip, and a process whose subscription broke, or went silent, is never left using
an old generation."""

import time
import uuid
from collections.abc import Iterator

import pytest

from chat.events import bus_redis
from chat.generations import CHECK_SECONDS, Generations
from tests.live import OwnRedis


def stored(key: str) -> str:
    """The generation Redis holds for ``key``."""
    value = bus_redis().get(key)
    assert isinstance(value, bytes)
    return value.decode()


def gets() -> int:
    """How many GETs the Redis server has answered."""
    return int(bus_redis().info("commandstats").get("cmdstat_get", {}).get("calls", 0))


@pytest.fixture
def key() -> str:
    return f"test-generation:{uuid.uuid4().hex}"


@pytest.fixture
def here() -> Iterator[Generations]:
    """This process's knowledge of the generations."""
    generations = Generations()
    yield generations
    generations._drop()


def test_a_renewal_made_by_another_process_is_known_at_the_next_use_without_asking(here: Generations, key: str) -> None:
    # given a generation this process asked for once, and another process
    first = here.current(key)
    elsewhere = Generations()

    # when the other process renews it three times, each followed by a use here
    seen = []
    before = gets()
    for _ in range(3):
        elsewhere.renew(key)
        seen.append(here.current(key))

    # then every use knew the renewal just made, and none of them asked Redis
    assert gets() == before
    assert len({first, *seen}) == 4
    assert seen[-1] == stored(key)


def test_a_subscription_cut_while_a_renewal_is_made_never_leaves_the_old_generation_in_use(
    here: Generations, key: str
) -> None:
    # given a generation known from the subscription
    Generations().renew(key)
    known = here.current(key)

    # when Redis drops the subscription, and a renewal is made meanwhile (so its message reaches nobody)
    bus_redis().client_kill_filter(_type="pubsub")
    Generations().renew(key)

    # then the next use has the new generation
    assert here.current(key) == stored(key) != known


def test_a_renewal_the_subscription_never_heard_is_known_within_the_check_interval(here: Generations, key: str) -> None:
    # given a generation known from the subscription
    here.current(key)

    # when it changes in Redis without a word on the subscription (as if the connection had gone silent)
    bus_redis().set(key, "changed-silently")

    # then it is known once the check interval has passed
    time.sleep(CHECK_SECONDS + 0.1)
    assert here.current(key) == "changed-silently"


def test_without_redis_a_use_fails_and_once_redis_is_back_the_generation_is_asked_for(
    own_redis: OwnRedis, here: Generations, key: str
) -> None:
    # given a known generation, then Redis gone (taking every generation with it)
    here.current(key)
    own_redis.stop()

    # when it is used; then that fails (the caller reads the database instead)
    with pytest.raises(Exception, match="onnect"):
        here.current(key)

    # and once Redis is back (empty) and the retry delay has passed, the generation is what Redis says
    own_redis.start()
    time.sleep(1.1)
    assert here.current(key) == "None"
