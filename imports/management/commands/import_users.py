"""``manage.py import_users FILE --application APP``: import users from a JSON array file, with a progress bar."""

from imports.management.commands._jobs import ImportCommand
from imports.models import JobType


class Command(ImportCommand):
    """Import users."""

    job_type = JobType.USER_IMPORT
