"""Django app config for the Platform API."""

from django.apps import AppConfig


class PlatformApiConfig(AppConfig):
    """The Platform API app."""

    name = "platform_api"
