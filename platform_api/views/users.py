"""Users: list, create, check, read, update, delete; their channels, messages, notifications, picture and secrets."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.users import (
    check_create_user,
    check_remove_user_secret,
    check_set_user_secret,
    check_update_display_picture,
    check_update_user,
    do_delete_user,
)
from chat.models import ChatUser, UserType
from chat.selectors.channels import user_channels
from chat.selectors.messages import sent_messages, unread_messages
from chat.selectors.users import get_user, get_user_secret, list_users, live_users, user_notifications
from chat.wire.applications import ApplicationResourceSerializer
from chat.wire.channels import ChannelResource
from chat.wire.messages import MessageResource
from chat.wire.notifications import NotificationResourceSerializer
from chat.wire.users import ChatUserResourceSerializer, SecretResourceSerializer
from platform_api.hal import bool_param, cursor_page, hal_page, json_object_param
from platform_api.inputs import InputSerializer, PropertiesField
from platform_api.schema import CURSOR_PARAMETERS, PAGE_PARAMETERS, PROPERTIES_PARAMETER, cursor_paged, paged
from platform_api.views.base import PlatformView
from platform_api.views.channels import CHANNEL_SORT, USER_SORT


class CreateUserInput(InputSerializer):
    """A new person user."""

    name = serializers.CharField(max_length=256)
    display_name = serializers.CharField(max_length=256, required=False)
    is_guest = serializers.BooleanField(required=False, default=False)
    properties = PropertiesField(required=False)
    type = serializers.ChoiceField(choices=UserType.choices, required=False, default=UserType.PERSON)


class PresencePatch(InputSerializer):
    """A presence status to set."""

    status = serializers.CharField(max_length=64, required=False)


class UpdateUserInput(InputSerializer):
    """A merge patch of a user."""

    display_name = serializers.CharField(max_length=256, required=False)
    is_guest = serializers.BooleanField(required=False)
    presence = PresencePatch(required=False)
    properties = PropertiesField(required=False, allow_null=True)


class DisplayPictureInput(InputSerializer):
    """An external file to use as a display picture."""

    url = serializers.URLField(max_length=2048)
    name = serializers.CharField(max_length=256)
    content_type = serializers.CharField(max_length=256)
    size = serializers.IntegerField(min_value=0)


class UsersView(PlatformView):
    """``/v1/users``."""

    @extend_schema(
        operation_id="listUsers",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("name", OpenApiTypes.STR, description="Filters by username"),
            PROPERTIES_PARAMETER,
            OpenApiParameter(
                "unread", OpenApiTypes.BOOL, description="true: users with unread messages; false: users without"
            ),
        ],
        responses=paged("ChatUserResource", "users", ChatUserResourceSerializer),
    )
    def get(self, request: Request) -> Response:
        """A page of the application's users."""
        users = list_users(
            application=self.application,
            name=request.query_params.get("name"),
            properties=json_object_param(request, "properties"),
            unread=bool_param(request, "unread"),
        )
        return self.ok(hal_page(request, users, "users", self.renderer.many("user"), USER_SORT))

    @extend_schema(operation_id="createUser", request=CreateUserInput, responses=ChatUserResourceSerializer)
    def post(self, request: Request) -> Response:
        """Create a user; 409 if the name is taken."""
        data = self.validated(CreateUserInput)
        user = check_create_user(
            self.application,
            name=data["name"],
            display_name=data.get("display_name"),
            is_guest=data["is_guest"],
            properties=data.get("properties"),
            user_type=data["type"],
        )
        return self.ok(self.renderer.user(user))

    @extend_schema(
        operation_id="checkUserExists",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, required=True, description="Username")],
        responses={200: None, 404: None},
    )
    def head(self, request: Request) -> Response:
        """200 if a user has this name, 404 if not."""
        name = request.query_params.get("name")
        if not name:
            raise ValidationError({"name": ["name is required."]})
        exists = live_users(application=self.application).filter(name=name).exists()
        return Response(status=200 if exists else 404)


class UserScoped(PlatformView):
    """Views under one user."""

    def user(self, user_id: int) -> ChatUser:
        """The user of this application with this id."""
        return get_user(application=self.application, user_id=user_id)


