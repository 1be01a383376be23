"""Channels: list, create, read, update, delete; events, invites, keystrokes, members, moderators, messages."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.channels import (
    check_add_member,
    check_add_moderator,
    check_create_channel,
    check_remove_member,
    check_remove_moderator,
    check_send_channel_event,
    check_send_invite,
    check_update_channel,
    do_delete_channel,
    do_send_keystrokes,
)
from chat.models import Channel, ChannelType
from chat.selectors.channels import (
    channel_invites,
    channel_members,
    channel_memberships,
    channel_moderators,
    channel_participants,
    get_channel,
    get_channel_and_user,
    list_channels,
)
from chat.selectors.messages import channel_messages, reported_messages
from chat.selectors.users import get_user
from chat.wire.applications import ApplicationResourceSerializer
from chat.wire.channels import ChannelInviteResourceSerializer, ChannelMembershipResourceSerializer, ChannelResource
from chat.wire.messages import (
    ChannelGenericEventResourceSerializer,
    MessageResource,
    ReplyThreadKeystrokesResourceSerializer,
)
from chat.wire.users import ChatUserResourceSerializer
from platform_api.hal import cursor_page, datetime_param, hal_page, json_object_param
from platform_api.inputs import InputSerializer, PropertiesField, UserReferenceField, UserReferenceSerializer
from platform_api.schema import (
    CURSOR_PARAMETERS,
    MESSAGE_FILTERS,
    PAGE_PARAMETERS,
    PROPERTIES_PARAMETER,
    cursor_paged,
    paged,
)
from platform_api.views.base import PlatformView
from platform_api.views.messages import MessageSending, SendMessageInput

CHANNEL_SORT = {
    "id": "id",
    "name": "name",
    "displayName": "display_name",
    "createdTime": "created_time",
    "type": "type",
}
USER_SORT = {"id": "id", "name": "name", "displayName": "display_name", "createdTime": "created_time"}
MEMBERSHIP_SORT = {"createdTime": "created_time"}
REPORTED_SORT = {"id": "id", "createdTime": "created_time", "reportCount": "report_count"}


class CreateChannelInput(InputSerializer):
    """A new channel: DIRECT by its members, PUBLIC or PRIVATE by an optional unique name."""

    type = serializers.ChoiceField(choices=ChannelType.choices)
    name = serializers.CharField(max_length=256, required=False, allow_blank=True)
    display_name = serializers.CharField(max_length=256, required=False, allow_blank=True)
    creator = UserReferenceField(required=False)
    members = serializers.ListField(child=UserReferenceField(), required=False, max_length=1000)
    properties = PropertiesField(required=False)


class UpdateChannelInput(InputSerializer):
    """A merge patch of a channel."""

    display_name = serializers.CharField(max_length=256, required=False)
    properties = PropertiesField(required=False, allow_null=True)


class ChannelEventInput(InputSerializer):
    """A custom event."""

    type = serializers.CharField(max_length=256)
    properties = PropertiesField()


class InviteInput(InputSerializer):
    """Who to invite."""

    user = UserReferenceField()


class KeystrokesInput(InputSerializer):
    """Keystrokes typed by a user."""

    keys = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    user = UserReferenceField()


class ChannelsView(PlatformView):
    """``/v1/channels``."""

    @extend_schema(
        operation_id="listChannels",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("type", OpenApiTypes.STR, enum=ChannelType.values, description="Filters by type"),
            OpenApiParameter("members", OpenApiTypes.STR, many=True, description="Channels with all these usernames"),
            OpenApiParameter("startTime", OpenApiTypes.DATETIME, description="Created at or after"),
            OpenApiParameter("endTime", OpenApiTypes.DATETIME, description="Created at or before"),
            PROPERTIES_PARAMETER,
        ],
        responses=paged("ChannelResource", "channels", ChannelResource),
    )
    def get(self, request: Request) -> Response:
        """A page of the application's channels."""
        channel_type = request.query_params.get("type")
        if channel_type and channel_type not in ChannelType.values:
            raise serializers.ValidationError({"type": [f"type must be one of {', '.join(ChannelType.values)}."]})
        members = [m for value in request.query_params.getlist("members") for m in value.split(",") if m]
        channels = list_channels(
            application=self.application,
            channel_type=channel_type,
            members=members,
            start_time=datetime_param(request, "startTime"),
            end_time=datetime_param(request, "endTime"),
            properties=json_object_param(request, "properties"),
        )
        return self.ok(hal_page(request, channels, "channels", self.renderer.channels, CHANNEL_SORT))

    @extend_schema(operation_id="createChannel", request=CreateChannelInput, responses=ChannelResource())
    def post(self, request: Request) -> Response:
        """Create a channel, or answer with the equivalent existing one."""
        data = self.validated(CreateChannelInput)
        channel, _ = check_create_channel(
            self.application,
            channel_type=data["type"],
            name=data.get("name"),
            display_name=data.get("display_name"),
            creator=self.user_ref(data["creator"], "creator") if "creator" in data else None,
            members=[self.user_ref(ref, f"members[{i}]") for i, ref in enumerate(data.get("members", []))],
            properties=data.get("properties"),
        )
        return self.ok(
            self.renderer.channel(get_channel(application=self.application, channel_id=channel.pk, for_rendering=True))
        )


