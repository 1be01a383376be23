"""The ASGI entry point (``config.asgi:application``): ``/healthz`` and ``/readyz`` (``config.health``), ``/metrics``
(``config.metrics``), HTTP through Django (request bodies bounded before they are read; one thread hop a request:
``config.handler``), websockets through Channels (the browser SDK's STOMP at ``/rtm/websocket``, the socket service's
sails.io at ``/socket.io/``)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from config.handler import ParleyASGIHandler  # noqa: E402  (Django must be set up first)

django_application = ParleyASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (Django must be set up first)
from django.urls import path  # noqa: E402

from chat.realtime.consumer import StompConsumer  # noqa: E402
from chat.realtime.sails import SailsConsumer  # noqa: E402
from config.bodies import body_limit  # noqa: E402
from config.health import health  # noqa: E402
from config.metrics import metrics_endpoint  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": health(metrics_endpoint(body_limit(django_application))),
        "websocket": URLRouter(
            [path("rtm/websocket", StompConsumer.as_asgi()), path("socket.io/", SailsConsumer.as_asgi())]
        ),
    }
)
