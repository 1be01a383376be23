"""Imports, analytics exports and their jobs through the Platform API: ``/v1/imports/...`` take a JSON array file
(multipart field ``file``) and answer 202 with the job at once; ``/v1/analytics/...`` start a CSV export;
``/v1/jobs`` lists and shows jobs, ``/v1/jobs/{id}/errors`` serves an import's error report and
``/v1/jobs/{id}/file`` an export's file, both as CSV."""

from typing import ClassVar

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chat.errors import Invalid, NotFound
from chat.selectors.channels import get_channel
from imports.actions import check_create_export_job, check_create_import_job
from imports.exporters import error_report_download, result_download
from imports.models import Job, JobType
from imports.selectors import application_jobs, get_job
from imports.wire import ApplicationJobResourceSerializer
from platform_api.hal import bool_param, hal_page
from platform_api.schema import PAGE_PARAMETERS, PARLEY_TAGS, paged
from platform_api.views.base import PlatformView

JOB_SORT = {"id": "id", "createdTime": "created_time", "type": "type", "state": "state"}
IMPORT_FILE = {
    "multipart/form-data": inline_serializer(
        "ImportFile", {"file": serializers.FileField(help_text="A JSON array file of items")}
    )
}
CSV_FILE = OpenApiResponse(OpenApiTypes.BINARY, description="A CSV file")


class ImportView(PlatformView):
    """Base of the import doors: keep the uploaded file, create the job, answer 202."""

    parser_classes: ClassVar[list[type[parsers.BaseParser]]] = [parsers.MultiPartParser]  # type: ignore[misc]
    job_type: ClassVar[str]

    def start(self, request: Request, channel_id: int | None = None) -> Response:
        """Create the job of the uploaded file (the channel is found, or not, before the body is read)."""
        channel = None if channel_id is None else get_channel(application=self.application, channel_id=channel_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid("The import needs a JSON array file (multipart field 'file').", field="file")
        job = check_create_import_job(self.application, self.job_type, upload, channel=channel)
        return self.ok(self.renderer.render("job", job), status=status.HTTP_202_ACCEPTED)


class ImportUsersView(ImportView):
    """``/v1/imports/users``."""

    job_type = JobType.USER_IMPORT

    @extend_schema(operation_id="importUsers", request=IMPORT_FILE, responses={202: ApplicationJobResourceSerializer})
    def post(self, request: Request) -> Response:
        """Import users from a JSON array file."""
        return self.start(request)


class ImportChannelsView(ImportView):
    """``/v1/imports/channels``."""

    job_type = JobType.CHANNEL_IMPORT

    @extend_schema(
        operation_id="importChannels", request=IMPORT_FILE, responses={202: ApplicationJobResourceSerializer}
    )
    def post(self, request: Request) -> Response:
        """Import channels from a JSON array file."""
        return self.start(request)


class ImportChannelMembersView(ImportView):
    """``/v1/imports/channels/{id}/members``."""

    job_type = JobType.CHANNEL_MEMBERS_IMPORT

    @extend_schema(
        operation_id="importChannelMembers", request=IMPORT_FILE, responses={202: ApplicationJobResourceSerializer}
    )
    def post(self, request: Request, channel_id: int) -> Response:
        """Import members of a group channel from a JSON array file."""
        return self.start(request, channel_id)


class ImportMessagesView(ImportView):
    """``/v1/imports/messages``."""

    job_type = JobType.MESSAGE_IMPORT

    @extend_schema(
        operation_id="importMessages", request=IMPORT_FILE, responses={202: ApplicationJobResourceSerializer}
    )
    def post(self, request: Request) -> Response:
        """Import messages from a JSON array file."""
        return self.start(request)


class ExportView(PlatformView):
    """Base of the analytics doors (the npm client posts an empty form body)."""

    job_type: ClassVar[str]

    def start(self) -> Response:
        """Create the export job."""
        job = check_create_export_job(self.application, self.job_type)
        return self.ok(self.renderer.render("job", job), status=status.HTTP_202_ACCEPTED)


class MessageAnalyticsView(ExportView):
    """``/v1/analytics/messages``."""

    job_type = JobType.MESSAGE_ANALYTICS_EXPORT

    @extend_schema(
        operation_id="exportMessageAnalytics", request=None, responses={202: ApplicationJobResourceSerializer}
    )
    def post(self, request: Request) -> Response:
        """Export every message as a CSV row (a job; its ``file`` once FINISHED)."""
        return self.start()


class UserAnalyticsView(ExportView):
    """``/v1/analytics/users``."""

    job_type = JobType.USER_ANALYTICS_EXPORT

    @extend_schema(operation_id="exportUserAnalytics", request=None, responses={202: ApplicationJobResourceSerializer})
    def post(self, request: Request) -> Response:
        """Export every user, with their channels and messages sent, as a CSV row."""
        return self.start()


class JobScoped(PlatformView):
    """Views of one job of the application."""

    def job(self, job_id: int) -> Job:
        """The job, 404 if it is not this application's."""
        return get_job(application=self.application, job_id=job_id)


class JobsView(PlatformView):
    """``/v1/jobs``."""

    @extend_schema(
        operation_id="listJobs",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("running", OpenApiTypes.BOOL, description="true: jobs not ended yet; false: ended"),
        ],
        responses=paged("ApplicationJobResource", "jobs", ApplicationJobResourceSerializer),
    )
    def get(self, request: Request) -> Response:
        """The application's jobs, newest first unless sorted otherwise."""
        jobs = application_jobs(application=self.application, running=bool_param(request, "running"))
        return self.ok(hal_page(request, jobs, "jobs", self.renderer.many("job"), JOB_SORT, ("-id",)))


class JobView(JobScoped):
    """``/v1/jobs/{id}``."""

    @extend_schema(operation_id="retrieveJob", responses=ApplicationJobResourceSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        """A job, with its progress."""
        return self.ok(self.renderer.render("job", self.job(job_id)))


class JobErrorsView(JobScoped):
    """``/v1/jobs/{id}/errors``."""

    @extend_schema(operation_id="downloadJobErrors", tags=PARLEY_TAGS, responses={(200, "text/csv"): CSV_FILE})
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        """The items of an import that failed, as CSV: row (from 1), field, message."""
        return error_report_download(self.job(job_id))


class JobFileView(JobScoped):
    """``/v1/jobs/{id}/file``."""

    @extend_schema(operation_id="downloadJobFile", tags=PARLEY_TAGS, responses={(200, "text/csv"): CSV_FILE})
    def get(self, request: Request, job_id: int) -> FileResponse:
        """An export's CSV file, once the job has FINISHED."""
        job = self.job(job_id)
        if not job.result:
            raise NotFound(f"Job {job.pk} has no file{' yet' if job.running else ''}.", field="file")
        return result_download(job)
