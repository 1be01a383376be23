"""Parley's routes plus ``POST /bench/insert``: a bare DRF view that stores one message row and nothing else."""

from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.models import Message, MessageType
from config.urls import handler404, handler500
from config.urls import urlpatterns as parley_urlpatterns


class BareInsertView(APIView):
    """The ceiling: parse JSON, insert one row with the ORM, answer JSON; no auth, checks, notifications or events."""

    authentication_classes = ()
    permission_classes = ()

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        """Insert the message described by the body."""
        data: dict[str, Any] = request.data  # type: ignore[assignment]
        message = Message.objects.create(
            application_id=data["application"],
            channel_id=data["channel"],
            thread_id=data["thread"],
            user_id=data["user"],
            type=MessageType.TEXT,
            body=data["body"],
        )
        return Response({"id": message.pk}, status=201)


urlpatterns = [path("bench/insert", BareInsertView.as_view()), *parley_urlpatterns]
__all__ = ["handler404", "handler500", "urlpatterns"]
