"""Celery tasks of import and export jobs: thin, they hand a job id to ``imports.jobs.run``."""

from celery import shared_task

from imports import jobs
from imports.actions import do_requeue_stalled_jobs


@shared_task(name="imports.run_job")
def run_job(job_id: int) -> None:
    """Run one job to its end (nothing, if it ended already or a live runner holds it)."""
    jobs.run(job_id)


@shared_task(name="imports.requeue_stalled_jobs")
def requeue_stalled_jobs(pending: bool = False) -> None:
    """Queue again the jobs whose worker died (and, with ``pending``, those still waiting)."""
    do_requeue_stalled_jobs(pending=pending)