class ChannelScoped(PlatformView):
    """Views under one channel."""

    def channel(self, channel_id: int) -> Channel:
        """The channel of this application with this id."""
        return get_channel(application=self.application, channel_id=channel_id)

    def render_channel(self, channel_id: int) -> Response:
        """The channel as it is now."""
        channel = get_channel(application=self.application, channel_id=channel_id, for_rendering=True)
        return self.ok(self.renderer.channel(channel))


class ChannelView(ChannelScoped):
    """``/v1/channels/{id}``."""

    @extend_schema(operation_id="retrieveChannel", responses=ChannelResource())
    def get(self, request: Request, channel_id: int) -> Response:
        """A channel."""
        return self.render_channel(channel_id)

    @extend_schema(operation_id="updateChannel", request=UpdateChannelInput, responses=ChannelResource())
    def patch(self, request: Request, channel_id: int) -> Response:
        """Merge-patch a channel's display name and properties."""
        check_update_channel(self.channel(channel_id), self.validated(UpdateChannelInput))
        return self.render_channel(channel_id)

    @extend_schema(operation_id="deleteChannel", responses={200: ApplicationResourceSerializer})
    def delete(self, request: Request, channel_id: int) -> Response:
        """Delete a channel; answers with the application."""
        do_delete_channel(self.channel(channel_id))
        return self.ok(self.renderer.render("application", self.application))


class ChannelEventsView(ChannelScoped):
    """``/v1/channels/{id}/events``."""

    @extend_schema(
        operation_id="sendChannelEvent", request=ChannelEventInput, responses=ChannelGenericEventResourceSerializer
    )
    def post(self, request: Request, channel_id: int) -> Response:
        """Send a custom event to the channel's live participants."""
        channel = self.channel(channel_id)
        data = self.validated(ChannelEventInput)
        check_send_channel_event(channel, event_type=data["type"], properties=data["properties"])
        links = {"channel": {"href": f"{self.renderer.base_url}/v1/channels/{channel.pk}"}}
        return self.ok({"type": data["type"], "properties": data["properties"], "_links": links})


