"""System checks of chat functions' settings: function folders are mounted into tenants' sandboxes, so they may never
lie inside the state directory that holds the database, media and credentials."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def functions_folder_apart(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``PARLEY_FUNCTIONS_DIR`` is neither inside nor around the state directory or the media root."""
    folder = Path(settings.PARLEY_FUNCTIONS_DIR).resolve()
    errors: list[CheckMessage] = []
    for name in ("STATE_DIR", "MEDIA_ROOT"):
        guarded = Path(getattr(settings, name)).resolve()
        if folder.is_relative_to(guarded) or guarded.is_relative_to(folder):
            errors.append(
                Error(
                    f"PARLEY_FUNCTIONS_DIR ({folder}) overlaps {name} ({guarded}): tenants' sandboxes would see it.",
                    hint="Set PARLEY_FUNCTIONS_DIR to a folder of its own.",
                    id="functions.E001",
                )
            )
    return errors
