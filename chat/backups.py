"""Backups of a whole Parley: every row of every app and every stored file (chat files, pictures, imports, exports)
in one archive, and its restore into a new installation (``manage.py backup``, ``manage.py restore``).

The archive is a gzipped tar: ``database.jsonl`` (Django's JSON-lines serialization of every model, primary keys
kept: ids are part of the API), ``objects/<path>`` for each stored file, and ``manifest.json`` last, with the
migrations the rows belong to, the rows per model, and the size and SHA-256 of every member. The rows are read in
one repeatable-read transaction (one snapshot of the database, while Parley keeps serving); files are copied after
it: stored files are never changed once written, so each file a row of the snapshot names is there (a file deleted
since is recorded as missing in the manifest).

A restore checks every checksum before it writes anything, migrates the target to the archive's migrations, refuses
a database that already holds rows, puts the files back at their paths and loads the rows with Django's
``loaddata`` (which resets the sequences), all or nothing.
"""

import hashlib
import io
import json
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.core.files.base import File
from django.core.files.storage import Storage, default_storage
from django.core.management import call_command
from django.core.serializers import jsonl
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

FORMAT = "parley-backup/1"
DATABASE_MEMBER = "database.jsonl"
SERIALIZATION = "parleyjsonl"  # this module, as settings.SERIALIZATION_MODULES names it
MANIFEST_MEMBER = "manifest.json"
OBJECTS = "objects/"
# Rows that a new installation makes itself (content types, permissions) or that should not outlive a restore
# (browser sessions of the dashboard).
EXCLUDED = ("contenttypes", "auth.Permission", "sessions")
CHUNK = 1 << 20


class Serializer(jsonl.Serializer):
    """Django's JSON lines, with timestamps to the microsecond (its JSON encoder cuts them to milliseconds, and a
    restored row would not be the row that was saved)."""

    def _value_from_field(self, obj: Any, field: Any) -> Any:
        value = field.value_from_object(obj)
        if isinstance(value, datetime | time):
            return value.isoformat()
        return super()._value_from_field(obj, field)  # type: ignore[misc]  # (Django's own, not in the stubs)


Deserializer = jsonl.Deserializer


class BackupError(Exception):
    """The archive cannot be made or restored; the message says why."""


@dataclass
class Summary:
    """What an archive holds."""

    rows: dict[str, int]
    objects: int
    missing: list[str]


def _models() -> list[Any]:
    """The models whose rows a backup holds."""
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label not in EXCLUDED and model._meta.label not in EXCLUDED
    ]


def _migrations() -> list[list[str]]:
    """The migrations applied to the database, sorted."""
    return sorted([app, name] for app, name in MigrationRecorder(connection).applied_migrations())


def _stored_paths(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every stored file's path (both local disk and object storage list folders)."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for name in sorted(folders):
        yield from _stored_paths(storage, f"{folder}/{name}" if folder else name)


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        data = self.source.read(size)
        self.digest.update(data)
        return data


def _add(archive: tarfile.TarFile, name: str, source: IO[bytes], size: int) -> str:
    """Add ``size`` bytes of ``source`` as member ``name``; its SHA-256."""
    member = tarfile.TarInfo(name)
    member.size = size
    member.mtime = int(datetime.now(UTC).timestamp())
    reader = _Hashing(source)
    archive.addfile(member, reader)
    return reader.digest.hexdigest()


def _snapshot(folder: Path) -> Path:
    """Serialize every row, as of one moment, into ``folder``."""
    target = folder / DATABASE_MEMBER
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        call_command(
            "dumpdata",
            *[model._meta.label for model in _models()],
            format=SERIALIZATION,
            natural_foreign=True,
            use_base_manager=True,
            output=str(target),
            verbosity=0,
        )
    return target


def _count_rows(path: Path) -> dict[str, int]:
    rows: dict[str, int] = {}
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                label = json.loads(line)["model"]
                rows[label] = rows.get(label, 0) + 1
    return rows


def backup(output: IO[bytes], progress: Callable[[str], None] = lambda _: None) -> Summary:
    """Write the archive of the database and every stored file to ``output``."""
    members: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="parley-backup-") as folder:
        dump = _snapshot(Path(folder))
        migrations = _migrations()
        rows = _count_rows(dump)
        progress(f"{sum(rows.values())} rows of {len(rows)} models")
        with tarfile.open(fileobj=output, mode="w|gz") as archive:
            with dump.open("rb") as source:
                size = dump.stat().st_size
                members[DATABASE_MEMBER] = {"size": size, "sha256": _add(archive, DATABASE_MEMBER, source, size)}
            for path in _stored_paths(default_storage):
                try:
                    size = default_storage.size(path)
                    with default_storage.open(path, "rb") as source:
                        digest = _add(archive, OBJECTS + path, source, size)
                except FileNotFoundError:
                    missing.append(path)
                    continue
                members[OBJECTS + path] = {"size": size, "sha256": digest}
            progress(f"{len(members) - 1} stored files")
            manifest = {
                "format": FORMAT,
                "created": datetime.now(UTC).isoformat(),
                "database": connection.vendor,
                "migrations": migrations,
                "rows": rows,
                "members": members,
                "missing": missing,
            }
            encoded = json.dumps(manifest, indent=1, sort_keys=True).encode()
            _add(archive, MANIFEST_MEMBER, io.BytesIO(encoded), len(encoded))
    return Summary(rows=rows, objects=len(members) - 1, missing=missing)


