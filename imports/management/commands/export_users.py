"""``manage.py export_users --application APP [--output FILE]``: the users analytics CSV file."""

from imports.management.commands._jobs import ExportCommand
from imports.models import JobType


class Command(ExportCommand):
    """Export users analytics."""

    job_type = JobType.USER_ANALYTICS_EXPORT
