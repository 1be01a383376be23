"""Pages Parley serves besides the APIs and the dashboard: the browser chat demo."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from chat.selectors.applications import demo_application


def demo(request: HttpRequest) -> HttpResponse:
    """The chat demo: pick a name and chat live in the demo application, through the @chatkitty/core browser SDK."""
    application = demo_application()
    if application is None:
        return render(request, "chat/demo_missing.html", status=404)
    return render(request, "chat/demo.html", {"application": application})
