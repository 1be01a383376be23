"""``manage.py backup --output FILE``: the database and every stored file in one archive (``chat.backups``)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.backups import BackupError, backup


class Command(BaseCommand):
    """Write a consistent archive of this Parley."""

    help = "Archive the database (one snapshot) and every stored file, with checksums, into one .tar.gz file."

    def add_arguments(self, parser: CommandParser) -> None:
        """--output."""
        parser.add_argument("--output", required=True, help="the archive to write (.tar.gz); it must not exist")

    def handle(self, *args: Any, **options: Any) -> None:
        """Write the archive next to its final name, then give it that name."""
        target = Path(options["output"])
        if target.exists():
            raise CommandError(f"{target} exists: choose a new file.")
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("wb") as output:
                summary = backup(output, progress=lambda line: self.stderr.write(line))
        except (BackupError, OSError) as error:
            partial.unlink(missing_ok=True)
            raise CommandError(str(error)) from error
        partial.rename(target)
        self.stdout.write(
            f"Wrote {target}: {sum(summary.rows.values())} rows, {summary.objects} stored files"
            + (f", {len(summary.missing)} deleted while copying" if summary.missing else "")
        )
