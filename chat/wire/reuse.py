"""Serializers reused across requests: building a serializer's fields costs more than using them once.

DRF deep-copies every declared field for each new serializer instance, which on the send-message path cost more
than rendering the message. Each thread keeps one instance per class (and variant); callers use them only in ways
that keep no per-request state on the instance: ``run_validation`` for input, ``to_representation`` with the
context set right before use for output.
"""

import threading
from typing import Any, TypeVar

from rest_framework import serializers

S = TypeVar("S", bound=serializers.Serializer)

_local = threading.local()


def reused(cls: type[S], variant: Any = None) -> S:
    """This thread's instance of ``cls`` for ``variant`` (built on first use)."""
    cache: dict[tuple[type, Any], Any] = _local.__dict__.setdefault("serializers", {})
    serializer = cache.get((cls, variant))
    if serializer is None:
        serializer = cache[(cls, variant)] = cls()
    return serializer  # type: ignore[no-any-return]
