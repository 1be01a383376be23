"""Reads of jobs for the doors (Platform API, dashboard): tenant-first."""

from collections.abc import Iterable

from django.db.models import QuerySet

from chat.errors import NotFound
from chat.models import Application
from imports.models import Job, JobState

ONGOING = (JobState.PENDING, JobState.RUNNING)


def application_jobs(*, application: Application, running: bool | None = None) -> QuerySet[Job]:
    """The application's jobs; ``running``: only those not ended yet (True) or only ended ones (False)."""
    jobs = Job.objects.filter(application=application)
    if running is None:
        return jobs
    return jobs.filter(state__in=ONGOING) if running else jobs.exclude(state__in=ONGOING)


def jobs_by_id(ids: Iterable[int]) -> dict[int, Job]:
    """Jobs of any application, by id (the ones there are)."""
    return Job.objects.in_bulk(list(ids))


def get_job(*, application: Application, job_id: int) -> Job:
    """The application's job of this id (404 otherwise)."""
    job = Job.objects.filter(application=application, pk=job_id).first()
    if job is None:
        raise NotFound(f"Job {job_id} not found.", field="id")
    return job
