"""Top-level routes: the Platform API (/v1), the token endpoint (/oauth/token), the dashboard (/admin), the chat
demo (/demo/), and the browser SDK's uploads and hosted files (/rtm/streams, /rtm/files; its websocket is routed in
``config.asgi``)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from chat.views import demo
from platform_api import push
from platform_api.token import TokenView
from platform_api.views import keys, streams
from platform_api.views.avatars import initials_avatar

handler404 = "platform_api.errors.not_found"
handler500 = "platform_api.errors.internal_error"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("oauth/token", TokenView.as_view(), name="oauth-token"),
    path("v1/", include("platform_api.urls")),
    path("avatars/initials.svg", initials_avatar, name="initials-avatar"),
    path("admin/", admin.site.urls),
    path("demo/", demo, name="demo"),
    path("api/messaging/messages", keys.post_room_message),
    path("wssv/send", push.send),
    path("wssv/send-multi", push.send_multi),
    path("wssv/message", push.messages),
    path("chat/send", push.send),
    path("chat/send-multi", push.send_multi),
    path("channel/subscribe", push.socket_only),
    path("channel/unsubscribe", push.socket_only),
    path("rtm/streams/channels/<int:channel_id>/messages", streams.channel_messages),
    path("rtm/streams/messages/<int:message_id>/replies", streams.message_replies),
    path("rtm/streams/threads/<int:thread_id>/messages", streams.thread_messages),
    path("rtm/streams/user/display_picture", streams.display_picture),
    path("rtm/files/<int:application_id>/<str:key>/<str:name>", streams.hosted_file),
    path("rtm/pictures/<int:application_id>/<str:key>/<str:name>", streams.picture),
]
