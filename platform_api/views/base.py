"""What every Platform API view shares: the tenant from the token, input validation, rendering."""

from typing import Any, TypeVar

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.models import Application, ChatUser
from chat.selectors.users import resolve_user
from chat.wire.renderer import Renderer
from chat.wire.reuse import reused

S = TypeVar("S", bound=serializers.Serializer)


class PlatformView(APIView):
    """Base view: ``self.application`` is the tenant the bearer token belongs to."""

    request: Request

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Authenticate and throttle, then refuse query parameters that hold a NUL character (no database column
        can hold one), naming the parameter."""
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise serializers.ValidationError({name.replace("\x00", ""): ["must not contain NUL characters."]})

    @property
    def application(self) -> Application:
        """The authenticated application (``request.user``, set by the token authentication)."""
        user = self.request.user
        assert isinstance(user, Application)  # noqa: S101  (IsApplication guarantees it)
        return user

    @property
    def renderer(self) -> Renderer:
        """This request's renderer."""
        if not hasattr(self, "_renderer"):
            self._renderer = Renderer(self.request.build_absolute_uri("/"))
        return self._renderer

    def validated(self, serializer_class: type[S], data: Any | None = None) -> dict[str, Any]:
        """The request body validated by ``serializer_class`` (400 naming the field otherwise)."""
        payload = self.request.data if data is None else data
        if not isinstance(payload, dict):
            raise serializers.ValidationError({"request": ["The body must be a JSON object."]})
        return dict(reused(serializer_class).run_validation(payload))

    def user_ref(self, reference: Any, field: str = "user") -> ChatUser:
        """Resolve a user reference within this application."""
        return resolve_user(application=self.application, reference=reference, field=field)

    def ok(self, data: Any, status: int = 200) -> Response:
        """A JSON response."""
        return Response(data, status=status)
