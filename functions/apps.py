"""Django app config for chat functions: connects the trigger dispatcher to the event bus and registers checks."""

from django.apps import AppConfig


class FunctionsConfig(AppConfig):
    """The chat functions app."""

    name = "functions"

    def ready(self) -> None:
        """Every committed event may trigger functions; the settings' checks."""
        from django.core import checks  # noqa: PLC0415

        from chat.events import COMMITTED_LISTENERS  # noqa: PLC0415  (apps are loaded by now)
        from functions.checks import functions_folder_apart  # noqa: PLC0415

        checks.register(functions_folder_apart)
        from functions.triggers import dispatch  # noqa: PLC0415

        if dispatch not in COMMITTED_LISTENERS:
            COMMITTED_LISTENERS.append(dispatch)