class UserView(UserScoped):
    """``/v1/users/{id}``."""

    @extend_schema(operation_id="retrieveUser", responses=ChatUserResourceSerializer)
    def get(self, request: Request, user_id: int) -> Response:
        """A user."""
        return self.ok(self.renderer.user(self.user(user_id)))

    @extend_schema(operation_id="updateUser", request=UpdateUserInput, responses=ChatUserResourceSerializer)
    def patch(self, request: Request, user_id: int) -> Response:
        """Merge-patch a user."""
        user = self.user(user_id)
        data = self.validated(UpdateUserInput)
        if "presence" in data:
            data["presence_status"] = data.pop("presence").get("status")
        return self.ok(self.renderer.user(check_update_user(user, data)))

    @extend_schema(operation_id="deleteUser", responses={200: ApplicationResourceSerializer})
    def delete(self, request: Request, user_id: int) -> Response:
        """Delete a user; answers with the application."""
        do_delete_user(self.user(user_id))
        return self.ok(self.renderer.render("application", self.application))


class UserChannelsView(UserScoped):
    """``/v1/users/{id}/channels``."""

    @extend_schema(
        operation_id="listUserChannels",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChannelResource", "channels", ChannelResource),
    )
    def get(self, request: Request, user_id: int) -> Response:
        """Channels the user created or joined."""
        channels = user_channels(user=self.user(user_id))
        return self.ok(hal_page(request, channels, "channels", self.renderer.channels, CHANNEL_SORT))


class UserDisplayPictureView(UserScoped):
    """``/v1/users/{id}/display-picture``."""

    @extend_schema(
        operation_id="updateUserDisplayPicture", request=DisplayPictureInput, responses=ChatUserResourceSerializer
    )
    def post(self, request: Request, user_id: int) -> Response:
        """Use an external file as the user's display picture."""
        user = self.user(user_id)
        data = self.validated(DisplayPictureInput)
        return self.ok(self.renderer.user(check_update_display_picture(user, **data)))


class UserMessagesView(UserScoped):
    """``/v1/users/{id}/messages``."""

    @extend_schema(
        operation_id="listUserMessages",
        parameters=[
            *CURSOR_PARAMETERS,
            OpenApiParameter(
                "unread", OpenApiTypes.BOOL, description="true: messages the user has not read yet; else messages sent"
            ),
        ],
        responses=cursor_paged("MessageResource", "messages", MessageResource),
    )
    def get(self, request: Request, user_id: int) -> Response:
        """Messages the user sent or, with ``unread=true``, messages in their channels they have not read."""
        user = self.user(user_id)
        messages = unread_messages(user=user) if bool_param(request, "unread") else sent_messages(user=user)
        return self.ok(cursor_page(request, messages, "messages", self.renderer.messages))


class UserUnreadCountView(UserScoped):
    """``/v1/users/{id}/messages/unread/count``."""

    @extend_schema(
        operation_id="countUserUnreadMessages",
        responses=inline_serializer("CountResource", {"count": serializers.IntegerField()}),
    )
    def get(self, request: Request, user_id: int) -> Response:
        """How many messages the user has not read."""
        return self.ok({"count": unread_messages(user=self.user(user_id)).count()})


class UserNotificationsView(UserScoped):
    """``/v1/users/{id}/notifications``."""

    @extend_schema(
        operation_id="listUserNotifications",
        parameters=CURSOR_PARAMETERS,
        responses=cursor_paged("NotificationResource", "notifications", NotificationResourceSerializer),
    )
    def get(self, request: Request, user_id: int) -> Response:
        """Notifications the user received, newest first."""
        notifications = user_notifications(user=self.user(user_id))
        return self.ok(cursor_page(request, notifications, "notifications", self.renderer.many("notification")))


class UserSecretView(UserScoped):
    """``/v1/users/{id}/secrets/{name}``."""

    @extend_schema(operation_id="retrieveUserSecret", responses=SecretResourceSerializer)
    def get(self, request: Request, user_id: int, name: str) -> Response:
        """A secret's value."""
        secret = get_user_secret(user=self.user(user_id), name=name)
        return self.ok({"secret": secret.value})

    @extend_schema(operation_id="setUserSecret", request=SecretResourceSerializer, responses=ChatUserResourceSerializer)
    def put(self, request: Request, user_id: int, name: str) -> Response:
        """Set a secret's value (any JSON); answers with the user."""
        user = self.user(user_id)
        body: Any = request.data
        if not isinstance(body, dict) or body.get("secret") is None:
            raise ValidationError({"secret": ["secret is required (any JSON value but null)."]})
        check_set_user_secret(user, name, body["secret"])
        return self.ok(self.renderer.user(user))

    @extend_schema(operation_id="removeUserSecret", responses={200: ChatUserResourceSerializer})
    def delete(self, request: Request, user_id: int, name: str) -> Response:
        """Remove a secret; answers with the user."""
        user = self.user(user_id)
        check_remove_user_secret(user, name)
        return self.ok(self.renderer.user(user))
