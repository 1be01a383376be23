"""The Celery application, found by ``celery -A config worker``; tasks live in each app's ``tasks`` module."""

import logging
import multiprocessing
import os
from typing import Any

from celery import Celery, bootsteps, signals

from config.metrics import process_gone, serve_worker_metrics, share_between_processes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
logger = logging.getLogger("parley.worker")
RELAY_WATCH_SECONDS = 5.0


def _share_metrics(**kwargs: Any) -> None:
    """Before a worker imports the apps (and their series): one folder of metric files for it and its pool."""
    remove = share_between_processes()
    signals.worker_shutdown.connect(lambda **_: remove(), weak=False)


# Connected before the app exists, so that it runs before Celery's Django fix-up sets Django up on the same signal.
signals.import_modules.connect(_share_metrics)
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


class MetricsServer(bootsteps.StartStopStep):
    """Serves the worker's ``/metrics`` (its pool's series too) on ``PARLEY_WORKER_METRICS_PORT``, when set."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.server: Any = None

    def start(self, parent: Any) -> None:
        """Listen, in a thread of the worker's main process."""
        from django.conf import settings  # noqa: PLC0415  (Django is set up once the worker starts)

        if settings.PARLEY_WORKER_METRICS_PORT:
            self.server = serve_worker_metrics(settings.PARLEY_WORKER_METRICS_PORT)

    def stop(self, parent: Any) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.shutdown()
            self.server = None


def _relay_process(stop: Any) -> None:
    """The event relay's own process (``chat.feed.run_relay``), which sends webhooks too (``chat.webhooks``), until
    ``stop`` is set."""
    import django  # noqa: PLC0415  (a spawned process sets Django up itself)

    django.setup()
    from chat.feed import run_relay  # noqa: PLC0415
    from chat.webhooks import run_deliveries  # noqa: PLC0415

    deliveries = run_deliveries(stop)
    run_relay(stop)
    deliveries.join(timeout=10)


class EventRelay(bootsteps.StartStopStep):
    """Places committed events in the feed (``chat.feed``) in a process of its own beside the worker (a thread
    would be copied, with the locks it holds, into every pool process the worker forks), started again if it dies;
    with several workers, one relays at a time and the others stand by."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.context = multiprocessing.get_context("spawn")
        self.stop_relay = self.context.Event()
        self.process: Any = None
        self.watch: Any = None

    def start(self, parent: Any) -> None:
        """Start the relay, and look after it."""
        self._spawn()
        self.watch = parent.timer.call_repeatedly(RELAY_WATCH_SECONDS, self._revive, priority=10)

    def _spawn(self) -> None:
        self.process = self.context.Process(target=_relay_process, args=(self.stop_relay,), name="parley-relay")
        self.process.start()

    def _revive(self) -> None:
        if not self.stop_relay.is_set() and not self.process.is_alive():
            logger.error("the event relay stopped (exit status %s); starting it again", self.process.exitcode)
            self._spawn()

    def stop(self, parent: Any) -> None:
        """Stop the relay (what waits is placed by the next one)."""
        if self.watch is not None:
            self.watch.cancel()
        self.stop_relay.set()
        if self.process is not None:
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()


@signals.worker_process_shutdown.connect
def _pool_process_gone(pid: int, **kwargs: Any) -> None:
    process_gone(pid)


app.steps["worker"].add(StalledJobSweeper)
app.steps["worker"].add(MetricsServer)
app.steps["worker"].add(EventRelay)
