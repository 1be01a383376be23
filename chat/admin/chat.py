"""The dashboard's users, channels and messages: search and filter them; a user's channels, messages, sessions and
secrets (names only, values hidden); a channel's members, moderators, invites and messages; post a message into a
channel as the system; moderate (delete messages, remove members, delete users and channels, each after
confirmation)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from chat.actions.channels import check_create_channel, check_remove_member, check_update_channel, do_delete_channel
from chat.actions.messages import check_send_message, do_delete_message
from chat.actions.users import check_create_user, check_update_user, do_delete_user
from chat.dashboard import TenantAdmin, adopt, confirm, confirmed_each
from chat.errors import ChatError
from chat.models import Channel, ChannelType, ChatUser, Message, MessageType

RECENT = 20


def _replacing(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that turns ``old`` properties into ``new`` (the form edits them whole)."""
    return {**dict.fromkeys(set(old) - set(new)), **new}


def _table(template: str, **context: Any) -> SafeString:
    return SafeString(render_to_string(f"admin/chat/{template}.html", context))


class ChatUserForm(forms.ModelForm):  # type: ignore[type-arg]
    """A user's name (when new), display name, guest flag and properties."""

    class Meta:
        model = ChatUser
        fields = ("application", "name", "display_name", "is_guest", "properties")

    def clean(self) -> dict[str, Any]:
        """A new user's name is free in the application (as the create action requires)."""
        data = super().clean() or {}
        application, name = data.get("application"), (data.get("name") or "").strip()
        new = self.instance.pk is None and application is not None and name
        if new and ChatUser.objects.filter(application=application, name=name, deleted_time__isnull=True).exists():
            self.add_error("name", f"A user named {name!r} already exists.")
        return data


