"""``manage.py import_messages FILE --application APP``: import messages from a JSON array file, with a progress bar."""

from imports.management.commands._jobs import ImportCommand
from imports.models import JobType


class Command(ImportCommand):
    """Import messages."""

    job_type = JobType.MESSAGE_IMPORT
