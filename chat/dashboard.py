"""What every page of the dashboard (the Django admin) shares: which applications a staff user may run, the
ModelAdmin base that keeps each page to those applications, confirmations of destructive actions, and the numbers of
an application's home page."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, Model, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from chat.models import Application, ChatSession, ChatUser, Message, SessionState, UserSession
from chat.registries import HomePanel, home_panels


def administered_applications(user: Any) -> QuerySet[Application]:
    """The applications a staff user runs: every one for a superuser, else those they are an administrator of."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return Application.objects.none()
    if user.is_superuser:
        return Application.objects.all()
    return Application.objects.filter(administrators=user)


class TenantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A model of the applications' data (it has an ``application``): lists, pages, choices and the application
    filter hold only the user's applications, and another application's row is not found, as in the API."""

    def applications(self, request: HttpRequest) -> QuerySet[Application]:
        """The applications the request's user runs."""
        return administered_applications(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """Only rows of the user's applications."""
        queryset = super().get_queryset(request)
        if request.user.is_superuser:  # type: ignore[union-attr]
            return queryset
        return queryset.filter(application__in=self.applications(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        """The application filter offers the applications of the listed rows only."""
        return [
            ("application", admin.RelatedOnlyFieldListFilter) if name == "application" else name
            for name in super().get_list_filter(request)
        ]

    def _allowed(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:  # type: ignore[union-attr]
            return True
        applications = self.applications(request)
        if obj is not None:
            applications = applications.filter(pk=obj.application_id)
        return applications.exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        """A staff user runs their applications' data whatever Django's model permissions say."""
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Rows of the user's applications."""
        return self._allowed(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Into the user's applications."""
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Rows of the user's applications."""
        return self._allowed(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Rows of the user's applications."""
        return self._allowed(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Choices of applications (and of their rows) limited to the user's applications."""
        if db_field.related_model is Application:
            kwargs["queryset"] = self.applications(request)
        elif hasattr(db_field.related_model, "application") and not request.user.is_superuser:  # type: ignore[union-attr]
            kwargs["queryset"] = db_field.related_model.objects.filter(application__in=self.applications(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def confirm(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    *,
    action: str,
    title: str,
    warning: str,
    items: Sequence[Model],
    yes: str,
) -> TemplateResponse | None:
    """The page that asks before a destructive admin action runs; None once the user has said yes."""
    if request.POST.get("confirmed") == "yes":
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "warning": warning,
        "items": items,
        "action": action,
        "yes": yes,
        "opts": model_admin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def adopt(obj: Model, made: Model) -> None:
    """Make the admin's unsaved ``obj`` the row an action created (so the admin's redirect and log name it)."""
    obj.__dict__.update({key: value for key, value in made.__dict__.items() if not key.startswith("_")})
    obj._state = made._state


def confirmed_each(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    queryset: QuerySet[Any],
    apply: Callable[[Any], object],
    *,
    action: str,
    title: str,
    warning: str,
    yes: str,
    done: str,
) -> TemplateResponse | None:
    """A destructive bulk action: ask first (``confirm``), then ``apply`` to each selected row and say ``done``
    (formatted with the count)."""
    items = list(queryset)
    asked = confirm(request, model_admin, action=action, title=title, warning=warning, items=items, yes=yes)
    if asked is not None:
        return asked
    for item in items:
        apply(item)
    messages.success(request, done.format(count=len(items)))
    return None


@dataclass(frozen=True)
class Overview:
    """The numbers of an application's home page."""

    users: int
    channels: int
    messages: int
    per_day: list[tuple[date, int]]
    online: list[ChatUser]
    live_sessions: int
    live_chats: int
    panels: list[HomePanel]

    @property
    def recent(self) -> int:
        """Messages over the chart's days."""
        return sum(count for _, count in self.per_day)

    @property
    def busiest_day(self) -> int:
        """The largest daily count of the chart (1 at least, to scale bars by)."""
        return max([count for _, count in self.per_day] + [1])


def overview(application: Application, days: int = 30) -> Overview:
    """Counts, messages per day over ``days`` days, who is online, live sessions, and the other apps' panels."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counted = dict(
        Message.objects.filter(application=application, created_time__date__gte=first)
        .annotate(day=TruncDate("created_time"))
        .values_list("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    return Overview(
        users=ChatUser.objects.filter(application=application, deleted_time__isnull=True).count(),
        channels=application.channels.count(),
        messages=Message.objects.filter(application=application).count(),
        per_day=[(first + timedelta(days=n), counted.get(first + timedelta(days=n), 0)) for n in range(days)],
        online=list(ChatUser.objects.filter(application=application, online=True).order_by("name")[:50]),
        live_sessions=UserSession.objects.filter(application=application, state=SessionState.ACTIVE).count(),
        live_chats=ChatSession.objects.filter(application=application, state=SessionState.ACTIVE).count(),
        panels=home_panels(application),
    )
