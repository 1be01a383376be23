"""Django app config for import and export jobs."""

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """The imports app; its runners register themselves by job type when it is ready."""

    name = "imports"

    def ready(self) -> None:
        """Load the import and export runners (``imports.jobs.JobRunner.registry``); teach the renderer the job
        resource (and how to load jobs by id, for the event log); put the running jobs on each application's
        dashboard home page."""
        from chat.registries import HOME_PANELS  # noqa: PLC0415
        from chat.wire.renderer import Renderer  # noqa: PLC0415
        from imports import exporters, importers  # noqa: F401, PLC0415
        from imports.admin import running_jobs_panel  # noqa: PLC0415
        from imports.selectors import jobs_by_id  # noqa: PLC0415
        from imports.wire import RESOURCES  # noqa: PLC0415

        Renderer.SERIALIZERS.update(RESOURCES)
        Renderer.LOADERS["job"] = jobs_by_id
        if running_jobs_panel not in HOME_PANELS:
            HOME_PANELS.append(running_jobs_panel)
