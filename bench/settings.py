"""Benchmark-only settings: Parley's real settings plus the bare one-row insert endpoint used as the ceiling."""

import os

os.environ.setdefault("SECRET_KEY", "parley-benchmark-only")

from config.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
