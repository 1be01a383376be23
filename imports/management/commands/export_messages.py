"""``manage.py export_messages --application APP [--output FILE]``: the messages analytics CSV file."""

from imports.management.commands._jobs import ExportCommand
from imports.models import JobType


class Command(ExportCommand):
    """Export messages analytics."""

    job_type = JobType.MESSAGE_ANALYTICS_EXPORT
