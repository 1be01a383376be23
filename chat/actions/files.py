"""Files people upload through the SDK's streams: stored in the application's folder of the default storage and
described the way messages and display pictures carry files (``type`` HOSTED). Message files (``files/``) are read
with a grant; display pictures (``pictures/``) are public, as the SDK shows them without one.

A file's type is decided here from its bytes, never from the name or type the client declared: a raster image that
Pillow recognizes (PNG, JPEG, GIF, WebP), another kind ``filetype`` recognizes by its signature, ``text/plain`` for
UTF-8 text (HTML and SVG included: they are never served as pages), or ``application/octet-stream``. Display
pictures must decode whole as such an image."""

import re
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename
from PIL import Image

from chat.bounds import MAX_NAME_LENGTH
from chat.errors import Invalid
from chat.models import Application

MAX_FILE_NAME_LENGTH = 200
STORED_KEY = re.compile(r"[0-9a-f]{32}")
RASTER_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
SNIFFED_BYTES = 8192
MAX_PICTURE_PIXELS = 40_000_000
UNKNOWN_TYPE = "application/octet-stream"
TEXT_TYPE = "text/plain"


def raster_type(stream: Any) -> str | None:
    """The content type of the raster image ``stream`` holds, judged by its header; None when it holds none."""
    stream.seek(0)
    try:
        with Image.open(stream, formats=list(RASTER_TYPES)) as image:
            return RASTER_TYPES.get(image.format or "")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    finally:
        stream.seek(0)


def content_type_of(stream: Any) -> str:
    """What ``stream`` holds, by its bytes: a raster image's type, another kind known by its signature, or
    ``application/octet-stream``."""
    return raster_type(stream) or signature_type(stream)


def signature_type(stream: Any) -> str:
    """What ``stream`` holds when it is no raster image: a kind known by its signature, UTF-8 text, or
    ``application/octet-stream``."""
    head = stream.read(SNIFFED_BYTES)
    stream.seek(0)
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    return TEXT_TYPE if _is_text(head) else UNKNOWN_TYPE


def _is_text(head: bytes) -> bool:
    """Whether ``head`` reads as UTF-8 text (a character cut at the end allowed) without control characters."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    return not any(ord(char) < 32 and char not in "\t\n\r\f" for char in text)


def check_picture(upload: File) -> str:
    """The content type of a display picture, which must decode whole as a raster image of a bounded size."""
    refusal = Invalid("A display picture must be a PNG, JPEG, GIF or WebP image.", field="file")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=list(RASTER_TYPES)) as image:
                if image.width * image.height > MAX_PICTURE_PIXELS:
                    raise refusal
                image.load()
                found = RASTER_TYPES[image.format or ""]
    except (OSError, ValueError, SyntaxError, KeyError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refusal from None
    finally:
        upload.seek(0)
    return found


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
    content_type = content_type_of(upload)
    path, name = save_upload(application, upload, folder=folder)
    try:
        yield describe_file(
            url=f"{settings.PARLEY_USER_CONTENT_URL or base_url}/rtm/{quote(path)}",
            name=name,
            content_type=content_type,
            size=upload.size or 0,
            hosted=True,
        )
    except BaseException:
        default_storage.delete(path)
        raise


MAX_URL_LENGTH = 2048


def clean_file(value: Any, prefix: str = "file", *, hosted: bool = False) -> dict[str, Any]:
    """The one rule for a file a message, a display picture or an imported item points at: an object with a ``url``,
    a ``name``, a ``contentType`` (or ``content_type``) and a non-negative integer ``size``; errors name
    ``<prefix>.<key>``."""

    def named(key: str) -> str:
        return f"{prefix}.{key}" if prefix else key

    if not isinstance(value, dict):
        raise Invalid(f"{prefix or 'The file'} must be an object with url, name, contentType and size.", field=prefix)
    given = {"url": value.get("url"), "name": value.get("name"), "contentType": value.get("contentType")}
    given["contentType"] = given["contentType"] or value.get("content_type")
    texts: dict[str, str] = {}
    for key, text in given.items():
        if not isinstance(text, str) or not text.strip():
            raise Invalid(f"{named(key)} is required.", field=named(key))
        limit = MAX_URL_LENGTH if key == "url" else MAX_NAME_LENGTH
        if len(text) > limit:
            raise Invalid(f"{named(key)} must be at most {limit} characters.", field=named(key))
        texts[key] = text
    size = value.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise Invalid(f"{named('size')} must be a non-negative integer.", field=named("size"))
    return describe_file(
        url=texts["url"], name=texts["name"], content_type=texts["contentType"], size=size, hosted=hosted
    )


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
    """The storage path of a hosted file (or picture) of an application, if it exists: ``key`` is the random folder
    ``save_upload`` made, ``name`` a plain file name (no ``..``, nothing hidden)."""
    if not STORED_KEY.fullmatch(key) or name.startswith(".") or "/" in name or "\\" in name:
        return None
    path = f"{folder}/{application_id}/{key}/{name}"
    return path if default_storage.exists(path) else None
