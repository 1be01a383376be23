"""``manage.py import_channels FILE --application APP``: import channels from a JSON array file, with a progress bar."""

from imports.management.commands._jobs import ImportCommand
from imports.models import JobType


class Command(ImportCommand):
    """Import channels."""

    job_type = JobType.CHANNEL_IMPORT
