"""``manage.py import_members FILE --application APP --channel ID``: add members to a group channel from a JSON
array file, with a progress bar."""

from imports.management.commands._jobs import MembersImportCommand
from imports.models import JobType


class Command(MembersImportCommand):
    """Import channel members."""

    job_type = JobType.CHANNEL_MEMBERS_IMPORT
