"""Django app config for import and export jobs."""

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """The imports app; its runners register themselves by job type when it is ready."""

    name = "imports"

    def ready(self) -> None:
        """Load the import and export runners (``imports.jobs.JobRunner.registry``)."""
        from imports import exporters, importers  # noqa: F401, PLC0415
