"""The Celery application, found by ``celery -A config worker``; tasks live in each app's ``tasks`` module."""

import os
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("parley")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class StalledJobSweeper(bootsteps.StartStopStep):
    """Every worker, when it starts and then every ``PARLEY_JOBS_SWEEP_SECONDS``, queues the import and export jobs
    whose worker died (``imports.tasks.requeue_stalled_jobs``), so that they carry on from their checkpoint."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry: Any = None

    def start(self, parent: Any) -> None:
        """Sweep now (jobs still waiting too) and then now and then."""
        from django.conf import settings  # noqa: PLC0415  (Django is set up once the worker starts)

        app.send_task("imports.requeue_stalled_jobs", kwargs={"pending": True})
        self.timer_entry = parent.timer.call_repeatedly(
            settings.PARLEY_JOBS_SWEEP_SECONDS, lambda: app.send_task("imports.requeue_stalled_jobs"), priority=10
        )

    def stop(self, parent: Any) -> None:
        """Stop sweeping."""
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None


app.steps["worker"].add(StalledJobSweeper)
