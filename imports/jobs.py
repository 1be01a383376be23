"""Running a job: the one place that owns its lifecycle. ``run`` claims the job, hands it to the runner of its type
(``imports.importers``, ``imports.exporters``) and records how it ended: FINISHED, or FAILED with a reason people
can act on. Celery tasks and management commands both call ``run``, so an operator's import is a worker's import."""

import itertools
import logging
from collections.abc import Callable, Iterator
from typing import ClassVar, TypeVar

from prometheus_client import Gauge

from imports.actions import LeaseLost, do_claim_job, do_fail_job, do_finish_job
from imports.models import Job

logger = logging.getLogger(__name__)
JOBS_RUNNING = Gauge(
    "parley_jobs_running", "Import and export jobs running now, by job type.", ["type"], multiprocess_mode="livesum"
)

ProgressCallback = Callable[[Job], None]
T = TypeVar("T")


def batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    while batch := list(itertools.islice(items, size)):
        yield batch


class JobFailed(Exception):  # noqa: N818  (reads as the job's state)
    """The job cannot succeed (a file that is not a JSON array, say); the message says why."""


class JobRunner:
    """Base of the runners of each job type: ``work`` does the job, reporting its progress as it goes, and returns
    the storage path of its result file (exports) or an empty string."""

    job_types: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type["JobRunner"]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for job_type in cls.job_types:
            JobRunner.registry[job_type] = cls

    def __init__(self, job: Job, progress: ProgressCallback | None = None) -> None:
        self.job = job
        self._progress = progress

    def report(self) -> None:
        """Tell whoever watches (a command's progress bar) how far the job got."""
        if self._progress is not None:
            self._progress(self.job)

    def work(self) -> str:
        """Do the job."""
        raise NotImplementedError

    def run(self) -> None:
        """Do the job and record its end."""
        try:
            result = self.work()
        except LeaseLost:
            logger.warning("job %s: another runner took it over; this one stops", self.job.pk)
            return
        except JobFailed as failure:
            do_fail_job(self.job, str(failure))
        except Exception as error:
            logger.exception("job %s failed", self.job.pk)
            do_fail_job(self.job, f"Internal error ({type(error).__name__}): {error}")
        else:
            do_finish_job(self.job, result=result)
        self.report()


def run(job_id: int, progress: ProgressCallback | None = None) -> Job | None:
    """Claim the job and run it to its end; None if it was not there to claim (ended, or held by a live runner)."""
    job = do_claim_job(job_id)
    if job is None:
        return None
    with JOBS_RUNNING.labels(job.type).track_inprogress():
        JobRunner.registry[job.type](job, progress).run()
    return job
