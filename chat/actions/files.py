"""Files people upload through the SDK's streams: stored in the application's folder of the default storage and
described the way messages and display pictures carry files (``type`` HOSTED). Message files (``files/``) are read
with a grant; display pictures (``pictures/``) are public, as the SDK shows them without one."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from chat.models import Application

MAX_FILE_NAME_LENGTH = 200


def save_upload(application: Application, upload: File, *, folder: str) -> tuple[str, str]:
    """Save an uploaded file under ``folder/<application>/<random>/`` of the default storage, by a cleaned version
    of its own name; the storage path and that name."""
    try:
        name = get_valid_filename(PurePath(upload.name or "file").name)[-MAX_FILE_NAME_LENGTH:]
    except Exception:  # noqa: BLE001  (Django raises SuspiciousFileOperation for names it cannot clean)
        name = "file"
    return default_storage.save(f"{folder}/{application.pk}/{uuid.uuid4().hex}/{name}", upload), name


@contextmanager
def stored_upload(
    application: Application, upload: UploadedFile, *, base_url: str, folder: str = "files"
) -> Iterator[dict[str, Any]]:
    """Store an uploaded file in ``folder`` (``files`` or ``pictures``) for the block to use its description (with
    its URL); if the block fails, nothing refers to the file and it is removed again."""
    path, name = save_upload(application, upload, folder=folder)
    try:
        yield describe_file(
            url=f"{base_url}/rtm/{quote(path)}",
            name=name,
            content_type=upload.content_type or "application/octet-stream",
            size=upload.size or 0,
            hosted=True,
        )
    except BaseException:
        default_storage.delete(path)
        raise


def describe_file(*, url: str, name: str, content_type: str, size: int, hosted: bool = False) -> dict[str, Any]:
    """How messages and display pictures carry a file: one linked from elsewhere (EXTERNAL) or uploaded here."""
    return {
        "type": "HOSTED" if hosted else "EXTERNAL",
        "url": url,
        "name": name,
        "contentType": content_type,
        "size": size,
    }


def hosted_file_path(folder: str, application_id: int, key: str, name: str) -> str | None:
    """The storage path of a hosted file (or picture) of an application, if it exists."""
    path = f"{folder}/{application_id}/{key}/{name}"
    return path if default_storage.exists(path) else None
