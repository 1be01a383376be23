"""Django app config for the Platform API."""

from django.apps import AppConfig


class PlatformApiConfig(AppConfig):
    """The Platform API app."""

    name = "platform_api"

    def ready(self) -> None:
        """Keep each process's cache of token applications true (``platform_api.auth``)."""
        from django.db.models.signals import post_delete, post_save  # noqa: PLC0415
        from oauth2_provider.models import AccessToken  # noqa: PLC0415
        from oauth2_provider.models import Application as OAuthClient  # noqa: PLC0415

        from chat.models import Application  # noqa: PLC0415
        from platform_api.auth import tokens_changed  # noqa: PLC0415

        for model in (AccessToken, OAuthClient, Application):
            for signal in (post_save, post_delete):
                signal.connect(tokens_changed, sender=model, dispatch_uid=f"tokens-{model._meta.label}-{signal}")
