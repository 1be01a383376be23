"""The dashboard's room API keys: create one for a channel (its secret is shown once), see when each was last used,
revoke after confirmation."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from chat.actions.keys import check_create_room_key, do_revoke_room_key
from chat.dashboard import TenantAdmin, adopt, confirmed_each
from chat.models import Channel, ChannelType, RoomKey


class RoomKeyCreateForm(forms.ModelForm):  # type: ignore[type-arg]
    """A new key: a group channel and the name its messages are sent under."""

    channel = forms.ModelChoiceField(queryset=Channel.objects.exclude(type=ChannelType.DIRECT).order_by("name"))

    class Meta:
        model = RoomKey
        fields = ("channel", "display_name")


@admin.register(RoomKey)
class RoomKeyAdmin(TenantAdmin):
    """Room API keys: create one for a channel (its secret is shown once), see when each was last used, revoke."""

    list_display = ("display_name", "channel", "prefix", "created_by", "created_time", "last_used_time", "revoked_time")
    list_filter = ("application", ("revoked_time", admin.EmptyFieldListFilter))
    search_fields = ("display_name", "channel__name", "prefix")
    list_select_related = ("channel", "created_by")
    readonly_fields = (
        "application",
        "channel",
        "display_name",
        "prefix",
        "bot",
        "created_by",
        "created_time",
        "last_used_time",
        "revoked_time",
    )
    actions = ("revoke",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        """The create form when adding; keys are never edited."""
        if obj is None:
            kwargs["form"] = RoomKeyCreateForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            channels = form.base_fields["channel"]
            channels.queryset = channels.queryset.filter(application__in=self.applications(request))  # type: ignore[attr-defined]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Everything is read-only once the key exists."""
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: RoomKey, form: Any, change: bool) -> None:
        """Create through the one write path, and show the secret this once."""
        room_key, key = check_create_room_key(form.cleaned_data["channel"], display_name=obj.display_name)
        adopt(obj, room_key)
        messages.warning(
            request, f"The key of “{room_key.display_name}” is {key} — copy it now: it is not shown again."
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Keys are created and revoked, never edited."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Keys are revoked (the record stays), not deleted."""
        return False

    @admin.action(description="Revoke the selected keys", permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[RoomKey]) -> HttpResponse | None:
        """Ask for confirmation, then revoke."""
        return confirmed_each(
            request,
            self,
            queryset,
            do_revoke_room_key,
            action="revoke",
            title="Revoke room API keys?",
            warning="Scripts that post with these keys will be refused at once. This cannot be undone.",
            yes="Yes, revoke",
            done="Revoked {count} key(s); scripts using them are refused from now on.",
        )