class ChannelInvitesView(ChannelScoped):
    """``/v1/channels/{id}/invites``."""

    @extend_schema(
        operation_id="listChannelInvites",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChannelInviteResource", "invites", ChannelInviteResourceSerializer),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """Pending invitations to the channel."""
        invites = channel_invites(channel=self.channel(channel_id))
        return self.ok(hal_page(request, invites, "invites", self.renderer.many("invite"), MEMBERSHIP_SORT))

    @extend_schema(operation_id="sendChannelInvite", request=InviteInput, responses=ChannelInviteResourceSerializer)
    def post(self, request: Request, channel_id: int) -> Response:
        """Invite a user to the channel."""
        channel = self.channel(channel_id)
        user = self.user_ref(self.validated(InviteInput)["user"])
        return self.ok(self.renderer.render("invite", check_send_invite(channel, user)))


class ChannelKeystrokesView(ChannelScoped):
    """``/v1/channels/{id}/keystrokes``."""

    @extend_schema(
        operation_id="sendChannelKeystrokes", request=KeystrokesInput, responses=ReplyThreadKeystrokesResourceSerializer
    )
    def post(self, request: Request, channel_id: int) -> Response:
        """Relay keystrokes in the channel on behalf of a user."""
        channel = self.channel(channel_id)
        return keystrokes_response(self, channel.main_thread, self.validated(KeystrokesInput))


def keystrokes_response(view: PlatformView, thread: Any, data: dict[str, Any]) -> Response:
    """Relay keystrokes in a thread and answer with what was relayed."""
    user = view.user_ref(data["user"])
    do_send_keystrokes(thread, user=user, keys=data["keys"])
    links = {"thread": {"href": f"{view.renderer.base_url}/v1/threads/{thread.pk}"}}
    return view.ok({"keys": data["keys"], "username": user.name, "_links": links})


class ChannelMembersView(ChannelScoped):
    """``/v1/channels/{id}/members``."""

    @extend_schema(
        operation_id="listChannelMembers",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChatUserResource", "users", ChatUserResourceSerializer),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """The channel's members."""
        users = channel_members(channel=self.channel(channel_id))
        return self.ok(hal_page(request, users, "users", self.renderer.many("user"), USER_SORT))

    @extend_schema(operation_id="addChannelMember", request=UserReferenceSerializer, responses=ChannelResource())
    def post(self, request: Request, channel_id: int) -> Response:
        """Add a member, named by ``{"id"}`` or ``{"username"}``; answers with the channel."""
        check_add_member(self.channel(channel_id), self.user_ref(request.data, "username"))
        return self.render_channel(channel_id)


class ChannelMemberView(ChannelScoped):
    """``/v1/channels/{id}/members/{user_id}``."""

    @extend_schema(operation_id="removeChannelMember", responses={200: ChannelResource()})
    def delete(self, request: Request, channel_id: int, user_id: int) -> Response:
        """Remove a member; answers with the channel."""
        channel = self.channel(channel_id)
        check_remove_member(channel, get_user(application=self.application, user_id=user_id))
        return self.render_channel(channel_id)


class ChannelMembershipsView(ChannelScoped):
    """``/v1/channels/{id}/memberships``."""

    @extend_schema(
        operation_id="listChannelMemberships",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChannelMembershipResource", "memberships", ChannelMembershipResourceSerializer),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """When each member joined."""
        memberships = channel_memberships(channel=self.channel(channel_id))
        return self.ok(hal_page(request, memberships, "memberships", self.renderer.many("membership"), MEMBERSHIP_SORT))


class ChannelReportedMessagesView(ChannelScoped):
    """``/v1/channels/{id}/reported-messages``."""

    @extend_schema(
        operation_id="listChannelReportedMessages",
        parameters=PAGE_PARAMETERS,
        responses=paged("MessageResource", "messages", MessageResource),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """Messages of the channel that users reported, for its moderators to review."""
        messages = reported_messages(channel=self.channel(channel_id))
        return self.ok(hal_page(request, messages, "messages", self.renderer.messages, REPORTED_SORT, ("-id",)))


class ChannelMessagesView(ChannelScoped, MessageSending):
    """``/v1/channels/{id}/messages``."""

    @extend_schema(
        operation_id="listChannelMessages",
        parameters=[*CURSOR_PARAMETERS, *MESSAGE_FILTERS],
        responses=cursor_paged("MessageResource", "messages", MessageResource),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """The channel's messages, newest first."""
        messages = channel_messages(
            channel=self.channel(channel_id),
            username=request.query_params.get("username"),
            query=request.query_params.get("query"),
        )
        return self.ok(cursor_page(request, messages, "messages", self.renderer.messages))

    @extend_schema(operation_id="sendChannelMessage", request=SendMessageInput, responses=MessageResource())
    def post(self, request: Request, channel_id: int) -> Response:
        """Send a message as a user or as the system."""
        data = self.validated(SendMessageInput)
        channel, user = get_channel_and_user(
            application=self.application, channel_id=channel_id, reference=data.get("user")
        )
        return self.send(data, channel, None, user)


class ChannelModeratorsView(ChannelScoped):
    """``/v1/channels/{id}/moderators``."""

    @extend_schema(
        operation_id="listChannelModerators",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChatUserResource", "users", ChatUserResourceSerializer),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """The channel's moderators."""
        users = channel_moderators(channel=self.channel(channel_id))
        return self.ok(hal_page(request, users, "users", self.renderer.many("user"), USER_SORT))

    @extend_schema(
        operation_id="addChannelModerator", request=UserReferenceSerializer, responses=ChatUserResourceSerializer
    )
    def post(self, request: Request, channel_id: int) -> Response:
        """Make a user a moderator; answers with the user."""
        user = self.user_ref(request.data, "username")
        check_add_moderator(self.channel(channel_id), user)
        return self.ok(self.renderer.user(user))


class ChannelModeratorView(ChannelScoped):
    """``/v1/channels/{id}/moderators/{user_id}``."""

    @extend_schema(operation_id="removeChannelModerator", responses={200: ChannelResource()})
    def delete(self, request: Request, channel_id: int, user_id: int) -> Response:
        """Remove a moderator; answers with the channel."""
        channel = self.channel(channel_id)
        check_remove_moderator(channel, get_user(application=self.application, user_id=user_id))
        return self.render_channel(channel_id)


class ChannelParticipantsView(ChannelScoped):
    """``/v1/channels/{id}/participants``."""

    @extend_schema(
        operation_id="listChannelParticipants",
        parameters=PAGE_PARAMETERS,
        responses=paged("ChatUserResource", "users", ChatUserResourceSerializer),
    )
    def get(self, request: Request, channel_id: int) -> Response:
        """Members online now."""
        users = channel_participants(channel=self.channel(channel_id))
        return self.ok(hal_page(request, users, "users", self.renderer.many("user"), USER_SORT))
