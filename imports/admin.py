"""The dashboard's jobs: upload an import file or start an analytics export, watch a job's progress bar move to
FINISHED or FAILED (its page refreshes itself while it runs), read its error report, download its files."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from chat.dashboard import TenantAdmin, adopt
from chat.errors import ChatError
from chat.models import Application, ChannelType
from chat.registries import HomePanel
from imports.actions import check_create_export_job, check_create_import_job
from imports.exporters import error_report_download, result_download
from imports.models import Job, JobType
from imports.selectors import application_jobs


class JobStartForm(forms.ModelForm):  # type: ignore[type-arg]
    """A new job: an import of an uploaded JSON array file, or an analytics export."""

    file = forms.FileField(required=False, help_text="A JSON array file of items (imports only).")

    class Meta:
        model = Job
        fields = ("application", "type", "channel")
        help_texts = {"channel": "The group channel whose members a members import adds."}

    def clean(self) -> dict[str, Any]:
        """An import needs its file (and a members import its channel, of the same application)."""
        data = super().clean() or {}
        job_type, channel = data.get("type"), data.get("channel")
        if job_type and JobType(job_type).is_import and not data.get("file"):
            self.add_error("file", "An import needs a JSON array file.")
        if job_type == JobType.CHANNEL_MEMBERS_IMPORT:
            if channel is None:
                self.add_error("channel", "A members import needs a group channel.")
            elif channel.application_id != getattr(data.get("application"), "pk", None):
                self.add_error("channel", "The channel is not one of this application's.")
            elif channel.type == ChannelType.DIRECT:
                self.add_error("channel", "Direct channels have a fixed set of members.")
        return data


def progress_bar(job: Job) -> str:
    """The job's progress as a bar and numbers."""
    percent = 100 if job.state == "FINISHED" else (100 * job.processed // job.total if job.total else 0)
    of = f" of {job.total}" if job.total is not None else ""
    return format_html(
        '<div class="parley-progress" title="{}%" data-state="{}"><span style="width: {}%"></span></div>'
        "{}{} · {} created · {} skipped · {} failed",
        percent,
        job.state,
        percent,
        job.processed,
        of,
        job.created,
        job.skipped,
        job.failed,
    )


@admin.register(Job)
class JobAdmin(TenantAdmin):
    """Import and export jobs of the user's applications."""

    form = JobStartForm
    list_display = ("id", "application", "type", "state", "progress", "created_time", "ended_time")
    list_filter = ("state", "type", "application")
    list_select_related = ("application",)
    change_form_template = "admin/imports/job/change_form.html"
    readonly_fields = (
        "application",
        "type",
        "state",
        "progress",
        "channel",
        "source_name",
        "reason",
        "attempts",
        "created_time",
        "started_time",
        "ended_time",
        "downloads",
    )

    @admin.display(description="Progress")
    def progress(self, job: Job) -> str:
        """The progress bar."""
        return progress_bar(job)

    @admin.display(description="Files")
    def downloads(self, job: Job) -> str:
        """The error report of an import, the file of an export."""
        links = []
        if job.source:
            links.append((reverse("admin:imports_job_errors", args=[job.pk]), "Error report (CSV)"))
        if job.result:
            links.append((reverse("admin:imports_job_file", args=[job.pk]), "Download the CSV file"))
        return format_html_join(" · ", '<a href="{}">{}</a>', links) if links else "—"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The start form, or the job's record."""
        return ("application", "type", "channel", "file") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A job is never edited."""
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Jobs are watched, not edited."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Jobs stay on record."""
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Only group channels, of the user's applications."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "channel":
            field.queryset = field.queryset.exclude(type=ChannelType.DIRECT).select_related("application")
            field.label_from_instance = lambda channel: (
                f"{channel.display_name or channel.name} ({channel.application.name})"
            )
        return field

    def save_model(self, request: HttpRequest, obj: Job, form: Any, change: bool) -> None:
        """Start the job through the actions; a worker runs it."""
        data = form.cleaned_data
        try:
            if JobType(data["type"]).is_import:
                job = check_create_import_job(data["application"], data["type"], data["file"], channel=data["channel"])
            else:
                job = check_create_export_job(data["application"], data["type"])
        except ChatError as error:
            messages.error(request, error.message)
            raise
        adopt(obj, job)

    def get_urls(self) -> list[URLPattern]:
        """Downloads of the error report and of the result file."""
        own = [
            path("<int:job_id>/errors.csv", self.admin_site.admin_view(self.errors), name="imports_job_errors"),
            path("<int:job_id>/file", self.admin_site.admin_view(self.file), name="imports_job_file"),
        ]
        return own + super().get_urls()

    def _job(self, request: HttpRequest, job_id: int) -> Job:
        job = self.get_queryset(request).filter(pk=job_id).first()
        if job is None:
            raise Http404("No such job.")
        return job

    def errors(self, request: HttpRequest, job_id: int) -> StreamingHttpResponse:
        """The error report as CSV."""
        return error_report_download(self._job(request, job_id))

    def file(self, request: HttpRequest, job_id: int) -> FileResponse:
        """An export's CSV file."""
        job = self._job(request, job_id)
        if not job.result:
            raise Http404("This job has no file.")
        return result_download(job)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        """The job's record with its first failed items."""
        job = self.get_queryset(request).filter(pk=object_id).first()
        context = {
            **(extra_context or {}),
            "job_errors": list(job.errors.order_by("row")[:100]) if job else [],
            "refresh": job is not None and job.running,
        }
        return super().change_view(request, object_id, form_url, context)


def running_jobs_panel(application: Application) -> HomePanel:
    """The application's jobs that have not ended, for its dashboard home page."""
    running = application_jobs(application=application, running=True)
    return HomePanel(
        "Jobs running",
        "admin/imports/job/home_panel.html",
        list(running.order_by("-id")),
        card="Jobs running",
        order=10,
    )
