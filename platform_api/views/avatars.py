"""Generated display pictures: a user without one gets a circle with their initials."""

import hashlib
from xml.sax.saxutils import escape

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from platform_api.views.streams import user_content

PALETTE = ("#2563eb", "#7c3aed", "#db2777", "#dc2626", "#ea580c", "#16a34a", "#0891b2", "#4f46e5")


def initials(name: str) -> str:
    """Up to two initials of a display name."""
    words = [word for word in name.split() if word]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


@require_GET
@cache_control(public=True, max_age=86400)
def initials_avatar(request: HttpRequest) -> HttpResponse:
    """An SVG avatar for ``?name=``, its colour stable per name."""
    name = request.GET.get("name", "")[:256]
    colour = PALETTE[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(PALETTE)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">'
        f'<circle cx="64" cy="64" r="64" fill="{colour}"/>'
        '<text x="64" y="64" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="52" fill="#fff">'
        f"{escape(initials(name))}</text></svg>"
    )
    return user_content(HttpResponse(svg, content_type="image/svg+xml"))
