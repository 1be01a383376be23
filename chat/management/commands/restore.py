"""``manage.py restore FILE``: a backup (``manage.py backup``) into a new installation (``chat.backups``)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.backups import BackupError, restore


class Command(BaseCommand):
    """Restore an archive into an empty database and storage."""

    help = "Restore a backup archive: verify every checksum, migrate, put back the stored files, load the rows."

    def add_arguments(self, parser: CommandParser) -> None:
        """The archive."""
        parser.add_argument("archive", help="the .tar.gz file that manage.py backup wrote")

    def handle(self, *args: Any, **options: Any) -> None:
        """Restore and say what came back."""
        try:
            summary = restore(Path(options["archive"]), progress=lambda line: self.stderr.write(line))
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {sum(summary.rows.values())} rows and {summary.objects} stored files")
