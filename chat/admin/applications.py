"""The dashboard's applications: create one (its secret shown once), its home page, settings, credentials (rotate
after confirmation) and the staff users who run it."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken
from oauth2_provider.models import Application as OAuthClient

from chat.actions.applications import (
    check_create_application,
    check_rename_application,
    check_update_application_settings,
    do_rotate_application_secret,
    do_rotate_push_secret,
    do_set_application_administrators,
)
from chat.dashboard import administered_applications, adopt, confirm, overview
from chat.errors import ChatError
from chat.models import Application

# Credentials are managed as applications' (their OAuth clients and tokens are details of those): not on their own.
for oauth_model in (OAuthClient, AccessToken, Grant, IDToken, RefreshToken):
    if admin.site.is_registered(oauth_model):
        admin.site.unregister(oauth_model)

admin.site.site_header = "Parley"
admin.site.site_title = "Parley dashboard"
admin.site.index_title = "Dashboard"

UNSAFE_SESSIONS = (
    "sessions are UNSECURED: anyone who knows the application key and a username logs in as that user. Choose "
    "SIGNED_TOKEN and set the public key of your backend's session tokens."
)
SETTINGS_FIELDS = ("guest_users", "user_created_channels", "session_authentication", "session_token_public_key")


class ApplicationForm(forms.ModelForm):  # type: ignore[type-arg]
    """An application's name, settings and administrators; the settings are checked by the settings action."""

    class Meta:
        model = Application
        fields = ("name", *SETTINGS_FIELDS, "administrators")
        widgets = {"session_token_public_key": forms.Textarea(attrs={"rows": 4, "cols": 70})}
        help_texts = {
            "session_authentication": "SIGNED_TOKEN: a session needs a JWT your backend signs (set its public key "
            "below). UNSECURED: the username alone logs in, so anyone may be anyone (development and demos only)."
        }

    def clean(self) -> dict[str, Any]:
        """Name the field the settings action refuses."""
        data = super().clean() or {}
        if self.instance.pk is None:
            return data
        probe = Application.objects.get(pk=self.instance.pk)
        try:
            with transaction.atomic():
                check_update_application_settings(probe, **{name: data.get(name) for name in SETTINGS_FIELDS})
                transaction.set_rollback(True)
        except ChatError as error:
            field = {"sessionTokenPublicKey": "session_token_public_key"}.get(error.field or "")
            self.add_error(field, error.message)
        return data


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Applications: create one (its secret shown once), its home page, settings, credentials and who runs it."""

    form = ApplicationForm
    list_display = (
        "name",
        "home_link",
        "key",
        "guest_users",
        "user_created_channels",
        "sessions",
        "created_time",
    )
    search_fields = ("name", "key")
    readonly_fields = ("key", "created_time")
    filter_horizontal = ("administrators",)
    change_form_template = "admin/chat/application/change_form.html"

    @admin.display(description="Sessions", ordering="session_authentication")
    def sessions(self, application: Application) -> str:
        """How sessions prove their user; UNSECURED is marked unsafe."""
        if application.session_authentication == Application.SessionAuthentication.UNSECURED:
            return format_html('<strong class="parley-unsafe" title="{}">UNSECURED (unsafe)</strong>', UNSAFE_SESSIONS)
        return str(application.session_authentication)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Warn on an application whose users anyone may impersonate."""
        found = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if found is not None and found.session_authentication == Application.SessionAuthentication.UNSECURED:
            messages.warning(request, f"Unsafe: {UNSAFE_SESSIONS}")
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Home page")
    def home_link(self, application: Application) -> str:
        """A link to the application's home page."""
        return format_html('<a href="{}">Home</a>', reverse("admin:chat_application_home", args=[application.pk]))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Application]:
        """The user's applications."""
        return administered_applications(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Every staff user sees the applications they run."""
        return bool(getattr(request.user, "is_staff", False))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Their applications."""
        return obj is None or administered_applications(request.user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Their applications."""
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Any staff user may start an application (and runs it then)."""
        return bool(getattr(request.user, "is_staff", False))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Applications are not deleted from the dashboard (their data would go with them)."""
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """A new application needs its name and the choice of how sessions prove their user; administrators are a
        superuser's to set."""
        if obj is None:
            return ("name", "session_authentication")
        fields = ["name", "key", *SETTINGS_FIELDS, "created_time"]
        return [*fields, "administrators"] if request.user.is_superuser else fields  # type: ignore[union-attr]

    def save_model(self, request: HttpRequest, obj: Application, form: Any, change: bool) -> None:
        """Create (the secret shown this once) or change the settings, through the actions."""
        if not change:
            application, secret = check_create_application(
                form.cleaned_data["name"], session_authentication=form.cleaned_data["session_authentication"]
            )
            if not request.user.is_superuser:  # type: ignore[union-attr]
                do_set_application_administrators(application, [request.user])
            push_secret = do_rotate_push_secret(application)
            adopt(obj, application)
            messages.warning(
                request,
                f"Client id {application.key} — client secret {secret} — socket service secret {push_secret} — copy "
                "the secrets now: they are not shown again.",
            )
            return
        check_update_application_settings(obj, **{name: form.cleaned_data[name] for name in SETTINGS_FIELDS})
        if "name" in form.changed_data:
            check_rename_application(obj, form.cleaned_data["name"])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Administrators through the action (only a superuser's form has them)."""
        if "administrators" in form.cleaned_data:
            do_set_application_administrators(form.instance, form.cleaned_data["administrators"])

    def get_urls(self) -> list[URLPattern]:
        """The home page and the rotation of the secret."""
        own = [
            path("<int:application_id>/home/", self.admin_site.admin_view(self.home), name="chat_application_home"),
            path(
                "<int:application_id>/rotate/", self.admin_site.admin_view(self.rotate), name="chat_application_rotate"
            ),
            path(
                "<int:application_id>/rotate-push/",
                self.admin_site.admin_view(self.rotate_push),
                name="chat_application_rotate_push",
            ),
        ]
        return own + super().get_urls()

    def _application(self, request: HttpRequest, application_id: int) -> Application:
        found = administered_applications(request.user).filter(pk=application_id).first()
        if found is None:
            raise Http404("No such application.")
        return found

    def home(self, request: HttpRequest, application_id: int) -> HttpResponse:
        """Counts, messages per day, who is online, live sessions, running jobs and recent function failures."""
        application = self._application(request, application_id)
        context = {
            **self.admin_site.each_context(request),
            "title": application.name,
            "application": application,
            "overview": overview(application),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/chat/application/home.html", context)

    def rotate(self, request: HttpRequest, application_id: int) -> HttpResponse:
        """Ask, then give the application a new secret (shown once) and revoke every token of the old one."""
        return self._rotate(
            request,
            application_id,
            what="secret",
            shown="client secret",
            warning="Backends using the current secret stop working and every token issued with it is revoked.",
            rotate=do_rotate_application_secret,
        )

    def rotate_push(self, request: HttpRequest, application_id: int) -> HttpResponse:
        """Ask, then give the application a new socket service secret (shown once)."""
        return self._rotate(
            request,
            application_id,
            what="socket service secret",
            shown="socket service secret",
            warning="Backends pushing with the current socket service secret stop working.",
            rotate=do_rotate_push_secret,
        )

    def _rotate(
        self,
        request: HttpRequest,
        application_id: int,
        *,
        what: str,
        shown: str,
        warning: str,
        rotate: Callable[[Application], str],
    ) -> HttpResponse:
        application = self._application(request, application_id)
        asked = confirm(
            request,
            self,
            action="",
            title=f"Rotate the {what} of {application.name}?",
            warning=warning,
            items=[application],
            yes=f"Yes, rotate the {what}",
        )
        if asked is not None:
            return asked
        messages.warning(request, f"New {shown} {rotate(application)} — copy it now: it is not shown again.")
        return HttpResponseRedirect(reverse("admin:chat_application_change", args=[application.pk]))