def read_manifest(path: Path) -> dict[str, Any]:
    """The archive's manifest, once every member matches its size and checksum."""
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            found = archive.extractfile(MANIFEST_MEMBER)
            if found is None:
                raise BackupError("The archive has no manifest.")
            manifest = json.loads(found.read())
            if manifest.get("format") != FORMAT:
                raise BackupError(f"This is not a {FORMAT} archive.")
            seen = set()
            for member in archive:
                if member.name == MANIFEST_MEMBER:
                    continue
                expected = manifest["members"].get(member.name)
                content = archive.extractfile(member)
                if expected is None or content is None:
                    raise BackupError(f"The archive holds {member.name}, which its manifest does not list.")
                digest = hashlib.sha256()
                for chunk in iter(lambda: content.read(CHUNK), b""):  # noqa: B023  (consumed in this iteration)
                    digest.update(chunk)
                if member.size != expected["size"] or digest.hexdigest() != expected["sha256"]:
                    raise BackupError(f"{member.name} does not match its checksum: the archive is damaged.")
                seen.add(member.name)
    except (tarfile.TarError, OSError, EOFError, KeyError, ValueError, zlib.error) as error:
        raise BackupError(f"The archive cannot be read: {error}") from error
    if absent := set(manifest["members"]) - seen:
        raise BackupError(f"The archive lacks {len(absent)} members its manifest lists, e.g. {sorted(absent)[0]}.")
    return manifest


def restore(path: Path, progress: Callable[[str], None] = lambda _: None) -> Summary:
    """Restore the archive at ``path`` into this (new) installation: its database and its storage."""
    manifest = read_manifest(path)
    progress("checksums verified")
    call_command("migrate", interactive=False, verbosity=0)
    if _migrations() != manifest["migrations"]:
        raise BackupError(
            "The archive was made with other migrations than this Parley has: restore it with the Parley version "
            "that made it (then upgrade)."
        )
    if occupied := [model._meta.label for model in _models() if model._base_manager.exists()]:
        raise BackupError(f"The database already holds rows ({', '.join(occupied[:5])}): restore into a new one.")
    with tarfile.open(path, mode="r:gz") as archive, tempfile.TemporaryDirectory(prefix="parley-restore-") as folder:
        for member in archive:
            if not member.name.startswith(OBJECTS):
                continue
            stored = member.name.removeprefix(OBJECTS)
            content = archive.extractfile(member)
            assert content is not None  # noqa: S101  (verified above)
            _put(stored, content, manifest["members"][member.name]["sha256"])
        progress(f"{len(manifest['members']) - 1} stored files")
        dump = archive.extractfile(DATABASE_MEMBER)
        assert dump is not None  # noqa: S101  (verified above)
        target = Path(folder) / f"database.{SERIALIZATION}"  # loaddata reads the format from the name
        with target.open("wb") as out:
            for chunk in iter(lambda: dump.read(CHUNK), b""):
                out.write(chunk)
        call_command("loaddata", str(target), verbosity=0)
    progress(f"{sum(manifest['rows'].values())} rows")
    return Summary(rows=manifest["rows"], objects=len(manifest["members"]) - 1, missing=manifest["missing"])


def _put(path: str, content: IO[bytes], sha256: str) -> None:
    """Store a file at exactly ``path``; one already there must be the same file."""
    if default_storage.exists(path):
        digest = hashlib.sha256()
        with default_storage.open(path, "rb") as existing:
            for chunk in iter(lambda: existing.read(CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise BackupError(f"The storage already holds another file at {path}: restore into an empty one.")
        return
    saved = default_storage.save(path, File(content, name=path))
    if saved != path:
        raise BackupError(f"The storage kept {path} as {saved}.")
