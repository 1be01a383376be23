"""What the import and export commands share: finding the application, running the job in this process with the
workers' code (``imports.jobs.run``) behind a progress bar on a terminal, and reporting how it ended."""

import sys
from typing import Any, ClassVar

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from chat.errors import ChatError
from chat.models import Application
from chat.selectors.applications import application_by_reference
from chat.selectors.channels import get_channel
from imports import jobs
from imports.actions import check_create_export_job, check_create_import_job
from imports.models import Job, JobState, JobType


class JobCommand(BaseCommand):
    """Base of the job commands: ``--application``; the job runs here, not on a worker."""

    job_type: ClassVar[str]

    def add_arguments(self, parser: CommandParser) -> None:
        """``--application`` (id, key or name)."""
        parser.add_argument("--application", required=True, help="the application's id, key or name")

    def application(self, options: dict[str, Any]) -> Application:
        """The application the options name."""
        application = application_by_reference(options["application"])
        if application is None:
            raise CommandError(f"No single application matches {options['application']!r}.")
        return application

    def run(self, job: Job) -> Job:
        """Run the job to its end with a progress bar (on a terminal) and say how it went."""
        unit = "items" if JobType(job.type).is_import else "rows"
        with tqdm(desc=f"{job.type} {job.pk}", unit=f" {unit}", disable=None, file=sys.stderr) as bar:

            def show(progress: Job) -> None:
                bar.total = progress.total
                bar.update(progress.processed - bar.n)

            ran = jobs.run(job.pk, progress=show)
        if ran is None:
            raise CommandError(f"Job {job.pk} was taken by another runner.")
        self.stdout.write(
            f"Job {ran.pk} {ran.state}: {ran.processed} of {ran.total if ran.total is not None else '?'} {unit},"
            f" {ran.created} created, {ran.skipped} skipped, {ran.failed} failed."
        )
        return ran


class ImportCommand(JobCommand):
    """``manage.py import_<kind> FILE --application APP``."""

    help = "Import a JSON array file into an application (the same code as the workers' import jobs)."

    def add_arguments(self, parser: CommandParser) -> None:
        """FILE, then the common options."""
        parser.add_argument("file", help="a JSON array file of items")
        super().add_arguments(parser)

    def channel(self, application: Application, options: dict[str, Any]) -> Any:
        """The channel the job is about (none but for members imports)."""
        return None

    def handle(self, *args: Any, **options: Any) -> None:
        """Keep the file, run the job, print its failed items."""
        application = self.application(options)
        channel = self.channel(application, options)
        try:
            with open(options["file"], "rb") as source:
                job = check_create_import_job(
                    application, self.job_type, File(source, name=options["file"]), channel=channel, enqueue=False
                )
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error.strerror}.") from error
        except ChatError as error:
            raise CommandError(error.message) from error
        ran = self.run(job)
        for failed in ran.errors.order_by("row")[:20]:
            self.stdout.write(f"  row {failed.row}: {failed.field}: {failed.message}")
        if ran.failed > 20:
            self.stdout.write(f"  … and {ran.failed - 20} more (GET /v1/jobs/{ran.pk}/errors)")
        if ran.state == JobState.FAILED:
            raise CommandError(ran.reason)


class MembersImportCommand(ImportCommand):
    """``manage.py import_members FILE --application APP --channel ID``."""

    def add_arguments(self, parser: CommandParser) -> None:
        """FILE, the common options and ``--channel``."""
        super().add_arguments(parser)
        parser.add_argument("--channel", type=int, required=True, help="the id of the group channel")

    def channel(self, application: Application, options: dict[str, Any]) -> Any:
        """The channel named by ``--channel``."""
        try:
            return get_channel(application=application, channel_id=options["channel"])
        except ChatError as error:
            raise CommandError(error.message) from error


class ExportCommand(JobCommand):
    """``manage.py export_<kind> --application APP [--output FILE]``."""

    help = "Export an application's analytics as a CSV file (the same code as the workers' export jobs)."

    def add_arguments(self, parser: CommandParser) -> None:
        """The common options and ``--output``."""
        super().add_arguments(parser)
        parser.add_argument("--output", help="where to copy the CSV file (default: print where it is kept)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the export and copy its file."""
        ran = self.run(check_create_export_job(self.application(options), self.job_type, enqueue=False))
        if ran.state == JobState.FAILED:
            raise CommandError(ran.reason)
        if options["output"]:
            with default_storage.open(ran.result, "rb") as kept, open(options["output"], "wb") as out:
                for chunk in iter(lambda: kept.read(1 << 20), b""):
                    out.write(chunk)
            self.stdout.write(f"Wrote {options['output']}")
        else:
            try:
                kept_as = default_storage.path(ran.result)
            except NotImplementedError:  # object storage has no local path
                kept_as = f"{ran.result} in the object storage"
            self.stdout.write(f"Kept as {kept_as} (GET /v1/jobs/{ran.pk}/file)")
