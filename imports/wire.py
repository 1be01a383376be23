"""The wire representation of jobs (imports and analytics exports), rendered by the core's ``Renderer`` once
``ImportsConfig.ready`` registers it."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat.wire.fields import LinksField, Resource, Timestamp
from imports.models import Job, JobState, JobType


class JobProgressSerializer(serializers.Serializer):
    """How far a job got: items in its file (once counted), processed, and what became of them."""

    total = serializers.IntegerField(required=False)
    processed = serializers.IntegerField()
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()


# What ``type`` says on the wire: the reference's four kinds only, which every published client's enum accepts (the
# reference's own sample of a message analytics export shows MESSAGE_IMPORT); ``kind`` names Parley's own.
WIRE_TYPES = {
    JobType.MESSAGE_ANALYTICS_EXPORT: JobType.MESSAGE_IMPORT,
    JobType.USER_ANALYTICS_EXPORT: JobType.USER_IMPORT,
}
WIRE_TYPE_CHOICES = [
    JobType.USER_IMPORT,
    JobType.CHANNEL_IMPORT,
    JobType.CHANNEL_MEMBERS_IMPORT,
    JobType.MESSAGE_IMPORT,
]


class ApplicationJobResourceSerializer(Resource):
    """An import or export job. ``type`` is one of the reference's four kinds (an export shows the kind of its
    data, as the reference's sample does); beyond the reference's keys: ``kind`` (what the job is, exports named as
    such), ``progress``, ``reason`` (why it FAILED), ``file`` (an export's CSV file, once FINISHED) and links to
    its error report and file."""

    id = serializers.IntegerField()
    type = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(source="type", choices=JobType.choices)
    state = serializers.ChoiceField(choices=JobState.choices)
    createdTime = Timestamp(source="created_time")
    startedTime = Timestamp(source="started_time", required=False)
    endedTime = Timestamp(source="ended_time", required=False)
    progress = serializers.SerializerMethodField()
    reason = serializers.CharField(required=False)
    file = serializers.SerializerMethodField()
    _links = LinksField(required=False)

    @extend_schema_field({"type": "string", "enum": [str(choice) for choice in WIRE_TYPE_CHOICES]})
    def get_type(self, job: Job) -> str:
        """The reference's kind of the job."""
        return str(WIRE_TYPES.get(JobType(job.type), job.type))

    @extend_schema_field(JobProgressSerializer)
    def get_progress(self, job: Job) -> dict[str, int]:
        """Counts; ``total`` once the file has been counted."""
        counts = {"processed": job.processed, "created": job.created, "skipped": job.skipped, "failed": job.failed}
        return counts if job.total is None else {"total": job.total, **counts}

    @extend_schema_field(OpenApiTypes.URI)
    def get_file(self, job: Job) -> str | None:
        """Where to download an export's CSV file."""
        return self.url(f"/v1/jobs/{job.pk}/file")["href"] if job.result else None

    def links(self, job: Job) -> dict[str, Any]:
        """Self, the error report of an import, the file of an export, the channel of a members import."""
        links = {"self": self.url(f"/v1/jobs/{job.pk}")}
        if job.source:
            links["errors"] = self.url(f"/v1/jobs/{job.pk}/errors")
        if job.result:
            links["file"] = self.url(f"/v1/jobs/{job.pk}/file")
        if job.channel_id is not None:
            links["channel"] = self.url(f"/v1/channels/{job.channel_id}")
        return links

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """An empty reason is left out."""
        data = super().to_representation(instance)
        if not data.get("reason"):
            data.pop("reason", None)
        return data


RESOURCES = {"job": ApplicationJobResourceSerializer}
