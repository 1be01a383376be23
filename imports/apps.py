"""Django app config for import and export jobs."""

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """The imports app."""

    name = "imports"
