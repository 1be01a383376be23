"""Django app config for chat functions: connects the trigger dispatcher to the event bus and the session hook to the
core's registry, and registers checks."""

from django.apps import AppConfig


class FunctionsConfig(AppConfig):
    """The chat functions app."""

    name = "functions"

    def ready(self) -> None:
        """Every committed event may trigger functions (a change to functions renews each process's cache of them),
        the session hook decides websocket sessions, recent
        failures show on each application's dashboard home page, and the renderer learns the functions' resources;
        the settings' checks."""
        from django.core import checks  # noqa: PLC0415
        from django.db.models.signals import post_delete, post_save  # noqa: PLC0415

        from chat.events import COMMITTED_LISTENERS  # noqa: PLC0415  (apps are loaded by now)
        from chat.registries import HOME_PANELS, SESSION_HOOKS  # noqa: PLC0415
        from chat.wire.renderer import Renderer  # noqa: PLC0415
        from functions.admin import function_failures_panel  # noqa: PLC0415
        from functions.checks import functions_folder_apart  # noqa: PLC0415
        from functions.models import ChatFunction  # noqa: PLC0415
        from functions.selectors import function_changed  # noqa: PLC0415
        from functions.triggers import attempt_start_session, dispatch  # noqa: PLC0415
        from functions.wire import RESOURCES  # noqa: PLC0415

        checks.register(functions_folder_apart)
        for signal in (post_save, post_delete):  # each process's cache of triggered functions renews on any change
            signal.connect(function_changed, sender=ChatFunction, dispatch_uid=f"functions-changed-{signal}")
        Renderer.SERIALIZERS.update(RESOURCES)
        if attempt_start_session not in SESSION_HOOKS:
            SESSION_HOOKS.append(attempt_start_session)
        if dispatch not in COMMITTED_LISTENERS:
            COMMITTED_LISTENERS.append(dispatch)
        if function_failures_panel not in HOME_PANELS:
            HOME_PANELS.append(function_failures_panel)
