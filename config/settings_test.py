"""Test settings: the real settings with a fast password hasher and a private event-bus namespace per worker."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PARLEY_EVENT_PREFIX = os.environ.get("PARLEY_EVENT_PREFIX", f"parley-test-{os.getpid()}")
# Each test process has its own Celery queue, so a worker started by one test run never takes another's tasks.
CELERY_TASK_DEFAULT_QUEUE = f"{PARLEY_EVENT_PREFIX}:tasks"
# Static files straight from the apps (no collectstatic before each live server): the chat demo's bundle included.
SERVESTATIC_USE_FINDERS = True
# Uploaded files of the tests (and of the live servers they start) stay out of the state folder, unless a test gives
# a server a state folder of its own (a "host" of the multi-host test).
if "PARLEY_STATE_DIR" not in os.environ:
    MEDIA_ROOT = Path(tempfile.gettempdir()) / "parley-test-media"
# Applications' function folders (npm installs, scripts) of the tests, shared by the test runs of this machine unless
# a test gives a server its own.
PARLEY_FUNCTIONS_DIR = Path(
    os.environ.get("PARLEY_FUNCTIONS_DIR") or Path(tempfile.gettempdir()) / "parley-test-functions"
)
