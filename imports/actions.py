"""The write path of import and export jobs.

Jobs: create one (an import keeps its uploaded file in the default storage), claim it under a lease, advance its
checkpoint together with a batch's writes, finish or fail it, and queue again the jobs whose worker died. Backends
hear when a job is created, first started, finished and failed (``job.*`` events of the log).

What becomes of each item is ``imports.writers``.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client import Counter

from chat.actions.files import save_upload
from chat.errors import Invalid
from chat.events import Event, send_event_on_commit
from chat.models import Application, Channel, ChannelType
from imports.items import ItemError
from imports.models import Job, JobError, JobState, JobType


class Outcome(StrEnum):
    """What became of an item that did not fail."""

    CREATED = "CREATED"
    SKIPPED = "SKIPPED"  # imported before (same idempotency key) or already there (same name or members)


Result = Outcome | ItemError


class LeaseLost(Exception):  # noqa: N818  (a state, not a failure)
    """Another runner holds the job now (this one was too slow to renew its lease): this one stops."""


# Jobs


def _job_event(name: str, job: Job, **data: Any) -> None:
    send_event_on_commit(
        Event(
            type=f"job.{name}",
            application_id=job.application_id,
            resource_type="job",
            resource_id=job.pk,
            data={"job_type": job.type, **data},
        )
    )


def _enqueue(job_id: int) -> None:
    current_app.send_task("imports.run_job", args=[job_id])


def check_create_import_job(
    application: Application,
    job_type: str,
    upload: File,
    *,
    channel: Channel | None = None,
    enqueue: bool = True,
) -> Job:
    """Keep an uploaded JSON array file and create the job that imports it; queued for a worker once committed
    (``enqueue``), or left for the caller to run."""
    if job_type not in JobType.values or not JobType(job_type).is_import:
        raise Invalid(f"{job_type} is not an import.", field="type")
    if job_type == JobType.CHANNEL_MEMBERS_IMPORT:
        if channel is None:
            raise Invalid("A members import needs a channel.", field="channel")
        if channel.type == ChannelType.DIRECT:
            raise Invalid("Direct channels have a fixed set of members: cannot import members.", field="channel")
    if (upload.size or 0) > settings.PARLEY_MAX_IMPORT_BYTES:
        raise Invalid(f"file must be at most {settings.PARLEY_MAX_IMPORT_BYTES} bytes.", field="file")
    path, name = save_upload(application, upload, folder="imports")
    with transaction.atomic():
        job = Job.objects.create(application=application, type=job_type, channel=channel, source=path, source_name=name)
        _job_event("created", job)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def check_create_export_job(application: Application, job_type: str, *, enqueue: bool = True) -> Job:
    """Create a job that exports the application's analytics as a CSV file."""
    if job_type not in JobType.values or JobType(job_type).is_import:
        raise Invalid(f"{job_type} is not an export.", field="type")
    with transaction.atomic():
        job = Job.objects.create(application=application, type=job_type)
        _job_event("created", job)
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.PARLEY_JOBS_LEASE_SECONDS)


@transaction.atomic
def do_claim_job(job_id: int) -> Job | None:
    """Take a job that is waiting, or whose runner's lease ran out; None if it is ended or another runner has it."""
    owner = uuid.uuid4().hex
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(state=JobState.PENDING) | Q(state=JobState.RUNNING, lease_expires__lt=now), pk=job_id
    ).update(
        state=JobState.RUNNING,
        owner=owner,
        lease_expires=_lease_end(),
        attempts=F("attempts") + 1,
        started_time=Coalesce("started_time", now),
    )
    if not claimed:
        return None
    job = Job.objects.select_related("application", "channel").get(pk=job_id)
    if job.attempts == 1:
        _job_event("started", job)
    return job


def _held(job: Job) -> Q:
    return Q(pk=job.pk, owner=job.owner, state=JobState.RUNNING)