@admin.register(ChatUser)
class ChatUserAdmin(TenantAdmin):
    """Chat users of the user's applications."""

    form = ChatUserForm
    list_display = ("name", "display_name", "application", "type", "is_guest", "online", "created_time")
    list_filter = ("application", "type", "is_guest", "online", ("deleted_time", admin.EmptyFieldListFilter))
    search_fields = ("name", "display_name")
    list_select_related = ("application",)
    actions = ("delete_users",)
    readonly_details = ("channels", "recent_messages", "sessions", "secrets")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """New users: their application and names; existing ones also show what they belong to and did."""
        if obj is None:
            return ("application", "name", "display_name", "is_guest", "properties")
        return ("application", "name", "display_name", "is_guest", "properties", *self.readonly_details)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A user's application and name never change."""
        return () if obj is None else ("application", "name", *self.readonly_details)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Users are deleted by the action (which keeps their messages' sender), after confirmation."""
        return False

    @admin.display(description="Channels")
    def channels(self, user: ChatUser) -> SafeString:
        """The channels they are a member of."""
        memberships = user.memberships.select_related("channel").order_by("channel__name")
        return _table("user_channels", memberships=memberships)

    @admin.display(description="Recent messages")
    def recent_messages(self, user: ChatUser) -> SafeString:
        """The last messages they sent."""
        return _table("messages", messages=user.messages.select_related("channel").order_by("-id")[:RECENT])

    @admin.display(description="Sessions")
    def sessions(self, user: ChatUser) -> SafeString:
        """Their recent sessions."""
        return _table("user_sessions", sessions=user.sessions.order_by("-id")[:RECENT])

    @admin.display(description="Secrets")
    def secrets(self, user: ChatUser) -> SafeString:
        """Their secrets' names (values stay hidden)."""
        return _table("user_secrets", secrets=user.secrets.order_by("name"))

    def save_model(self, request: HttpRequest, obj: ChatUser, form: Any, change: bool) -> None:
        """Create or change through the user actions."""
        data = form.cleaned_data
        if change:
            check_update_user(
                obj,
                {
                    "display_name": data["display_name"],
                    "is_guest": data["is_guest"],
                    "properties": _replacing(form.initial.get("properties") or {}, data["properties"] or {}),
                },
            )
            return
        user = check_create_user(
            data["application"],
            name=data["name"],
            display_name=data["display_name"],
            is_guest=data["is_guest"],
            properties=data["properties"],
        )
        adopt(obj, user)

    @admin.action(description="Delete the selected users", permissions=["view"])
    def delete_users(self, request: HttpRequest, queryset: QuerySet[ChatUser]) -> HttpResponse | None:
        """Ask, then delete: they leave their channels and lose their secrets; their messages stay."""
        return confirmed_each(
            request,
            self,
            queryset,
            do_delete_user,
            action="delete_users",
            title="Delete these users?",
            warning="They leave every channel and lose their secrets and sessions; their messages stay.",
            yes="Yes, delete them",
            done="Deleted {count} user(s).",
        )


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    """A new group channel: its application, type, name and display name."""

    class Meta:
        model = Channel
        fields = ("application", "type", "name", "display_name", "properties")

    def clean(self) -> dict[str, Any]:
        """A new channel is a group channel with a free name (direct channels are made by their members)."""
        data = super().clean() or {}
        if self.instance.pk is not None:
            return data
        if data.get("type") == ChannelType.DIRECT:
            self.add_error("type", "Direct channels are made by their members; create a public or private one.")
        name, application = (data.get("name") or "").strip(), data.get("application")
        if name and application is not None and Channel.objects.filter(application=application, name=name).exists():
            self.add_error("name", f"A channel named {name!r} already exists.")
        return data


class PostForm(forms.Form):
    """A message the system posts into a channel."""

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(Channel)
class ChannelAdmin(TenantAdmin):
    """Channels of the user's applications."""

    form = ChannelForm
    list_display = ("id", "__str__", "display_name", "type", "application", "members", "created_time")
    list_filter = ("application", "type")
    search_fields = ("name", "display_name")
    list_select_related = ("application",)
    actions = ("delete_channels",)
    change_form_template = "admin/chat/channel/change_form.html"
    readonly_details = ("member_list", "invites", "recent_messages")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        """With their member counts."""
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def members(self, channel: Channel) -> int:
        """How many members."""
        return int(getattr(channel, "member_count", 0))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """New channels: their kind and names; existing ones also their members, invites and messages."""
        if obj is None:
            return ("application", "type", "name", "display_name", "properties")
        return ("application", "type", "name", "display_name", "properties", *self.readonly_details)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A channel's application, type and name never change."""
        return () if obj is None else ("application", "type", "name", *self.readonly_details)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Channels are deleted by the action, after confirmation."""
        return False

    @admin.display(description="Members and moderators")
    def member_list(self, channel: Channel) -> SafeString:
        """Its members, moderators marked, each with a remove link."""
        memberships = channel.memberships.select_related("user").order_by("user__name")
        return _table("channel_members", channel=channel, memberships=memberships)

    @admin.display(description="Invites")
    def invites(self, channel: Channel) -> SafeString:
        """Who is invited."""
        return _table("channel_invites", invites=channel.invites.select_related("user").order_by("-id"))

    @admin.display(description="Recent messages")
    def recent_messages(self, channel: Channel) -> SafeString:
        """Its last messages."""
        found = channel.messages.select_related("user", "channel").order_by("-id")[:RECENT]
        return _table("messages", messages=found)

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        """Create through the channel action (display name and properties are changed through it too)."""
        data = form.cleaned_data
        if change:
            properties = _replacing(form.initial.get("properties") or {}, data["properties"] or {})
            check_update_channel(obj, {"display_name": data["display_name"], "properties": properties})
            return
        channel, _ = check_create_channel(
            data["application"],
            channel_type=data["type"],
            name=data["name"],
            display_name=data["display_name"],
            properties=data["properties"],
        )
        adopt(obj, channel)

    def get_urls(self) -> list[URLPattern]:
        """Posting as the system and removing a member."""
        own = [
            path("<int:channel_id>/post/", self.admin_site.admin_view(self.post), name="chat_channel_post"),
            path(
                "<int:channel_id>/members/<int:user_id>/remove/",
                self.admin_site.admin_view(self.remove_member),
                name="chat_channel_remove_member",
            ),
        ]
        return own + super().get_urls()

    def _channel(self, request: HttpRequest, channel_id: int) -> Channel:
        found = self.get_queryset(request).filter(pk=channel_id).first()
        if found is None:
            raise Http404("No such channel.")
        return found

    def post(self, request: HttpRequest, channel_id: int) -> HttpResponse:
        """A message into the channel, sent by the application itself."""
        channel = self._channel(request, channel_id)
        form = PostForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                check_send_message(channel, message_type=MessageType.TEXT, body=form.cleaned_data["body"])
            except ChatError as error:
                form.add_error("body", error.message)
            else:
                messages.success(request, "Posted as the system.")
                return HttpResponseRedirect(reverse("admin:chat_channel_change", args=[channel.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Post into {channel}",
            "form": form,
            "channel": channel,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/chat/channel/post.html", context)

    def remove_member(self, request: HttpRequest, channel_id: int, user_id: int) -> HttpResponse:
        """Ask, then remove the member."""
        channel = self._channel(request, channel_id)
        membership = channel.memberships.select_related("user").filter(user_id=user_id).first()
        if membership is None:
            raise Http404("No such member.")
        asked = confirm(
            request,
            self,
            action="",
            title=f"Remove {membership.user} from {channel}?",
            warning="They stop receiving the channel's messages; they can be added again.",
            items=[membership.user],
            yes="Yes, remove them",
        )
        if asked is not None:
            return asked
        try:
            check_remove_member(channel, membership.user)
        except ChatError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Removed {membership.user} from {channel}.")
        return HttpResponseRedirect(reverse("admin:chat_channel_change", args=[channel.pk]))

    @admin.action(description="Delete the selected channels", permissions=["view"])
    def delete_channels(self, request: HttpRequest, queryset: QuerySet[Channel]) -> HttpResponse | None:
        """Ask, then delete with their messages."""
        return confirmed_each(
            request,
            self,
            queryset,
            do_delete_channel,
            action="delete_channels",
            title="Delete these channels?",
            warning="Their messages, threads, members and invites go with them. This cannot be undone.",
            yes="Yes, delete them",
            done="Deleted {count} channel(s).",
        )


@admin.register(Message)
class MessageAdmin(TenantAdmin):
    """Messages of the user's applications: search, filter, read, delete after confirmation."""

    list_display = ("id", "channel", "user", "type", "short_body", "created_time")
    list_filter = ("application", "type")
    search_fields = ("body", "user__name", "channel__name")
    list_select_related = ("channel", "user")
    actions = ("delete_messages",)
    show_full_result_count = False

    @admin.display(description="Body")
    def short_body(self, message: Message) -> str:
        """The body's start (or the file's name)."""
        text = message.body or (message.file or {}).get("name", "")
        return text if len(text) <= 80 else text[:79] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Messages are posted from their channel's page (as the system)."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Messages are read, not edited, here."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Messages are deleted by the action, after confirmation."""
        return False

    @admin.action(description="Delete the selected messages", permissions=["view"])
    def delete_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> HttpResponse | None:
        """Ask, then delete (members see them go live)."""
        return confirmed_each(
            request,
            self,
            queryset,
            do_delete_message,
            action="delete_messages",
            title="Delete these messages?",
            warning="Members see them disappear at once. This cannot be undone.",
            yes="Yes, delete them",
            done="Deleted {count} message(s).",
        )
