"""Django app config for the chat domain."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat domain app."""

    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"
