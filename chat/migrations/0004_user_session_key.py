"""Each user session gets the key a reconnecting websocket client resumes it with (filled in for existing rows)."""

import uuid

from django.db import migrations, models


def fill_keys(apps, schema_editor):  # noqa: ANN001, ANN201, ARG001  (migration signature)
    UserSession = apps.get_model("chat", "UserSession")  # noqa: N806
    for session in UserSession.objects.filter(key__isnull=True).only("pk"):
        UserSession.objects.filter(pk=session.pk).update(key=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("chat", "0003_channel_last_message_derived")]

    operations = [
        migrations.AddField(model_name="usersession", name="key", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="usersession",
            name="key",
            field=models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
    ]
