"""Analytics exports: one CSV row per message, or per user with what they did, streamed from the database (a
server-side cursor; memory stays flat) into a file of the default storage that the job's ``file`` link serves."""

import csv
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Length
from django.http import FileResponse, StreamingHttpResponse

from chat.models import ChannelMembership, ChatUser, Message
from chat.wire.timestamps import timestamp
from imports.actions import Progress, do_advance_job, do_hold_job
from imports.jobs import JobRunner, batches
from imports.models import Job, JobError, JobType

CHUNK = 5000

MESSAGE_COLUMNS = {
    "message_id": "pk",
    "created_time": "created_time",
    "channel_id": "channel_id",
    "channel_name": "channel__name",
    "channel_type": "channel__type",
    "thread_id": "thread_id",
    "nested_level": "nested_level",
    "type": "type",
    "user_id": "user_id",
    "username": "user__name",
    "body_length": "body_length",
    "replies_count": "replies_count",
    "report_count": "report_count",
    "group_tag": "group_tag",
    "imported": "imported",
}

USER_COLUMNS = {
    "user_id": "pk",
    "name": "name",
    "display_name": "display_name",
    "type": "type",
    "is_guest": "is_guest",
    "created_time": "created_time",
    "deleted_time": "deleted_time",
    "online": "online",
    "channels": "channel_count",
    "messages_sent": "message_count",
    "last_message_time": "last_message_time",
}


def _count(queryset: QuerySet[Any], column: str) -> Coalesce:
    counted = queryset.filter(**{column: OuterRef("pk")}).values(column).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _imported() -> ExpressionWrapper:
    return ExpressionWrapper(Q(import_key__isnull=False), output_field=BooleanField())


class _Echo:
    """A file-like object that hands back what the CSV writer writes, for streaming."""

    def write(self, value: str) -> str:
        return value


def error_report(job: Job) -> Iterator[str]:
    """An import's failed items as CSV lines (row from 1, field, message), streamed from the database."""
    writer = csv.writer(_Echo())
    yield writer.writerow(["row", "field", "message"])
    failed = JobError.objects.filter(job=job).order_by("row", "id").values_list("row", "field", "message")
    for row, field, message in failed.iterator():
        yield writer.writerow([row, inert(field), inert(message)])


def error_report_download(job: Job) -> StreamingHttpResponse:
    """The error report as a CSV download (for the API and the dashboard alike)."""
    response = StreamingHttpResponse(error_report(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-errors.csv"'
    return response


def result_download(job: Job) -> FileResponse:
    """An export's CSV file as a download (the job must have one)."""
    name = job.result.rsplit("/", 1)[-1]
    return FileResponse(
        default_storage.open(job.result, "rb"),
        as_attachment=True,
        filename=f"job-{job.pk}-{name}",
        content_type="text/csv",
    )


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    if value is None:
        return ""
    return inert(value)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return
    first) is prefixed with ``'`` so that it stays text (OWASP's advice on CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class ExportRunner(JobRunner):
    """Writes the CSV file of an analytics export (from the start again if it is taken over)."""

    job_types: ClassVar[tuple[str, ...]] = (JobType.MESSAGE_ANALYTICS_EXPORT, JobType.USER_ANALYTICS_EXPORT)

    def rows(self) -> tuple[list[str], QuerySet[Any]]:
        """The header and the rows to write."""
        application_id = self.job.application_id
        if self.job.type == JobType.MESSAGE_ANALYTICS_EXPORT:
            messages = Message.objects.filter(application_id=application_id).order_by("pk")
            messages = messages.annotate(body_length=Length("body"), imported=_imported())
            return list(MESSAGE_COLUMNS), messages.values_list(*MESSAGE_COLUMNS.values())
        users = ChatUser.objects.filter(application_id=application_id).order_by("pk")
        users = users.annotate(
            channel_count=_count(ChannelMembership.objects.all(), "user"),
            message_count=_count(Message.objects.all(), "user"),
            last_message_time=Subquery(
                Message.objects.filter(user=OuterRef("pk")).order_by("-pk").values("created_time")[:1]
            ),
        )
        return list(USER_COLUMNS), users.values_list(*USER_COLUMNS.values())

    def work(self) -> str:
        """Write every row, reporting progress after each chunk, and keep the file."""
        job = self.job
        header, rows = self.rows()
        total = rows.count()
        self._advance(Progress(), total, restart=True)
        with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            for chunk in batches(rows.iterator(chunk_size=CHUNK), CHUNK):
                writer.writerows([_cell(value) for value in row] for row in chunk)
                self._advance(Progress(processed=len(chunk), created=len(chunk)))
            out.seek(0)
            kind = "messages" if job.type == JobType.MESSAGE_ANALYTICS_EXPORT else "users"
            return default_storage.save(f"exports/{job.application_id}/{job.pk}/{kind}.csv", File(out))

    def _advance(self, progress: Progress, total: int | None = None, *, restart: bool = False) -> None:
        with transaction.atomic():
            do_hold_job(self.job)
            do_advance_job(self.job, progress, total=total, restart=restart)
        self.report()
