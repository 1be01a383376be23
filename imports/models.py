"""Import and export jobs: what a job is doing, how far it got, which items failed and why, and the keys of the
items imported so far (so that importing a file again creates nothing twice)."""

from django.db import models

from chat.models import Application, Channel


class JobType(models.TextChoices):
    """What a job does: the reference's four imports, then the analytics exports (the newer npm client names the
    messages one; the users one is Parley's spelling of the same thing for ``/v1/analytics/users``)."""

    USER_IMPORT = "USER_IMPORT"
    CHANNEL_IMPORT = "CHANNEL_IMPORT"
    CHANNEL_MEMBERS_IMPORT = "CHANNEL_MEMBERS_IMPORT"
    MESSAGE_IMPORT = "MESSAGE_IMPORT"
    MESSAGE_ANALYTICS_EXPORT = "MESSAGE_ANALYTICS_EXPORT"
    USER_ANALYTICS_EXPORT = "USER_ANALYTICS_EXPORT"

    @property
    def is_import(self) -> bool:
        """Imports read an uploaded file; exports write a CSV file."""
        return self.value.endswith("_IMPORT")


class JobState(models.TextChoices):
    """PENDING until a runner claims it, RUNNING while one holds its lease, then FINISHED or FAILED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


class Job(models.Model):
    """One import or export of an application.

    Progress is a checkpoint: ``processed`` items of the file have been written (or failed) and are never looked at
    again, because each batch's writes and the advance of ``processed`` commit together. A runner holds the job
    while its ``lease_expires`` lies ahead; a job whose lease ran out (its worker died) is claimed again and carries
    on from the checkpoint.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="jobs")
    type = models.CharField(max_length=32, choices=JobType.choices)
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.PENDING)
    # The channel whose members a CHANNEL_MEMBERS_IMPORT adds.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Storage paths: the uploaded file an import reads, the CSV file an export writes.
    source = models.CharField(max_length=512, blank=True, default="")
    source_name = models.CharField(max_length=256, blank=True, default="")
    result = models.CharField(max_length=512, blank=True, default="")
    total = models.PositiveBigIntegerField(null=True, blank=True)
    processed = models.PositiveBigIntegerField(default=0)
    created = models.PositiveBigIntegerField(default=0)
    skipped = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    reason = models.TextField(blank=True, default="")
    owner = models.CharField(max_length=32, blank=True, default="")
    lease_expires = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_time = models.DateTimeField(auto_now_add=True)
    started_time = models.DateTimeField(null=True, blank=True)
    ended_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["application", "id"]), models.Index(fields=["state", "lease_expires"])]

    def __str__(self) -> str:
        return f"{self.type} job {self.pk} ({self.state})"

    @property
    def running(self) -> bool:
        """Not ended yet."""
        return self.state in (JobState.PENDING, JobState.RUNNING)


class JobError(models.Model):
    """An item of an import that failed: its position in the file (from 1), the field at fault, and why."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveBigIntegerField()
    field = models.CharField(max_length=256, blank=True, default="")
    message = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["job", "row"])]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class ImportedItem(models.Model):
    """The idempotency key of an imported user, channel or membership and what it created (messages keep theirs on
    the message row, where their volume is cheapest to check)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=JobType.choices)
    key = models.CharField(max_length=512)
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "kind", "key"], name="unique_imported_item_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} → {self.object_id}"
