"""The authenticated application and its settings."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.applications import check_update_application_settings
from chat.models import Application
from chat.selectors.messages import read_receipt_summaries
from chat.wire.applications import ApplicationResourceSerializer, ApplicationSettingsResourceSerializer
from chat.wire.channels import MessageReadReceiptSummaryResourceSerializer
from platform_api.hal import hal_page
from platform_api.inputs import InputSerializer
from platform_api.schema import PAGE_PARAMETERS, paged
from platform_api.views.base import PlatformView

SUMMARY_SORT = {"count": "unread_count", "createdTime": "created_time", "lastReadTime": "last_read_time"}


class ApplicationView(PlatformView):
    """``/v1/application``."""

    @extend_schema(operation_id="retrieveAuthenticatedApplication", responses=ApplicationResourceSerializer)
    def get(self, request: Request) -> Response:
        """The application the token belongs to."""
        return self.ok(self.renderer.render("application", self.application))


class SettingsInput(InputSerializer):
    """New settings; an absent toggle stays as it is."""

    guest_users = serializers.ChoiceField(choices=Application.Toggle.choices, required=False)
    user_created_channels = serializers.ChoiceField(choices=Application.Toggle.choices, required=False)
    session_authentication = serializers.ChoiceField(choices=Application.SessionAuthentication.choices, required=False)
    session_token_public_key = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class ApplicationSettingsView(PlatformView):
    """``/v1/application/settings``."""

    @extend_schema(
        operation_id="retrieveAuthenticatedApplicationSettings", responses=ApplicationSettingsResourceSerializer
    )
    def get(self, request: Request) -> Response:
        """The application's feature toggles."""
        return self.ok(self.renderer.render("settings", self.application))

    @extend_schema(
        operation_id="updateAuthenticatedApplicationSettings",
        request=SettingsInput,
        responses=ApplicationSettingsResourceSerializer,
    )
    def put(self, request: Request) -> Response:
        """Change the feature toggles."""
        data = self.validated(SettingsInput)
        application = check_update_application_settings(
            self.application,
            guest_users=data.get("guest_users"),
            user_created_channels=data.get("user_created_channels"),
            session_authentication=data.get("session_authentication"),
            session_token_public_key=data.get("session_token_public_key"),
        )
        return self.ok(self.renderer.render("settings", application))


class ApplicationReadReceiptSummariesView(PlatformView):
    """``/v1/application/message-read-receipt-summaries``."""

    @extend_schema(
        operation_id="retrieveApplicationMessageReadReceiptSummaries",
        parameters=PAGE_PARAMETERS,
        responses=paged("MessageReadReceiptSummaryResource", "summaries", MessageReadReceiptSummaryResourceSerializer),
    )
    def get(self, request: Request) -> Response:
        """For every member with unread messages, how many of the channel's messages they have not read."""
        summaries = read_receipt_summaries(application=self.application)
        return self.ok(hal_page(request, summaries, "summaries", self.renderer.many("receipt_summary"), SUMMARY_SORT))
