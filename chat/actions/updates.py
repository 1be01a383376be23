"""The tail every update of a resource shares: its properties merge-patched (RFC 7396), only the changed fields
saved, and the change announced after commit; nothing is saved or announced when nothing changed."""

from collections.abc import Callable
from typing import Any

from django.db import models, transaction

from chat.events import Event, send_event_on_commit
from chat.merge_patch import merge_patch


def patch_properties(instance: Any, patch: dict[str, Any], fields: list[str]) -> None:
    """Merge ``patch["properties"]`` into the instance's (``null`` clears them), noting the field as changed."""
    if "properties" in patch:
        instance.properties = (
            merge_patch(instance.properties, patch["properties"]) if patch["properties"] is not None else {}
        )
        fields.append("properties")


def save_changes(instance: models.Model, fields: list[str], event: Callable[[], Event]) -> None:
    """Save the changed fields and announce the change, in one transaction (nothing when nothing changed)."""
    if fields:
        with transaction.atomic():
            instance.save(update_fields=fields)
            send_event_on_commit(event())
