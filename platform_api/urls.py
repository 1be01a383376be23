"""Routes of the Platform API under /v1: no trailing slashes, no redirects."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from platform_api.views import application, channels, functions, keys, messages, sessions, threads, users

urlpatterns = [
    path(
        "openapi.json", SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]), name="openapi"
    ),
    path(
        "docs",
        SpectacularRedocView.as_view(url_name="openapi", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path("application", application.ApplicationView.as_view()),
    path("application/settings", application.ApplicationSettingsView.as_view()),
    path("application/message-read-receipt-summaries", application.ApplicationReadReceiptSummariesView.as_view()),
    path("users", users.UsersView.as_view()),
    path("users/<int:user_id>", users.UserView.as_view()),
    path("users/<int:user_id>/channels", users.UserChannelsView.as_view()),
    path("users/<int:user_id>/display-picture", users.UserDisplayPictureView.as_view()),
    path("users/<int:user_id>/messages", users.UserMessagesView.as_view()),
    path("users/<int:user_id>/messages/unread/count", users.UserUnreadCountView.as_view()),
    path("users/<int:user_id>/notifications", users.UserNotificationsView.as_view()),
    path("users/<int:user_id>/secrets/<str:name>", users.UserSecretView.as_view()),
    path("channels", channels.ChannelsView.as_view()),
    path("channels/<int:channel_id>", channels.ChannelView.as_view()),
    path("channels/<int:channel_id>/events", channels.ChannelEventsView.as_view()),
    path("channels/<int:channel_id>/invites", channels.ChannelInvitesView.as_view()),
    path("channels/<int:channel_id>/api-keys", keys.RoomKeysView.as_view()),
    path("channels/<int:channel_id>/api-keys/<int:key_id>", keys.RoomKeyView.as_view()),
    path("channels/<int:channel_id>/keystrokes", channels.ChannelKeystrokesView.as_view()),
    path("channels/<int:channel_id>/members", channels.ChannelMembersView.as_view()),
    path("channels/<int:channel_id>/members/<int:user_id>", channels.ChannelMemberView.as_view()),
    path("channels/<int:channel_id>/memberships", channels.ChannelMembershipsView.as_view()),
    path("channels/<int:channel_id>/messages", channels.ChannelMessagesView.as_view()),
    path("channels/<int:channel_id>/moderators", channels.ChannelModeratorsView.as_view()),
    path("channels/<int:channel_id>/moderators/<int:user_id>", channels.ChannelModeratorView.as_view()),
    path("channels/<int:channel_id>/participants", channels.ChannelParticipantsView.as_view()),
    path("channels/<int:channel_id>/reported-messages", channels.ChannelReportedMessagesView.as_view()),
    path("messages", messages.MessagesView.as_view()),
    path("messages/<int:message_id>", messages.MessageView.as_view()),
    path("messages/<int:message_id>/read-receipts", messages.MessageReadReceiptsView.as_view()),
    path("threads/<int:thread_id>", threads.ThreadView.as_view()),
    path("runtimes/nodejs", functions.RuntimeView.as_view()),
    path("runtimes/nodejs/dependencies", functions.RuntimeDependenciesView.as_view()),
    path("runtimes/nodejs/environment-variables", functions.RuntimeEnvironmentView.as_view()),
    path("runtimes/nodejs/initialization-script", functions.RuntimeInitializationScriptView.as_view()),
    path("runtimes/nodejs/functions", functions.RuntimeFunctionsView.as_view()),
    path("functions/<int:function_id>", functions.FunctionView.as_view()),
    path("functions/<int:function_id>/current-version", functions.FunctionCurrentVersionView.as_view()),
    path("functions/<int:function_id>/versions", functions.FunctionVersionsView.as_view()),
    path("functions/<int:function_id>/invocations", functions.FunctionInvocationsView.as_view()),
    path("function-versions/<int:version_id>", functions.FunctionVersionView.as_view()),
    path("threads/<int:thread_id>/keystrokes", threads.ThreadKeystrokesView.as_view()),
    path("threads/<int:thread_id>/messages", threads.ThreadMessagesView.as_view()),
    path("user-sessions", sessions.UserSessionsView.as_view()),
    path("chat-sessions", sessions.ChatSessionsView.as_view()),
]