def do_renew_lease(job: Job) -> None:
    """Keep holding the job a while longer (a long step that writes nothing calls this now and then)."""
    if not Job.objects.filter(_held(job)).update(lease_expires=_lease_end()):
        raise LeaseLost


@dataclass
class Progress:
    """What one step of a job did."""

    processed: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[tuple[int, ItemError]] = field(default_factory=list)

    def add(self, row: int, result: Result) -> None:
        """Count one item's result."""
        self.processed += 1
        if isinstance(result, ItemError):
            self.errors.append((row, result))
        elif result == Outcome.CREATED:
            self.created += 1
        else:
            self.skipped += 1


def do_hold_job(job: Job) -> None:
    """Lock the job's row for the current transaction, if this runner still holds it at its checkpoint."""
    if not Job.objects.select_for_update().filter(_held(job), processed=job.processed).exists():
        raise LeaseLost


def relax_commit() -> None:
    """Let the current transaction commit without waiting for its WAL to reach the disk (PostgreSQL). Safe for a
    step of a job: a database crash can lose only whole steps, checkpoint included, which are then done again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


# Items of import and export jobs whose step committed (its rate is the jobs' items per second).
JOB_ITEMS = Counter("parley_job_items", "Items processed by import and export jobs, by job type.", ["type"])


def do_advance_job(job: Job, progress: Progress, *, total: int | None = None, restart: bool = False) -> None:
    """Move the checkpoint past a step and record its failed items, renewing the lease (inside the step's
    transaction, after ``do_hold_job``); ``restart`` counts from zero again (an export written anew)."""
    JobError.objects.bulk_create(
        JobError(job=job, row=row, field=error.field, message=error.message) for row, error in progress.errors
    )
    changes: dict[str, Any] = {
        "processed": progress.processed if restart else F("processed") + progress.processed,
        "created": progress.created if restart else F("created") + progress.created,
        "skipped": progress.skipped if restart else F("skipped") + progress.skipped,
        "failed": len(progress.errors) if restart else F("failed") + len(progress.errors),
        "lease_expires": _lease_end(),
    }
    if total is not None:
        changes["total"] = total
    if not Job.objects.filter(_held(job)).update(**changes):
        raise LeaseLost
    transaction.on_commit(lambda: JOB_ITEMS.labels(job.type).inc(progress.processed))
    job.refresh_from_db(fields=["processed", "created", "skipped", "failed", "total", "lease_expires"])


def do_finish_job(job: Job, *, result: str = "") -> None:
    """The job is done (an export's CSV file at ``result``)."""
    _end(job, state=JobState.FINISHED, result=result)


def do_fail_job(job: Job, reason: str) -> None:
    """The job cannot go on; ``reason`` says why, for people."""
    _end(job, state=JobState.FAILED, reason=reason)


def _end(job: Job, **changes: Any) -> None:
    """End the job; the uploaded file of an import goes (its items are in the database, its failures in the
    report, and the uploader has the file)."""
    with transaction.atomic():
        ended = Job.objects.filter(_held(job)).update(ended_time=timezone.now(), lease_expires=None, **changes)
        if ended:
            failed = changes["state"] == JobState.FAILED
            _job_event("failed" if failed else "finished", job, **({"reason": changes["reason"]} if failed else {}))
    if ended and job.source:
        default_storage.delete(job.source)
    job.refresh_from_db()


def do_requeue_stalled_jobs(*, pending: bool = False) -> list[int]:
    """Queue again the running jobs whose lease ran out (their worker died) and, with ``pending``, the jobs still
    waiting (a broker that lost its queue); a job queued twice is run once, as only one runner can claim it."""
    stalled = Q(state=JobState.RUNNING, lease_expires__lt=timezone.now())
    if pending:
        stalled |= Q(state=JobState.PENDING)
    job_ids = list(Job.objects.filter(stalled).values_list("pk", flat=True))
    for job_id in job_ids:
        _enqueue(job_id)
    return job_ids
