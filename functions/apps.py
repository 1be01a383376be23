"""Django app config for chat functions: connects the trigger dispatcher to the event bus."""

from django.apps import AppConfig


class FunctionsConfig(AppConfig):
    """The chat functions app."""

    name = "functions"

    def ready(self) -> None:
        """Every committed event may trigger functions."""
        from chat.events import COMMITTED_LISTENERS  # noqa: PLC0415  (apps are loaded by now)
        from functions.triggers import dispatch  # noqa: PLC0415

        if dispatch not in COMMITTED_LISTENERS:
            COMMITTED_LISTENERS.append(dispatch)
