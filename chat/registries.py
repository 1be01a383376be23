"""Where the other apps plug into the core (DESIGN rule 9): ``chat`` imports none of them; each fills these in its
``AppConfig.ready``."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chat.models import Application

# Decides whether a websocket session may start: None lets it, else the reason it may not. Called with the API key,
# the username and the session's auth params, before the user is authenticated (chat functions' session hook).
SessionHook = Callable[[str, str, Any], Awaitable[str | None]]
SESSION_HOOKS: list[SessionHook] = []


async def refusal_of_session(api_key: str, username: str, auth_params: Any) -> str | None:
    """The first reason a session hook gives to refuse this session, or None when every hook lets it start."""
    for hook in SESSION_HOOKS:
        refusal = await hook(api_key, username, auth_params)
        if refusal is not None:
            return refusal
    return None


@dataclass(frozen=True)
class HomePanel:
    """A section of an application's dashboard home page that another app contributes: its title, the template
    that renders its ``items`` (an empty list reads "None."), a count card's label if it has one, and where it
    stands among the others (``order``, ascending)."""

    title: str
    template: str
    items: list[Any]
    card: str = ""
    order: int = 0


HOME_PANELS: list[Callable[[Application], HomePanel]] = []


def home_panels(application: Application) -> list[HomePanel]:
    """Every contributed panel of ``application``'s home page, in order."""
    return sorted((panel(application) for panel in HOME_PANELS), key=lambda panel: panel.order)
