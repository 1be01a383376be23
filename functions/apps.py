"""Django app config for chat functions."""

from django.apps import AppConfig


class FunctionsConfig(AppConfig):
    """The chat functions app."""

    name = "functions"
