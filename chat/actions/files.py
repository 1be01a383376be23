"""Files people upload through the SDK's streams: stored in the application's folder of the default storage and
described the way messages and display pictures carry files (``type`` HOSTED). Message files (``files/``) are read
with a grant; display pictures (``pictures/``) are public, as the SDK shows them without one."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from chat.models import Application

MAX_FILE_NAME_LENGTH = 200


@contextmanager
def stored_upload(
    application: Application, upload: UploadedFile, *, base_url: str, folder: str = "files"
) -> Iterator[dict[str, Any]]:
    """Store an uploaded file in ``folder`` (``files`` or ``pictures``) for the block to use its description (with
    its URL); if the block fails, nothing refers to the file and it is removed again."""
    try:
        name = get_valid_filename(PurePath(upload.name or "file").name)[-MAX_FILE_NAME_LENGTH:]
    except Exception:  # noqa: BLE001  (Django raises SuspiciousFileOperation for names it cannot clean)
        name = "file"
    path = default_storage.save(f"{folder}/{application.pk}/{uuid.uuid4().hex}/{name}", upload)
    try:
        yield {
            "type": "HOSTED",
            "url": f"{base_url}/rtm/{quote(path)}",
            "name": name,
            "contentType": upload.content_type or "application/octet-stream",
            "size": upload.size or 0,
        }
    except BaseException:
        default_storage.delete(path)
        raise


def hosted_file_path(folder: str, application_id: int, key: str, name: str) -> str | None:
    """The storage path of a hosted file (or picture) of an application, if it exists."""
    path = f"{folder}/{application_id}/{key}/{name}"
    return path if default_storage.exists(path) else None
