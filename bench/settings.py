"""Benchmark-only settings: Parley's real settings plus the bare one-row insert endpoint used as the ceiling."""

import os

os.environ.setdefault("SECRET_KEY", "parley-benchmark-only")
# The load clients share a token: its per-token budget would measure the limit, not the server.
os.environ.setdefault("PARLEY_API_REQUESTS_PER_10_SECONDS", "0")

from config.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
