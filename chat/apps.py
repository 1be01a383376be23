"""Django app config for the chat domain."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat domain app."""

    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the deployment checks."""
        from chat import checks  # noqa: F401, PLC0415  (registers on import)
